"""Writing a vault into the registry: the one writer of `ContentItem`, `CourseEntry`, `ModuleEntry`,
`ReplacedId` and `SlugAlias`.

`sync_content()` reads and checks the vault (content_loader.parsing), compares each item's checksum with
the registry's, and writes only the difference, in one transaction and with bulk statements: new items
are inserted, changed ones updated (with their structure, aliases and replaced ids rewritten), and items
that vanished from the vault are retired (`retired_at` set, never deleted; their structure rows go). A
run with nothing to change issues no write at all. Items of files that could not be loaded (errors) keep
their last synced version. A duplicate UUID anywhere blocks every write. Once a sync commits,
`content_loader.signals.content_synced` tells the apps that derive data from the registry (search).
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from .impact import count_learners
from .models import ContentItem, CourseEntry, ModuleEntry, ReplacedId, SlugAlias
from .parsing import Catalog, ItemRecord, build_catalog, read_vault
from .parsing.cache import VaultCache
from .report import Impact, ItemChange, SyncReport
from .signals import content_synced
from .write_ids import write_missing_ids

logger = logging.getLogger(__name__)
_LOCK_KEY = 0x5C0_17E27  # arbitrary, fixed: the advisory lock held while a sync plans and writes
# (phase, done, total): "reading" files, "compiling" lenses, then "writing".
Progress = Callable[[str, int, int], None]
_BATCH = 50  # items written per statement
_ITEM_FIELDS = [
    "content_type",
    "slug",
    "title",
    "parent",
    "source_path",
    "source_line",
    "checksum",
    "body",
    "estimated_seconds",
    "last_synced_at",
    "retired_at",
    "is_draft",
]


@dataclass
class _Existing:
    content_type: str
    slug: str
    title: str
    source_path: str
    checksum: str
    is_draft: bool
    retired: bool


@dataclass
class SyncPlan:
    """What a sync would write, worked out from the catalog and a read of the registry."""

    existing: dict[uuid.UUID, _Existing]
    add: list[ItemRecord] = field(default_factory=list)
    change: list[ItemRecord] = field(default_factory=list)  # includes restored (un-retired) items
    retire: list[uuid.UUID] = field(default_factory=list)
    unchanged: int = 0
    conflict: str = ""
    replaced_ids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # old id -> item, as stored
    slug_aliases: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)  # (type, slug) -> item
    load_bodies: Callable[[list[ItemRecord]], None] = lambda records: None  # bodies kept in the vault cache

    @property
    def is_empty(self) -> bool:
        return not (self.add or self.change or self.retire)


def sync_content(
    path: Path | str | None = None,
    *,
    check: bool = False,
    dry_run: bool = False,
    write_ids: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync the vault at `path` (default `settings.CONTENT_DIR`) into the registry, and report.

    `check` validates only (no database access); `dry_run` works out the changes and their impact on
    learners without writing; `write_ids` first gives a UUID to every item that lacks one, editing only
    that line of each file (with `check` or `dry_run` it only lists them).
    """
    started = time.monotonic()
    root = Path(path if path is not None else settings.CONTENT_DIR)
    mode = "check" if check else "dry-run" if dry_run else "sync"
    report = SyncReport(vault=str(root), mode=mode)
    if not root.is_dir():
        raise FileNotFoundError(f"content vault {root} is not a folder")
    if write_ids:
        report.written_ids = write_missing_ids(root, dry_run=dry_run or check)
    with VaultCache(root, settings.CONTENT_CACHE_DIR) as cache, _frozen_for_the_sync() as freeze:
        _run(root, report, cache, check=check, dry_run=dry_run, progress=progress, freeze=freeze)
    report.seconds = time.monotonic() - started
    return report


