"""Syncing a vault into the registry: identity by UUID, structure in order, retirement, no-op runs."""

import re
import shutil
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content_loader.models import ContentItem, CourseEntry, ModuleEntry, ReplacedId, SlugAlias
from content_loader.sync import sync_content
from content_loader.tests.vaults import (
    COURSE_ID,
    INLINE_ID,
    LENS_A,
    LENS_B,
    LENS_C,
    MODULE_ID,
    OUTCOME_ID,
    TEST_ID,
    article,
    basic_vault,
    course,
    lens,
    module,
)

pytestmark = pytest.mark.django_db
DRAFT_COURSE = "00000000-0000-4000-8000-0000000000d1"
DRAFT_MODULE = "00000000-0000-4000-8000-0000000000d2"
DRAFT_LENS = "00000000-0000-4000-8000-0000000000d3"

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if WRITES.match(q["sql"])]


def module_layout(module_id: str) -> list[tuple[str, str | None, bool, bool]]:
    return [
        (str(e.item_id), str(e.learning_outcome_id) if e.learning_outcome_id else None, e.optional, e.hide)
        for e in ModuleEntry.objects.filter(module_id=module_id).order_by("position")
    ]


def test_first_sync_loads_items_and_structure(make_vault):
    """Courses, modules, outcomes, tests and lenses load under their UUIDs, with structure in order."""
    report = sync_content(make_vault(basic_vault()))
    assert report.exit_code == 0, report.lines()
    types = dict(ContentItem.objects.values_list("id", "content_type"))
    assert {str(k): v for k, v in types.items()} == {
        COURSE_ID: "course",
        MODULE_ID: "module",
        OUTCOME_ID: "lo",
        TEST_ID: "test",
        INLINE_ID: "lens",
        LENS_A: "lens",
        LENS_B: "lens",
        LENS_C: "lens",
    }
    assert module_layout(MODULE_ID) == [
        (INLINE_ID, None, False, False),
        (LENS_A, None, False, False),
        (LENS_B, OUTCOME_ID, False, False),
        (TEST_ID, OUTCOME_ID, False, False),
        (LENS_C, None, True, False),
    ]
    entries = CourseEntry.objects.filter(course_id=COURSE_ID).order_by("position")
    assert [(e.kind, e.module_id and str(e.module_id), e.title) for e in entries] == [
        ("module", MODULE_ID, ""),  # the module's own title wins over the link's "Introduction"
        ("meeting", None, "First meeting"),
    ]
    inline = ContentItem.objects.get(id=INLINE_ID)
    assert (inline.title, inline.source_path, inline.source_line) == ("Welcome", "modules/intro.md", 7)
    assert inline.body["segments"][0]["html"] == "<p>Welcome!</p>"
    assert ContentItem.objects.get(id=MODULE_ID).slug == "intro"
    assert report.summary().startswith("Synced ")
    assert "8 added" in report.summary()


def test_second_run_reports_zero_changes_and_writes_nothing(make_vault):
    """With no file changed, a second run says "0 changes" and issues no INSERT, UPDATE or DELETE."""
    vault = make_vault(basic_vault())
    sync_content(vault)
    with CaptureQueriesContext(connection) as queries:
        report = sync_content(vault)
    assert writes(queries) == []
    assert report.changes == 0 and "0 changes" in report.summary()
    assert report.unchanged == 8


def test_reorder_keeps_identity_and_changes_only_the_module(make_vault):
    """Swapping two sections reorders the module's entries; the lenses themselves are untouched."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    text = files["modules/intro.md"]
    a_section = "# Lens:\nsource:: [[../Lenses/A]]\n\n"
    extra = "# Lens: Extra\noptional:: true\nsource:: [[../Lenses/C]]\n"
    files["modules/intro.md"] = text.replace(a_section, "").replace(extra, extra + "\n" + a_section)
    make_vault({"modules/intro.md": files["modules/intro.md"]}, vault)
    report = sync_content(vault)
    assert [c.id for c in report.changed] == [uuid.UUID(MODULE_ID)]
    assert [entry[0] for entry in module_layout(MODULE_ID)] == [INLINE_ID, LENS_B, TEST_ID, LENS_C, LENS_A]


def test_rename_and_move_keep_identity(make_vault):
    """A lens file renamed and moved to a subfolder keeps its UUID; only its path changes."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    (vault / "Lenses/A.md").unlink()
    files["modules/intro.md"] = files["modules/intro.md"].replace("../Lenses/A]]", "../Lenses/old/Renamed A]]")
    make_vault({"Lenses/old/Renamed A.md": files["Lenses/A.md"], "modules/intro.md": files["modules/intro.md"]}, vault)
    report = sync_content(vault)
    assert report.added == [] and report.retired == []
    item = ContentItem.objects.get(id=LENS_A)
    assert item.source_path == "Lenses/old/Renamed A.md" and item.retired_at is None
    assert module_layout(MODULE_ID)[1][0] == LENS_A


