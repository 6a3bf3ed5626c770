"""The write paths: get-or-create, completion, heartbeats."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from content_loader.models import ReplacedId
from content_loader.tests.factories import CourseFactory, LensFactory, ModuleFactory, make_module
from learners import Learner
from progress.models import LearnerClock, UserContentProgress
from progress.services import InvalidProgress, UnknownContent, complete_content, record_heartbeat
from progress.tests.factories import (
    ProgressFactory,
    account,
    anonymous,
    lenses_of,
    make_outcome_module,
    make_parent_module,
    place,
)

pytestmark = pytest.mark.django_db

PREPARED = re.compile(r"\s*(?:PREPARE|EXECUTE) (\w+)")


def row(learner: Learner, content_id: uuid.UUID) -> UserContentProgress:
    return UserContentProgress.objects.owned_by(learner).get(content_id=content_id)


def rewind_heartbeat(learner: Learner, seconds: int) -> None:
    """Pretend the learner's last heartbeat was `seconds` ago: their clock was credited up to then."""
    clock(learner).update(credited_until=timezone.now() - timedelta(seconds=seconds))


def clock(learner: Learner):
    owner = {"user_id": learner.user_id} if learner.user_id else {"session_token": learner.session_token}
    return LearnerClock.objects.filter(**owner)


# Get-or-create


def test_completing_twice_keeps_one_row():
    """Completing the same item twice returns the same row instead of creating a second one."""
    learner = account()
    content_id = uuid.uuid4()
    complete_content(learner=learner, content_id=content_id, content_type="lens", content_title="Test")
    complete_content(learner=learner, content_id=content_id, content_type="lens", content_title="Test")
    assert UserContentProgress.objects.filter(content_id=content_id).count() == 1


def test_a_learner_needs_exactly_one_identity():
    """A learner is an account or a token: neither or both is refused."""
    with pytest.raises(ValueError, match="exactly one"):
        Learner()
    with pytest.raises(ValueError, match="exactly one"):
        Learner(user_id=1, session_token=uuid.uuid4())


def test_database_refuses_a_second_row_for_the_same_owner_and_content():
    """The partial unique constraints hold for accounts and tokens alike."""
    user = UserFactory()
    first = ProgressFactory(user=user, session_token=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressFactory(user=user, session_token=None, content_id=first.content_id)
    token_row = ProgressFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressFactory(session_token=token_row.session_token, content_id=token_row.content_id)


@pytest.mark.parametrize(
    "fields",
    [
        {"session_token": None},
        {"user_factory": True},
        {"content_type": "course"},
        {"time_to_complete_s": -1},
        {"total_time_spent_s": -5},
    ],
)
def test_database_refuses_invalid_rows(fields):
    """One owner exactly, a progress content type, and non-negative times are database constraints."""
    if fields.pop("user_factory", False):
        fields["user"] = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressFactory(**fields)


# Completion


def test_client_reported_time_is_never_credited():
    """A forged `time_spent_s` (a day, on each of 30 lenses) credits nothing: time comes from heartbeats only."""
    learner = account()
    lenses = [LensFactory() for _ in range(30)]
    for lens in lenses:
        result = complete_content(learner=learner, content_id=lens.pk, content_type="lens", time_spent_s=86_400)
        assert result.newly_completed and result.completed_at is not None
    rows = UserContentProgress.objects.owned_by(learner)
    assert rows.count() == 30
    assert {(r.time_to_complete_s, r.total_time_spent_s) for r in rows} == {(0, 0)}


def test_completion_is_idempotent_and_first_completion_wins():
    """A second completion keeps the first completed_at and the time heartbeats gave it."""
    learner = anonymous()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    first = complete_content(learner=learner, content_id=lens.pk, content_type="lens", time_spent_s=60)
    second = complete_content(learner=learner, content_id=lens.pk, content_type="lens", time_spent_s=120)
    assert first.newly_completed and not second.newly_completed
    assert second.completed_at == first.completed_at
    assert row(learner, lens.pk).time_to_complete_s == 60


def test_client_time_never_lowers_or_replaces_accumulated_time():
    """After heartbeats, completion keeps the accumulated seconds, ignoring a smaller or larger client value."""
    learner = anonymous()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=90)
    complete_content(learner=learner, content_id=lens.pk, content_type="lens", time_spent_s=5)
    assert row(learner, lens.pk).time_to_complete_s == 90
    other = LensFactory()
    rewind_heartbeat(learner, 30)
    record_heartbeat(learner=learner, content_id=other.pk, time_delta_s=30)
    complete_content(learner=learner, content_id=other.pk, content_type="lens", time_spent_s=5000)
    assert row(learner, other.pk).time_to_complete_s == 30


