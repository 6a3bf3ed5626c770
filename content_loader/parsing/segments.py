"""Lens bodies: runs of segment blocks (`#### Text`, `#### Article`, ... or the single-file `## Text`, ...).

Used for lens files, inline `# Lens:` sections of modules, learning-outcome tests, and the sections of
the original single-file module. Article and Video segments inherit `source::` from the previous segment
of the same type in the lens.
"""

from __future__ import annotations

from .diagnostics import FileReport, closest, one_of
from .documents import SEGMENT_FIELDS, SEGMENT_REQUIRED, Segment
from .fields import check_fields, parse_fields
from .headings import Block, Heading, matches
from .reader import parse_uuid
from .wikilinks import Link, parse_single_link

_WHERE = {
    "text": "a Text segment",
    "chat": "a Chat segment",
    "article": "an Article segment",
    "video": "a Video segment",
    "question": "a Question segment",
    "roleplay": "a Roleplay segment",
}
_FIELD_HOMES: dict[str, str] = {}
for _kind, _names in SEGMENT_FIELDS.items():
    for _name in _names:
        _FIELD_HOMES.setdefault(_name, _WHERE[_kind].removeprefix("a ").removeprefix("an ") + "s")


def parse_segments(
    blocks: list[Block],
    report: FileReport,
    *,
    where: str,
    names: dict[str, str],
    level: int,
    fields: dict[str, tuple[str, ...]] = SEGMENT_FIELDS,
    inherited: dict[str, Link] | None = None,
    after_fields: bool = False,
) -> list[Segment]:
    """Parse segment blocks; `names` maps heading names to segment kinds allowed here.

    `after_fields` says whether the text just before the first block ended in a field value, so that
    an unknown heading there is reported as ending that field.
    """
    segments: list[Segment] = []
    sources: dict[str, Link] = dict(inherited or {})
    previous_had_fields = after_fields
    for block in blocks:
        heading = block.heading
        assert heading is not None
        name = matches(heading, names)
        if name is None:
            # At the segment level a heading is an attempted segment; deeper or shallower, after a field,
            # it is most likely text that should have been escaped.
            after_field = previous_had_fields and heading.level != level
            _unknown_heading(block, report, where=where, names=names, after_field=after_field)
            previous_had_fields = False
            continue
        kind = names[name]
        report.use(heading.line)
        _check_segment_heading(heading, name, level, report)
        segment = _parse_segment(block, kind, report, fields=fields[kind], sources=sources)
        segments.append(segment)
        previous_had_fields = bool(segment.fields.fields)
    return segments


def _parse_segment(
    block: Block, kind: str, report: FileReport, *, fields: tuple[str, ...], sources: dict[str, Link]
) -> Segment:
    heading = block.heading
    assert heading is not None
    block_fields = parse_fields(block.lines, report)
    check_fields(
        block_fields,
        report,
        where=_WHERE[kind],
        allowed=fields,
        required=tuple(key for key in SEGMENT_REQUIRED[kind] if key in fields),
        elsewhere=_FIELD_HOMES,
        heading_line=heading.line,
    )
    segment = Segment(kind, heading.line, block_fields, optional=block_fields.flag("optional", report))
    for flag in ("hidePreviousContentFromUser", "hidePreviousContentFromTutor", "enforce-voice", "feedback"):
        if flag in block_fields.fields and flag in fields:
            block_fields.flag(flag, report)
    if kind == "roleplay" and block_fields.get("id"):
        parse_uuid(block_fields.get("id"), report, block_fields.line("id"), "roleplay `id::`")
    if kind in ("article", "video") and "source" in fields:
        if "source" in block_fields.fields:
            link = source_link(block_fields.fields["source"].value, block_fields.line("source"), report)
            if link is not None:
                sources[kind] = link
        elif kind not in sources:
            report.error(
                heading.line,
                f"the first {kind.title()} segment of a lens is missing required field `source::`",
                f"add `source:: [[../{'articles' if kind == 'article' else 'video_transcripts'}/...]]`",
            )
    segment.source = sources.get(kind)
    for key in ("from", "to"):
        if key in block_fields.fields and key in fields and not block_fields.get(key).strip():
            report.error(
                block_fields.line(key),
                f"`{key}::` is empty",
                f"leave `{key}::` out to {'start at the beginning' if key == 'from' else 'go on to the end'}",
            )
    return segment


def source_link(value: str, line: int, report: FileReport) -> Link | None:
    """The wikilink of a `source::` value, reported when the value is not one."""
    parsed = parse_single_link(value)
    if parsed is None:
        report.error(line, f"`source::` must be a wikilink such as `[[../Lenses/Name]]`, not {value.strip()!r}")
        return None
    target, text = parsed
    return Link(target, text, line)


def _check_segment_heading(heading: Heading, name: str, level: int, report: FileReport) -> None:
    written = "#" * level + " " + name
    if heading.level != level:
        report.warning(heading.line, f"segment heading `{heading}` should be level {level}", f"write `{written}`")
    if heading.colon and heading.title:
        report.error(
            heading.line,
            f"segment heading `{heading}` has a title, which segments do not take: `{heading.title}` is not shown",
            f"write `{written}`, and put the title in the text if it is meant to be shown",
        )
    elif heading.colon:
        report.warning(heading.line, f"segment heading `{heading}` takes no colon", f"write `{written}`")
    elif heading.name != name:
        report.warning(heading.line, f"segment heading `{heading}` is written `{written}`", f"write `{written}`")


def _unknown_heading(block: Block, report: FileReport, *, where: str, names: dict[str, str], after_field: bool) -> None:
    heading = block.heading
    assert heading is not None
    end = block.last_line
    if after_field:
        report.warning(
            heading.line,
            f"heading `{heading}` ends the field above it; it is not part of {where}",
            f"escape it as `\\{heading}` if it belongs to the text",
        )
        block_fields = parse_fields(block.lines, report)
        for line in block_fields.loose:
            report.error(line.number, "text after the heading is outside any field and is not shown")
        for found in block_fields.fields.values():
            report.error(found.line, f"field `{found.key}::` under heading `{heading}` is not part of any segment")
        return
    valid = one_of(sorted({"#" * 4 + " " + name for name in names}))
    near = closest(heading.name, list(names))
    suggestion = f"did you mean `#### {near}`?" if near else f"valid segments here: {valid}"
    report.error(heading.line, f"unknown segment type `{heading}` in {where}", suggestion, end_line=end)
