"""The structure of each kind of file: courses, modules (both layouts), learning outcomes and lenses.

Each `parse_*` function takes a file's text (and its vault-relative path, for messages) and returns a
document dataclass whose `report` holds the problems found. Nothing here reads other files: links are
kept as written and resolved by `vault.py`.
"""

from __future__ import annotations

import re
import uuid

from .diagnostics import FileReport
from .documents import SEGMENT_HEADINGS, CourseDoc, CourseStep, LensDoc, LensFileDoc, ModuleDoc, OutcomeDoc, Step
from .fields import check_fields, parse_fields, report_loose_text
from .headings import Block, Heading, matches, split_blocks
from .reader import SourceText, parse_uuid, read_source
from .sections import (
    FOLDER_SECTIONS,
    OUTCOME_SECTIONS,
    SINGLE_FILE_SECTIONS,
    WRITE_IDS,
    group_sections,
    is_module_section,
    parse_placement,
    section_name,
    single_file_section,
    slugify,
    unknown_section,
)
from .segments import parse_segments
from .wikilinks import Link, parse_single_link

COURSE_SECTIONS = ("Module", "Meeting")
# Frontmatter keys each kind of file may carry (besides `reader._ALWAYS_KNOWN`): a near miss is a typo.
_ID_KEYS = ("id", "contentId", "replaces", "title")
COURSE_KEYS = (*_ID_KEYS, "slug", "slug-aliases", "partner-name", "partner-logo", "partner-logo-small", "partner-url")
MODULE_KEYS = (*_ID_KEYS, "slug", "slug-aliases", "readings", "internal")
OUTCOME_KEYS = (*_ID_KEYS, "learning-outcome", "student-outcome", "reading-from", "reading-to", "add_to_ai_context")
LENS_KEYS = (*_ID_KEYS, "tldr", "summary_for_tutor")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BODY_FIELDS_IN_FRONTMATTER = ("optional", "hide", "source", "content", "instructions")


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
    doc.id_written = source.id_written
    source.check_keys(COURSE_KEYS)
    doc.slug = _slug(source)
    doc.title = source.string("title", required=True)
    doc.description = source.string("description")
    doc.slug_aliases = _slug_aliases(source)
    doc.replaces = _replaces(source)
    if doc.id is None and source.id_key not in source.frontmatter:
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
            unknown_section(block, report, "course", [f"# {n}:" for n in COURSE_SECTIONS])
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
    doc.id_written = source.id_written
    source.check_keys(MODULE_KEYS)
    doc.slug = _slug(source)
    doc.title = source.string("title", required=True)
    doc.slug_aliases = _slug_aliases(source)
    doc.replaces = _replaces(source)
    if doc.id is None and source.id_key not in source.frontmatter:
        _warn_no_id(source, "module")
    _warn_body_fields_in_frontmatter(source)
    blocks = split_blocks(source.body)
    _report_preamble(blocks[0], source.report, "module")
    names = FOLDER_SECTIONS + SINGLE_FILE_SECTIONS
    for section, children in group_sections(blocks[1:], is_module_section):
        heading = section.heading
        assert heading is not None
        name = section_name(heading, FOLDER_SECTIONS, SINGLE_FILE_SECTIONS)
        if name is None:
            unknown_section(
                section, source.report, "module", [f"# {n}:" for n in names], children=children, file_kind="module"
            )
            continue
        source.report.use(heading.line)
        if name in SINGLE_FILE_SECTIONS:
            doc.single_file = True
            step = single_file_section(section, children, name, source)
        else:
            step = parse_placement(section, children, name, source)
        if step is not None:
            doc.steps.append(step)
    check_submodule_nesting(doc.steps, source.report)
    return doc


def check_submodule_nesting(steps: list[Step], report: FileReport) -> None:
    """A submodule heading deeper than the one before it would be a submodule of a submodule: they do not nest."""
    outer: Step | None = None
    for step in steps:
        if step.kind != "submodule":
            continue
        if outer is not None and step.level > outer.level:
            report.error(
                step.line,
                f"`{'#' * step.level} Submodule: {step.title}` is inside `# Submodule: {outer.title}` "
                f"(line {outer.line}); submodules do not nest",
                f"write it `{'#' * outer.level} Submodule:` to make it a submodule of its own, or make it a lens",
            )
        else:
            outer = step


# -- learning outcomes -----------------------------------------------------------------------------