def test_registry_type_and_title_win_over_the_request():
    """When the registry knows the item, its type and title are stored, not the client's."""
    learner = anonymous()
    lens = LensFactory(title="Real title")
    complete_content(learner=learner, content_id=lens.pk, content_type="test", content_title="Client title")
    stored = row(learner, lens.pk)
    assert (stored.content_type, stored.content_title) == ("lens", "Real title")


def test_unknown_content_is_still_stored_with_the_request_title():
    """Completing content the registry does not know stores it with the client's type and title."""
    learner = anonymous()
    content_id = uuid.uuid4()
    complete_content(learner=learner, content_id=content_id, content_type="test", content_title="Quiz 1")
    stored = row(learner, content_id)
    assert (stored.content_type, stored.content_title, stored.is_completed) == ("test", "Quiz 1", True)


def test_completions_of_unknown_content_are_rate_limited_per_learner(settings):
    """Past PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS unknown UUIDs in the window, the next is refused and not
    stored; content the registry knows is never limited, and other learners have their own count."""
    from ops.ratelimit import RateLimited

    settings.PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS = 3
    learner = anonymous()
    for _ in range(3):
        complete_content(learner=learner, content_id=uuid.uuid4(), content_type="lens")
    with pytest.raises(RateLimited):
        complete_content(learner=learner, content_id=uuid.uuid4(), content_type="lens")
    assert UserContentProgress.objects.count() == 3
    assert complete_content(learner=learner, content_id=LensFactory().pk, content_type="lens").newly_completed
    complete_content(learner=anonymous(), content_id=uuid.uuid4(), content_type="lens")


def test_completion_refuses_bad_types():
    """A content type outside the four, or an item the registry knows as a course, is refused."""
    with pytest.raises(InvalidProgress):
        complete_content(learner=anonymous(), content_id=uuid.uuid4(), content_type="course")
    with pytest.raises(InvalidProgress):
        complete_content(learner=anonymous(), content_id=CourseFactory().pk, content_type="module")
    assert not UserContentProgress.objects.exists()


def test_completing_the_last_required_lens_completes_the_module_row():
    """The call that completes every required lens also completes the module row, and says so once."""
    learner = anonymous()
    module = make_module(lenses=2, optional=1)
    first, second, extra = lenses_of(module)
    result = complete_content(learner=learner, content_id=first.pk, content_type="lens", module_slug=module.slug)
    assert (result.module.status, result.module.completed, result.module.total) == ("in_progress", 1, 2)
    assert not result.module_newly_completed
    assert not UserContentProgress.objects.filter(content_id=module.pk).exists()

    result = complete_content(learner=learner, content_id=second.pk, content_type="lens", module_slug=module.slug)
    assert (result.module.status, result.module.completed, result.module.total) == ("completed", 2, 2)
    assert result.module_newly_completed
    module_row = row(learner, module.pk)
    assert module_row.content_type == "module" and module_row.is_completed

    again = complete_content(learner=learner, content_id=second.pk, content_type="lens", module_slug=module.slug)
    assert again.module.status == "completed" and not again.module_newly_completed
    optional = complete_content(learner=learner, content_id=extra.pk, content_type="lens", module_slug=module.slug)
    assert not optional.module_newly_completed


def test_module_fields_are_empty_without_a_matching_module_slug():
    """module is None when no module_slug is given, or when it names a module without the item."""
    module = make_module(lenses=1)
    other = make_module(lenses=1)
    lens = lenses_of(module)[0]
    assert complete_content(learner=anonymous(), content_id=lens.pk, content_type="lens").module is None
    result = complete_content(learner=anonymous(), content_id=lens.pk, content_type="lens", module_slug=other.slug)
    assert result.module is None and not result.module_newly_completed


