"""Cutting a file body into blocks, one per heading, and reading what a heading names.

`# Lens: Welcome` names a `Lens` section titled "Welcome"; `#### Text` names a `Text` segment (no colon,
no title). Headings are ATX headings (`#` to `######` followed by a space); `\\## escaped` lines and
`#tags` are not headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .reader import Line

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    name: str  # text before the first colon, or the whole text when there is none
    title: str  # text after the colon ("" when none)
    colon: bool
    line: int
    text: str  # the full heading text

    def __str__(self) -> str:
        return f"{'#' * self.level} {self.text}".rstrip()


@dataclass
class Block:
    heading: Heading | None  # None for the text before the first heading
    lines: list[Line] = field(default_factory=list)

    @property
    def line(self) -> int:
        if self.heading is not None:
            return self.heading.line
        return self.lines[0].number if self.lines else 1

    @property
    def last_line(self) -> int:
        for line in reversed(self.lines):
            if line.text.strip():
                return line.number
        return self.line

    @property
    def has_text(self) -> bool:
        return any(line.text.strip() for line in self.lines)


def read_heading(line: Line) -> Heading | None:
    match = _HEADING.match(line.text)
    if match is None:
        return None
    text = (match.group(2) or "").strip()
    # A closing sequence of #s is not part of the heading text.
    text = re.sub(r"[ \t]+#+$", "", text) if text != "#" * len(text) else ""
    name, colon, title = text.partition(":")
    return Heading(len(match.group(1)), name.strip(), title.strip(), bool(colon), line.number, text)


def split_blocks(lines: list[Line]) -> list[Block]:
    """One block per heading, holding the lines up to the next heading; first the text before any."""
    blocks = [Block(None)]
    for line in lines:
        heading = read_heading(line)
        if heading is None:
            blocks[-1].lines.append(line)
        else:
            blocks.append(Block(heading))
    return blocks


def matches(heading: Heading, names: dict[str, str] | tuple[str, ...]) -> str | None:
    """The canonical name among `names` that the heading names (case-insensitive), if any."""
    wanted = heading.name.lower()
    for name in names:
        if name.lower() == wanted:
            return name
    return None
