"""`progress_doctor`: find progress that disagrees with itself or with the registry, and repair what can be.

Four kinds of finding:

- `completion`: a module or learning-outcome row whose stored completion disagrees with the status
  derived from the learner's lens and test rows (derived status is the truth, as on every page). The
  repair sets or clears the row's `completed_at`, creating the row of a module the learner finished.
- `replaced`: progress stored under an old UUID that a newer item `replaces:`. The repair merges it into
  the learner's row of the newer item by the claiming merge rules (`progress.sql.merge_rows_sql`).
- `unknown`: progress on a UUID the registry does not know. Reported, never deleted.
- `implausible`: more active time on one day than the day has. Reported.

Rows that late requests wrote under a token an account claimed count as the account's (as on every page).
Repairs run in one transaction, with a `ProgressAudit` record per changed row, while holding the
per-learner locks that completions and claims take, so no completion races a repair.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Sum
from django.db.models.functions import Coalesce, Greatest, TruncDate

from content_loader.models import ContentItem, ContentType, ModuleEntry, ReplacedId
from learners import Learner
from progress import sql
from progress.models import LegacyImport, ProgressAudit, UserContentProgress
from progress.queries import Status, derive_status
from progress.services import lock_learners

DAY_SECONDS = 24 * 60 * 60
KINDS = {
    "completion": ("completion mismatch", "completion mismatches"),
    "replaced": ("row on a replaced UUID", "rows on replaced UUIDs"),
    "unknown": ("UUID unknown to the registry", "UUIDs unknown to the registry"),
    "implausible": ("implausible time", "implausible times"),
}
FIXABLE = {"completion", "replaced"}
AUDITED_FIELDS = (
    "content_id",
    "content_type",
    "content_title",
    "started_at",
    "completed_at",
    "time_to_complete_s",
    "total_time_spent_s",
    "last_heartbeat_at",
)


@dataclass(frozen=True)
class CompletionRepair:
    row_id: int | None  # None: create the row
    owner: Learner  # the row's own owner (a claimed token stays a token)
    content_id: UUID
    content_type: str
    completed_at: datetime | None  # what completed_at must become
    before: datetime | None


@dataclass(frozen=True)
class Finding:
    kind: str
    # The learner as pages see one (`with_learner`), for `replaced` the row's own owner; None: an item (unknown UUIDs)
    owner: Learner | None
    message: str
    repair: CompletionRepair | None = field(default=None, compare=False)
    row_ids: tuple[int, ...] = ()  # rows a merge takes

    @property
    def fixable(self) -> bool:
        return self.kind in FIXABLE

    def line(self, names: dict[int, str]) -> str:
        return f"{self.kind}: {subject(self.owner, names)}: {self.message}"


@dataclass
class DoctorReport:
    found: list[Finding]
    remaining: list[Finding]
    fixed: int = 0
    audit_records: int = 0
    fix: bool = False
    names: dict[int, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.remaining else 0

    def lines(self) -> list[str]:
        """One line per finding, then the summary."""
        return [finding.line(self.names) for finding in self.found] + [self.summary()]

    def summary(self) -> str:
        """One line: what was found by kind, what was repaired, what remains."""
        if not self.found and not self.remaining:
            return "progress_doctor: no problems found."
        counts = defaultdict(int)
        for finding in self.found:
            counts[finding.kind] += 1
        found = ", ".join(f"{n} {KINDS[kind][n != 1]}" for kind, n in counts.items())
        text = f"progress_doctor: {len(self.found)} problem{'s' if len(self.found) != 1 else ''} ({found})"
        fixable = sum(finding.fixable for finding in self.found)
        if not self.fix:
            return f"{text}; {fixable} can be repaired with --fix." if fixable else f"{text}; none can be repaired."
        records = f"{self.audit_records} audit record{'s' if self.audit_records != 1 else ''}"
        remaining = len(self.remaining)
        text = f"{text}; repaired {self.fixed} ({records}); {remaining} remain{'s' if remaining == 1 else ''}"
        return text + (" (reported only)." if remaining and not any(f.fixable for f in self.remaining) else ".")


def subject(owner: Learner | None, names: dict[int, str]) -> str:
    if owner is None:
        return "registry"
    if owner.user_id is not None:
        name = names.get(owner.user_id)
        return f"{owner.label} ({name})" if name else owner.label
    return owner.label


@dataclass
class _Structure:
    steps: dict[UUID, list[tuple[UUID, bool]]]  # active module (leaf or parent) -> (item, optional)
    outcome_placements: dict[UUID, list[list[tuple[UUID, bool]]]]  # placed outcome -> steps per leaf module
    titles: dict[UUID, str]
    containers: dict[UUID, set[UUID]]  # item -> modules and outcomes it is a step of

    def derivable(self, item_id: UUID) -> bool:
        """Active modules, and learning outcomes placed in one, have a derived status."""
        return item_id in self.steps or item_id in self.outcome_placements


def _structure() -> _Structure:
    """The active modules' and learning outcomes' steps (2 queries)."""
    items = (
        ContentItem.objects.active()
        .filter(content_type__in=[ContentType.MODULE, ContentType.LEARNING_OUTCOME])
        .values_list("id", "content_type", "title")
    )
    titles = {item_id: title for item_id, _, title in items}
    by_module = ModuleEntry.objects.steps_by_module()
    steps: dict[UUID, list[tuple[UUID, bool]]] = {
        item_id: [(e.item_id, e.optional) for e in by_module.get(item_id, [])]
        for item_id, kind, _ in items
        if kind == ContentType.MODULE
    }
    per_placement: dict[tuple[UUID, UUID], list[tuple[UUID, bool]]] = defaultdict(list)
    containers: dict[UUID, set[UUID]] = defaultdict(set)
    for module_id, entries in by_module.items():
        if module_id not in steps:
            continue
        for entry in entries:
            containers[entry.item_id].add(module_id)
            if entry.module_id == module_id and entry.learning_outcome_id in titles:
                per_placement[(entry.learning_outcome_id, module_id)].append((entry.item_id, entry.optional))
                containers[entry.item_id].add(entry.learning_outcome_id)
    placements: dict[UUID, list[list[tuple[UUID, bool]]]] = defaultdict(list)
    for (outcome_id, _module_id), outcome_steps in per_placement.items():
        placements[outcome_id].append(outcome_steps)
    return _Structure(steps, dict(placements), titles, containers)


def _status(steps: list[tuple[UUID, bool]], done: dict[UUID, datetime]) -> tuple[Status, int, int, datetime | None]:
    """Derived status, k, n and, when completed, the time the finishing step was completed."""
    required = {item_id for item_id, optional in steps if not optional}
    all_steps = {item_id for item_id, _ in steps}
    status, k, n = derive_status(required=required, steps=all_steps, done=set(done))
    when = None
    if status == Status.COMPLETED:
        when = max(done[i] for i in required) if required else min(done[i] for i in all_steps if i in done)
    return status, k, n, when


def _completion_findings(structure: _Structure) -> list[Finding]:
    """Module and learning-outcome rows whose completion disagrees with the derived status (3 queries).

    A module completion imported from the old platform (`LegacyImport`) is kept even when the module's
    required steps changed since: the old platform tracked modules, not lenses.
    """
    rows = UserContentProgress.objects.with_learner().with_current_id()
    done: dict[Learner, dict[UUID, datetime]] = defaultdict(dict)
    completed_steps = rows.filter(
        completed_at__isnull=False, content_type__in=[ContentType.LENS, ContentType.TEST]
    ).values_list("learner_user_id", "learner_token", "current_id", "completed_at")
    for user_id, token, item_id, completed_at in completed_steps:
        items = done[Learner(user_id, token)]
        if item_id not in items or completed_at < items[item_id]:
            items[item_id] = completed_at

    stored: dict[Learner, dict[UUID, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    containers = rows.filter(content_type__in=[ContentType.MODULE, ContentType.LEARNING_OUTCOME]).values_list(
        "id", "user_id", "session_token", "learner_user_id", "learner_token", "current_id", "completed_at"
    )
    for row_id, user_id, token, learner_user_id, learner_token, item_id, completed_at in containers:
        if structure.derivable(item_id):
            row = (row_id, Learner(user_id, token), completed_at)
            stored[Learner(learner_user_id, learner_token)][item_id].append(row)

    legacy = set(
        LegacyImport.objects.filter(completion_progress_id__isnull=False).values_list(
            "completion_progress_id", flat=True
        )
    )
    findings = []
    for owner in sorted(set(done) | set(stored), key=_owner_order):
        items = done.get(owner, {})
        rows_by_item = stored.get(owner, {})
        candidates = set(rows_by_item)
        for item_id in items:
            candidates |= structure.containers.get(item_id, set())
        for container in sorted(candidates, key=str):
            findings.extend(_compare(owner, container, structure, items, rows_by_item.get(container, []), legacy))
    return findings


def _compare(
    owner: Learner,
    container: UUID,
    structure: _Structure,
    done: dict[UUID, datetime],
    rows: list[tuple],
    legacy: set[int],
) -> list[Finding]:
    """The findings about one learner's rows of one module or outcome: derived status against stored."""
    title = structure.titles.get(container, str(container))
    if container in structure.steps:
        kind, label = ContentType.MODULE, "module"
        status, k, n, when = _status(structure.steps[container], done)
    else:  # an outcome is completed when its steps in any module placing it are
        kind, label = ContentType.LEARNING_OUTCOME, "learning outcome"
        derived = [_status(steps, done) for steps in structure.outcome_placements[container]]
        finished = [d[3] for d in derived if d[0] == Status.COMPLETED]
        status, k, n, _ = max(derived, key=lambda d: (d[0] == Status.COMPLETED, d[1]))
        when = min(finished) if finished else None
    if status == Status.COMPLETED:
        if any(completed_at is not None for _, _, completed_at in rows):
            return []
        open_rows = sorted(rows, key=lambda row: (row[1].user_id is None, row[0]))  # the account's own row first
        target = open_rows[0] if open_rows else None
        repair = CompletionRepair(
            row_id=target[0] if target else None,
            owner=target[1] if target else owner,
            content_id=container,
            content_type=kind,
            completed_at=when,
            before=None,
        )
        where = f"its row {target[0]} is not completed" if target else "it has no row"
        message = f'{label} "{title}" ({container}) is completed by its steps ({k}/{n}) but {where}'
        return [Finding("completion", owner, message, repair)]
    findings = []
    for row_id, row_owner, completed_at in rows:
        if completed_at is None or row_id in legacy:
            continue
        repair = CompletionRepair(row_id, row_owner, container, kind, None, completed_at)
        message = (
            f'{label} "{title}" ({container}) row {row_id} is stored completed at {completed_at.isoformat()} '
            f"but its steps say {status.label.lower()} ({k}/{n})"
        )
        findings.append(Finding("completion", owner, message, repair))
    return findings