def test_retitle_updates_the_title_only(make_vault):
    """A new title is an update of the same item."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    make_vault({"Lenses/A.md": files["Lenses/A.md"].replace("title: Lens A", "title: Better title")}, vault)
    report = sync_content(vault)
    assert [(c.id, c.title) for c in report.changed] == [(uuid.UUID(LENS_A), "Better title")]
    assert ContentItem.objects.get(id=LENS_A).title == "Better title"


def test_a_referenced_lens_shows_its_files_title_and_the_heading_only_as_a_fallback(make_vault):
    """`# Lens: Label` + `source::` shows the lens file's own `title:`; the label only for a file without one,
    and retitling the lens file changes what every placement shows."""
    files = basic_vault()
    files["modules/intro.md"] = module(
        "# Lens: Label of A\nsource:: [[../Lenses/A]]\n\n# Lens: Label of C\nsource:: [[../Lenses/C]]\n"
    )
    files["Lenses/C.md"] = lens(LENS_C, "Lens C text.")  # no `title:`
    vault = make_vault(files)
    assert sync_content(vault).exit_code == 0
    entries = ModuleEntry.objects.filter(module_id=MODULE_ID).select_related("item").order_by("position")
    assert [(e.title, e.display_title) for e in entries] == [("", "Lens A"), ("Label of C", "Label of C")]
    make_vault({"Lenses/A.md": files["Lenses/A.md"].replace("title: Lens A", "title: Better title")}, vault)
    sync_content(vault)
    first = ModuleEntry.objects.select_related("item").get(module_id=MODULE_ID, position=0)
    assert first.display_title == "Better title"


def test_a_course_shows_its_modules_own_titles(make_vault):
    """A course's `# Module: [[...|Display name]]` shows the module's own `title:`, not the display name."""
    vault = make_vault(basic_vault())
    sync_content(vault)
    entry = CourseEntry.objects.select_related("module").get(course_id=COURSE_ID, kind="module")
    assert (entry.title, entry.module.title) == ("", "Intro")


def test_drafts_are_synced_marked_and_never_listed_to_learners(make_vault):
    """A draft course, module and lens are stored with `is_draft`, structure and all; `published()` and
    `courses()` (what learners are offered) leave them out."""
    files = basic_vault()
    files["courses/draft.md"] = course(
        "# Module: [[../modules/wip]]\n", content_id=DRAFT_COURSE, slug="draft-course", extra="tags: [wip]\n"
    )
    files["modules/wip.md"] = module(
        "# Lens:\nsource:: [[../Lenses/D]]\n", content_id=DRAFT_MODULE, slug="wip", title="WIP"
    ).replace("---\n\n", "tags: [work-in-progress]\n---\n\n", 1)
    files["Lenses/D.md"] = lens(DRAFT_LENS, title="Draft lens", extra="tags: [wip]\n")
    report = sync_content(make_vault(files))
    assert report.exit_code == 0, report.lines()
    drafts = set(ContentItem.objects.filter(is_draft=True).values_list("id", flat=True))
    assert {str(d) for d in drafts} == {DRAFT_COURSE, DRAFT_MODULE, DRAFT_LENS}
    assert not ContentItem.objects.published().filter(id__in=drafts).exists()
    assert [c.slug for c in ContentItem.objects.courses()] == ["course"]
    assert module_layout(DRAFT_MODULE) == [(DRAFT_LENS, None, False, False)]
    assert report.drafts == ["Lenses/D.md", "courses/draft.md", "modules/wip.md"]


def test_a_lens_that_becomes_a_draft_leaves_the_published_structure(make_vault):
    """When a placed lens is tagged `wip`, its published module (now in error, kept at its last version)
    stops placing it, and places it again once the lens is published again."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    make_vault({"Lenses/A.md": lens(LENS_A, "Lens A text.", title="Lens A", extra="tags: [wip]\n")}, vault)
    report = sync_content(vault)
    assert report.held_back == ["courses/course.md", "modules/intro.md"]  # the course places the module
    assert ContentItem.objects.get(id=LENS_A).is_draft
    assert LENS_A not in [item for item, *_ in module_layout(MODULE_ID)]
    assert not ModuleEntry.objects.filter(module__is_draft=False, item__is_draft=True).exists()
    make_vault({"Lenses/A.md": files["Lenses/A.md"]}, vault)
    assert sync_content(vault).exit_code == 0
    assert module_layout(MODULE_ID)[1][0] == LENS_A


