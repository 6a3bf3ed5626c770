"""Wikilinks: `[[path]]`, `[[path|display text]]` and the embed form `![[...]]` (the `!` means nothing here).

A path is relative to the file that holds the link, `.md` is optional, and it must resolve to a file
inside the vault: a path that climbs out of the vault is rejected.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

WIKILINK = re.compile(
    r"(?P<embed>!?)\[\[(?P<target>[^\[\]|#\n]*)(?P<anchor>#[^\[\]|\n]*)?(?:\|(?P<text>[^\[\]\n]*))?\]\]"
)


@dataclass(slots=True)
class Link:
    target: str  # as written
    text: str  # display text ("" when none)
    line: int
    path: str | None = None  # vault-relative path of the file it resolves to (set when the vault is linked)


@dataclass(frozen=True, slots=True)
class Resolution:
    path: str | None
    problem: str = ""
    suggestion: str = ""


def find_links(text: str) -> list[re.Match[str]]:
    return list(WIKILINK.finditer(text))


def parse_single_link(value: str) -> tuple[str, str] | None:
    """The (target, text) of a field value that is one wikilink, e.g. `source:: ![[../Lenses/X|X]]`."""
    match = WIKILINK.search(value)
    if match is None:
        return None
    return match.group("target").strip(), (match.group("text") or "").strip()


class VaultIndex:
    """The files of a vault, for resolving links between them."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self._by_stem: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.paths):
            self._by_stem[_stem(path).lower()].append(path)

    def resolve(self, from_path: str, target: str) -> Resolution:
        target = target.strip()
        if not target:
            return Resolution(None, "empty link target")
        if target.startswith("/"):
            return Resolution(None, f"link `{target}` must be relative to this file, not absolute")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
        if joined == ".." or joined.startswith("../"):
            return Resolution(None, f"link `{target}` points outside the vault")
        for candidate in (joined, f"{joined}.md"):
            if candidate in self.paths:
                return Resolution(candidate)
        suggestion = ""
        same_name = self._by_stem.get(_stem(joined).lower(), [])
        if same_name:
            suggestion = f"did you mean `{relative_link(from_path, same_name[0])}`?"
        return Resolution(None, f"link `{target}` resolves to no file", suggestion)


def relative_link(from_path: str, to_path: str) -> str:
    """The link text (relative, without `.md`) from one vault file to another."""
    relative = posixpath.relpath(to_path, posixpath.dirname(from_path) or ".")
    return relative[:-3] if relative.endswith(".md") else relative


def _stem(path: str) -> str:
    name = posixpath.basename(path)
    return name[:-3] if name.endswith(".md") else name
