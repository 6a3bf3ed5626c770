"""Sections of modules and learning outcomes: what each `# Heading:` places, in both layouts.

`# Lens:` (by reference or inline), `# Learning Outcome:`, `## Test:` and `# Submodule:` in the folder
layout; `# Video:`, `# Article:`, `# Text:` and `# Chat:` in the original single-file module. Each section
becomes a `Step`; the blocks under a section heading (its segments, for inline lenses) are its children.
"""

from __future__ import annotations

import re

from .diagnostics import FileReport, closest, one_of
from .documents import SEGMENT_HEADINGS, SINGLE_FILE_SEGMENT_FIELDS, LensDoc, Segment, Step
from .fields import FieldBlock, check_fields, parse_fields
from .headings import Block, Heading, matches
from .reader import SourceText, parse_uuid
from .segments import parse_segments, source_link
from .wikilinks import Link

FOLDER_SECTIONS = ("Lens", "Learning Outcome", "Submodule")
SINGLE_FILE_SECTIONS = ("Video", "Article", "Text", "Chat")
OUTCOME_SECTIONS = ("Test", "Lens", "Submodule")
# A test holds questions and roleplays, and Text segments between them (an introduction, say).
TEST_SEGMENT_HEADINGS = {"Question": "question", "Roleplay": "roleplay", "Text": "text"}
WRITE_IDS = "run `manage.py sync_content --write-ids`"


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens (no Django import: parsing stays pure)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def is_module_section(heading: Heading) -> bool:
    return heading.level <= 3 and section_name(heading, FOLDER_SECTIONS, SINGLE_FILE_SECTIONS) is not None


def section_name(heading: Heading, folder: tuple[str, ...], single: tuple[str, ...]) -> str | None:
    """Folder-layout section names may omit the colon (reported); single-file ones need it."""
    return matches(heading, folder) or (matches(heading, single) if heading.colon else None)


def group_sections(blocks: list[Block], is_section) -> list[tuple[Block, list[Block]]]:
    """Group blocks into sections: a section heading, then the blocks below it up to the next section.

    A heading at the section's own level or above also ends it (and starts an unknown section).
    """
    result: list[tuple[Block, list[Block]]] = []
    for block in blocks:
        heading = block.heading
        assert heading is not None
        if result and not is_section(heading) and heading.level > result[-1][0].heading.level:  # type: ignore[union-attr]  # asserted as it was added
            result[-1][1].append(block)
        else:
            result.append((block, []))
    return result


def parse_placement(section: Block, children: list[Block], name: str, source: SourceText) -> Step | None:
    """A `Lens`, `Learning Outcome`, `Test` or `Submodule` section of a module or learning outcome."""
    heading = section.heading
    assert heading is not None
    report = source.report
    if not heading.colon:
        report.warning(
            heading.line, f"section heading `{heading}` needs a colon", f"write `{'#' * heading.level} {name}:`"
        )
    fields = parse_fields(section.lines, report)
    if name == "Submodule":
        check_fields(
            fields, report, where="a `# Submodule:` section", allowed=("slug", "id"), heading_line=heading.line
        )
        report_children(children, report, "a `# Submodule:` heading starts a submodule; its lenses follow as sections")
        title = heading.title or "Submodule"
        slug = slugify(fields.get("slug")) if fields.get("slug") else slugify(title)
        if fields.get("slug") and fields.get("slug") != slug:
            report.warning(fields.line("slug"), f"submodule slug {fields.get('slug')!r} is used as {slug!r}")
        sub_id = (
            parse_uuid(fields.get("id"), report, fields.line("id"), "submodule `id::`") if fields.get("id") else None
        )
        if not heading.title:
            report.warning(heading.line, "`# Submodule:` has no title", "write `# Submodule: Title`")
        return Step("submodule", heading.line, title=title, slug=slug or "submodule", id=sub_id, level=heading.level)
    if name == "Learning Outcome":
        check_fields(
            fields,
            report,
            where="a `# Learning Outcome:` section",
            allowed=("source", "optional"),
            required=("source",),
            elsewhere={"hide": "`# Lens:` sections", "id": "inline `# Lens:` sections"},
            heading_line=heading.line,
        )
        report_children(children, report, "a `# Learning Outcome:` section only points at its file")
        link = source_link(fields.get("source"), fields.line("source"), report) if fields.get("source") else None
        if link is None:
            return None
        return Step("lo", heading.line, title=heading.title, optional=fields.flag("optional", report), link=link)
    if name == "Test":
        return _test_section(section, children, fields, source)
    return _lens_section(section, children, fields, source)