def test_removed_lens_is_retired_not_deleted(make_vault):
    """A lens that vanished is retired (row kept), its placements go, and only registry tables are touched."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    (vault / "Lenses/C.md").unlink()
    extra = "# Lens: Extra\noptional:: true\nsource:: [[../Lenses/C]]\n"
    make_vault({"modules/intro.md": files["modules/intro.md"].replace(extra, "")}, vault)
    with CaptureQueriesContext(connection) as queries:
        report = sync_content(vault)
    assert [c.id for c in report.retired] == [uuid.UUID(LENS_C)]
    assert ContentItem.objects.get(id=LENS_C).retired_at is not None
    assert LENS_C not in [entry[0] for entry in module_layout(MODULE_ID)]
    tables = {t for sql in writes(queries) for t in re.findall(r'(?:INTO|UPDATE|FROM)\s+"(\w+)"', sql)}
    assert tables and all(t.startswith("content_loader_") for t in tables)
    assert not any(
        sql.lstrip().upper().startswith('DELETE FROM "CONTENT_LOADER_CONTENTITEM"') for sql in writes(queries)
    )


def test_item_that_comes_back_is_restored(make_vault):
    """A retired item that reappears is un-retired, with its structure rebuilt."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    shutil.move(vault / "modules/intro.md", vault.parent / "intro.md")
    sync_content(vault)
    assert ContentItem.objects.get(id=MODULE_ID).retired_at is not None
    assert module_layout(MODULE_ID) == []
    shutil.move(vault.parent / "intro.md", vault / "modules/intro.md")
    report = sync_content(vault)
    assert {c.id for c in report.restored} >= {uuid.UUID(MODULE_ID), uuid.UUID(INLINE_ID)}
    assert ContentItem.objects.get(id=MODULE_ID).retired_at is None
    assert len(module_layout(MODULE_ID)) == 5
    assert CourseEntry.objects.filter(course_id=COURSE_ID, module_id=MODULE_ID).exists()


def test_changed_article_resyncs_the_lens_that_excerpts_it(make_vault):
    """A lens's checksum covers its excerpts, so editing the article updates the lens."""
    lens_text = f'---\nid: {LENS_A}\n---\n#### Article\nsource:: [[../articles/a]]\nto:: "end"\n'
    vault = make_vault(
        {
            "articles/a.md": article("Old words until the end.\n", title="A"),
            "Lenses/A.md": lens_text,
        }
    )
    sync_content(vault)
    make_vault(
        {"articles/a.md": article("New words until the end.\n", title="A")},
        vault,
    )
    report = sync_content(vault)
    assert [c.id for c in report.changed] == [uuid.UUID(LENS_A)]
    assert "New words" in ContentItem.objects.get(id=LENS_A).body["segments"][0]["excerpt_html"]


def test_replaces_and_slug_aliases(make_vault):
    """`replaces:` records old UUIDs for the new item; `slug-aliases` records earlier slugs."""
    old = "99999999-9999-4999-8999-999999999999"
    files = basic_vault()
    files["Lenses/A.md"] = lens(LENS_A, extra=f"replaces:\n  - {old}\n")
    files["courses/course.md"] = course("# Module: [[../modules/intro]]\n", extra="slug-aliases: [old-course, older]\n")
    sync_content(make_vault(files))
    assert [(str(r.old_id), str(r.item_id)) for r in ReplacedId.objects.all()] == [(old, LENS_A)]
    aliases = sorted(SlugAlias.objects.values_list("slug", "content_type", "item_id"))
    assert aliases == [("old-course", "course", uuid.UUID(COURSE_ID)), ("older", "course", uuid.UUID(COURSE_ID))]


