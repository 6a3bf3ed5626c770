"""Bring the old platform's `module_sessions` rows over (Phase 6 of the progress-tracking plan).

Each legacy row (`session_id`, user id, module slug, stage index, messages JSON, started, last active,
completed: the old platform's `module_sessions` table, read as it is) becomes:
- a conversation about the module's UUID (found by slug, or by a slug alias) holding its messages: the
  account's active conversation for the module when it has none yet, else an archived one; a row
  without a user is kept as an archived conversation under a fresh random token (nobody holds it);
- for an account, when the session was completed, the completion of the module's row (earlier
  completions win, as when claiming). An anonymous completion has no learner left to own it and is not
  kept as progress.

`current_stage_index` (where the learner was in the old module) is read and not imported: progress here
is derived from completions. A NULL `started_at` falls back to the row's last active or completion time.

Rows are read and checked first; a row with an unknown slug, an unmatched user or malformed data is
reported with its row number and skipped. Each row is then written in its own transaction together with
its `LegacyImport` record (unique on the legacy id), so a row is imported entirely or not at all, and a
second run imports nothing.
"""

import csv
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.functions import Lower
from psycopg.rows import dict_row

from chat.models import ChatMessage
from chat.services import import_conversation
from content_loader.models import ContentItem, ContentType, ModuleEntry, SlugAlias
from learners import Learner
from progress import sql
from progress.models import LegacyImport

# The old platform's table (its DDL is in the README): `session_id` is the key; exports may name it `id`.
COLUMNS = (
    "session_id",
    "user_id",
    "module_slug",
    "current_stage_index",
    "messages",
    "started_at",
    "last_active_at",
    "completed_at",
)
ID_COLUMNS = ("session_id", "id")
TABLE = "module_sessions"
ROLES = {"user": ChatMessage.Role.USER, "assistant": ChatMessage.Role.ASSISTANT}
SKIPPED_ROLES = {"system"}  # instructions to the old tutor, not part of the conversation


class SourceError(Exception):
    """The source as a whole cannot be read (a missing file, a table without the expected columns)."""


class RowProblem(Exception):
    """One row cannot be imported; the message says why."""


@dataclass(frozen=True)
class Message:
    role: str
    text: str
    created_at: datetime | None


@dataclass(frozen=True)
class LegacyRow:
    number: int  # 1-based position in the source
    where: str  # "row 3" or "row 3 (line 4)", for reports
    legacy_id: str
    user_id: str | None
    module_slug: str
    messages: tuple[Message, ...]
    started_at: datetime
    last_active_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class Planned:
    row: LegacyRow
    module_id: UUID
    module_title: str
    user_pk: int | None
    username: str = ""
    # The module's current required steps (lens or test id, type, title): a legacy completion completes them
    # too, so that the status learners see (derived from these steps) shows the module completed.
    required_steps: tuple[tuple[UUID, str, str], ...] = ()

    def describe(self) -> str:
        who = f"user {self.username}" if self.user_pk is not None else "an anonymous learner (archived)"
        parts = [f"{len(self.row.messages)} message{'s' if len(self.row.messages) != 1 else ''}"]
        if self.row.completed_at and self.user_pk is not None:
            parts.append(f"completion at {self.row.completed_at.isoformat()}")
        return f'{", ".join(parts)} for {who} in module "{self.module_title}"'


@dataclass
class ImportReport:
    dry_run: bool
    read: int = 0
    imported: int = 0
    already: int = 0
    chats: int = 0
    messages: int = 0
    completions: int = 0
    anonymous: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row number, text)
    details: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def problem_lines(self) -> list[str]:
        """The skipped rows, in source order."""
        return [text for _number, text in sorted(self.problems, key=lambda problem: problem[0])]

    def summary(self) -> str:
        """One line: rows read, imported (or to import), already imported, skipped."""
        verb = "would import" if self.dry_run else "imported"
        return (
            f"import_legacy_sessions: {self.read} row{'s' if self.read != 1 else ''} read; {verb} {self.imported} "
            f"({self.chats} conversation{'s' if self.chats != 1 else ''} with {self.messages} message"
            f"{'s' if self.messages != 1 else ''}, {self.completions} module completion"
            f"{'s' if self.completions != 1 else ''}, {self.anonymous} anonymous); {self.already} already imported; "
            f"{len(self.problems)} skipped with problems."
        )


# Reading ---------------------------------------------------------------------------------------------