def _lens_section(section: Block, children: list[Block], fields: FieldBlock, source: SourceText) -> Step | None:
    """`# Lens:` either points at a lens file (`source::`) or defines one inline (`id::` and segments)."""
    heading = section.heading
    assert heading is not None
    report = source.report
    inline = "id" in fields.fields or ("source" not in fields.fields and children)
    allowed = ("id", "optional", "hide") if inline else ("source", "optional", "hide")
    check_fields(
        fields,
        report,
        where="a `# Lens:` section",
        allowed=allowed,
        elsewhere={"source": "`# Lens:` sections that point at a lens file (not inline ones with `id::`)"}
        if inline
        else {"id": "inline `# Lens:` sections (not ones with `source::`)"},
        heading_line=heading.line,
    )
    optional = fields.flag("optional", report)
    hide = fields.flag("hide", report)
    if hide and not optional:
        report.error(fields.line("hide"), "`hide:: true` requires `optional:: true`", "add `optional:: true`")
        hide = False
    if "id" in fields.fields and "source" in fields.fields:
        report.error(
            heading.line, "a `# Lens:` has both `source::` and `id::`", "keep one: a reference or an inline lens"
        )
    if not inline:
        if "source" not in fields.fields:
            report.error(
                heading.line,
                "a `# Lens:` section is missing required field `source::`",
                "or define it inline with `id::` and `####` segments",
            )
            return None
        report_children(children, report, "a `# Lens:` with `source::` has no segments of its own")
        link = source_link(fields.get("source"), fields.line("source"), report)
        if link is None:
            return None
        return Step("lens", heading.line, title=heading.title, optional=optional, hide=hide, link=link)
    lens_id = None
    if fields.get("id"):
        lens_id = parse_uuid(fields.get("id"), report, fields.line("id"), "lens `id::`")
    else:
        report.error(heading.line, "inline `# Lens:` is missing required field `id::`", WRITE_IDS)
    segments = parse_segments(
        children, report, where="a lens", names=SEGMENT_HEADINGS, level=4, after_fields=bool(fields.fields)
    )
    if not segments:
        report.error(heading.line, "inline `# Lens:` has no segments", "add `#### Text` (or another segment) below it")
    lens = LensDoc("lens", lens_id, heading.title, source.path, heading.line, segments)
    lens.id_written = bool(fields.get("id"))
    return Step("lens", heading.line, title=heading.title, optional=optional, hide=hide, lens=lens)


def _test_section(section: Block, children: list[Block], fields: FieldBlock, source: SourceText) -> Step | None:
    heading = section.heading
    assert heading is not None
    report = source.report
    check_fields(fields, report, where="a `## Test:` section", allowed=("id",), heading_line=heading.line)
    test_id = None
    if fields.get("id"):
        test_id = parse_uuid(fields.get("id"), report, fields.line("id"), "test `id::`")
    segments = parse_segments(
        children,
        report,
        where="a test",
        names=TEST_SEGMENT_HEADINGS,
        level=4,
        after_fields=bool(fields.fields),
    )
    if not segments and not fields.fields:
        report.warning(heading.line, "empty `## Test:` section is ignored", "add `id::` and `#### Question` segments")
        return None
    if not fields.get("id"):
        report.warning(
            heading.line,
            "`## Test:` has no `id::`: it is shown, but no progress can be stored for it until it has one",
            WRITE_IDS,
        )
    if not any(segment.kind in ("question", "roleplay") for segment in segments):
        report.error(heading.line, "`## Test:` has no questions", "add `#### Question` or `#### Roleplay` segments")
    test = LensDoc("test", test_id, heading.title, source.path, heading.line, segments)
    test.derived_id = not fields.get("id")
    test.id_written = bool(fields.get("id"))
    return Step("test", heading.line, title=heading.title, lens=test)