def _owner_order(owner: Learner) -> tuple:
    return (owner.user_id is None, owner.user_id or 0, str(owner.session_token))


def _replaced_findings() -> list[Finding]:
    """Rows stored under an old UUID that a newer item replaces, one finding per row (2 queries)."""
    rows = (
        UserContentProgress.objects.filter(content_id__in=ReplacedId.objects.values("old_id"))
        .with_current_id()
        .order_by("user_id", "session_token", "content_id", "id")
        .values_list("id", "user_id", "session_token", "content_id", "current_id", "content_type")
    )
    titles = dict(ContentItem.objects.filter(pk__in=ReplacedId.objects.values("item_id")).values_list("id", "title"))
    findings = []
    for row_id, user_id, token, content_id, new_id, content_type in rows:
        message = (
            f'{content_type} row {row_id} is stored under {content_id}, which "{titles.get(new_id, new_id)}" '
            f"({new_id}) replaces"
        )
        findings.append(Finding("replaced", Learner(user_id, token), message, row_ids=(row_id,)))
    return findings


def _unknown_findings() -> list[Finding]:
    """Progress on UUIDs neither the registry nor a `replaces:` knows, one finding per UUID (1 query)."""
    known = ContentItem.objects.filter(pk=OuterRef("content_id"))
    replaced = ReplacedId.objects.filter(old_id=OuterRef("content_id"))
    unknown = (
        UserContentProgress.objects.filter(~Exists(known), ~Exists(replaced))
        .values("content_id")
        .annotate(rows=Count("id"), title=Max("content_title"), kind=Max("content_type"))
        .order_by("content_id")
    )
    findings = []
    for group in unknown:
        title = f' (stored title "{group["title"]}")' if group["title"] else ""
        rows = group["rows"]
        message = (
            f"{rows} {group['kind']} row{'s' if rows != 1 else ''} on {group['content_id']}{title}, "
            "a UUID the registry does not know; kept"
        )
        findings.append(Finding("unknown", None, message))
    return findings


