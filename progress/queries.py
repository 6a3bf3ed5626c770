"""Reads of progress, shaped for the pages and the JSON API.

Status is derived on every read from the current structure, never trusted from stored module rows:
a module's required steps are the non-optional lenses and tests of its leaf module (for a parent module,
of all its submodules), counted as distinct UUIDs. Rows stored under an old UUID that a newer item
`replaces:` count for the newer item. Each function runs a fixed number of SQL queries, however many
modules, lenses or rows there are.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet, TextChoices
from django.db.models.functions import Coalesce, Greatest

from content_loader.models import ContentItem, CourseEntry, ModuleEntry
from learners import Learner
from ops.lookups import UUIDs
from progress.models import UserContentProgress


class Status(TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


@dataclass(frozen=True)
class ItemProgress:
    """A learner's progress on one current item, merged over its rows (current and replaced UUIDs)."""

    completed_at: datetime | None = None
    time_spent_s: int = 0
    last_seen_at: datetime | None = None  # the latest timestamp of its rows: when it was last open


@dataclass
class StepProgress:
    entry: ModuleEntry  # with .item loaded, its body deferred
    completed_at: datetime | None
    time_spent_s: int
    optional: bool
    hide: bool
    last_seen_at: datetime | None = None

    @property
    def item_id(self) -> UUID:
        return self.entry.item_id

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass
class ModuleProgress:
    module: ContentItem
    status: Status
    completed: int
    total: int
    steps: list[StepProgress]


@dataclass(frozen=True)
class StepState:
    """One step of a course's module as the course overview needs it (no ModuleEntry loaded)."""

    item_id: UUID
    optional: bool
    hide: bool
    completed_at: datetime | None
    last_seen_at: datetime | None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass
class ModuleSummary:
    entry: CourseEntry
    module: ContentItem
    optional: bool
    status: Status
    completed: int
    total: int
    estimated_seconds: int  # over required steps
    time_spent_s: int  # over all its steps
    next_step_position: int | None  # the first incomplete required step
    steps: list[StepState]  # in module order
    completed_at: datetime | None  # when a completed module's last required step was completed


@dataclass
class Unit:
    modules: list[ModuleSummary]
    meeting: CourseEntry | None


@dataclass
class CourseProgress:
    course: ContentItem
    units: list[Unit]


def derive_status(*, required: set[UUID], steps: set[UUID], done: set[UUID]) -> tuple[Status, int, int]:
    """Status, k and n of a module whose required and all step ids are given, for the done ids."""
    total = len(required)
    completed = len(required & done)
    if total == 0:
        return (Status.COMPLETED if steps & done else Status.NOT_STARTED), 0, 0
    if completed == total:
        return Status.COMPLETED, completed, total
    return (Status.IN_PROGRESS if completed else Status.NOT_STARTED), completed, total


def progress_by_item(learner: Learner | None, item_ids: Iterable[UUID] | QuerySet) -> dict[UUID, ItemProgress]:
    """The learner's progress on the given current items, in one query (replaced UUIDs included).

    `item_ids` may be a query of ids (`values("item_id")`), which the database reads as a subquery."""
    if not isinstance(item_ids, (QuerySet, UUIDs)):
        item_ids = list(item_ids)
    if not learner or (not isinstance(item_ids, QuerySet) and not item_ids):
        return {}
    # "Last seen": the row's latest timestamp, when the learner last had the item open ("Continue" resumes there).
    rows = (
        UserContentProgress.objects.owned_by(learner)
        .for_items(item_ids)
        .with_current_id()
        .annotate(
            last_seen_at=Greatest(
                "started_at", Coalesce("last_heartbeat_at", "started_at"), Coalesce("completed_at", "started_at")
            )
        )
        .values_list("current_id", "completed_at", "total_time_spent_s", "last_seen_at")
    )
    merged: dict[UUID, ItemProgress] = {}
    for current_id, completed_at, seconds, last_seen_at in rows:
        before = merged.get(current_id, ItemProgress())
        if before.completed_at is not None and (completed_at is None or before.completed_at < completed_at):
            completed_at = before.completed_at
        if before.last_seen_at is not None and (last_seen_at is None or before.last_seen_at > last_seen_at):
            last_seen_at = before.last_seen_at
        merged[current_id] = ItemProgress(completed_at, before.time_spent_s + seconds, last_seen_at)
    return merged


def build_module_progress(
    module: ContentItem, entries: list[ModuleEntry], progress: dict[UUID, ItemProgress]
) -> ModuleProgress:
    """Progress of `module` from its steps (`ModuleEntry.objects.steps_by_module`)."""
    done = {item_id for item_id, p in progress.items() if p.completed_at is not None}
    status, completed, total = derive_status(
        required={e.item_id for e in entries if not e.optional}, steps={e.item_id for e in entries}, done=done
    )
    steps = [
        StepProgress(
            entry=e,
            completed_at=progress.get(e.item_id, ItemProgress()).completed_at,
            time_spent_s=progress.get(e.item_id, ItemProgress()).time_spent_s,
            optional=e.optional,
            hide=e.hide,
            last_seen_at=progress.get(e.item_id, ItemProgress()).last_seen_at,
        )
        for e in entries
    ]
    return ModuleProgress(module=module, status=status, completed=completed, total=total, steps=steps)


def module_progress(*, learner: Learner | None, module: ContentItem) -> ModuleProgress:
    """A module's steps with the learner's completion and time (2 queries; 1 without a learner)."""
    entries = ModuleEntry.objects.steps_by_module([module.pk]).get(module.pk, [])
    return build_module_progress(module, entries, progress_by_item(learner, {e.item_id for e in entries}))