SUBMODULES = """# Submodule: Basics
slug:: basics
## Lens:
source:: [[../Lenses/A]]
## Lens:
optional:: true
source:: [[../Lenses/A]]
# Submodule: More
id:: 77777777-7777-4777-8777-777777777777
## Learning Outcome:
optional:: true
source:: [[../Learning Outcomes/Outcome]]
"""


def test_submodules_are_modules_of_their_own(make_vault):
    """Submodules get their own identity and `parent/sub` slugs; the course lists them as its modules."""
    files = basic_vault()
    files["modules/intro.md"] = module(SUBMODULES)
    sync_content(make_vault(files))
    basics = uuid.uuid5(uuid.UUID(MODULE_ID), "basics")
    more = uuid.UUID("77777777-7777-4777-8777-777777777777")
    subs = ContentItem.objects.filter(parent_id=MODULE_ID).order_by("slug")
    assert [(s.id, s.slug, s.title) for s in subs] == [(basics, "intro/basics", "Basics"), (more, "intro/more", "More")]
    assert module_layout(str(basics)) == [(LENS_A, None, False, False), (LENS_A, None, True, False)]
    # A lens is optional when the module's `# Learning Outcome:` says so, whatever the outcome says.
    assert module_layout(str(more)) == [(LENS_B, OUTCOME_ID, True, False), (TEST_ID, OUTCOME_ID, True, False)]
    assert module_layout(MODULE_ID) == []
    entries = CourseEntry.objects.filter(course_id=COURSE_ID, kind="module").order_by("position")
    assert [(e.module_id, e.title) for e in entries] == [(basics, "Basics"), (more, "More")]


def test_outcome_optional_flag_makes_its_lens_optional(make_vault):
    """A lens is optional when the outcome says so, even if the module does not."""
    files = basic_vault()
    files["Learning Outcomes/Outcome.md"] = files["Learning Outcomes/Outcome.md"].replace(
        "## Lens:\n", "## Lens:\noptional:: true\n"
    )
    sync_content(make_vault(files))
    assert module_layout(MODULE_ID)[2] == (LENS_B, OUTCOME_ID, True, False)


def test_same_lens_in_two_modules(make_vault):
    """One lens may be placed in several modules."""
    files = basic_vault()
    files["modules/other.md"] = module(
        "# Lens:\nsource:: [[../Lenses/A]]\n", content_id="88888888-8888-4888-8888-888888888888", slug="other"
    )
    sync_content(make_vault(files))
    assert ModuleEntry.objects.filter(item_id=LENS_A).count() == 2


def test_duplicate_uuid_blocks_the_whole_sync(make_vault):
    """With a UUID used twice, nothing at all is written, and the run fails."""
    files = basic_vault()
    files["Lenses/D.md"] = lens(LENS_A)
    with CaptureQueriesContext(connection) as queries:
        report = sync_content(make_vault(files))
    assert writes(queries) == []
    assert report.exit_code == 1 and report.blocked
    assert ContentItem.objects.count() == 0


