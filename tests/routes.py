"""Every URL the project serves, from the URL resolver, as concrete paths a test can request.

New URLs are picked up automatically: a test that walks `routes()` covers them without being edited.
A route's parameters are filled from `samples` by name, else by converter type.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # as written, e.g. "chat/conversations/<int:session_id>/"
    converters: dict
    regex: bool  # a re_path: its parameters are filled only when `samples` name them

    def path(self, samples: dict[str, str]) -> str | None:
        """A concrete path, or None when a parameter cannot be filled."""
        if self.regex:
            return _fill_regex(self.route, samples)
        missing = False

        def fill(match: re.Match) -> str:
            nonlocal missing
            name = match["name"]
            if name in samples:
                return str(samples[name])
            converter = self.converters.get(name)
            for kind, value in DEFAULTS.items():
                if isinstance(converter, kind):
                    return value
            missing = True
            return ""

        path = "/" + PARAMETER.sub(fill, self.route)
        return None if missing else path


# By converter type, when no sample names the parameter (most specific first).
DEFAULTS = {
    UUIDConverter: str(uuid.UUID(int=1)),
    IntConverter: "1",
    SlugConverter: "some-slug",
    PathConverter: "some/path",
    StringConverter: "some-text",
}


def _fill_regex(regex: str, samples: dict[str, str]) -> str | None:
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
    groups = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
    if any(match["name"] not in samples for match in groups.finditer(text)):
        return None
    path = groups.sub(lambda match: str(samples[match["name"]]), text)
    if re.search(r"[()\[\]*+?\\|]", path):
        return None
    return "/" + path


def _text(pattern) -> tuple[str, bool]:
    if isinstance(pattern, RoutePattern):
        return str(pattern._route), False
    if isinstance(pattern, RegexPattern):
        return str(pattern._regex), True
    return str(pattern), True


def routes(resolver: URLResolver | None = None, prefix: str = "", regex: bool = False) -> Iterator[Route]:
    """Every URL pattern of the project (or of `resolver`), with the text of the resolvers above it."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        text, is_regex = _text(entry.pattern)
        if is_regex and prefix:
            text = text.lstrip("^")
        joined = prefix.rstrip("$").replace("\\Z", "") + text if prefix else text
        converters = {**getattr(resolver.pattern, "converters", {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            yield from _nested(entry, joined, regex or is_regex, converters)
        elif isinstance(entry, URLPattern):
            yield Route(joined, converters, regex or is_regex)


def _nested(resolver: URLResolver, prefix: str, regex: bool, converters: dict) -> Iterator[Route]:
    for route in routes(resolver, prefix, regex):
        yield Route(route.route, {**converters, **route.converters}, route.regex)
