"""Reads for the staff dashboard, aggregated in SQL, each page a fixed number of queries.

Status follows the learner pages (`progress.queries`): a module's required steps are its non-optional
lenses and tests, counted as distinct UUIDs; progress under a `replaces:`'d UUID counts for the newer
item; rows late requests wrote under a token an account claimed count for the account. A learner is an
account, or an anonymous token nobody claimed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet

from chat.models import ChatSession, QuestionAnswer
from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry
from learners import Learner
from progress import sql
from progress.models import LearnerDataAudit, UserContentProgress
from progress.queries import Status, derive_status


def _compiled(query: QuerySet) -> tuple[str, tuple]:
    """The SQL and parameters of an ORM query, to stand in a CTE of the aggregates below."""
    return query.query.get_compiler(using=query.db).as_sql()


def _course_steps(course_id: UUID) -> QuerySet:
    """(module_id, item_id, optional) of the course's modules' steps, each once."""
    modules = CourseEntry.objects.filter(course_id=course_id, module__isnull=False).values("module_id")
    return ModuleEntry.objects.of_modules(modules).order_by().values("module_id", "item_id", "optional").distinct()


def _learner_rows(item_ids: QuerySet) -> QuerySet:
    """Every progress row counting for these items: (uid, tok) its learner, item_id its current item."""
    return (
        UserContentProgress.objects.for_items(item_ids)
        .with_learner()
        .with_current_id()
        .filter(current_id__in=item_ids)
        .values(
            "completed_at",
            "time_to_complete_s",
            "started_at",
            uid=F("learner_user_id"),
            tok=F("learner_token"),
            item_id=F("current_id"),
        )
    )


def _course_ctes(course_id: UUID) -> tuple[str, tuple]:
    """`WITH steps AS (...), rows AS (...)` of one course, and their parameters."""
    steps = _course_steps(course_id)
    steps_sql, steps_params = _compiled(steps)
    rows_sql, rows_params = _compiled(_learner_rows(steps.values("item_id")))
    return f"WITH steps AS ({steps_sql}), rows AS ({rows_sql})", steps_params + rows_params


def _status_counts_sql(ctes: str) -> str:
    """Per module: learners completed and in progress; plus one row (module NULL) with the cohort size."""
    return f"""
        {ctes},
        done AS (SELECT DISTINCT uid, tok, item_id FROM rows WHERE completed_at IS NOT NULL),
        learner_module AS (
            SELECT d.uid, d.tok, s.module_id,
                   COUNT(DISTINCT CASE WHEN NOT s.optional THEN s.item_id END) AS required_done,
                   COUNT(DISTINCT s.item_id) AS any_done
            FROM done d JOIN steps s ON s.item_id = d.item_id
            GROUP BY d.uid, d.tok, s.module_id
        ),
        module_required AS (
            SELECT module_id, COUNT(DISTINCT CASE WHEN NOT optional THEN item_id END) AS required
            FROM steps GROUP BY module_id
        )
        SELECT lm.module_id,
               SUM(CASE WHEN (mr.required > 0 AND lm.required_done = mr.required)
                          OR (mr.required = 0 AND lm.any_done > 0) THEN 1 ELSE 0 END),
               SUM(CASE WHEN lm.required_done > 0 AND lm.required_done < mr.required THEN 1 ELSE 0 END)
        FROM learner_module lm JOIN module_required mr ON mr.module_id = lm.module_id
        GROUP BY lm.module_id
        UNION ALL
        SELECT NULL, COUNT(*), 0 FROM (SELECT DISTINCT uid, tok FROM rows) cohort
    """


def _lens_times_sql(ctes: str) -> str:
    """Per item: learners who completed it, how many with tracked time, and the median of that time.

    A learner's time to complete an item is summed over their rows of it (a replaced UUID's and the
    current one's). A time no wall-clock could hold (more than the span from the first row's start to
    the completion, plus one heartbeat's allowance: what progress_doctor reports as implausible, from
    before heartbeats were capped per learner or from a hand edit) counts as untracked, so that it
    cannot poison the median. PostgreSQL computes the median; SQLite returns the per-learner rows,
    sorted, in the same single query, and Python takes their median.
    """
    span = sql.dialect().seconds_since.format(now="MIN(completed_at)", col="MIN(started_at)")
    allowance = int(settings.PROGRESS_MAX_HEARTBEAT_SECONDS) + sql.HEARTBEAT_SLACK_SECONDS
    per_learner = f"""
        {ctes},
        per_learner AS (
            SELECT item_id,
                   CASE WHEN SUM(time_to_complete_s) <= {span} + {allowance} THEN SUM(time_to_complete_s) ELSE 0 END
                   AS seconds
            FROM rows GROUP BY uid, tok, item_id HAVING MIN(completed_at) IS NOT NULL
        )
    """
    if connection.vendor == "postgresql":
        return f"""{per_learner}
            SELECT item_id, COUNT(*), COUNT(*) FILTER (WHERE seconds > 0),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE seconds > 0)
            FROM per_learner GROUP BY item_id
        """
    return f"{per_learner} SELECT item_id, seconds FROM per_learner ORDER BY item_id, seconds"


@dataclass
class ModuleStats:
    position: int
    module: ContentItem
    title: str
    optional: bool
    required: int
    cohort: int
    completed: int = 0
    in_progress: int = 0

    @property
    def not_started(self) -> int:
        return self.cohort - self.completed - self.in_progress

    @property
    def started(self) -> int:
        return self.completed + self.in_progress

    @property
    def module_id(self) -> UUID:
        return self.module.pk


@dataclass
class LensStats:
    module_title: str
    item_id: UUID
    title: str
    content_type: str
    estimated_seconds: int
    completed: int = 0  # learners who completed it
    timed: int = 0  # of those, learners with tracked time
    median_seconds: float | None = None

    @property
    def median_rounded(self) -> int | None:
        return round(self.median_seconds) if self.median_seconds is not None else None


@dataclass
class CourseStats:
    course: ContentItem
    cohort: int
    modules: list[ModuleStats]
    lenses: list[LensStats]  # required lenses and tests, in course order


def _module_title(entry: CourseEntry) -> str:
    module = entry.module
    if entry.title:
        return entry.title
    return f"{module.parent.title}: {module.title}" if module.parent_id else module.title


def for_course_dashboard(course: ContentItem) -> CourseStats:
    """Status counts per module and time per required lens of one course (4 queries)."""
    entries = list(
        CourseEntry.objects.filter(course=course, kind=CourseEntry.Kind.MODULE)
        .select_related("module", "module__parent")
        .defer("module__body", "module__parent__body")
        .order_by("position")
    )
    steps_of = ModuleEntry.objects.steps_by_module(entry.module_id for entry in entries)
    ctes, params = _course_ctes(course.pk)
    with connection.cursor() as cursor:
        cursor.execute(_status_counts_sql(ctes), params)
        counts = cursor.fetchall()
        cursor.execute(_lens_times_sql(ctes), params)
        times = cursor.fetchall()

    cohort = next((int(row[1]) for row in counts if row[0] is None), 0)
    by_module = {sql.from_db_uuid(row[0]): (int(row[1]), int(row[2])) for row in counts if row[0] is not None}

    modules, lenses = [], []
    for entry in entries:
        title = _module_title(entry)
        own_steps = steps_of.get(entry.module_id, [])
        required = {step.item_id for step in own_steps if not step.optional}
        stats = ModuleStats(entry.position, entry.module, title, entry.optional, len(required), cohort)
        stats.completed, stats.in_progress = by_module.get(entry.module_id, (0, 0))
        modules.append(stats)
        seen = set()
        for step in own_steps:
            if step.optional or step.item_id in seen:
                continue
            seen.add(step.item_id)
            item = step.item
            lenses.append(LensStats(title, step.item_id, step.display_title, item.content_type, item.estimated_seconds))
    _add_times(lenses, times)
    return CourseStats(course=course, cohort=cohort, modules=modules, lenses=lenses)


def _add_times(lenses: list[LensStats], rows: list[tuple]) -> None:
    found: dict[UUID, tuple[int, int, float | None]] = {}
    if connection.vendor == "postgresql":
        for item_id, completed, timed, middle in rows:
            found[sql.from_db_uuid(item_id)] = (completed, timed, float(middle) if middle is not None else None)
    else:
        seconds_by_item: dict[UUID, list[int]] = defaultdict(list)
        for item_id, seconds in rows:
            seconds_by_item[sql.from_db_uuid(item_id)].append(seconds)
        for item_id, seconds in seconds_by_item.items():
            timed = [s for s in seconds if s > 0]
            found[item_id] = (len(seconds), len(timed), float(median(timed)) if timed else None)
    for lens in lenses:
        lens.completed, lens.timed, lens.median_seconds = found.get(lens.item_id, (0, 0, None))


def cohort_sizes() -> dict[UUID, int]:
    """Learners with progress on each course's lenses and tests, by course (1 query)."""
    steps = (
        ModuleEntry.objects.of_modules()
        .filter(module__course_placements__isnull=False)
        .order_by()
        .values("item_id", course_id=F("module__course_placements__course_id"))
        .distinct()
    )
    steps_sql, steps_params = _compiled(steps)
    rows_sql, rows_params = _compiled(_learner_rows(ModuleEntry.objects.of_modules().order_by().values("item_id")))
    query = f"""
        WITH steps AS ({steps_sql}), rows AS ({rows_sql})
        SELECT course_id, COUNT(*) FROM (
            SELECT DISTINCT s.course_id, r.uid, r.tok FROM rows r JOIN steps s ON s.item_id = r.item_id
        ) learners GROUP BY course_id
    """
    with connection.cursor() as cursor:
        cursor.execute(query, steps_params + rows_params)
        return {sql.from_db_uuid(course_id): count for course_id, count in cursor.fetchall()}