def _select_sql(columns: set[str]) -> str:
    """The SELECT of the table as it is: its key (`session_id`, or `id` of older copies) read as the row's id,
    and the optional columns it lacks as NULL. Raises SourceError when the key or `module_slug` is missing."""
    key = next((name for name in ID_COLUMNS if name in columns), None)
    checks = (("session_id", key is not None), ("module_slug", "module_slug" in columns))
    missing = [name for name, present in checks if not present]
    if missing:
        found = ", ".join(sorted(columns)) or "none"
        raise SourceError(f"{TABLE} has no {' or '.join(missing)} column (its columns: {found}).")
    fields = [f'"{key}" AS id'] + [
        f'"{name}"' if name in columns else f"NULL AS {name}" for name in COLUMNS if name not in ID_COLUMNS
    ]
    return f'SELECT {", ".join(fields)} FROM {TABLE} ORDER BY "{key}"'


def read_database(url: str) -> Iterator[tuple[str, dict]]:
    """The rows of `module_sessions` in a PostgreSQL database, by key (the old platform's DDL, read as it is)."""
    try:
        with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " AND table_schema = ANY(current_schemas(false))",
                [TABLE],
            )
            columns = {row["column_name"] for row in cursor}
            if not columns:
                raise SourceError(f'Cannot read {TABLE}: relation "{TABLE}" does not exist in this database.')
            try:
                cursor.execute(_select_sql(columns))
            except psycopg.errors.Error as exc:
                raise SourceError(f"Cannot read {TABLE}: {exc.diag.message_primary or exc}") from None
            for number, raw in enumerate(cursor, start=1):
                yield f"row {number}", raw
    except psycopg.OperationalError as exc:
        raise SourceError(f"Cannot connect to the legacy database: {str(exc).strip()}") from None


def read_file(path: Path) -> Iterator[tuple[str, dict]]:
    """The rows of a JSON (a list of objects, or {"module_sessions": [...]}) or CSV export."""
    if not path.is_file():
        raise SourceError(f"No file at {path}.")
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get(TABLE)
    if not isinstance(data, list):
        raise SourceError(f'{path} must hold a list of rows, or an object with a "{TABLE}" list.')
    for number, raw in enumerate(data, start=1):
        yield f"row {number}", raw


