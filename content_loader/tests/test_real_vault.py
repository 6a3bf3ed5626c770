"""The real vault (`../shared/corpora/lens-edu-relay`): everything loads, in order, and nothing is lost.

Skipped when the vault is not on this machine. It is parsed once per session (`real_catalog`); the
expectations below are worked out from the raw files with plain regular expressions, independently of
the parser.
"""

import posixpath
import re
import uuid
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content_loader.models import ContentItem, CourseEntry, ModuleEntry
from content_loader.parsing import Catalog
from content_loader.parsing.markup import remove_authoring_markup
from content_loader.sync import sync_content

HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*::")
FRONTMATTER_ID = re.compile(r"\A---\n(?:.*\n)*?id: *['\"]?([0-9a-fA-F-]{36})['\"]? *\n(?:.*\n)*?---", re.MULTILINE)
STRUCTURAL = ("courses/", "modules/", "Learning Outcomes/", "Lenses/")


def clean_lines(root: Path, path: str) -> tuple[list[str], list[int]]:
    clean = remove_authoring_markup((root / path).read_text(encoding="utf-8").replace("\r\n", "\n"))
    lines = clean.text.split("\n")
    return lines, [clean.original_line(i) for i in range(len(lines))]


def body_start(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if re.fullmatch(r"-{3,}\s*", lines[i]):
                return i + 1
    return 0


def published(catalog: Catalog, path: str) -> bool:
    doc = catalog.vault.documents.get(path)
    return doc is not None and not doc.draft and not doc.ignored


def frontmatter_id(root: Path, path: str) -> uuid.UUID | None:
    text = remove_authoring_markup((root / path).read_text(encoding="utf-8").replace("\r\n", "\n")).text
    match = FRONTMATTER_ID.match(text)
    return uuid.UUID(match.group(1)) if match else None


def resolve(path: str, target: str) -> str:
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target.strip()))
    return joined if joined.endswith(".md") else joined + ".md"


def test_nothing_is_dropped_silently(real_catalog: Catalog, real_vault_path: Path):
    """Every heading and every `key::` line of every course, module, outcome and lens file was either used
    by the parser or named by a diagnostic at that file and line (a skipped file's note covers it all)."""
    silent = []
    checked = 0
    for path in sorted(real_catalog.vault.index.paths):
        if not path.startswith(STRUCTURAL) or not path.endswith(".md"):
            continue
        report = real_catalog.vault.reports[path]
        lines, numbers = clean_lines(real_vault_path, path)
        for index in range(body_start(lines), len(lines)):
            if HEADING.match(lines[index]) or FIELD.match(lines[index]):
                checked += 1
                line = numbers[index]
                if line not in report.consumed and not any(d.covers(line) for d in report.diagnostics):
                    silent.append(f"{path}:{line}: {lines[index][:60]}")
    assert checked > 5000
    assert silent == []


def test_everything_published_loads_under_its_written_uuid(real_catalog: Catalog, real_vault_path: Path):
    """Each published course, module, outcome and lens file loads under the `id` in its frontmatter, and
    every inline `id::` (lenses, tests, submodules) is an item too."""
    expected: dict[uuid.UUID, str] = {}
    for path in sorted(real_catalog.vault.index.paths):
        if path.startswith(STRUCTURAL) and path.endswith(".md") and published(real_catalog, path):
            content_id = frontmatter_id(real_vault_path, path)
            if content_id is not None:
                expected[content_id] = path
            lines, _ = clean_lines(real_vault_path, path)
            heading = ""
            for line in lines[body_start(lines) :]:
                if HEADING.match(line):
                    heading = line
                elif line.startswith("id::") and not heading.startswith("#### Roleplay"):
                    expected[uuid.UUID(line[4:].strip())] = path
    assert {path for path in real_catalog.held_back if published(real_catalog, path)} == set()
    missing = {str(i): p for i, p in expected.items() if i not in real_catalog.items}
    assert missing == {}
    counts = {}
    for record in real_catalog.items.values():
        if not record.is_draft:
            counts[record.content_type] = counts.get(record.content_type, 0) + 1
    published_files = dict.fromkeys(STRUCTURAL, 0)
    for path in sorted(real_catalog.vault.index.paths):
        for prefix in STRUCTURAL:
            if path.startswith(prefix) and path.endswith(".md") and published(real_catalog, path):
                published_files[prefix] += 1
    assert counts["course"] == published_files["courses/"] == 9
    assert counts["lo"] == published_files["Learning Outcomes/"]
    assert counts["lens"] >= published_files["Lenses/"]
    assert counts["module"] > published_files["modules/"]  # submodules are modules too