def test_a_lens_in_several_modules_completes_each_finished_one():
    """A shared lens completes every module it finishes, not just the one it was opened from."""
    learner = anonymous()
    shared = LensFactory()
    first, second = ModuleFactory(), ModuleFactory()
    place(first, shared)
    place(second, shared)
    own = LensFactory()
    place(second, own)
    complete_content(learner=learner, content_id=own.pk, content_type="lens")
    complete_content(learner=learner, content_id=shared.pk, content_type="lens", module_slug=first.slug)
    assert row(learner, first.pk).is_completed
    assert row(learner, second.pk).is_completed


def test_parent_module_completes_when_all_its_submodules_do():
    """A module with submodules is completed when the required lenses of every submodule are."""
    learner = anonymous()
    parent, (part_one, part_two) = make_parent_module(submodules=[1, 2])
    lenses = lenses_of(part_one) + lenses_of(part_two)
    for lens in lenses[:2]:
        complete_content(learner=learner, content_id=lens.pk, content_type="lens")
    assert row(learner, part_one.pk).is_completed
    assert not UserContentProgress.objects.filter(content_id=parent.pk).exists()
    result = complete_content(learner=learner, content_id=lenses[2].pk, content_type="lens", module_slug=parent.slug)
    assert row(learner, part_two.pk).is_completed and row(learner, parent.pk).is_completed
    assert (result.module.module_id, result.module.completed, result.module.total) == (parent.pk, 3, 3)
    assert result.module_newly_completed


def test_learning_outcome_row_completes_with_its_required_lenses():
    """An lo row is completed when the required lenses that came through it in the module are."""
    learner = anonymous()
    _module, outcome, lenses = make_outcome_module(required=2, optional=1)
    complete_content(learner=learner, content_id=lenses[0].pk, content_type="lens")
    complete_content(learner=learner, content_id=lenses[2].pk, content_type="lens")
    assert not UserContentProgress.objects.filter(content_id=outcome.pk).exists()
    complete_content(learner=learner, content_id=lenses[1].pk, content_type="lens")
    outcome_row = row(learner, outcome.pk)
    assert outcome_row.content_type == "lo" and outcome_row.is_completed


def test_module_without_required_lenses_completes_with_any_lens():
    """A module whose lenses are all optional is completed once any of them is."""
    learner = anonymous()
    module = make_module(lenses=0, optional=2)
    result = complete_content(
        learner=learner, content_id=lenses_of(module)[1].pk, content_type="lens", module_slug=module.slug
    )
    assert (result.module.status, result.module.completed, result.module.total) == ("completed", 0, 0)
    assert result.module_newly_completed and row(learner, module.pk).is_completed


def test_completion_under_an_old_uuid_is_stored_for_the_current_item():
    """Completing an old UUID that a newer item replaces completes the newer item."""
    learner = anonymous()
    module = make_module(lenses=1)
    lens = lenses_of(module)[0]
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=lens)
    result = complete_content(learner=learner, content_id=old_id, content_type="lens", module_slug=module.slug)
    assert result.module.status == "completed"
    assert row(learner, lens.pk).is_completed


def test_completion_uses_a_constant_number_of_queries(django_assert_num_queries):
    """Completing a lens costs the same number of queries in a 2-lens and in a 60-lens module."""
    counts = []
    for size in (2, 60):
        module = make_module(lenses=size)
        lens = lenses_of(module)[-1]
        learner = anonymous()
        for other in lenses_of(module)[:-1]:
            complete_content(learner=learner, content_id=other.pk, content_type="lens")
        with CaptureQueriesContext(connection) as queries:
            result = complete_content(learner=learner, content_id=lens.pk, content_type="lens", module_slug=module.slug)
        assert result.module_newly_completed
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # savepoint, one lookup (the learner's lock, claimed token, registry item, module by slug), the upsert
    # (claimed token again, after the lock, and the steps of the modules holding the lens), module row, release
    assert counts[0] == 5


def prepared_names(queries) -> list[str]:
    """The prepared statements run (progress/prepared.py: PREPARE on a connection's first use, then EXECUTE)."""
    return [found[1] for query in queries.captured_queries if (found := PREPARED.match(query["sql"]))]