def test_broken_file_keeps_its_last_synced_version(make_vault):
    """A lens that breaks keeps its registry row (not retired, not updated) and the run exits 1."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    make_vault({"Lenses/A.md": lens(LENS_A, "Changed text.") + "#### Embed\n"}, vault)
    report = sync_content(vault)
    assert report.exit_code == 1
    assert report.retired == [] and report.changed == []
    item = ContentItem.objects.get(id=LENS_A)
    assert item.retired_at is None and "Lens A text." in item.body["segments"][0]["html"]
    assert len(module_layout(MODULE_ID)) == 5


def test_slugs_can_change_hands(make_vault):
    """Two modules swapping slugs in one sync do not trip the unique constraint."""
    other = "88888888-8888-4888-8888-888888888888"
    files = {
        "modules/a.md": module("", slug="first"),
        "modules/b.md": module("", content_id=other, slug="second"),
    }
    vault = make_vault(files)
    sync_content(vault)
    make_vault(
        {"modules/a.md": module("", slug="second"), "modules/b.md": module("", content_id=other, slug="first")}, vault
    )
    report = sync_content(vault)
    assert report.exit_code == 0
    assert dict(ContentItem.objects.values_list("slug", "id")) == {
        "second": uuid.UUID(MODULE_ID),
        "first": uuid.UUID(other),
    }


def test_dry_run_writes_nothing_and_says_what_would_change(make_vault, progress_counter):
    """--dry-run lists what would be added and says learner impact is unknown without a progress app."""
    progress_counter(None)
    vault = make_vault(basic_vault())
    with CaptureQueriesContext(connection) as queries:
        report = sync_content(vault, dry_run=True)
    assert writes(queries) == []
    assert len(report.added) == 8 and ContentItem.objects.count() == 0
    assert "learner impact unknown (no progress app)" in report.lines()


@pytest.fixture
def fake_progress_counter(progress_counter):
    """A progress counter as the progress app would register it: learners per content id."""
    progress = {}

    def count(content_ids: set[uuid.UUID]) -> int:
        return len({learner for content_id in content_ids for learner in progress.get(content_id, ())})

    progress_counter(count)
    return progress


def test_dry_run_counts_learners_affected(make_vault, fake_progress_counter):
    """Learners with progress on items that would be retired, or on modules whose required lenses change."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    fake_progress_counter[uuid.UUID(LENS_C)] = {"ann", "bob"}
    fake_progress_counter[uuid.UUID(MODULE_ID)] = {"bob", "cy"}
    (vault / "Lenses/C.md").unlink()
    text = files["modules/intro.md"].replace("# Lens: Extra\noptional:: true\nsource:: [[../Lenses/C]]\n", "")
    make_vault({"modules/intro.md": text.replace("# Lens:\nsource:: [[../Lenses/A]]\n\n", "")}, vault)
    report = sync_content(vault, dry_run=True)
    assert report.impact.retired_ids == {uuid.UUID(LENS_C)}
    assert report.impact.changed_module_ids == {uuid.UUID(MODULE_ID)}
    assert (report.impact.learners, report.impact.learners_on_retired, report.impact.learners_on_modules) == (3, 2, 2)
    assert ContentItem.objects.get(id=LENS_C).retired_at is None


def test_optional_lens_change_does_not_count_as_required_change(make_vault, fake_progress_counter):
    """Removing an optional lens leaves the set of required lenses alone."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    fake_progress_counter[uuid.UUID(MODULE_ID)] = {"ann"}
    text = files["modules/intro.md"].replace("# Lens: Extra\noptional:: true\nsource:: [[../Lenses/C]]\n", "")
    make_vault({"modules/intro.md": text}, vault)
    report = sync_content(vault, dry_run=True)
    assert report.impact.changed_module_ids == set() and report.impact.learners == 0


def test_unchanged_files_cost_no_writes_even_with_a_changed_neighbour(make_vault):
    """Changing one lens updates exactly that row."""
    files = basic_vault()
    vault = make_vault(files)
    sync_content(vault)
    make_vault({"Lenses/B.md": lens(LENS_B, "Edited.", title="Lens B")}, vault)
    with CaptureQueriesContext(connection) as queries:
        report = sync_content(vault)
    assert [c.id for c in report.changed] == [uuid.UUID(LENS_B)]
    statements = writes(queries)
    assert len(statements) == 1 and statements[0].startswith('UPDATE "content_loader_contentitem"')


def test_default_path_is_the_content_dir(make_vault, settings):
    """Without a path, the sync reads settings.CONTENT_DIR."""
    settings.CONTENT_DIR = make_vault(basic_vault())
    assert sync_content().mode == "sync"
    assert ContentItem.objects.count() == 8


def test_missing_folder_is_a_clear_error(tmp_path: Path):
    """A path that is not a folder raises FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        sync_content(tmp_path / "nope")