def test_courses_list_their_modules_in_vault_order(real_catalog: Catalog, real_vault_path: Path):
    """Each course's entries follow its `# Module:`/`# Meeting:` headings, submodules in place of parents."""
    items = real_catalog.items
    for path in sorted(real_catalog.vault.index.paths):
        if not path.startswith("courses/") or not published(real_catalog, path):
            continue
        lines, _ = clean_lines(real_vault_path, path)
        written = []
        for line in lines:
            module = re.match(r"^# Module:\s*\[\[([^\]|]+)", line)
            if module:
                written.append(("module", frontmatter_id(real_vault_path, resolve(path, module.group(1)))))
            elif line.startswith("# Meeting:"):
                written.append(("meeting", line.split(":", 1)[1].strip()))
        record = items[frontmatter_id(real_vault_path, path)]
        loaded = []
        for entry in record.course_entries:
            if entry.kind == "meeting":
                loaded.append(("meeting", entry.title))
                continue
            leaf = items[entry.module_id]
            parent = ("module", leaf.parent_id or leaf.id)
            if not loaded or loaded[-1] != parent or leaf.parent_id is None:
                loaded.append(parent)
        assert loaded == written, path


def test_optional_and_hidden_lenses_keep_their_flags(real_catalog: Catalog, real_vault_path: Path):
    """Every `# Lens:` with `optional:: true` (and `hide:: true`) in a module is placed optional (hidden)."""
    checked = 0
    for path in sorted(real_catalog.vault.index.paths):
        if not path.startswith("modules/") or not published(real_catalog, path):
            continue
        module_id = frontmatter_id(real_vault_path, path)
        placed = [
            entry
            for record in real_catalog.items.values()
            if record.content_type == "module" and (record.id == module_id or record.parent_id == module_id)
            for entry in record.module_entries
        ]
        lines, _ = clean_lines(real_vault_path, path)
        sections = re.split(r"\n(?=#{1,3} Lens:)", "\n".join(lines))
        for section in sections[1:]:
            block = re.split(r"\n(?=#)", section)[0]
            source = re.search(r"^source::\s*!?\[\[([^\]|]+)", block, re.MULTILINE)
            if not source or "optional:: true" not in block:
                continue
            lens_id = frontmatter_id(real_vault_path, resolve(path, source.group(1)))
            hide = "hide:: true" in block
            assert any(e.item_id == lens_id and e.optional and e.hide == hide for e in placed), (path, lens_id)
            checked += 1
    assert checked > 100


def test_demo_course_structure(real_catalog: Catalog):
    """The demo course: a module, a meeting, the two submodules of the submodule demo, hidden imports."""
    items = real_catalog.items
    demo = items[uuid.UUID("93a2780d-b904-40f5-987d-081e722a6743")]
    assert [(e.kind, items[e.module_id].slug if e.module_id else e.title) for e in demo.course_entries] == [
        ("module", "demo-basics"),
        ("meeting", "Name of the first meeting"),
        ("module", "demo-submodules/structure"),
        ("module", "demo-submodules/interaction"),
        ("module", "demo-hidden-imports"),
        ("meeting", "Name of the second meeting"),
    ]
    structure = items[uuid.uuid5(uuid.UUID("2a8a12a4-1ab1-4711-8fe3-deadbc507177"), "structure")]
    dummy = uuid.UUID("0afe7995-8350-4d4f-80e4-1421b48ab554")
    assert [(e.item_id, e.optional) for e in structure.module_entries] == [(dummy, False), (dummy, True)]
    hidden = items[uuid.UUID("aaed6749-9d79-4345-830e-47b4fa050981")]
    assert [(e.optional, e.hide) for e in hidden.module_entries] == [(False, False)] + [(True, True)] * 3


def test_drafts_and_old_headings_are_reported_not_crashed_on(real_catalog: Catalog):
    """Drafts are listed and load as drafts; old single-file modules and `#### Text:` headings are reported."""
    messages = {(d.path, d.severity, d.message) for d in real_catalog.diagnostics}
    assert "courses/EA Intro Program.md" in real_catalog.drafts
    assert ("modules/intelligence-feedback-loop.md", "info", "skipped: tagged `validator-ignore`") in messages
    assert any(p == "modules/IABIED M2 Nonhuman Minds, Part 2.md" and "`#### Text:`" in m for p, _, m in messages)
    # The EA Intro course is a draft whose draft modules have errors: it waits, at its last synced version.
    assert "courses/EA Intro Program.md" in real_catalog.held_back
    assert uuid.UUID("b7b9c9f0-9f7c-4e37-9969-3db8b101639b") not in real_catalog.items


