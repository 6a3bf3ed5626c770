"""The structure of each kind of file: courses, modules (both layouts), learning outcomes and lenses.

Each `parse_*` function takes a file's text (and its vault-relative path, for messages) and returns a
document dataclass whose `report` holds the problems found. Nothing here reads other files: links are
kept as written and resolved by `vault.py`.
"""

from __future__ import annotations

import re
import uuid

from .diagnostics import FileReport, closest, one_of
from .documents import (
    SEGMENT_HEADINGS,
    SINGLE_FILE_SEGMENT_FIELDS,
    SINGLE_FILE_SEGMENTS,
    CourseDoc,
    CourseStep,
    LensDoc,
    LensFileDoc,
    ModuleDoc,
    OutcomeDoc,
    Segment,
    Step,
)
from .fields import FieldBlock, check_fields, parse_fields, report_loose_text
from .headings import Block, Heading, matches, split_blocks
from .reader import SourceText, parse_uuid, read_source
from .segments import parse_segments, source_link
from .wikilinks import Link, parse_single_link

FOLDER_SECTIONS = ("Lens", "Learning Outcome", "Submodule")
SINGLE_FILE_SECTIONS = ("Video", "Article", "Text", "Chat")
OUTCOME_SECTIONS = ("Test", "Lens", "Submodule")
COURSE_SECTIONS = ("Module", "Meeting")
WRITE_IDS = "run `manage.py sync_content --write-ids`"
_BODY_FIELDS_IN_FRONTMATTER = ("optional", "hide", "source", "content", "instructions")


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens (no Django import: parsing stays pure)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:-3] if name.endswith(".md") else name


# -- courses ---------------------------------------------------------------------------------------


def parse_course(text: str, path: str = "courses/course.md") -> CourseDoc:
    """A course: `# Module: [[...]]` and `# Meeting: Name` headings in learner order."""
    source = read_source(path, text)
    doc = CourseDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    doc.id = source.content_id(required=False)
    doc.slug = source.string("slug", required=True)
    doc.title = source.string("title", required=True)
    doc.description = source.string("description")
    doc.slug_aliases = source.string_list("slug-aliases")
    doc.replaces = _replaces(source)
    if doc.id is None and "id" not in source.frontmatter:
        _warn_no_id(source, "course")
    _warn_body_fields_in_frontmatter(source)
    report = source.report
    blocks = split_blocks(source.body)
    _report_preamble(blocks[0], report, "course")
    for block in blocks[1:]:
        heading = block.heading
        assert heading is not None
        name = matches(heading, COURSE_SECTIONS) if heading.colon else None
        if name is None:
            _unknown_section(block, report, "course", [f"# {n}:" for n in COURSE_SECTIONS])
            continue
        report.use(heading.line)
        _check_section_level(heading, name, 1, report)
        fields = parse_fields(block.lines, report)
        if name == "Meeting":
            check_fields(fields, report, where="a `# Meeting:` section", allowed=(), heading_line=heading.line)
            if not heading.title:
                report.error(heading.line, "`# Meeting:` needs a name", "write `# Meeting: Name`")
            doc.steps.append(CourseStep("meeting", heading.line, title=heading.title))
            continue
        check_fields(fields, report, where="a `# Module:` section", allowed=("optional",), heading_line=heading.line)
        parsed = parse_single_link(heading.title)
        if parsed is None:
            report.error(heading.line, "`# Module:` needs a link to a module", "write `# Module: [[../modules/name]]`")
            continue
        target, display = parsed
        link = Link(target, display, heading.line)
        doc.steps.append(
            CourseStep("module", heading.line, title=display, optional=fields.flag("optional", report), link=link)
        )
    return doc


# -- modules ---------------------------------------------------------------------------------------


def parse_module(text: str, path: str = "modules/module.md") -> ModuleDoc:
    """A module, in the folder layout or the original single-file format (or a mix of both)."""
    source = read_source(path, text)
    doc = ModuleDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    doc.id = source.content_id(required=False)
    doc.slug = source.string("slug", required=True)
    doc.title = source.string("title", required=True)
    doc.slug_aliases = source.string_list("slug-aliases")
    doc.replaces = _replaces(source)
    if doc.id is None and "id" not in source.frontmatter:
        _warn_no_id(source, "module")
    _warn_body_fields_in_frontmatter(source)
    blocks = split_blocks(source.body)
    _report_preamble(blocks[0], source.report, "module")
    names = FOLDER_SECTIONS + SINGLE_FILE_SECTIONS
    for section, children in _sections(blocks[1:], _is_module_section):
        heading = section.heading
        assert heading is not None
        name = _section_name(heading, FOLDER_SECTIONS, SINGLE_FILE_SECTIONS)
        if name is None:
            _unknown_section(
                section, source.report, "module", [f"# {n}:" for n in names], children=children, file_kind="module"
            )
            continue
        source.report.use(heading.line)
        if name in SINGLE_FILE_SECTIONS:
            doc.single_file = True
            step = _single_file_section(section, children, name, source)
        else:
            step = _placement(section, children, name, source, where_file="module")
        if step is not None:
            doc.steps.append(step)
    return doc