def _run(
    root: Path,
    report: SyncReport,
    cache: VaultCache,
    *,
    check: bool,
    dry_run: bool,
    progress: Progress | None,
    freeze: Callable[[], None],
) -> None:
    reading = (lambda done, total: progress("reading", done, total)) if progress else None
    vault = read_vault(root, progress=reading, cache=cache)
    freeze()  # the vault's documents too: they live until the sync ends (see `_frozen_for_the_sync`)
    if progress:
        progress("compiling", 0, 1)
    catalog = build_catalog(vault)
    if progress:
        progress("compiling", 1, 1)
    report.files = len(vault.index.paths)
    report.diagnostics = catalog.diagnostics
    report.loaded = Counter(record.content_type for record in catalog.items.values())
    report.held_back = sorted(catalog.held_back)
    report.drafts = catalog.drafts
    report.ignored = catalog.ignored
    if catalog.blocked:
        report.blocked = "a UUID is used in two places (see the errors); nothing was written"
    if check or catalog.blocked:
        return
    with transaction.atomic():
        _serialise_syncs()
        plan = plan_sync(catalog)
        _describe(plan, report)
        if plan.conflict:
            report.blocked = plan.conflict
        elif dry_run:
            report.impact = learner_impact(plan)
        else:
            if not plan.is_empty:
                apply_plan(plan, progress=progress)
            transaction.on_commit(lambda: _announce(report))


@contextmanager
def _frozen_for_the_sync() -> Iterator[Callable[[], None]]:
    """What lives through the whole sync (the code, then the vault read) is left out of garbage collection
    until it ends: the collections that parsing, compiling and writing set off (with their many short-lived
    objects) walked all of it, a few times per sync, and in each compiling worker (whose forked pages they
    copied). A frozen object is still freed as soon as nothing refers to it; only cycles wait for the end.
    Yields the function that freezes what is alive now (the vault, once read).

    In a process that froze objects of its own (a web server: courseplatform/wsgi.py), nothing is frozen:
    unfreezing at the end would release the host's objects too, and the vault's would never be collected."""
    if gc.get_freeze_count():
        yield lambda: None
        return
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def _announce(report: SyncReport) -> None:
    """Tell other apps (content_loader.signals) that the registry is synced; their errors never fail the sync."""
    for receiver, result in content_synced.send_robust(sender=sync_content, report=report):
        if isinstance(result, Exception):
            logger.error("content_synced receiver %s failed", receiver, exc_info=result)


