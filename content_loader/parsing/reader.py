"""Reading one vault file: line endings, authoring markup, YAML frontmatter, and the body's lines.

Frontmatter is read with python-frontmatter's YAML handler (safe loading). The body comes back as a list
of `Line`s, each with the number of the line in the original file, which is what every later step uses
to report problems.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from .diagnostics import FileReport, closest
from .markup import remove_authoring_markup

_YAML = YAMLHandler()
DRAFT_TAGS = frozenset({"wip", "work-in-progress"})
IGNORE_TAG = "validator-ignore"
# Keys any file may carry (authoring metadata the loader does not read).
_ALWAYS_KNOWN = frozenset({"tags", "authors", "discussion", "description", "aliases", "cssclasses"})


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # line in the original file, from 1
    text: str


@dataclass
class SourceText:
    path: str
    frontmatter: dict[str, Any]
    frontmatter_lines: dict[str, int]  # top-level key -> line in the original file
    body: list[Line]
    report: FileReport
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_draft(self) -> bool:
        return bool(self.tags & DRAFT_TAGS)

    @property
    def is_ignored(self) -> bool:
        return IGNORE_TAG in self.tags

    def line_of(self, key: str) -> int:
        return self.frontmatter_lines.get(key, 1)

    def string(self, key: str, *, required: bool = False) -> str:
        """A frontmatter value as text ("" when absent); reports a missing required key (blank is missing)."""
        value = self.frontmatter.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                blank = " (it is blank)" if key in self.frontmatter else ""
                self.report.error(
                    self.line_of(key), f"missing required frontmatter field `{key}`{blank}", f"write `{key}: ...`"
                )
            return ""
        if isinstance(value, list | dict):
            self.report.warning(self.line_of(key), f"frontmatter field `{key}` should be text, not a list")
            return ", ".join(str(item) for item in value) if isinstance(value, list) else ""
        return str(value).strip()

    def string_list(self, key: str) -> list[str]:
        value = self.frontmatter.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return [str(item).strip() for item in value if item is not None and str(item).strip()]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    @property
    def id_key(self) -> str:
        """`id`, or `contentId` (its old name) in a file that uses that."""
        return "contentId" if "id" not in self.frontmatter and "contentId" in self.frontmatter else "id"

    @property
    def id_written(self) -> bool:
        return self.frontmatter.get(self.id_key) not in (None, "")

    def content_id(self, *, required: bool) -> uuid.UUID | None:
        """The frontmatter `id` (or its old name `contentId`), which must be a string holding a UUID."""
        key = self.id_key
        if key not in self.frontmatter or self.frontmatter[key] in (None, ""):
            if required:
                self.report.error(
                    1, "missing required frontmatter field `id`", "run `manage.py sync_content --write-ids`"
                )
            return None
        return parse_uuid(self.frontmatter[key], self.report, self.line_of(key), f"frontmatter `{key}`")

    def check_keys(self, known: tuple[str, ...]) -> None:
        """A frontmatter key one or two letters off a known one is a typo: warn (its value is ignored)."""
        for key in self.frontmatter:
            if key in known or key in _ALWAYS_KNOWN:
                continue
            near = closest(key, known)
            if near is not None:
                self.report.warning(
                    self.line_of(key), f"unknown frontmatter key `{key}:` is ignored", f"did you mean `{near}:`?"
                )


def parse_uuid(value: Any, report: FileReport, line: int, what: str) -> uuid.UUID | None:
    if not isinstance(value, str):
        report.error(
            line,
            f"{what} must be a UUID written as text, but YAML reads {value!r} as {type(value).__name__}",
            "quote it",
        )
        return None
    try:
        parsed = uuid.UUID(value.strip())
    except ValueError:
        report.error(line, f"{what} {value.strip()!r} is not a UUID", "run `manage.py sync_content --write-ids`")
        return None
    if len(value.strip()) != 36:
        report.error(line, f"{what} {value.strip()!r} must be written 8-4-4-4-12 hex digits")
        return None
    return parsed


def read_source(path: str, raw: str, *, frontmatter_expected: bool = True) -> SourceText:
    """Split a file's text into frontmatter and numbered body lines, reporting what is wrong with it."""
    report = FileReport(path)
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    # CRLF is allowed; normalising first keeps line numbers those of `bytes.splitlines()`.
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    clean = remove_authoring_markup(raw)
    if clean.unclosed_comment_line is not None:
        report.warning(
            clean.unclosed_comment_line,
            "comment `%%` is never closed, so everything after it is ignored",
            "close it with `%%`",
        )
    lines = clean.text.split("\n")
    if len(clean.line_of) == len(lines):  # one original line per line (CleanText keeps them so)
        numbered = list(map(Line, clean.line_of, lines))
    else:
        numbered = [Line(clean.original_line(i), text) for i, text in enumerate(lines)]
    frontmatter: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    body = numbered
    if numbered and _YAML.detect(numbered[0].text):
        closing = next(
            (i for i in range(1, len(numbered)) if _YAML.FM_BOUNDARY.fullmatch(numbered[i].text)),
            None,
        )
        if closing is None:
            report.error(1, "frontmatter is not closed", "end it with a `---` line")
            body = []
        else:
            yaml_lines = numbered[1:closing]
            body = numbered[closing + 1 :]
            frontmatter, key_lines = _load_yaml(yaml_lines, report)
    elif frontmatter_expected:
        report.warning(1, "file has no frontmatter", "start it with `---` lines holding its `id`")
    tags = {str(tag).strip().lower() for tag in _as_list(frontmatter.get("tags"))}
    return SourceText(path, frontmatter, key_lines, body, report, frozenset(tags))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return str(value).replace(",", " ").split()


def _load_yaml(lines: list[Line], report: FileReport) -> tuple[dict[str, Any], dict[str, int]]:
    text = "\n".join(line.text for line in lines)
    try:
        data = _YAML.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = lines[min(mark.line, len(lines) - 1)].number if (mark and lines) else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        report.error(line, f"frontmatter is not valid YAML: {problem}")
        return {}, {}
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        report.error(lines[0].number if lines else 1, "frontmatter must be a mapping of `key: value` lines")
        return {}, {}
    key_lines: dict[str, int] = {}
    for line in lines:
        if line.text[:1] not in (" ", "\t", "-", "#", "") and ":" in line.text:
            key = line.text.split(":", 1)[0].strip().strip("'\"")
            key_lines.setdefault(key, line.number)
    return {str(key): value for key, value in data.items()}, key_lines