# The per-learner page -------------------------------------------------------------------------------


@dataclass
class LensActivity:
    item_id: UUID
    title: str
    content_type: str
    optional: bool
    estimated_seconds: int
    completed_at: datetime | None = None
    time_to_complete_s: int = 0
    time_spent_s: int = 0
    last_activity: datetime | None = None


@dataclass
class ModuleActivity:
    title: str
    optional: bool
    status: Status
    completed: int
    total: int
    lenses: list[LensActivity]

    @property
    def time_spent_s(self) -> int:
        return sum(lens.time_spent_s for lens in self.lenses)

    @property
    def last_activity(self) -> datetime | None:
        return max((lens.last_activity for lens in self.lenses if lens.last_activity), default=None)


@dataclass
class CourseActivity:
    course: ContentItem
    modules: list[ModuleActivity]

    @property
    def time_spent_s(self) -> int:
        return sum(module.time_spent_s for module in self.modules)

    @property
    def last_activity(self) -> datetime | None:
        return max((module.last_activity for module in self.modules if module.last_activity), default=None)


@dataclass
class LearnerActivity:
    learner: Learner
    courses: list[CourseActivity]
    other_rows: list[UserContentProgress]  # rows on items in no course (unknown, retired, loose)
    chats: list[ChatSession]
    answers: list[QuestionAnswer]
    titles: dict[UUID, str]
    data_records: list[LearnerDataAudit] = field(default_factory=list)

    @property
    def last_activity(self) -> datetime | None:
        moments = [course.last_activity for course in self.courses if course.last_activity]
        moments += [_last(row) for row in self.other_rows]
        moments += [chat.last_active_at for chat in self.chats]
        return max(moments, default=None)


