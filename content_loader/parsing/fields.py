"""The `key:: value` field grammar of section and segment bodies.

A field starts at a line `key:: value`. Its value runs on over the following lines until the next
`key::` line or the end of the block (a block ends at the next heading, so an unescaped heading ends the
value; the caller warns about that). Headings meant as text are escaped (`\\## Title`); the backslash is
removed here. A key given twice in one block is an error; text before the first field is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .diagnostics import FileReport, closest, one_of
from .reader import Line

FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)::(.*)$")
_ONE_COLON = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(?!:)\s*(.*)$")
_ESCAPED_HEADING = re.compile(r"^\\(#{1,6})", re.MULTILINE)
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")


@dataclass(slots=True)
class Field:
    key: str
    value: str
    line: int  # line of `key::`
    end_line: int  # last line of the value
    continuation: tuple[Line, ...] = ()  # the value's lines after the `key::` line

    @property
    def is_true(self) -> bool:
        return self.value.strip().lower() == "true"


@dataclass
class FieldBlock:
    """The fields of one block, in order, and the loose text lines found before the first field."""

    fields: dict[str, Field] = field(default_factory=dict)
    loose: list[Line] = field(default_factory=list)
    last_line: int = 0

    def get(self, key: str) -> str:
        found = self.fields.get(key)
        return found.value if found else ""

    def line(self, key: str, default: int = 0) -> int:
        found = self.fields.get(key)
        return found.line if found else default

    def flag(self, key: str, report: FileReport | None = None) -> bool:
        """A boolean field: literally `true` or `false` (anything else is read as false, and reported)."""
        found = self.fields.get(key)
        if found is None:
            return False
        value = found.value.strip().lower()
        if value not in ("true", "false") and report is not None:
            report.warning(
                found.line,
                f"`{key}::` must be `true` or `false`, not {found.value.strip()!r}; it is read as `false`",
                f"write `{key}:: true` or `{key}:: false`",
            )
            return False
        return value == "true"


def parse_fields(lines: list[Line], report: FileReport) -> FieldBlock:
    """Split a block's lines into fields; report duplicate keys. Loose text is returned, not reported."""
    block = FieldBlock()
    current: tuple[str, Line, str] | None = None  # key, its line, first value text
    continuation: list[Line] = []

    def close() -> None:
        if current is None:
            return
        key, line, first = current
        while continuation and not continuation[-1].text.strip():
            continuation.pop()
        text = "\n".join([first, *(c.text for c in continuation)])
        value = _ESCAPED_HEADING.sub(r"\1", text).strip()
        if key in block.fields:
            earlier = block.fields[key].line
            report.error(line.number, f"field `{key}::` is given twice in this section (first on line {earlier})")
            return
        last = continuation[-1].number if continuation else line.number
        block.fields[key] = Field(key, value, line.number, last, tuple(continuation))

    for line in lines:
        match = FIELD_LINE.match(line.text)
        if match:
            close()
            report.use(line.number)
            current = (match.group(1), line, match.group(2).strip())
            continuation = []
        elif current is None:
            if line.text.strip():
                block.loose.append(line)
        else:
            continuation.append(line)
        if line.text.strip():
            block.last_line = line.number
    close()
    return block


def check_fields(
    block: FieldBlock,
    report: FileReport,
    *,
    where: str,
    allowed: tuple[str, ...],
    required: tuple[str, ...] = (),
    elsewhere: dict[str, str] | None = None,
    heading_line: int,
) -> None:
    """Report loose text, missing required fields, misspelt fields and fields that belong elsewhere.

    `elsewhere` maps a field name valid in other places to where it belongs, e.g. `"instructions":
    "Chat segments"`, so that a field on the wrong segment type gets a precise message.
    """
    report_loose_text(block, report, where=where, allowed=allowed)
    for key, found in block.fields.items():
        if key in allowed:
            continue
        near = closest(key, allowed)
        if near is not None:
            report.warning(found.line, f"unknown field `{key}::` in {where} is ignored", f"did you mean `{near}::`?")
        elif elsewhere and key in elsewhere:
            # `from::`/`to::` on a segment without excerpts is ignored (a warning); other misplaced fields
            # usually mean the wrong segment type was written, which changes what learners see.
            report_misplaced = report.warning if key in ("from", "to") else report.error
            report_misplaced(
                found.line,
                f"field `{key}::` does not belong in {where}; it is a field of {elsewhere[key]}"
                + (" (ignored)" if key in ("from", "to") else ""),
                f"fields here: {one_of(allowed)}",
            )
        else:
            report.warning(
                found.line, f"unknown field `{key}::` in {where} is ignored", f"fields here: {one_of(allowed)}"
            )
    for key in required:
        if key not in block.fields:
            report.error(heading_line, f"{where} is missing required field `{key}::`")
        elif not block.fields[key].value.strip():
            report.error(block.fields[key].line, f"`{key}::` of {where} is empty", f"write its text after `{key}::`")
    for found in block.fields.values():
        _report_one_colon_lines(found, block, report, allowed)


def report_loose_text(block: FieldBlock, report: FileReport, *, where: str, allowed: tuple[str, ...]) -> None:
    """Text before the first field is an error; `key: value` with a known key gets a suggestion."""
    for line in block.loose:
        match = _ONE_COLON.match(line.text.strip())
        if match:
            key = match.group(1)
            near = key if key in allowed else closest(key, allowed)
            if near:
                report.error(
                    line.number,
                    f"text outside any field in {where}: `{line.text.strip()[:40]}`",
                    f"did you mean `{near}::`?",
                )
                continue
        report.error(
            line.number,
            f"text outside any field in {where}: `{_excerpt(line.text)}`",
            f"start it with a field such as {one_of(allowed[:3])}" if allowed else "",
        )


def _report_one_colon_lines(found: Field, block: FieldBlock, report: FileReport, allowed: tuple[str, ...]) -> None:
    """A line `content: ...` inside another field's value, naming a field this block lacks, is suspicious."""
    for line in found.continuation:
        match = _ONE_COLON.match(line.text)
        if match and match.group(1) in allowed and match.group(1) not in block.fields:
            report.warning(
                line.number,
                f"`{match.group(1)}:` with one colon is read as part of the `{found.key}::` text",
                f"did you mean `{match.group(1)}::`?",
            )


def _excerpt(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