def _serialise_syncs() -> None:
    """Two syncs at once would plan against the same registry: the second waits for the first (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def plan_sync(catalog: Catalog) -> SyncPlan:
    """Compare the catalog with the registry (three reads) and decide what to add, change and retire."""
    existing = {
        row[0]: _Existing(*row[1:7], retired=row[7] is not None)
        for row in ContentItem.objects.order_by().values_list(
            "id", "content_type", "slug", "title", "source_path", "checksum", "is_draft", "retired_at"
        )
    }
    plan = SyncPlan(existing, load_bodies=catalog.load_bodies)
    plan.replaced_ids = dict(ReplacedId.objects.values_list("old_id", "item_id"))
    plan.slug_aliases = {
        (kind, slug): item for kind, slug, item in SlugAlias.objects.values_list("content_type", "slug", "item_id")
    }
    for record in catalog.items.values():
        current = existing.get(record.id)
        if current is None:
            plan.add.append(record)
        elif current.retired or current.checksum != record.checksum:
            plan.change.append(record)
        else:
            plan.unchanged += 1
    kept = catalog.held_back_ids
    held_paths = catalog.held_back
    plan.retire = sorted(
        (
            item_id
            for item_id, current in existing.items()
            if not current.retired
            and item_id not in catalog.items
            and item_id not in kept
            and current.source_path not in held_paths
        ),
        key=str,
    )
    plan.conflict = _slug_conflict(plan)
    return plan


def _slug_conflict(plan: SyncPlan) -> str:
    """A slug wanted by a new or changed item but held by an item this sync leaves alone (held back)."""
    moving = {record.id for record in plan.add + plan.change} | set(plan.retire)
    holders = {
        (current.content_type, current.slug): item_id
        for item_id, current in plan.existing.items()
        if current.slug and not current.retired and item_id not in moving
    }
    for record in plan.add + plan.change:
        holder = holders.get((record.content_type, record.slug)) if record.slug else None
        if holder is not None and holder != record.id:
            other = plan.existing[holder]
            return f"slug {record.slug!r} of {record.source_path} is still held by {other.source_path} (not loaded)"
    return ""


def _describe(plan: SyncPlan, report: SyncReport) -> None:
    report.added = [ItemChange(r.id, r.content_type, r.title, r.source_path) for r in plan.add]
    for record in plan.change:
        change = ItemChange(record.id, record.content_type, record.title, record.source_path)
        (report.restored if plan.existing[record.id].retired else report.changed).append(change)
    report.retired = [
        ItemChange(
            item_id,
            plan.existing[item_id].content_type,
            plan.existing[item_id].title,
            plan.existing[item_id].source_path,
        )
        for item_id in plan.retire
    ]
    report.unchanged = plan.unchanged


def learner_impact(plan: SyncPlan) -> Impact:
    """Learners with progress on items that would be retired or on modules whose required lenses change."""
    impact = Impact(retired_ids=set(plan.retire))
    modules = [r for r in plan.change if r.content_type == "module" and not plan.existing[r.id].retired]
    before: dict[uuid.UUID, set[uuid.UUID]] = {module.id: set() for module in modules}
    for module_id, item_id in ModuleEntry.objects.filter(module__in=before, optional=False).values_list(
        "module_id", "item_id"
    ):
        before[module_id].add(item_id)
    for module in modules:
        after = {entry.item_id for entry in module.module_entries if not entry.optional}
        if after != before[module.id]:
            impact.changed_module_ids.add(module.id)
    impact.learners = count_learners(impact.retired_ids | impact.changed_module_ids)
    if impact.learners is not None:
        impact.learners_on_retired = count_learners(impact.retired_ids)
        impact.learners_on_modules = count_learners(impact.changed_module_ids)
    return impact


@transaction.atomic
def apply_plan(plan: SyncPlan, *, progress: Progress | None = None) -> None:
    """Write the plan: a handful of bulk statements in one transaction."""
    now = timezone.now()
    steps = 6

    def step(number: int) -> None:
        if progress:
            progress("writing", number, steps)

    step(1)
    if plan.retire:
        ContentItem.objects.filter(id__in=plan.retire).update(retired_at=now)
    # Free slugs that change hands within this sync ("" is outside the unique constraint).
    wanted = {(r.content_type, r.slug): r.id for r in plan.add + plan.change if r.slug}
    vacate = [
        r.id
        for r in plan.change
        if wanted.get((plan.existing[r.id].content_type, plan.existing[r.id].slug), r.id) != r.id
    ]
    if vacate:
        ContentItem.objects.filter(id__in=vacate).update(slug="")
    step(2)
    # In batches, so that only one batch of bodies is in memory at a time (the rest wait in the vault cache);
    # a batch's statement holds its bodies again, quoted: batches stay small.
    for start in range(0, len(plan.add), _BATCH):
        batch = plan.add[start : start + _BATCH]
        plan.load_bodies(batch)
        ContentItem.objects.bulk_create([_item(record, now, created=True) for record in batch])
        _let_go_of_bodies(batch)
    for start in range(0, len(plan.change), _BATCH):
        batch = plan.change[start : start + _BATCH]
        plan.load_bodies(batch)
        ContentItem.objects.bulk_update([_item(record, now, created=False) for record in batch], _ITEM_FIELDS)
        _let_go_of_bodies(batch)
    step(3)
    written = plan.add + plan.change
    containers = [r.id for r in written if r.content_type in ("course", "module")] + plan.retire
    if containers:
        CourseEntry.objects.filter(course__in=containers).delete()
        ModuleEntry.objects.filter(module__in=containers).delete()
    # Containers kept at their last version (their file has errors) may place a retired item, or a published
    # container an item that became a draft: drop those placements, and the container's checksum, so that
    # they are rewritten once their file is fixed. Learners never reach a draft through the structure.
    newly_draft = [r.id for r in plan.change if r.is_draft and not plan.existing[r.id].is_draft]
    if plan.retire or newly_draft:
        gone = plan.retire + newly_draft
        courses = CourseEntry.objects.filter(module__in=gone)
        modules = ModuleEntry.objects.filter(Q(item__in=gone) | Q(learning_outcome__in=gone))
        if newly_draft:  # drafts may place drafts
            courses = courses.filter(Q(module__in=plan.retire) | Q(course__is_draft=False))
            modules = modules.filter(
                Q(item__in=plan.retire) | Q(learning_outcome__in=plan.retire) | Q(module__is_draft=False)
            )
        stale = {*courses.values_list("course_id", flat=True)} | {*modules.values_list("module_id", flat=True)}
        if stale:
            ContentItem.objects.filter(id__in=stale).update(checksum="")
            courses.delete()
            modules.delete()
    step(4)
    CourseEntry.objects.bulk_create(
        [
            CourseEntry(
                course_id=r.id,
                position=e.position,
                kind=e.kind,
                module_id=e.module_id,
                title=e.title,
                optional=e.optional,
            )
            for r in written
            for e in r.course_entries
        ],
        batch_size=1000,
    )
    ModuleEntry.objects.bulk_create(
        [
            ModuleEntry(
                module_id=r.id,
                position=e.position,
                item_id=e.item_id,
                learning_outcome_id=e.learning_outcome_id,
                title=e.title,
                optional=e.optional,
                hide=e.hide,
            )
            for r in written
            for e in r.module_entries
        ],
        batch_size=1000,
    )
    step(5)
    _write_aliases(plan, written)
    step(6)


def _write_aliases(plan: SyncPlan, written: list[ItemRecord]) -> None:
    """Bring `ReplacedId` and `SlugAlias` rows of the written items in line, touching only differences."""
    ids = {record.id for record in written}
    want_replaced = {old: record.id for record in written for old in record.replaces}
    have_replaced = {old: item for old, item in plan.replaced_ids.items() if item in ids or old in want_replaced}
    stale = [old for old, item in have_replaced.items() if want_replaced.get(old) != item]
    if stale:
        ReplacedId.objects.filter(old_id__in=stale).delete()
    ReplacedId.objects.bulk_create(
        [ReplacedId(old_id=old, item_id=item) for old, item in want_replaced.items() if have_replaced.get(old) != item]
    )
    want_alias = {(r.content_type, alias): r.id for r in written for alias in r.slug_aliases}
    have_alias = {key: item for key, item in plan.slug_aliases.items() if item in ids or key in want_alias}
    stale_alias = [key for key, item in have_alias.items() if want_alias.get(key) != item]
    if stale_alias:
        condition = Q()
        for kind, slug in stale_alias:
            condition |= Q(content_type=kind, slug=slug)
        SlugAlias.objects.filter(condition).delete()
    SlugAlias.objects.bulk_create(
        [
            SlugAlias(content_type=kind, slug=slug, item_id=item)
            for (kind, slug), item in want_alias.items()
            if have_alias.get((kind, slug)) != item
        ]
    )


def _let_go_of_bodies(records: list[ItemRecord]) -> None:
    for record in records:
        if record.body_key is not None:
            record.body = None


def _body(body: dict | str | None, *, created: bool):
    """The value written for a body: a body from the vault cache is JSON text already, which PostgreSQL casts
    (decoding it here only to encode it again was a share of every write)."""
    if isinstance(body, str):
        return Cast(Value(body), output_field=models.JSONField())
    # An expression, not a plain value: bulk_create then binds one jsonb per row instead of packing the
    # bodies into a jsonb[] array for UNNEST, whose escaping psycopg does in Python (a tenth of a cold sync).
    return Value(body, output_field=models.JSONField()) if created else body


def _item(record: ItemRecord, now, *, created: bool) -> ContentItem:
    item = ContentItem(
        id=record.id,
        content_type=record.content_type,
        slug=record.slug,
        title=record.title[:500],
        parent_id=record.parent_id,
        source_path=record.source_path,
        source_line=record.source_line,
        checksum=record.checksum,
        body=_body(record.body, created=created),
        estimated_seconds=record.estimated_seconds,
        last_synced_at=now,
        retired_at=None,
        is_draft=record.is_draft,
    )
    if created:
        item.first_synced_at = now
    return item