def _is_module_section(heading: Heading) -> bool:
    return heading.level <= 3 and _section_name(heading, FOLDER_SECTIONS, SINGLE_FILE_SECTIONS) is not None


def _section_name(heading: Heading, folder: tuple[str, ...], single: tuple[str, ...]) -> str | None:
    """Folder-layout section names may omit the colon (reported); single-file ones need it."""
    return matches(heading, folder) or (matches(heading, single) if heading.colon else None)


def _sections(blocks: list[Block], is_section) -> list[tuple[Block, list[Block]]]:
    """Group blocks into sections: a section heading, then the blocks below it up to the next section.

    A heading at the section's own level or above also ends it (and starts an unknown section).
    """
    result: list[tuple[Block, list[Block]]] = []
    for block in blocks:
        heading = block.heading
        assert heading is not None
        if result and not is_section(heading) and heading.level > result[-1][0].heading.level:
            result[-1][1].append(block)
        else:
            result.append((block, []))
    return result


def _placement(section: Block, children: list[Block], name: str, source: SourceText, *, where_file: str) -> Step | None:
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
        _report_children(children, report, "a `# Submodule:` heading starts a submodule; its lenses follow as sections")
        title = heading.title or "Submodule"
        slug = slugify(fields.get("slug")) if fields.get("slug") else slugify(title)
        if fields.get("slug") and fields.get("slug") != slug:
            report.warning(fields.line("slug"), f"submodule slug {fields.get('slug')!r} is used as {slug!r}")
        sub_id = (
            parse_uuid(fields.get("id"), report, fields.line("id"), "submodule `id::`") if fields.get("id") else None
        )
        if not heading.title:
            report.warning(heading.line, "`# Submodule:` has no title", "write `# Submodule: Title`")
        return Step("submodule", heading.line, title=title, slug=slug or "submodule", id=sub_id)
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
        _report_children(children, report, "a `# Learning Outcome:` section only points at its file")
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
        _report_children(children, report, "a `# Lens:` with `source::` has no segments of its own")
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
        names={"Question": "question", "Roleplay": "roleplay"},
        level=4,
        after_fields=bool(fields.fields),
    )
    if not segments and not fields.fields:
        report.warning(heading.line, "empty `## Test:` section is ignored", "add `id::` and `#### Question` segments")
        return None
    if not fields.get("id"):
        report.error(heading.line, "`## Test:` is missing required field `id::`", WRITE_IDS)
    if not segments:
        report.error(heading.line, "`## Test:` has no segments", "add `#### Question` or `#### Roleplay` segments")
    test = LensDoc("test", test_id, heading.title, source.path, heading.line, segments)
    test.id_written = bool(fields.get("id"))
    return Step("test", heading.line, title=heading.title, lens=test)


def _single_file_section(section: Block, children: list[Block], name: str, source: SourceText) -> Step | None:
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


# -- learning outcomes -----------------------------------------------------------------------------


def parse_outcome(text: str, path: str = "Learning Outcomes/outcome.md") -> OutcomeDoc:
    """A learning outcome: `## Test:` and `## Lens:` sections, possibly grouped in `# Submodule:`s."""
    source = read_source(path, text)
    doc = OutcomeDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    doc.id = source.content_id(required=True)
    doc.statement = source.string("learning-outcome")
    doc.title = source.string("title") or stem(path)
    doc.replaces = _replaces(source)
    _warn_body_fields_in_frontmatter(source)
    blocks = split_blocks(source.body)
    _report_preamble(blocks[0], source.report, "learning outcome")

    def is_section(heading: Heading) -> bool:
        return heading.level <= 3 and matches(heading, OUTCOME_SECTIONS) is not None

    for section, children in _sections(blocks[1:], is_section):
        heading = section.heading
        assert heading is not None
        name = matches(heading, OUTCOME_SECTIONS) if heading.level <= 3 else None
        if name is None:
            _unknown_section(
                section,
                source.report,
                "learning outcome",
                [f"## {n}:" for n in OUTCOME_SECTIONS],
                children=children,
                file_kind="outcome",
            )
            continue
        source.report.use(heading.line)
        step = _placement(section, children, name, source, where_file="learning outcome")
        if step is not None:
            doc.steps.append(step)
    return doc