def test_what_a_completion_read_from_content_is_kept_until_the_content_changes():
    """A second learner's completion of the same lens takes the modules' steps, the registry item and the
    module from what the first kept (a statement that only takes the lock and reads the content version,
    then the upsert with the learner's completed steps) and counts the same; after the module gains a
    required lens (the content version moves), the next completion reads the structure again and counts it."""
    if connection.vendor != "postgresql":
        pytest.skip("what a completion keeps is PostgreSQL's")
    _parent, (sub, other_sub) = make_parent_module(submodules=[3, 2])
    first, second, third = lenses_of(sub)
    ada, bea, cai = anonymous(), anonymous(), anonymous()
    complete_content(learner=ada, content_id=second.pk, content_type="lens", module_slug=sub.slug)
    complete_content(learner=bea, content_id=third.pk, content_type="lens")
    complete_content(learner=bea, content_id=other_sub.module_entries.first().item_id, content_type="lens")

    with CaptureQueriesContext(connection) as queries:
        kept = complete_content(learner=bea, content_id=second.pk, content_type="lens", module_slug=sub.slug)
    assert prepared_names(queries) == ["progress_lock_token", "progress_complete_kept_token"]
    assert (kept.newly_completed, kept.module.completed, kept.module.total) == (True, 2, 3)
    assert kept.module.status == "in_progress"
    again = complete_content(learner=bea, content_id=second.pk, content_type="lens", module_slug=sub.slug)
    assert (again.newly_completed, again.completed_at, again.module.completed) == (False, kept.completed_at, 2)

    place(sub, LensFactory())  # a sync added a required lens: the content version moved
    with CaptureQueriesContext(connection) as queries:
        moved = complete_content(learner=cai, content_id=second.pk, content_type="lens", module_slug=sub.slug)
    assert prepared_names(queries) == ["progress_lock_token", "progress_lookup_token_module", "progress_complete_token"]
    assert (moved.module.completed, moved.module.total) == (1, 4)
    finished = complete_content(learner=bea, content_id=first.pk, content_type="lens", module_slug=sub.slug)
    assert (finished.module.completed, finished.module.total, finished.module_newly_completed) == (3, 4, False)


def test_a_kept_completion_finishes_the_module_its_parent_and_the_outcome():
    """Through what is kept, the completion that finishes a submodule completes its row, its parent's when
    every submodule is done, and the learning outcome's, as the first reading does."""
    module, outcome, lenses = make_outcome_module(required=2)
    parent, (sub,) = make_parent_module(submodules=[1])
    for learner in (anonymous(), account()):  # the second one goes through what the first kept
        complete_content(learner=learner, content_id=lenses[0].pk, content_type="lens")
        result = complete_content(
            learner=learner, content_id=lenses[1].pk, content_type="lens", module_slug=module.slug
        )
        assert result.module_newly_completed
        assert row(learner, outcome.pk).completed_at is not None
        assert row(learner, module.pk).completed_at is not None
        only = lenses_of(sub)[0]
        assert complete_content(
            learner=learner, content_id=only.pk, content_type="lens", module_slug=sub.slug
        ).module_newly_completed
        assert row(learner, parent.pk).completed_at is not None


# Heartbeats


def test_heartbeat_is_one_sql_statement_and_creates_the_row(django_assert_num_queries):
    """An anonymous heartbeat is one statement that creates the row: time on a never-completed lens is kept."""
    learner = anonymous()
    lens = LensFactory(title="Intro")
    with django_assert_num_queries(1):
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=45)
    stored = row(learner, lens.pk)
    assert (stored.total_time_spent_s, stored.time_to_complete_s) == (45, 45)
    assert (stored.content_type, stored.content_title, stored.completed_at) == ("lens", "Intro", None)


def test_heartbeats_add_up_when_spaced_in_time():
    """Heartbeats spaced as far apart as their deltas credit every second (60 + 60 = 120)."""
    learner = account()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    rewind_heartbeat(learner, 60)
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    assert row(learner, lens.pk).total_time_spent_s == 120


def test_time_to_complete_freezes_after_completion():
    """After completion total time keeps growing and time to complete does not (100 frozen, 160 total)."""
    learner = account()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=100)
    complete_content(learner=learner, content_id=lens.pk, content_type="lens")
    rewind_heartbeat(learner, 60)
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    stored = row(learner, lens.pk)
    assert (stored.time_to_complete_s, stored.total_time_spent_s) == (100, 160)


def test_first_heartbeat_is_capped_by_the_maximum_only(settings):
    """A forged huge delta gains at most PROGRESS_MAX_HEARTBEAT_SECONDS."""
    settings.PROGRESS_MAX_HEARTBEAT_SECONDS = 120
    learner = anonymous()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=3600)
    assert row(learner, lens.pk).total_time_spent_s == 120