def test_outcome_with_submodules_splits_the_module(make_vault):
    """An outcome holding `# Submodule:`s adds those submodules to the module that places it."""
    files = basic_vault()
    files["modules/intro.md"] = module(
        "# Submodule: Welcome\n## Lens:\nsource:: [[../Lenses/A]]\n"
        "# Learning Outcome:\nsource:: [[../Learning Outcomes/Outcome]]\n"
    )
    files["Learning Outcomes/Outcome.md"] = files["Learning Outcomes/Outcome.md"].replace(
        "## Test:", "# Submodule: Reading\n## Lens:\nsource:: [[../Lenses/C]]\n# Submodule: Check\n## Test:"
    )
    report = sync_content(make_vault(files))
    assert report.exit_code == 0, report.lines()
    subs = {s.slug: s.id for s in ContentItem.objects.filter(parent_id=MODULE_ID)}
    assert set(subs) == {"intro/welcome", "intro/reading", "intro/check"}
    assert module_layout(str(subs["intro/welcome"])) == [(LENS_A, None, False, False)]
    assert module_layout(str(subs["intro/reading"])) == [(LENS_C, OUTCOME_ID, False, False)]
    # In each part of the outcome its lenses come before its test.
    assert module_layout(str(subs["intro/check"])) == [
        (LENS_B, OUTCOME_ID, False, False),
        (TEST_ID, OUTCOME_ID, False, False),
    ]
    course_modules = CourseEntry.objects.filter(course_id=COURSE_ID, kind="module").order_by("position")
    assert [e.module_id for e in course_modules] == [subs["intro/welcome"], subs["intro/reading"], subs["intro/check"]]


SINGLE_FILE = """---
id: 550e8400-e29b-41d4-a716-446655440000
slug: introduction
title: Introduction
---

# Text: Welcome
content::
Hello world.

# Chat: Discuss
id:: 22222222-2222-4222-8222-222222222222
instructions::
Ask what they think.
"""


def test_single_file_module_sections_become_lenses(make_vault):
    """Original single-file sections are lenses; one without `id::` gets a derived id flagged in its body."""
    report = sync_content(make_vault({"modules/introduction.md": SINGLE_FILE}))
    assert report.exit_code == 0
    entries = list(ModuleEntry.objects.filter(module_id="550e8400-e29b-41d4-a716-446655440000").order_by("position"))
    welcome, chat = (entry.item for entry in entries)
    assert welcome.id == uuid.uuid5(uuid.UUID("550e8400-e29b-41d4-a716-446655440000"), "section:0")
    assert welcome.body["derived_id"] is True and welcome.title == "Welcome"
    assert welcome.body["segments"][0]["html"] == "<p>Hello world.</p>"
    assert str(chat.id) == "22222222-2222-4222-8222-222222222222" and "derived_id" not in chat.body
    assert chat.body["segments"][0]["instructions"] == "Ask what they think."
    warnings = [str(d) for d in report.diagnostics]
    assert warnings == [
        "modules/introduction.md:7: warning: `# Text: Welcome` has no `id::`: it is shown, but progress cannot "
        "be stored for it (run `manage.py sync_content --write-ids`)"
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_take_turns(make_vault):
    """Two syncs started at once do not both insert: the second waits, then finds nothing to change."""
    import threading

    from django.db import connections

    vault = make_vault(basic_vault())
    reports, failures = [], []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            reports.append(sync_content(vault))
        except Exception as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(report.changes for report in reports) == [0, 8]
    assert ContentItem.objects.count() == 8


def test_content_synced_is_sent_after_commit_and_never_fails_the_sync(make_vault, django_capture_on_commit_callbacks):
    """content_synced goes out once the sync commits (also with nothing changed), not for --check or
    --dry-run; a receiver that raises is logged and the sync still succeeds."""
    from content_loader.signals import content_synced

    received = []

    def receiver(sender, *, report, **kwargs):
        received.append(report.mode)
        raise RuntimeError("a receiver's bug")

    content_synced.connect(receiver, dispatch_uid="test-receiver")
    try:
        vault = make_vault(basic_vault())
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report = sync_content(vault)
        assert received == [] and len(callbacks) == 1  # nothing before the commit
        callbacks[0]()
        assert received == ["sync"] and report.exit_code == 0
        with django_capture_on_commit_callbacks(execute=True):
            sync_content(vault, check=True)
            sync_content(vault, dry_run=True)
            assert sync_content(vault).changes == 0
        assert received == ["sync", "sync"]
    finally:
        content_synced.disconnect(dispatch_uid="test-receiver")


def test_a_sync_in_a_process_that_froze_its_objects_leaves_them_frozen(tmp_path):
    """A web server freezes its startup objects (courseplatform/wsgi.py); a sync there must not unfreeze them
    (it freezes nothing), while elsewhere it freezes for its run and unfreezes at the end."""
    import gc

    from content_loader.sync import _frozen_for_the_sync

    assert gc.get_freeze_count() == 0
    with _frozen_for_the_sync() as freeze:
        assert gc.get_freeze_count() > 0
        freeze()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _frozen_for_the_sync() as freeze:
            freeze()
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