def _implausible_findings() -> list[Finding]:
    """Learners with more active time on one day than it has (2 queries).

    Stored time is not split by day, so a row counts for the UTC day of its activity when it started and
    last heard from the learner on the same day; a row spanning several days counts on its own, against
    the days it spans.
    """
    rows = UserContentProgress.objects.with_learner().annotate(
        first_day=TruncDate("started_at", tzinfo=UTC),
        last_day=TruncDate(
            Greatest(
                Coalesce("last_heartbeat_at", "started_at"),
                Coalesce("completed_at", "started_at"),
            ),
            tzinfo=UTC,
        ),
    )
    findings = []
    days = (
        rows.filter(first_day=F("last_day"))
        .values("learner_user_id", "learner_token", "first_day")
        .annotate(seconds=Sum("total_time_spent_s"))
        .filter(seconds__gt=DAY_SECONDS)
        .order_by("learner_user_id", "learner_token", "first_day")
    )
    for day in days:
        message = (
            f"{day['seconds']:,} s of active time on {day['first_day']} (UTC), "
            f"more than the {DAY_SECONDS:,} s a day has"
        )
        findings.append(Finding("implausible", Learner(day["learner_user_id"], day["learner_token"]), message))
    long_rows = (
        rows.filter(total_time_spent_s__gt=DAY_SECONDS)
        .exclude(first_day=F("last_day"))
        .order_by("id")
        .values_list(
            "id", "learner_user_id", "learner_token", "content_title", "first_day", "last_day", "total_time_spent_s"
        )
    )
    for row_id, user_id, token, title, first_day, last_day, seconds in long_rows:
        spanned = (last_day - first_day).days + 1
        if seconds > spanned * DAY_SECONDS:
            message = (
                f'row {row_id} ("{title}") holds {seconds:,} s of active time between {first_day} and {last_day}, '
                f"more than those {spanned} days have"
            )
            findings.append(Finding("implausible", Learner(user_id, token), message))
    return findings