def _last(row: UserContentProgress) -> datetime:
    return max(moment for moment in (row.started_at, row.completed_at, row.last_heartbeat_at) if moment)


def for_learner_page(learner: Learner) -> LearnerActivity:
    """Every course the learner has progress in, module by module and lens by lens, with chats (8 queries)."""
    rows = list(UserContentProgress.objects.owned_by(learner).with_current_id().order_by("started_at", "id"))
    merged: dict[UUID, LensActivity] = {}
    for row in rows:
        activity = merged.setdefault(row.current_id, LensActivity(row.current_id, "", row.content_type, False, 0))
        if row.completed_at and (activity.completed_at is None or row.completed_at < activity.completed_at):
            activity.completed_at = row.completed_at
        activity.time_to_complete_s += row.time_to_complete_s
        activity.time_spent_s += row.total_time_spent_s
        activity.last_activity = max(filter(None, [activity.last_activity, _last(row)]))

    item_ids = list(merged)
    modules_with_progress = ModuleEntry.objects.filter(item_id__in=item_ids).values("module_id")
    courses_with_progress = CourseEntry.objects.filter(module_id__in=modules_with_progress).values("course_id")
    entries = list(
        CourseEntry.objects.filter(
            course_id__in=courses_with_progress, kind=CourseEntry.Kind.MODULE, course__retired_at__isnull=True
        )
        .select_related("course", "module", "module__parent")
        .defer("course__body", "module__body", "module__parent__body")
        .order_by("course__title", "course_id", "position")
    )
    steps_of = ModuleEntry.objects.steps_by_module(entry.module_id for entry in entries)

    courses: dict[UUID, CourseActivity] = {}
    placed: set[UUID] = set()
    done = {item_id for item_id, activity in merged.items() if activity.completed_at}
    for entry in entries:
        steps = steps_of.get(entry.module_id, [])
        status, k, n = derive_status(
            required={s.item_id for s in steps if not s.optional}, steps={s.item_id for s in steps}, done=done
        )
        lenses = []
        for step in steps:
            found = merged.get(step.item_id)
            placed.add(step.item_id)
            lenses.append(
                LensActivity(
                    item_id=step.item_id,
                    title=step.display_title,
                    content_type=step.item.content_type,
                    optional=step.optional,
                    estimated_seconds=step.item.estimated_seconds,
                    completed_at=found.completed_at if found else None,
                    time_to_complete_s=found.time_to_complete_s if found else 0,
                    time_spent_s=found.time_spent_s if found else 0,
                    last_activity=found.last_activity if found else None,
                )
            )
        course = courses.setdefault(entry.course_id, CourseActivity(entry.course, []))
        course.modules.append(ModuleActivity(_module_title(entry), entry.optional, status, k, n, lenses))

    other_rows = [
        row
        for row in rows
        if row.current_id not in placed and row.content_type not in (ContentType.MODULE, ContentType.LEARNING_OUTCOME)
    ]
    chats = list(ChatSession.objects.owned_by(learner).prefetch_related("messages").order_by("-last_active_at", "-id"))
    answers = list(QuestionAnswer.objects.owned_by(learner).order_by("-updated_at", "-id"))
    wanted = {chat.content_id for chat in chats if chat.content_id} | {a.content_id for a in answers}
    titles = dict(ContentItem.objects.filter(pk__in=wanted).values_list("id", "title"))
    records = list(LearnerDataAudit.objects.filter(learner=learner.label))
    return LearnerActivity(learner, list(courses.values()), other_rows, chats, answers, titles, records)
