"""import_legacy_sessions: the old platform's module_sessions, from a real PostgreSQL table or an export file."""

import csv
import json
import os
import uuid
from datetime import UTC, datetime
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg.types.json import Json

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession
from chat.tests.factories import ChatSessionFactory
from content_loader.models import ModuleEntry, SlugAlias
from content_loader.tests.factories import LensFactory, make_module
from devtools.pgcluster import ThrowawayPostgres
from learners import Learner
from progress.models import LegacyImport, UserContentProgress
from progress.queries import module_progress
from progress.tests.factories import lenses_of
from progress.tooling.doctor import diagnose
from progress.tooling.learner_data import erase_learner_data
from progress.tooling.legacy import COLUMNS

pytestmark = pytest.mark.django_db

# The old platform's tables exactly as it created them (module_sessions from the issue; users reduced to
# what the foreign key needs, plus an email).
SCHEMA = """
    CREATE TABLE users (
      user_id serial PRIMARY KEY,
      email text
    );
    CREATE TABLE module_sessions (
      session_id serial PRIMARY KEY,
      user_id integer REFERENCES users(user_id) ON DELETE CASCADE,  -- null for anonymous sessions
      module_slug text NOT NULL,
      current_stage_index integer DEFAULT 0,
      messages jsonb DEFAULT '[]',
      started_at timestamptz DEFAULT now(),
      last_active_at timestamptz DEFAULT now(),
      completed_at timestamptz
    );
"""


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


def chat(*texts: str) -> list[dict]:
    """Alternating learner and tutor messages, as the old platform stored them."""
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": text} for i, text in enumerate(texts)]


@pytest.fixture(scope="module")
def legacy_server():
    """A PostgreSQL cluster for legacy databases: the test session's, else a throwaway one of our own."""
    if not os.environ.get("DATABASE_URL"):
        yield None  # filled in by legacy_db from the session's cluster
        return
    with ThrowawayPostgres() as cluster:
        yield cluster