def single_file_section(section: Block, children: list[Block], name: str, source: SourceText) -> Step | None:
    """`# Video:`, `# Article:`, `# Text:` or `# Chat:` of the original single-file module: one lens."""
    heading = section.heading
    assert heading is not None
    report = source.report
    kind = name.lower()
    own = {
        "video": ("id", "source", "optional"),
        "article": ("id", "source", "optional"),
        "text": ("id", "optional", "content"),
        "chat": ("id", "optional", "instructions", "hidePreviousContentFromUser", "hidePreviousContentFromTutor"),
    }[kind]
    fields = parse_fields(section.lines, report)
    check_fields(
        fields,
        report,
        where=f"a `# {name}:` section",
        allowed=own,
        required=("source",) if kind in ("video", "article") else (),
        heading_line=heading.line,
    )
    lens_id = parse_uuid(fields.get("id"), report, fields.line("id"), "section `id::`") if fields.get("id") else None
    if "id" not in fields.fields:
        report.warning(
            heading.line,
            f"`{heading}` has no `id::`: it is shown, but progress cannot be stored for it",
            WRITE_IDS,
        )
    segments: list[Segment] = []
    if kind in ("text", "chat") and fields.get("content" if kind == "text" else "instructions"):
        segments.append(Segment(kind, heading.line, fields))
    inherited: dict[str, Link] = {}
    if kind in ("video", "article") and fields.get("source"):
        link = source_link(fields.get("source"), fields.line("source"), report)
        if link is not None:
            inherited[kind] = link
    names = {"Text": "text", "Chat": "chat"}
    if kind in ("video", "article"):
        names[f"{name}-excerpt"] = kind
    segments += parse_segments(
        children,
        report,
        where=f"a `# {name}:` section",
        names=names,
        level=2,
        fields=SINGLE_FILE_SEGMENT_FIELDS,
        inherited=inherited,
        after_fields=bool(fields.fields),
    )
    if kind in ("video", "article") and not any(s.kind == kind for s in segments):
        report.warning(
            heading.line,
            f"`{heading}` has no `## {name}-excerpt`, so its {kind} is not shown",
            f"add `## {name}-excerpt` (with `from::`/`to::` or neither for the whole {kind})",
        )
    if not segments:
        report.error(heading.line, f"`{heading}` has nothing to show")
    lens = LensDoc(
        "lens", lens_id, heading.title or name, source.path, heading.line, segments, derived_id=lens_id is None
    )
    lens.id_written = bool(fields.get("id"))
    return Step("lens", heading.line, title=heading.title, optional=fields.flag("optional", report), lens=lens)


def report_children(children: list[Block], report: FileReport, why: str) -> None:
    for block in children:
        heading = block.heading
        assert heading is not None
        report.error(heading.line, f"heading `{heading}` is not allowed here: {why}", end_line=block.last_line)


def unknown_section(
    block: Block,
    report: FileReport,
    where: str,
    valid: list[str],
    *,
    children: list[Block] | None = None,
    file_kind: str = "",
) -> None:
    heading = block.heading
    assert heading is not None
    end = (children[-1] if children else block).last_line
    names = [v.strip("#: ") for v in valid]
    near = closest(heading.name, names)
    suggestion = f"did you mean `{'#' * heading.level} {near}:`?" if near else f"valid sections: {one_of(valid)}"
    if file_kind == "module" and heading.level >= 4 and matches(heading, SEGMENT_HEADINGS):
        suggestion = "segments go inside an inline `# Lens:` section (with `id::`)"
    report.error(heading.line, f"unknown section type `{heading}` in a {where}", suggestion, end_line=end)
