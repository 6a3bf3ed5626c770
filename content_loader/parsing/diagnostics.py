"""Problems found in a vault, each tied to a file and a line.

Every message is rendered `path:line: severity: message (suggestion)`. Errors stop the file they are in
from loading; warnings describe an assumption the loader made; info notes what was skipped on purpose.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str  # vault-relative, with forward slashes
    line: int
    severity: Severity
    message: str
    suggestion: str = ""
    end_line: int = 0  # for a problem covering several lines (an ignored section, a skipped file)
    draft: bool = False  # found in a draft (`wip`): reported in full, but it blocks nothing published

    def covers(self, line: int) -> bool:
        return self.line == line or self.line <= line <= self.end_line

    def __str__(self) -> str:
        draft = "[draft] " if self.draft else ""
        text = f"{self.path}:{self.line}: {self.severity}: {draft}{self.message}"
        return f"{text} ({self.suggestion})" if self.suggestion else text

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "severity": str(self.severity),
            "message": self.message,
            "suggestion": self.suggestion,
            "end_line": self.end_line or self.line,
            "draft": self.draft,
        }


@dataclass
class FileReport:
    """What the parser did with one file: the problems it found and the lines it consumed.

    `consumed` holds the lines (of the original file) of every heading and `key::` field the parser used,
    so that a test can check that each structural line was either used or reported.
    """

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)

    def error(self, line: int, message: str, suggestion: str = "", *, end_line: int = 0) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, Severity.ERROR, message, suggestion, end_line))

    def warning(self, line: int, message: str, suggestion: str = "", *, end_line: int = 0) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, Severity.WARNING, message, suggestion, end_line))

    def info(self, line: int, message: str, suggestion: str = "", *, end_line: int = 0) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, Severity.INFO, message, suggestion, end_line))

    def use(self, *lines: int) -> None:
        self.consumed.update(lines)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


def closest(name: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The candidate one or two letters away from `name`, if there is one."""
    lowered = name.lower()
    best: tuple[int, str] | None = None
    for candidate in sorted(candidates):
        distance = edit_distance(lowered, candidate.lower(), limit=2)
        if distance <= 2 and (best is None or distance < best[0]):
            best = (distance, candidate)
    if best is None:
        # Longer names: also accept a close overall match (a dropped hyphen plus a typo, say).
        matches = difflib.get_close_matches(lowered, [c.lower() for c in candidates], n=1, cutoff=0.85)
        if matches:
            return next(c for c in candidates if c.lower() == matches[0])
        return None
    return best[1]


def edit_distance(a: str, b: str, *, limit: int) -> int:
    """Levenshtein distance, or `limit + 1` as soon as it is known to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def one_of(names: list[str] | tuple[str, ...]) -> str:
    """`a`, `b` or `c`."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