def test_the_drafts_findings_are_reported_and_marked(real_catalog: Catalog):
    """The drafts' own problems are reported at their file and line, marked as draft findings, and only there."""
    findings = [d for d in real_catalog.diagnostics if d.draft]
    assert {d.path for d in findings} <= set(real_catalog.drafts)
    assert all(real_catalog.vault.documents[d.path].draft for d in findings)
    assert not [d for d in real_catalog.diagnostics if not d.draft and d.path in real_catalog.drafts]
    found = {(d.path, d.line, d.severity, d.message) for d in findings}
    assert (
        "Lenses/EA Intro - Lessons for EA (Toby Ord EAG).md",
        8,
        "error",
        "`content::` of a Text segment is empty",
    ) in found
    assert (
        "Lenses/EA Intro - Big List of Cause Candidates.md",
        7,
        "error",
        "the excerpt of articles/sempere-big-list-cause-candidates.md selects nothing",
    ) in found
    assert (
        "modules/IABIED M7 What Happens Next.md",
        58,
        "warning",
        "segment heading `#### Text:` takes no colon",
    ) in found
    own_errors = [d for d in findings if d.severity == "error" and not d.message.startswith("not loaded because")]
    assert len(own_errors) >= 16


def test_referenced_lenses_show_their_files_own_titles(real_catalog: Catalog, real_vault_path: Path):
    """Every placement of the IABIED Q&A and facilitator lenses shows the lens file's `title:` (read here
    with plain YAML), not the `# Lens:` heading's label."""
    titles: dict[uuid.UUID, str] = {}
    for path in sorted((real_vault_path / "Lenses").glob("*.md")):
        if not path.name.startswith(("IABIED - QA - ", "Facilitator - ")):
            continue
        text = remove_authoring_markup(path.read_text(encoding="utf-8").replace("\r\n", "\n")).text
        front = yaml.safe_load(text.split("---\n", 2)[1]) if text.startswith("---\n") else {}
        if front.get("title") and front.get("id") and not {"wip", "work-in-progress"} & set(front.get("tags") or []):
            titles[uuid.UUID(str(front["id"]))] = str(front["title"]).strip()
    shown = [
        (entry.title or real_catalog.items[entry.item_id].title, titles[entry.item_id])
        for record in real_catalog.items.values()
        for entry in record.module_entries
        if entry.item_id in titles
    ]
    assert len(shown) > 40
    assert [pair for pair in shown if pair[0] != pair[1]] == []
    assert ("Why write a book about superhuman AI as an extinction threat?",) * 2 in shown


def test_every_article_excerpt_resolves(real_catalog: Catalog):
    """All the vault's `from::`/`to::` anchors are found (any that are not would be errors naming file:line)."""
    assert [str(d) for d in real_catalog.diagnostics if d.severity == "error" and not d.draft] == []
    excerpts = [
        segment
        for record in real_catalog.items.values()
        if not record.is_draft
        for segment in record.body.get("segments", [])
        if segment["type"] == "article"
    ]
    assert len(excerpts) > 300
    assert all(segment["excerpt_html"] for segment in excerpts)


@pytest.mark.django_db
@pytest.mark.slow
def test_real_vault_syncs_and_a_second_run_changes_nothing(real_vault_path: Path):
    """The real vault syncs without errors; a second run reports 0 changes and writes nothing."""
    report = sync_content(real_vault_path)
    assert report.errors == 0 and report.exit_code == 0
    assert ContentItem.objects.filter(content_type="course").count() == 9
    submodules = ContentItem.objects.filter(parent__slug="demo-submodules").order_by("slug")
    assert list(submodules.values_list("slug", flat=True)) == [
        "demo-submodules/interaction",
        "demo-submodules/structure",
    ]
    assert CourseEntry.objects.count() > 100 and ModuleEntry.objects.count() > 500
    with CaptureQueriesContext(connection) as queries:
        again = sync_content(real_vault_path)
    assert "0 changes" in again.summary()
    assert [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"])] == []


def test_bodies_follow_the_body_contract(real_catalog: Catalog):
    """Every lens and test body has exactly the keys `content_loader.body` promises the pages."""
    from typing import get_type_hints

    from content_loader import body

    shapes = {
        "text": body.TextSegment,
        "article": body.ArticleSegment,
        "video": body.VideoSegment,
        "chat": body.ChatSegment,
        "question": body.QuestionSegment,
        "roleplay": body.RoleplaySegment,
    }
    lens_keys = set(get_type_hints(body.LensBody))
    seen = set()
    for record in real_catalog.items.values():
        if record.content_type not in ("lens", "test"):
            continue
        assert set(record.body) <= lens_keys and "segments" in record.body
        for segment in record.body["segments"]:
            shape = shapes[segment["type"]]
            assert set(segment) == set(get_type_hints(shape)), (record.source_path, segment["type"])
            seen.add(segment["type"])
            if segment["type"] == "article":
                assert set(segment["article"]) == set(get_type_hints(body.ArticleInfo))
            if segment["type"] == "video":
                assert set(segment["video"]) == set(get_type_hints(body.VideoInfo))
    assert seen == set(shapes)