# -- lens files ------------------------------------------------------------------------------------


def parse_lens(text: str, path: str = "Lenses/lens.md") -> LensFileDoc:
    """A lens file: frontmatter (`id`, `title`, `tldr`) and `####` segments."""
    source = read_source(path, text)
    doc = LensFileDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    report = source.report
    lens_id = source.content_id(required=True)
    tldr = source.string("tldr")
    if tldr and len(tldr.split()) > 80:
        report.warning(source.line_of("tldr"), f"`tldr` has {len(tldr.split())} words; keep it to 80 at most")
    doc.replaces = _replaces(source)
    _warn_body_fields_in_frontmatter(source)
    blocks = split_blocks(source.body)
    if blocks[0].has_text:
        preamble = parse_fields(blocks[0].lines, report)
        report_loose_text(preamble, report, where="a lens (before its first segment)", allowed=())
        for found in preamble.fields.values():
            report.error(
                found.line, f"field `{found.key}::` is outside any segment", "put it under a `####` segment heading"
            )
    segment_blocks: list[Block] = []
    for block in blocks[1:]:
        heading = block.heading
        assert heading is not None
        if heading.level <= 3 and matches(heading, FOLDER_SECTIONS) and heading.colon:
            report.warning(
                heading.line,
                f"`{heading}` is ignored: `# {matches(heading, FOLDER_SECTIONS)}:` sections belong in module files",
                "a lens file holds only `####` segments",
                end_line=block.last_line,
            )
            continue
        segment_blocks.append(block)
    segments = parse_segments(segment_blocks, report, where="a lens", names=SEGMENT_HEADINGS, level=4)
    if not segments:
        report.error(1, "lens has no segments", "add `#### Text` (or another segment)")
    title = source.string("title") or stem(path)
    doc.lens = LensDoc("lens", lens_id, title, path, 1, segments, tldr=tldr)
    doc.lens.id_written = source.frontmatter.get("id") not in (None, "")
    return doc


# -- shared helpers --------------------------------------------------------------------------------


def _ignored(doc, source: SourceText):
    last = source.body[-1].number if source.body else 1
    source.report.info(1, "skipped: tagged `validator-ignore`", end_line=last)
    return doc


def _replaces(source: SourceText) -> list[uuid.UUID]:
    result = []
    for value in source.string_list("replaces"):
        parsed = parse_uuid(value, source.report, source.line_of("replaces"), "`replaces:` entry")
        if parsed is not None:
            result.append(parsed)
    return result


def _warn_no_id(source: SourceText, kind: str) -> None:
    source.report.warning(
        1,
        f"{kind} has no `id`: its identity follows its slug, so progress is lost if the slug changes",
        WRITE_IDS,
    )


def _warn_body_fields_in_frontmatter(source: SourceText) -> None:
    for key in _BODY_FIELDS_IN_FRONTMATTER:
        if key in source.frontmatter:
            source.report.warning(
                source.line_of(key),
                f"frontmatter `{key}:` has no effect here",
                f"write `{key}::` in the body, under the heading that places this file",
            )


def _report_preamble(block: Block, report: FileReport, kind: str) -> None:
    """Text before the first heading of a course, module or outcome file is not shown to learners."""
    fields = parse_fields(block.lines, report)
    for line in fields.loose:
        report.warning(line.number, f"text before the first section of a {kind} is ignored")
    for found in fields.fields.values():
        report.error(found.line, f"field `{found.key}::` is outside any section", "put it under a section heading")


def _report_children(children: list[Block], report: FileReport, why: str) -> None:
    for block in children:
        heading = block.heading
        assert heading is not None
        report.error(heading.line, f"heading `{heading}` is not allowed here: {why}", end_line=block.last_line)


def _check_section_level(heading: Heading, name: str, level: int, report: FileReport) -> None:
    if heading.level != level:
        report.warning(
            heading.line, f"section heading `{heading}` should be level {level}", f"write `{'#' * level} {name}:`"
        )


def _unknown_section(
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


__all__ = [
    "SINGLE_FILE_SEGMENTS",
    "parse_course",
    "parse_lens",
    "parse_module",
    "parse_outcome",
    "slugify",
]