def course_progress(*, learner: Learner | None, course: ContentItem) -> CourseProgress:
    """A course's units with each module's status, k/n, time and next step (3 queries; 2 without a learner)."""
    return courses_progress(learner=learner, courses=[course])[0]


def courses_progress(*, learner: Learner | None, courses: Sequence[ContentItem]) -> list[CourseProgress]:
    """`course_progress` of each course, in the same 3 queries (2 without a learner) however many."""
    if not courses:
        return []
    return courses_progress_from(course_structures(courses), learner=learner, courses=courses)


@dataclass(frozen=True)
class CourseStructures:
    """What the registry says about some courses' modules and steps: no learner in it (see `course_structures`)."""

    entries_by_course: dict[UUID, list[CourseEntry]]
    steps_by_module: dict[UUID, list[ModuleEntry]]  # ModuleEntry.objects.steps_by_module
    item_ids: UUIDs = field(init=False)  # every step's
    summaries: dict[UUID, "_ModuleSteps"] = field(init=False)

    def __post_init__(self) -> None:
        ids = UUIDs(step.item_id for steps in self.steps_by_module.values() for step in steps)
        object.__setattr__(self, "item_ids", ids)
        object.__setattr__(
            self, "summaries", {module: _ModuleSteps.of(steps) for module, steps in self.steps_by_module.items()}
        )


@dataclass(frozen=True)
class _ModuleSteps:
    """A module's steps as the overview counts them, from content alone."""

    steps: list[ModuleEntry]
    step_ids: frozenset[UUID]
    required: frozenset[UUID]
    estimated_seconds: int

    @classmethod
    def of(cls, steps: list[ModuleEntry]) -> "_ModuleSteps":
        seconds = {step.item_id: step.item.estimated_seconds for step in steps if not step.optional}
        return cls(
            steps=steps,
            step_ids=frozenset(step.item_id for step in steps),
            required=frozenset(step.item_id for step in steps if not step.optional),
            estimated_seconds=sum(seconds.values()),
        )


_NO_PROGRESS = ItemProgress()


def course_structures(courses: Sequence[ContentItem]) -> CourseStructures:
    """The courses' entries (modules and parents loaded, bodies deferred) and their modules' steps (2 queries).

    The same for every learner until the next sync, so a page may keep it (learn.fragments)."""
    entries_by_course: dict[UUID, list[CourseEntry]] = defaultdict(list)
    for entry in (
        CourseEntry.objects.filter(course__in=courses)
        .select_related("module", "module__parent")
        .defer("module__body", "module__parent__body")
        .order_by("course_id", "position")
    ):
        entries_by_course[entry.course_id].append(entry)
    module_ids = {entry.module_id for entries in entries_by_course.values() for entry in entries if entry.module_id}
    return CourseStructures(dict(entries_by_course), ModuleEntry.objects.steps_by_module(module_ids))


def courses_progress_from(
    structures: CourseStructures, *, learner: Learner | None, courses: Sequence[ContentItem]
) -> list[CourseProgress]:
    """`courses_progress` over structures already read: the learner's rows only (1 query; none without one)."""
    progress = progress_by_item(learner, structures.item_ids)
    done = {item_id for item_id, p in progress.items() if p.completed_at is not None}
    return [
        CourseProgress(
            course=course,
            units=_units(structures.entries_by_course.get(course.pk, []), structures.summaries, progress, done),
        )
        for course in courses
    ]


_NO_STEPS = _ModuleSteps.of([])


def _units(
    course_entries: list[CourseEntry],
    summaries: dict[UUID, _ModuleSteps],
    progress: dict[UUID, ItemProgress],
    done: set[UUID],
) -> list[Unit]:
    """A course's entries grouped into units (the modules before each meeting, then the meeting)."""
    units: list[Unit] = []
    modules: list[ModuleSummary] = []
    for entry in course_entries:
        if entry.kind == CourseEntry.Kind.MEETING:
            units.append(Unit(modules=modules, meeting=entry))
            modules = []
            continue
        summary = summaries.get(entry.module_id, _NO_STEPS) if entry.module_id else _NO_STEPS
        steps, step_ids = summary.steps, summary.step_ids
        status, completed, total = derive_status(required=summary.required, steps=step_ids, done=done)
        next_position = next((step.position for step in steps if not step.optional and step.item_id not in done), None)
        states = []
        for step in steps:
            state = progress.get(step.item_id, _NO_PROGRESS)
            states.append(StepState(step.item_id, step.optional, step.hide, state.completed_at, state.last_seen_at))
        finished = [state.completed_at for state in states if not state.optional and state.completed_at]
        modules.append(
            ModuleSummary(
                entry=entry,
                module=entry.module,
                optional=entry.optional,
                status=status,
                completed=completed,
                total=total,
                estimated_seconds=summary.estimated_seconds,
                time_spent_s=sum(progress[i].time_spent_s for i in step_ids if i in progress),
                next_step_position=next_position,
                steps=states,
                completed_at=max(finished) if status == Status.COMPLETED and finished else None,
            )
        )
    if modules:
        units.append(Unit(modules=modules, meeting=None))
    return units


def completed_content_ids(learner: Learner) -> list[UUID]:
    """Every UUID the learner completed, and the current UUID of each replaced one (1 query)."""
    ids: set[UUID] = set()
    rows = UserContentProgress.objects.owned_by(learner).completed().with_current_id()
    for content_id, current_id in rows.values_list("content_id", "current_id"):
        ids.update((content_id, current_id))
    return sorted(ids)


def count_learners_with_progress(content_ids: set[UUID]) -> int:
    """Distinct learners (accounts or tokens) with progress on any of these UUIDs: the loader's dry run."""
    if not content_ids:
        return 0
    return (
        UserContentProgress.objects.filter(content_id__in=content_ids)
        .values("user_id", "session_token")
        .distinct()
        .count()
    )