@pytest.fixture
def legacy_db(request, legacy_server):
    """A fresh database holding an empty module_sessions table; yields its URL and an insert function."""
    cluster = legacy_server or request.getfixturevalue("postgres_cluster")
    name = f"legacy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = cluster.url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)

    def insert(*, user_id, slug, messages, started, last_active, completed=None, stage=0) -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            if user_id is not None:
                conn.execute("INSERT INTO users (user_id) VALUES (%s) ON CONFLICT DO NOTHING", [user_id])
            return conn.execute(
                "INSERT INTO module_sessions"
                " (user_id, module_slug, current_stage_index, messages, started_at, last_active_at, completed_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING session_id",
                [
                    user_id,
                    slug,
                    stage,
                    Json(messages) if messages is not None else None,
                    started,
                    last_active,
                    completed,
                ],
            ).fetchone()[0]

    yield url, insert
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def run(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_legacy_sessions", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def course():
    """Two modules: `why-we-forget` (also found by its old slug `forgetting`) and `spacing`."""
    forget = make_module(lenses=2, slug="why-we-forget", title="Why we forget")
    SlugAlias.objects.create(content_type="module", slug="forgetting", item=forget)
    spacing = make_module(lenses=1, slug="spacing", title="Spacing")
    return forget, spacing


def test_a_fresh_import_from_postgresql(legacy_db, course):
    """Chats become conversations about the module, completions module rows, anonymous chats archived."""
    url, insert = legacy_db
    forget, spacing = course
    ada = UserFactory(username="ada")
    insert(
        user_id=ada.pk,
        slug="forgetting",  # a slug alias
        messages=chat("Why do we forget?", "Interference, mostly."),
        started=at(1),
        last_active=at(1, 2),
        completed=at(1, 3),
    )
    insert(user_id=ada.pk, slug="spacing", messages=chat("Is cramming bad?"), started=at(2), last_active=at(2, 1))
    insert(user_id=None, slug="spacing", messages=chat("Anyone there?", "Yes."), started=at(3), last_active=at(3, 1))
    insert(user_id=None, slug="spacing", messages=chat("Me too"), started=at(4), last_active=at(4, 1), completed=at(4))

    code, out, err = run("--database-url", url, "--user-map", "id")
    assert (code, err) == (0, "")
    assert out.strip() == (
        "import_legacy_sessions: 4 rows read; imported 4 (4 conversations with 6 messages, 1 module completion, "
        "2 anonymous); 0 already imported; 0 skipped with problems."
    )
    sessions = ChatSession.objects.order_by("started_at")
    assert [(s.user_id, s.content_id, s.content_type) for s in sessions[:2]] == [
        (ada.pk, forget.pk, "module"),
        (ada.pk, spacing.pk, "module"),
    ]
    first = sessions[0]
    assert (first.started_at, first.last_active_at, first.archived_at) == (at(1), at(1, 2), None)
    assert [(m.role, m.text, m.created_at) for m in first.messages.all()] == [
        ("user", "Why do we forget?", at(1)),
        ("assistant", "Interference, mostly.", at(1)),
    ]
    anonymous = [s for s in sessions if s.user_id is None]
    assert len(anonymous) == 2 and all(s.archived_at is not None for s in anonymous)
    assert len({s.session_token for s in anonymous}) == 2  # a fresh token each
    row = UserContentProgress.objects.get(content_type="module")
    assert (row.user_id, row.content_id, row.content_type, row.content_title) == (
        ada.pk,
        forget.pk,
        "module",
        "Why we forget",
    )
    assert (row.started_at, row.completed_at) == (at(1), at(1, 3))
    assert LegacyImport.objects.count() == 4


def test_a_legacy_completion_shows_the_module_completed_to_the_learner(legacy_db, course):
    """Status is derived from the module's steps, so an imported completion completes its required lenses too."""
    url, insert = legacy_db
    forget, _spacing = course
    optional = make_module(lenses=1, optional=1, slug="with-optional")
    ada = UserFactory()
    insert(user_id=ada.pk, slug="why-we-forget", messages=[], started=at(1), last_active=at(1), completed=at(1, 3))
    insert(user_id=ada.pk, slug="with-optional", messages=[], started=at(2), last_active=at(2), completed=at(2, 1))
    run("--database-url", url, "--user-map", "id")

    for module in (forget, optional):
        progress = module_progress(learner=Learner(user_id=ada.pk), module=module)
        assert (progress.status, progress.completed, progress.total) == ("completed", progress.total, progress.total)
    lens_rows = UserContentProgress.objects.filter(content_type="lens")
    assert {row.completed_at for row in lens_rows.filter(content_id__in=[lens.pk for lens in lenses_of(forget)])} == {
        at(1, 3)
    }
    assert all(row.total_time_spent_s == 0 for row in lens_rows)  # no time is invented
    assert not lens_rows.filter(content_id=lenses_of(optional)[1].pk).exists()  # optional steps stay untouched


def test_a_second_run_imports_nothing(legacy_db, course):
    """Running the import again adds no conversation, message or row; it says all were imported before."""
    url, insert = legacy_db
    ada = UserFactory()
    insert(
        user_id=ada.pk, slug="spacing", messages=chat("Hi", "Hello"), started=at(1), last_active=at(1), completed=at(1)
    )
    assert run("--database-url", url, "--user-map", "id")[0] == 0
    counts = (ChatSession.objects.count(), ChatMessage.objects.count(), UserContentProgress.objects.count())
    code, out, _ = run("--database-url", url, "--user-map", "id")
    assert code == 0 and "imported 0 (0 conversations" in out and "1 already imported" in out
    assert (ChatSession.objects.count(), ChatMessage.objects.count(), UserContentProgress.objects.count()) == counts
    # A row added to the old table since is imported on its own.
    insert(user_id=ada.pk, slug="why-we-forget", messages=chat("Later"), started=at(5), last_active=at(5))
    code, out, _ = run("--database-url", url, "--user-map", "id")
    assert "imported 1 (1 conversation with 1 message" in out and "1 already imported" in out


def test_a_dry_run_prints_what_would_happen_and_writes_nothing(legacy_db, course):
    """--dry-run lists each row it would import and the summary, and writes no row of any kind."""
    url, insert = legacy_db
    ada = UserFactory(username="ada")
    insert(
        user_id=ada.pk, slug="spacing", messages=chat("a", "b", "c"), started=at(1), last_active=at(1), completed=at(2)
    )
    insert(user_id=None, slug="nowhere", messages=chat("x"), started=at(1), last_active=at(1))
    code, out, err = run("--database-url", url, "--user-map", "id", "--dry-run")
    assert code == 1
    assert 'row 1 (id 1): 3 messages, completion at 2025-06-02T00:00:00+00:00 for user ada in module "Spacing"' in out
    assert "would import 1 (1 conversation with 3 messages, 1 module completion, 0 anonymous)" in out
    assert "row 2 (id 2): unknown module slug 'nowhere'; skipped" in err
    assert not ChatSession.objects.exists() and not UserContentProgress.objects.exists()
    assert not LegacyImport.objects.exists()


def test_bad_rows_are_reported_with_their_row_numbers_and_skipped(legacy_db, course):
    """Unknown slugs, malformed messages, unknown users and refused text are skipped; the rest is imported."""
    url, insert = legacy_db
    ada = UserFactory()
    insert(user_id=ada.pk, slug="spacing", messages=chat("fine"), started=at(1), last_active=at(1))
    insert(user_id=ada.pk, slug="unknown-module", messages=chat("lost?"), started=at(1), last_active=at(1))
    insert(
        user_id=ada.pk, slug="spacing", messages=[{"role": "wizard", "content": "?"}], started=at(1), last_active=at(1)
    )
    insert(user_id=ada.pk, slug="spacing", messages={"not": "a list"}, started=at(1), last_active=at(1))
    insert(user_id=999_999, slug="spacing", messages=chat("who?"), started=at(1), last_active=at(1))

    code, out, err = run("--database-url", url, "--user-map", "id")
    assert code == 1
    assert err.strip().splitlines() == [
        "row 2 (id 2): unknown module slug 'unknown-module'; skipped",
        "row 3 (id 3): message 1 has role 'wizard', not user or assistant; skipped",
        "row 4 (id 4): messages is not a list; skipped",
        "row 5 (id 5): no account has id 999999; skipped",
    ]
    assert "imported 1 (1 conversation with 1 message" in out and "4 skipped with problems" in out
    assert ChatSession.objects.count() == 1 and ChatMessage.objects.get().text == "fine"
    assert list(LegacyImport.objects.values_list("legacy_id", flat=True)) == ["1"]


def test_a_row_refused_while_writing_leaves_nothing_half_imported(tmp_path, course):
    """PostgreSQL stores no NUL in text (an export can hold one): the row's conversation is rolled back."""
    ada = UserFactory()
    rows = [
        {
            "session_id": 1,
            "user_id": ada.pk,
            "module_slug": "spacing",
            "messages": chat("fine"),
            "started_at": "2025-06-01",
        },
        {
            "session_id": 2,
            "user_id": ada.pk,
            "module_slug": "why-we-forget",
            "messages": chat("ok", "bad \u0000 text"),
            "started_at": "2025-06-01",
        },
    ]
    source = tmp_path / "sessions.json"
    source.write_text(json.dumps(rows))

    code, _out, err = run("--file", str(source), "--user-map", "id")

    assert code == 1 and err.startswith("row 2 (id 2): not written (")
    assert ChatSession.objects.count() == 1 and ChatMessage.objects.get().text == "fine"
    assert list(LegacyImport.objects.values_list("legacy_id", flat=True)) == ["1"]


def test_the_real_table_with_anonymous_rows_nulls_and_old_format_messages(legacy_db, course):
    """The old DDL as it is: session_id key, stage index, defaults, NULL messages and times, anonymous rows."""
    url, insert = legacy_db
    ada = UserFactory(username="ada")
    forget, _spacing = course
    insert(
        user_id=ada.pk,
        slug="spacing",
        messages=chat("Old format?", "Yes."),
        started=at(1),
        last_active=at(1, 1),
        stage=3,
    )
    insert(user_id=None, slug="spacing", messages=chat("Anonymous here"), started=at(2), last_active=at(2, 1))
    insert(user_id=ada.pk, slug="why-we-forget", messages=None, started=None, last_active=at(3), completed=at(3, 1))
    with psycopg.connect(url, autocommit=True) as conn:  # the defaults fill what the old platform left out
        conn.execute("INSERT INTO module_sessions (user_id, module_slug) VALUES (NULL, 'spacing')")

    code, out, err = run("--database-url", url, "--user-map", "id")

    assert (code, err) == (0, "")
    assert "4 rows read; imported 4 (2 conversations with 3 messages, 1 module completion, 2 anonymous)" in out
    adas = ChatSession.objects.get(user=ada)
    assert [(m.role, m.text) for m in adas.messages.all()] == [("user", "Old format?"), ("assistant", "Yes.")]
    assert ChatSession.objects.get(user=None).messages.get().text == "Anonymous here"
    completion = UserContentProgress.objects.get(content_id=forget.pk)
    assert (completion.user_id, completion.started_at, completion.completed_at) == (ada.pk, at(3), at(3, 1))
    assert set(LegacyImport.objects.values_list("legacy_id", flat=True)) == {"1", "2", "3", "4"}


def test_an_older_copy_keyed_by_id_is_read_too(legacy_db, course):
    """A copy of the table whose key column is `id` (and without the stage index) imports the same way."""
    url, insert = legacy_db
    insert(user_id=None, slug="spacing", messages=chat("Keyed by id"), started=at(1), last_active=at(1))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE module_sessions RENAME COLUMN session_id TO id")
        conn.execute("ALTER TABLE module_sessions DROP COLUMN current_stage_index")
    code, out, _err = run("--database-url", url)
    assert code == 0 and "imported 1 (1 conversation with 1 message" in out


def test_a_table_without_its_key_column_is_refused_naming_its_columns(legacy_db):
    """Neither session_id nor id: the command stops, saying which column is missing and which it found."""
    url, _insert = legacy_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE module_sessions RENAME COLUMN session_id TO key")
    with pytest.raises(CommandError, match=r"module_sessions has no session_id column \(its columns: completed_at"):
        call_command("import_legacy_sessions", "--database-url", url, stdout=StringIO())


def test_an_account_with_an_active_conversation_keeps_it_and_gets_the_legacy_one_archived(legacy_db, course):
    """The account's own active conversation about the module stays active; the imported one is archived."""
    url, insert = legacy_db
    _forget, spacing = course
    ada = UserFactory()
    own = ChatSessionFactory(user=ada, session_token=None, content_id=spacing.pk, content_type="module")
    insert(user_id=ada.pk, slug="spacing", messages=chat("old"), started=at(1), last_active=at(1, 5))
    assert run("--database-url", url, "--user-map", "id")[0] == 0
    imported = ChatSession.objects.exclude(pk=own.pk).get()
    assert imported.archived_at == at(1, 5) and ChatSession.objects.get(pk=own.pk).archived_at is None


def test_an_earlier_legacy_completion_wins_over_a_later_one(legacy_db, course):
    """A module the account completed later on the new platform takes the legacy (earlier) completion."""
    url, insert = legacy_db
    _forget, spacing = course
    ada = UserFactory()
    UserContentProgress.objects.create(
        user=ada, content_id=spacing.pk, content_type="module", started_at=at(20), completed_at=at(21)
    )
    insert(user_id=ada.pk, slug="spacing", messages=[], started=at(1), last_active=at(2), completed=at(2))
    run("--database-url", url, "--user-map", "id")
    row = UserContentProgress.objects.get(content_type="module")
    assert (row.started_at, row.completed_at) == (at(1), at(2))


def test_the_doctor_keeps_imported_completions(legacy_db, course):
    """A completion carried over from the old platform is not a mismatch, even once the module has a
    required lens the learner never completed."""
    url, insert = legacy_db
    _forget, spacing = course
    ada = UserFactory()
    insert(user_id=ada.pk, slug="spacing", messages=[], started=at(1), last_active=at(1), completed=at(1))
    run("--database-url", url, "--user-map", "id")
    assert UserContentProgress.objects.get(content_type="module").completed_at == at(1)
    ModuleEntry.objects.create(module=spacing, position=99, item=LensFactory())  # a lens added since
    assert diagnose() == []


def test_an_erased_learner_is_not_brought_back_by_another_run(legacy_db, course):
    """After an erasure, importing the same rows again imports nothing."""
    url, insert = legacy_db
    ada = UserFactory()
    insert(user_id=ada.pk, slug="spacing", messages=chat("mine"), started=at(1), last_active=at(1), completed=at(1))
    run("--database-url", url, "--user-map", "id")
    erase_learner_data(learner=Learner(user_id=ada.pk))
    _code, out, _ = run("--database-url", url, "--user-map", "id")
    assert "imported 0" in out and not ChatSession.objects.exists() and not UserContentProgress.objects.exists()


def test_a_database_without_the_table_is_refused(legacy_db):
    """A database without module_sessions (or unreachable) stops the command with a clear message."""
    url, _insert = legacy_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE module_sessions RENAME TO old_sessions")
    with pytest.raises(CommandError, match='Cannot read module_sessions: relation "module_sessions" does not exist'):
        call_command("import_legacy_sessions", "--database-url", url, stdout=StringIO())
    with pytest.raises(CommandError, match="Cannot connect to the legacy database"):
        call_command("import_legacy_sessions", "--database-url", "postgres://nobody@127.0.0.1:1/x", stdout=StringIO())


FILE_ROWS = [
    {
        "session_id": 10,
        "user_id": 501,
        "module_slug": "why-we-forget",
        "messages": chat("From a file", "Indeed"),
        "started_at": "2025-06-01T10:00:00Z",
        "last_active_at": "2025-06-01T11:00:00Z",
        "completed_at": "2025-06-01T11:00:00Z",
    },
    {
        "session_id": 11,
        "user_id": 502,
        "module_slug": "spacing",
        "messages": chat("Second learner"),
        "started_at": "2025-06-02T10:00:00",
        "last_active_at": "",
        "completed_at": None,
    },
    {
        "session_id": 12,
        "user_id": None,
        "module_slug": "spacing",
        "messages": chat("Anonymous"),
        "started_at": "2025-06-03T10:00:00+02:00",
        "last_active_at": "2025-06-03T10:30:00+02:00",
        "completed_at": None,
    },
    {"session_id": 13, "user_id": 501, "module_slug": "spacing", "messages": "[", "started_at": "2025-06-03T10:00:00Z"},
    {"session_id": 14, "user_id": 501, "module_slug": "spacing", "messages": [], "started_at": "yesterday"},
]


def write_csv(path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        for row in rows:
            messages = row["messages"] if isinstance(row["messages"], str) else json.dumps(row["messages"])
            writer.writerow({**row, "messages": messages, "user_id": row["user_id"] or "", "current_stage_index": 2})


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_an_export_file_with_a_user_map_file(tmp_path, course, kind):
    """JSON and CSV exports import alike; the map finds accounts by username or email; bad rows reported."""
    ada = UserFactory(username="ada", email="ada@example.com")
    bob = UserFactory(username="bob", email="Bob@Example.com")
    source = tmp_path / f"sessions.{kind}"
    if kind == "json":
        source.write_text(json.dumps({"module_sessions": FILE_ROWS}))
        user_map = tmp_path / "users.json"
        user_map.write_text(json.dumps({"501": "ada", "502": "bob@example.com"}))
    else:
        write_csv(source, FILE_ROWS)
        user_map = tmp_path / "users.csv"
        user_map.write_text("legacy_user_id,user\n501,ada\n502,bob@example.com\n")

    code, out, err = run("--file", str(source), "--user-map", str(user_map))
    assert code == 1
    where = {"json": ("row 4", "row 5"), "csv": ("row 4 (line 5)", "row 5 (line 6)")}[kind]
    assert err.strip().splitlines() == [
        f"{where[0]} (id 13): messages is not valid JSON (Expecting value at character 1); skipped",
        f"{where[1]} (id 14): started_at is not a date and time: 'yesterday'; skipped",
    ]
    assert "imported 3 (3 conversations with 4 messages, 1 module completion, 1 anonymous)" in out
    assert ChatSession.objects.filter(user=ada).count() == 1 and ChatSession.objects.filter(user=bob).count() == 1
    bobs = ChatSession.objects.get(user=bob)
    assert bobs.started_at == bobs.last_active_at == datetime(2025, 6, 2, 10, tzinfo=UTC)  # naive times are UTC
    anonymous = ChatSession.objects.get(user=None)
    assert anonymous.started_at == datetime(2025, 6, 3, 8, tzinfo=UTC)
    assert UserContentProgress.objects.get(content_type="module").user == ada
    assert run("--file", str(source), "--user-map", str(user_map))[1].count("3 already imported") == 1


def test_users_missing_from_the_map_are_reported(tmp_path, course):
    """A legacy user the map does not name, or names no account for, is reported; never guessed."""
    source = tmp_path / "sessions.json"
    source.write_text(json.dumps(FILE_ROWS[:2]))
    user_map = tmp_path / "users.json"
    user_map.write_text(json.dumps({"501": "nobody"}))
    code, _out, err = run("--file", str(source), "--user-map", str(user_map))
    assert code == 1
    assert err.strip().splitlines() == [
        "row 1 (id 10): no account has username or email nobody (legacy user 501); skipped",
        "row 2 (id 11): legacy user 502 is not in the user map; skipped",
    ]
    assert not ChatSession.objects.exists()


def test_a_missing_file_or_map_stops_the_command(tmp_path):
    """Sources that cannot be read at all stop the command before anything is written."""
    with pytest.raises(CommandError, match="No file at"):
        call_command("import_legacy_sessions", "--file", str(tmp_path / "missing.json"), stdout=StringIO())
    source = tmp_path / "sessions.json"
    source.write_text("[]")
    with pytest.raises(CommandError, match="--user-map must be `id` or a mapping file"):
        call_command("import_legacy_sessions", "--file", str(source), "--user-map", "nope.csv", stdout=StringIO())