def _read_csv(path: Path) -> Iterator[tuple[str, dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        names = reader.fieldnames or []
        missing = [name for name in ("module_slug",) if name not in names]
        if not any(name in names for name in ID_COLUMNS):
            missing.insert(0, "session_id")
        if missing:
            raise SourceError(f"{path} has no {', '.join(missing)} column (the header names the columns).")
        line = reader.line_num + 1
        for number, raw in enumerate(reader, start=1):
            yield f"row {number} (line {line})", {key: (value if value != "" else None) for key, value in raw.items()}
            line = reader.line_num + 1


# Checking --------------------------------------------------------------------------------------------


def _timestamp(raw: dict, name: str, *, required: bool = False) -> datetime | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise RowProblem(f"{name} is missing")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowProblem(f"{name} is not a date and time: {value!r}") from None
    if not isinstance(value, datetime):
        raise RowProblem(f"{name} is not a date and time: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # the old platform stored UTC


def _messages(raw: dict) -> tuple[Message, ...]:
    value = raw.get("messages")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowProblem(f"messages is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, list):
        raise RowProblem("messages is not a list")
    messages = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise RowProblem(f"message {index} is not an object")
        role = item.get("role")
        text = item.get("content", item.get("text"))
        if role in SKIPPED_ROLES:
            continue
        if role not in ROLES:
            raise RowProblem(f"message {index} has role {role!r}, not user or assistant")
        if not isinstance(text, str):
            raise RowProblem(f"message {index} has no text (content)")
        when = item.get("timestamp", item.get("created_at"))
        created_at = _timestamp({"timestamp": when}, "timestamp") if when else None
        messages.append(Message(ROLES[role], text, created_at))
    return tuple(messages)


def _legacy_id(raw: dict) -> Any:
    """The row's key: `session_id` in the old table and its exports, `id` in older copies."""
    return raw.get("session_id") if raw.get("session_id") is not None else raw.get("id")


def parse_row(where: str, number: int, raw: Any) -> LegacyRow:
    """A checked legacy row; raises RowProblem naming what is wrong."""
    if not isinstance(raw, dict):
        raise RowProblem("not an object with the columns of module_sessions")
    legacy_id = _legacy_id(raw)
    if legacy_id is None or str(legacy_id).strip() == "":
        raise RowProblem("session_id is missing")
    slug = raw.get("module_slug")
    if not isinstance(slug, str) or not slug.strip():
        raise RowProblem("module_slug is missing")
    user_id = raw.get("user_id")
    # started_at has a default but may be NULL in the old table: the next known time stands in for it.
    started_at = _timestamp(raw, "started_at") or _timestamp(raw, "last_active_at") or _timestamp(raw, "completed_at")
    if started_at is None:
        raise RowProblem("started_at is missing (and so are last_active_at and completed_at)")
    return LegacyRow(
        number=number,
        where=where,
        legacy_id=str(legacy_id).strip(),
        user_id=None if user_id is None or str(user_id).strip() == "" else str(user_id).strip(),
        module_slug=slug.strip(),
        messages=_messages(raw),
        started_at=started_at,
        last_active_at=_timestamp(raw, "last_active_at"),
        completed_at=_timestamp(raw, "completed_at"),
    )


@dataclass
class UserMap:
    """How legacy user ids find accounts: the same ids (`id`), or a file mapping them to usernames/emails."""

    by_primary_key: bool = False
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, spec: str | None) -> "UserMap":
        """`id`, a CSV file (legacy id, username or email) or a JSON object {legacy id: username or email}."""
        if spec is None:
            return cls()
        if spec == "id":
            return cls(by_primary_key=True)
        path = Path(spec)
        if not path.is_file():
            raise SourceError(f"--user-map must be `id` or a mapping file; there is no file at {path}.")
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SourceError(f"{path} is not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise SourceError(f"{path} must hold an object mapping legacy user ids to usernames or emails.")
            return cls(names={str(key).strip(): str(value).strip() for key, value in data.items()})
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
        if rows and rows[0][0].strip().lower() in {"legacy_user_id", "user_id", "id", "old_id"}:
            rows = rows[1:]  # a header
        bad = [number for number, row in enumerate(rows, start=1) if len(row) < 2 or not row[1].strip()]
        if bad:
            raise SourceError(f"{path}: rows {bad[:5]} need two columns, the legacy user id and a username or email.")
        return cls(names={row[0].strip(): row[1].strip() for row in rows})

    def resolve(self, legacy_ids: set[str]) -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
        """Accounts for legacy user ids (2 queries): ({legacy id: (pk, username)}, {legacy id: problem})."""
        users = get_user_model().objects
        found: dict[str, tuple[int, str]] = {}
        problems: dict[str, str] = {}
        if self.by_primary_key:
            numeric = {legacy: int(legacy) for legacy in legacy_ids if legacy.isdigit()}
            accounts = dict(users.filter(pk__in=numeric.values()).values_list("pk", "username"))
            for legacy in legacy_ids:
                if legacy in numeric and numeric[legacy] in accounts:
                    found[legacy] = (numeric[legacy], accounts[numeric[legacy]])
                else:
                    problems[legacy] = f"no account has id {legacy}"
            return found, problems
        wanted = {legacy: self.names[legacy] for legacy in legacy_ids if legacy in self.names}
        by_name = dict(users.filter(username__in=wanted.values()).values_list("username", "pk"))
        by_email: dict[str, list[tuple[int, str]]] = {}
        for pk, username, email in (
            users.annotate(email_lower=Lower("email"))
            .filter(email_lower__in={value.lower() for value in wanted.values()})
            .values_list("pk", "username", "email_lower")
        ):
            by_email.setdefault(email, []).append((pk, username))
        for legacy in legacy_ids:
            name = wanted.get(legacy)
            if name is None:
                problems[legacy] = f"legacy user {legacy} is not in the user map"
            elif name in by_name:
                found[legacy] = (by_name[name], name)
            elif len(by_email.get(name.lower(), [])) == 1:
                found[legacy] = by_email[name.lower()][0]
            elif by_email.get(name.lower()):
                problems[legacy] = f"{name} is the email of several accounts"
            else:
                problems[legacy] = f"no account has username or email {name} (legacy user {legacy})"
        return found, problems


def module_lookup() -> dict[str, tuple[UUID, str]]:
    """Active modules by slug and by slug alias: {slug: (UUID, title)} (2 queries)."""
    modules = ContentItem.objects.active().filter(content_type=ContentType.MODULE)
    found = {slug: (pk, title) for pk, slug, title in modules.values_list("pk", "slug", "title")}
    titles = dict(found.values())
    aliases = SlugAlias.objects.filter(content_type=ContentType.MODULE, item__in=modules)
    for slug, item_id in aliases.values_list("slug", "item_id"):
        found.setdefault(slug, (item_id, titles[item_id]))
    return found


def required_steps_by_module() -> dict[UUID, tuple[tuple[UUID, str, str], ...]]:
    """The required lenses and tests (id, type, title) of every active module, each once (1 query)."""
    return {
        module_id: tuple(
            {e.item_id: (e.item_id, e.item.content_type, e.item.title) for e in steps if not e.optional}.values()
        )
        for module_id, steps in ModuleEntry.objects.steps_by_module().items()
    }


def plan(rows: Iterable[tuple[str, Any]], user_map: UserMap, report: ImportReport) -> list[Planned]:
    """Check every row: the importable ones, in source order; problems and earlier imports go to the report."""
    parsed: list[LegacyRow] = []
    for number, (where, raw) in enumerate(rows, start=1):
        report.read += 1
        try:
            parsed.append(parse_row(where, number, raw))
        except RowProblem as exc:
            legacy_id = _legacy_id(raw) if isinstance(raw, dict) else None
            where = f"{where} (id {legacy_id})" if legacy_id is not None else where
            report.problems.append((number, f"{where}: {exc}; skipped"))
    seen: set[str] = set()
    done = set(
        LegacyImport.objects.filter(legacy_id__in=[row.legacy_id for row in parsed]).values_list("legacy_id", flat=True)
    )
    modules = module_lookup()
    steps = required_steps_by_module()
    accounts, user_problems = user_map.resolve({row.user_id for row in parsed if row.user_id is not None})
    planned = []
    for row in parsed:
        label = f"{row.where} (id {row.legacy_id})"
        if row.legacy_id in done:
            report.already += 1
            continue
        problem = None
        if row.legacy_id in seen:
            problem = "the same id as an earlier row"
        elif row.module_slug not in modules:
            problem = f"unknown module slug {row.module_slug!r}"
        elif row.user_id is not None and row.user_id in user_problems:
            problem = user_problems[row.user_id]
        if problem:
            report.problems.append((row.number, f"{label}: {problem}; skipped"))
            continue
        seen.add(row.legacy_id)
        module_id, title = modules[row.module_slug]
        account = accounts.get(row.user_id) if row.user_id is not None else None
        planned.append(Planned(row, module_id, title, *(account or (None, "")), steps.get(module_id, ())))
    return planned


# Writing ---------------------------------------------------------------------------------------------


def _write(item: Planned) -> None:
    """Write one planned row and its LegacyImport record in one transaction."""
    row = item.row
    last_active = row.last_active_at or row.completed_at or row.started_at
    with transaction.atomic():
        record = LegacyImport.objects.create(legacy_id=row.legacy_id, module_id=item.module_id)
        if row.messages:
            session = import_conversation(
                learner=Learner(user_id=item.user_pk)
                if item.user_pk is not None
                else Learner(session_token=uuid.uuid4()),
                content_id=item.module_id,
                content_type=ContentType.MODULE,
                started_at=row.started_at,
                last_active_at=last_active,
                archived=item.user_pk is None,  # nobody holds a fresh token
                messages=[(m.role, m.text, m.created_at or row.started_at) for m in row.messages],
            )
            record.chat_session_id = session.pk
        if row.completed_at is not None and item.user_pk is not None:
            times = {
                "user_id": item.user_pk,
                "started": sql.prep_datetime(min(row.started_at, row.completed_at)),
                "completed": sql.prep_datetime(row.completed_at),
            }
            module = (item.module_id, ContentType.MODULE, item.module_title)
            with connection.cursor() as cursor:
                for content_id, content_type, title in (module, *item.required_steps):
                    params = times | {"content_id": sql.prep_uuid(content_id), "type": content_type, "title": title}
                    cursor.execute(sql.import_completion_sql(), params)
                    if content_id == item.module_id:
                        record.completion_progress_id = cursor.fetchone()[0]
        record.save(update_fields=["chat_session_id", "completion_progress_id"])


def import_legacy_sessions(*, rows: Iterable[tuple[str, Any]], user_map: UserMap, dry_run: bool) -> ImportReport:
    """Check the legacy rows, then import each valid one not imported before (none with dry_run)."""
    report = ImportReport(dry_run=dry_run)
    for item in plan(rows, user_map, report):
        label = f"{item.row.where} (id {item.row.legacy_id})"
        if not dry_run:
            try:
                _write(item)
            except IntegrityError as exc:
                if LegacyImport.objects.filter(legacy_id=item.row.legacy_id).exists():
                    report.already += 1  # a simultaneous run imported this row first
                    continue
                report.problems.append((item.row.number, f"{label}: not written ({exc}); skipped"))
                continue
            except DatabaseError as exc:  # e.g. text PostgreSQL refuses; the row's transaction rolled back
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                report.problems.append((item.row.number, f"{label}: not written ({reason}); skipped"))
                continue
        report.imported += 1
        report.chats += bool(item.row.messages)
        report.messages += len(item.row.messages)
        report.completions += bool(item.row.completed_at and item.user_pk is not None)
        report.anonymous += item.user_pk is None
        report.details.append(f"{label}: {item.describe()}")
    return report