def parse_outcome(text: str, path: str = "Learning Outcomes/outcome.md") -> OutcomeDoc:
    """A learning outcome: `## Test:` and `## Lens:` sections, possibly grouped in `# Submodule:`s."""
    source = read_source(path, text)
    doc = OutcomeDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    doc.id = source.content_id(required=True)
    doc.id_written = source.id_written
    source.check_keys(OUTCOME_KEYS)
    doc.statement = source.string("learning-outcome")
    doc.title = source.string("title") or stem(path)
    doc.replaces = _replaces(source)
    _warn_body_fields_in_frontmatter(source)
    blocks = split_blocks(source.body)
    _report_preamble(blocks[0], source.report, "learning outcome")

    def is_section(heading: Heading) -> bool:
        return heading.level <= 3 and matches(heading, OUTCOME_SECTIONS) is not None

    for section, children in group_sections(blocks[1:], is_section):
        heading = section.heading
        assert heading is not None
        name = matches(heading, OUTCOME_SECTIONS) if heading.level <= 3 else None
        if name is None:
            unknown_section(
                section,
                source.report,
                "learning outcome",
                [f"## {n}:" for n in OUTCOME_SECTIONS],
                children=children,
                file_kind="outcome",
            )
            continue
        source.report.use(heading.line)
        step = parse_placement(section, children, name, source)
        if step is not None:
            doc.steps.append(step)
    check_submodule_nesting(doc.steps, source.report)
    tests = [step.lens for step in doc.steps if step.kind == "test" and step.lens is not None]
    for position, test in enumerate(tests):
        if test.id is None and test.derived_id and doc.id is not None:
            test.id = uuid.uuid5(doc.id, f"test:{position}")  # shown; no stable identity until `--write-ids`
    if doc.id is not None and not any(step.kind == "lens" for step in doc.steps):
        source.report.warning(1, "learning outcome has no lens", "add a `## Lens:` section with `source::`")
    return doc


# -- lens files ------------------------------------------------------------------------------------


def parse_lens(text: str, path: str = "Lenses/lens.md") -> LensFileDoc:
    """A lens file: frontmatter (`id`, `title`, `tldr`) and `####` segments."""
    source = read_source(path, text)
    doc = LensFileDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        return _ignored(doc, source)
    report = source.report
    source.check_keys(LENS_KEYS)
    lens_id = source.content_id(required=True)
    tldr = source.string("tldr")
    if tldr and len(tldr.split()) > 80:
        report.error(
            source.line_of("tldr"),
            f"`tldr` has {len(tldr.split())} words; it is shown on cards and must be 80 at most",
            "shorten it to one or two sentences",
        )
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
    title = source.string("title")
    doc.lens = LensDoc("lens", lens_id, title or stem(path), path, 1, segments, tldr=tldr, titled=bool(title))
    doc.id_written = doc.lens.id_written = source.frontmatter.get("id") not in (None, "")
    return doc


# -- shared helpers --------------------------------------------------------------------------------


def _ignored(doc, source: SourceText):
    last = source.body[-1].number if source.body else 1
    source.report.info(1, "skipped: tagged `validator-ignore`", end_line=last)
    return doc


def _slug(source: SourceText) -> str:
    """The required `slug`: lowercase letters, digits and single hyphens (reported, and left out, if not)."""
    slug = source.string("slug", required=True)
    if slug and not SLUG.match(slug):
        _bad_slug(source, "slug", slug)
        return ""
    return slug


def _slug_aliases(source: SourceText) -> list[str]:
    aliases = source.string_list("slug-aliases")
    for alias in aliases:
        if not SLUG.match(alias):
            _bad_slug(source, "slug-aliases", alias)
    return [alias for alias in aliases if SLUG.match(alias)]


def _bad_slug(source: SourceText, key: str, slug: str) -> None:
    better = slugify(slug)
    source.report.error(
        source.line_of(key),
        f"`{key}` {slug!r} may hold only lowercase letters, digits and single hyphens (no spaces, capitals, "
        "other characters, or hyphens at either end)",
        f"write `{better}`" if better else "write a slug such as `intro-to-alignment`",
    )


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
        report.error(
            line.number,
            f"text before the first section of a {kind} is not shown to learners",
            "put it in a section (a `# Lens:` with a `#### Text` segment) or remove it",
        )
    for found in fields.fields.values():
        report.error(found.line, f"field `{found.key}::` is outside any section", "put it under a section heading")


def _check_section_level(heading: Heading, name: str, level: int, report: FileReport) -> None:
    if heading.level != level:
        report.warning(
            heading.line, f"section heading `{heading}` should be level {level}", f"write `{'#' * level} {name}:`"
        )


__all__ = ["parse_course", "parse_lens", "parse_module", "parse_outcome", "stem"]