def diagnose() -> list[Finding]:
    """Every finding, in a fixed number of queries."""
    structure = _structure()
    return [
        *_completion_findings(structure),
        *_replaced_findings(),
        *_unknown_findings(),
        *_implausible_findings(),
    ]


def _json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _snapshot(row: UserContentProgress | None) -> dict:
    return {} if row is None else {name: _json(getattr(row, name)) for name in AUDITED_FIELDS}


def _audit(*, row_id: int, owner: Learner, content_id: UUID, action: str, reason: str, before, after, actor_username):
    return ProgressAudit(
        progress_id=row_id,
        learner=owner.label,
        content_id=content_id,
        actor=None,
        actor_username=actor_username,
        action=action,
        reason=reason,
        before=before,
        after=after,
    )


def _stored_under(owner: Learner) -> dict:
    """The filter of the rows stored under exactly this account or token (a claimed token's stay its own)."""
    return {"user_id": owner.user_id, "session_token": owner.session_token}


def _merge_replaced(findings: list[Finding], actor_username: str) -> tuple[int, list[ProgressAudit]]:
    """Merge every row on a replaced UUID into its owner's row of the newer item (claiming rules)."""
    by_owner: dict[Learner, list[int]] = defaultdict(list)
    for finding in findings:
        by_owner[finding.owner].extend(finding.row_ids)
    records = []
    merged = 0
    for owner, row_ids in sorted(by_owner.items(), key=lambda item: _owner_order(item[0])):
        old_rows = list(
            UserContentProgress.objects.select_for_update()
            .filter(**_stored_under(owner), id__in=row_ids, content_id__in=ReplacedId.objects.values("old_id"))
            .with_current_id()
        )
        if not old_rows:
            continue
        replaced = {row.content_id: row.current_id for row in old_rows}
        targets_before = {
            row.content_id: row
            for row in UserContentProgress.objects.select_for_update().filter(
                **_stored_under(owner), content_id__in=set(replaced.values())
            )
        }
        params = sql.owner_params(owner) | {f"row{i}": row.pk for i, row in enumerate(old_rows)}
        with connection.cursor() as cursor:
            cursor.execute(
                sql.merge_rows_sql(row_ids=len(old_rows), by_user=owner.is_authenticated, follow_replaced=True), params
            )
        UserContentProgress.objects.filter(id__in=[row.pk for row in old_rows]).delete()
        targets_after = {
            row.content_id: row
            for row in UserContentProgress.objects.filter(**_stored_under(owner), content_id__in=set(replaced.values()))
        }
        for row in old_rows:
            new_id = replaced[row.content_id]
            target = targets_after[new_id]
            records.append(
                _audit(
                    row_id=row.pk,
                    owner=owner,
                    content_id=row.content_id,
                    action=ProgressAudit.Action.DOCTOR_MERGE,
                    reason=f"progress_doctor: {row.content_id} is replaced by {new_id}; merged into row {target.pk}",
                    before=_snapshot(row),
                    after={"merged_into": target.pk, "content_id": str(new_id)},
                    actor_username=actor_username,
                )
            )
            merged += 1
        for new_id, target in targets_after.items():
            sources = sorted(row.pk for row in old_rows if replaced[row.content_id] == new_id)
            before = targets_before.get(new_id)
            records.append(
                _audit(
                    row_id=target.pk,
                    owner=owner,
                    content_id=new_id,
                    action=ProgressAudit.Action.DOCTOR_MERGE,
                    reason=(
                        f"progress_doctor: {'merged' if before else 'created from'} row(s) "
                        f"{', '.join(map(str, sources))} on replaced UUIDs, by the claiming merge rules"
                    ),
                    before=_snapshot(before),
                    after=_snapshot(target),
                    actor_username=actor_username,
                )
            )
    return merged, records