def test_heartbeat_credits_at_most_the_time_since_the_last_one_plus_slack():
    """A heartbeat 10 s after the previous one credits at most 15 s, whatever delta it claims."""
    learner = anonymous()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=10)
    rewind_heartbeat(learner, 10)
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    assert row(learner, lens.pk).total_time_spent_s == 10 + 15


def test_rapid_heartbeats_cannot_credit_more_than_wall_clock_plus_one_slack():
    """Many heartbeats at once (tabs, a loop) credit the first delta plus one slack, not a slack each."""
    learner = anonymous()
    lens = LensFactory()
    for _ in range(20):
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    assert row(learner, lens.pk).total_time_spent_s <= 60 + 5 + 1


def test_first_heartbeats_to_200_lenses_share_one_wall_clock():
    """One heartbeat to each of 200 lenses, each the first of its row, in a second: the learner is credited
    one heartbeat plus one slack in all, not 200 times 120 s; another learner has a clock of their own."""
    learner, other = anonymous(), account()
    lenses = [LensFactory() for _ in range(200)]
    for lens in lenses:
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=120)
    total = sum(UserContentProgress.objects.owned_by(learner).values_list("total_time_spent_s", flat=True))
    assert 120 <= total <= 120 + 5 + 1, total
    record_heartbeat(learner=other, content_id=lenses[0].pk, time_delta_s=120)
    assert row(other, lenses[0].pk).total_time_spent_s == 120


def test_time_moves_between_items_as_the_learner_does():
    """A learner on lens A for a minute, then on lens B for a minute, gets a minute on each."""
    learner = anonymous()
    first, second = LensFactory(), LensFactory()
    record_heartbeat(learner=learner, content_id=first.pk, time_delta_s=60)
    rewind_heartbeat(learner, 60)
    record_heartbeat(learner=learner, content_id=second.pk, time_delta_s=60)
    rewind_heartbeat(learner, 60)
    record_heartbeat(learner=learner, content_id=first.pk, time_delta_s=60)
    assert (row(learner, first.pk).total_time_spent_s, row(learner, second.pk).total_time_spent_s) == (120, 60)


def test_two_tabs_out_of_phase_credit_wall_clock_time():
    """Two tabs each sending 60 s every minute, a second apart, credit about one minute per minute."""
    learner = anonymous()
    lens = LensFactory()
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)  # tab A, minute 0
    for _minute in range(5):
        rewind_heartbeat_by(learner, 59)  # 59 s later: tab A
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
        rewind_heartbeat_by(learner, 1)  # 1 s later: tab B
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=60)
    total = row(learner, lens.pk).total_time_spent_s
    assert 60 + 5 * 60 <= total <= 60 + 5 * 60 + 5, total  # each minute credited once, none lost


def rewind_heartbeat_by(learner: Learner, seconds: int) -> None:
    """Let `seconds` pass for the learner: move their clock that far into the past."""
    stored = clock(learner).get()
    clock(learner).update(credited_until=stored.credited_until - timedelta(seconds=seconds))


def test_heartbeat_on_an_unknown_uuid_is_refused_and_writes_nothing():
    """300 heartbeats on random UUIDs make no row (and no clock): each is UnknownContent."""
    learner = anonymous()
    for _ in range(300):
        with pytest.raises(UnknownContent):
            record_heartbeat(learner=learner, content_id=uuid.uuid4(), time_delta_s=30)
    assert not UserContentProgress.objects.exists() and not LearnerClock.objects.exists()


def test_heartbeat_under_an_old_uuid_counts_for_the_item_replacing_it():
    """A UUID that a current item `replaces:` is known: its heartbeat is credited (and read as the new item)."""
    learner = anonymous()
    lens = LensFactory(title="New")
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=lens)
    assert record_heartbeat(learner=learner, content_id=old_id, time_delta_s=30) == 30
    assert row(learner, old_id).content_title == "New"


def test_heartbeat_refuses_non_positive_deltas():
    """A delta below one second is refused before any write."""
    with pytest.raises(InvalidProgress):
        record_heartbeat(learner=anonymous(), content_id=uuid.uuid4(), time_delta_s=0)
    assert not UserContentProgress.objects.exists()