def _repair_completion(finding: Finding, actor_username: str) -> ProgressAudit | None:
    """Set or clear one module or outcome row's completion; None when the row changed meanwhile."""
    repair = finding.repair
    rows = UserContentProgress.objects.filter(**_stored_under(repair.owner))
    if repair.row_id is None:
        params = sql.owner_params(repair.owner) | {
            "now": sql.prep_datetime(repair.completed_at),
            "id0": sql.prep_uuid(repair.content_id),
            "type0": repair.content_type,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql.complete_many_sql(by_user=repair.owner.is_authenticated, rows=1), params)
            if cursor.fetchone() is None:
                return None
        row_id = rows.filter(content_id=repair.content_id).values_list("id", flat=True).get()
    else:
        row_id = repair.row_id
        matching = rows.filter(pk=row_id)
        matching = (
            matching.filter(completed_at__isnull=True)
            if repair.before is None
            else matching.filter(completed_at=repair.before)
        )
        if not matching.update(completed_at=repair.completed_at):
            return None
    action = "completed" if repair.completed_at else "cleared its completion"
    return _audit(
        row_id=row_id,
        owner=repair.owner,
        content_id=repair.content_id,
        action=ProgressAudit.Action.DOCTOR_STATUS,
        reason=f"progress_doctor {action}: {finding.message}",
        before={"completed_at": _json(repair.before)},
        after={"completed_at": _json(repair.completed_at)},
        actor_username=actor_username,
    )


def _learners(findings: list[Finding]) -> set[Learner]:
    learners = set()
    for finding in findings:
        if not finding.fixable:
            continue
        learners |= {finding.owner} | ({finding.repair.owner} if finding.repair else set())
    return learners


def _lock_and_diagnose(locked: set[Learner]) -> list[Finding]:
    """Diagnose while holding the locks of every learner a repair would touch."""
    for _round in range(5):
        findings = diagnose()
        missing = _learners(findings) - locked
        if not missing:
            return findings
        lock_learners(*sorted(missing, key=lambda learner: learner.lock_key))
        locked |= missing
    return findings


def repair(*, actor_username: str) -> tuple[int, int]:
    """Repair every fixable finding in one transaction, one audit record per change: (repaired, records)."""
    with transaction.atomic():
        locked: set[Learner] = set()
        findings = _lock_and_diagnose(locked)
        merged, records = _merge_replaced([f for f in findings if f.kind == "replaced"], actor_username)
        if merged:  # merges can change which rows say what: compare completions again on the merged rows
            findings = _lock_and_diagnose(locked)
        completions = [f for f in findings if f.kind == "completion"]
        repaired = [record for f in completions if (record := _repair_completion(f, actor_username)) is not None]
        ProgressAudit.objects.bulk_create([*records, *repaired])
    return merged + len(repaired), len(records) + len(repaired)


def usernames(findings: list[Finding]) -> dict[int, str]:
    """Usernames of the accounts the findings name (1 query)."""
    ids = {finding.owner.user_id for finding in findings if finding.owner and finding.owner.user_id is not None}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", get_user_model().USERNAME_FIELD))


def run_doctor(*, fix: bool, actor_username: str = "progress_doctor") -> DoctorReport:
    """Diagnose; with fix, repair what can be and diagnose again to tell what remains."""
    found = diagnose()
    report = DoctorReport(found=found, remaining=found, fix=fix)
    if fix and any(finding.fixable for finding in found):
        report.fixed, report.audit_records = repair(actor_username=actor_username)
        report.remaining = diagnose()
    report.names = usernames([*report.found, *report.remaining])
    return report
