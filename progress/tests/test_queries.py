"""Reads: module and course progress derived from lens rows, with a constant number of queries."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from content_loader.models import CourseEntry, ModuleEntry, ReplacedId
from content_loader.tests.factories import AssessmentFactory, LensFactory, make_course, make_module
from progress.models import ClaimedToken, UserContentProgress
from progress.queries import (
    completed_content_ids,
    count_learners_with_progress,
    course_progress,
    module_progress,
)
from progress.services import complete_content, record_heartbeat
from progress.tests.factories import (
    ProgressFactory,
    account,
    anonymous,
    lenses_of,
    make_parent_module,
    place,
)

pytestmark = pytest.mark.django_db


def complete(learner, *items):
    for item in items:
        complete_content(learner=learner, content_id=item.pk, content_type=item.content_type)


def test_module_progress_counts_required_lenses_only():
    """Optional lenses never count in k/n; completing one leaves a module not started."""
    learner = anonymous()
    module = make_module(lenses=3, optional=2)
    lenses = lenses_of(module)
    complete(learner, lenses[4])
    progress = module_progress(learner=learner, module=module)
    assert (progress.status, progress.completed, progress.total) == ("not_started", 0, 3)
    complete(learner, lenses[0])
    progress = module_progress(learner=learner, module=module)
    assert (progress.status, progress.completed, progress.total) == ("in_progress", 1, 3)
    assert [step.completed for step in progress.steps] == [True, False, False, False, True]
    assert [step.optional for step in progress.steps] == [False, False, False, True, True]
    complete(learner, *lenses[1:3])
    assert module_progress(learner=learner, module=module).status == "completed"


def test_tests_are_required_steps_too():
    """A required test counts in k/n like a lens."""
    learner = anonymous()
    module = make_module(lenses=1)
    quiz = AssessmentFactory()
    place(module, quiz)
    complete(learner, lenses_of(module)[0])
    progress = module_progress(learner=learner, module=module)
    assert (progress.status, progress.completed, progress.total) == ("in_progress", 1, 2)
    complete(learner, quiz)
    assert module_progress(learner=learner, module=module).status == "completed"


def test_a_lens_placed_twice_counts_once():
    """k/n counts distinct UUIDs."""
    learner = anonymous()
    module = make_module(lenses=1)
    place(module, lenses_of(module)[0])
    progress = module_progress(learner=learner, module=module)
    assert progress.total == 1 and len(progress.steps) == 2


def test_status_is_derived_from_current_structure_not_module_rows():
    """A stored completed module row does not make a module completed when a required lens was added."""
    learner = anonymous()
    module = make_module(lenses=1)
    complete(learner, lenses_of(module)[0])
    assert UserContentProgress.objects.get(content_id=module.pk).is_completed
    place(module, LensFactory())
    progress = module_progress(learner=learner, module=module)
    assert (progress.status, progress.completed, progress.total) == ("in_progress", 1, 2)


def test_all_optional_module_is_completed_once_any_lens_is():
    """A module without required lenses is never stuck at 0/0 not started."""
    learner = anonymous()
    module = make_module(lenses=0, optional=2)
    assert module_progress(learner=learner, module=module).status == "not_started"
    complete(learner, lenses_of(module)[0])
    progress = module_progress(learner=learner, module=module)
    assert (progress.status, progress.completed, progress.total) == ("completed", 0, 0)


def test_progress_under_a_replaced_uuid_counts_for_the_new_item():
    """Time and completion stored under an old UUID count for the item that replaces it."""
    learner = anonymous()
    module = make_module(lenses=1)
    lens = lenses_of(module)[0]
    old_id = uuid.uuid4()
    ProgressFactory(
        session_token=learner.session_token, content_id=old_id, completed_at="2026-01-01T00:00Z", total_time_spent_s=40
    )
    ReplacedId.objects.create(old_id=old_id, item=lens)
    record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=20)
    progress = module_progress(learner=learner, module=module)
    assert progress.status == "completed"
    assert progress.steps[0].time_spent_s == 60
    assert progress.steps[0].completed_at.year == 2026
    assert lens.pk in completed_content_ids(learner) and old_id in completed_content_ids(learner)


def test_no_learner_means_not_started():
    """Without a learner every module is not started, and the steps are still listed."""
    module = make_module(lenses=2)
    progress = module_progress(learner=None, module=module)
    assert (progress.status, progress.completed, progress.total, len(progress.steps)) == ("not_started", 0, 2, 2)


def test_other_learners_progress_is_not_shown():
    """Reads only see the learner's own rows."""
    module = make_module(lenses=1)
    complete(anonymous(), lenses_of(module)[0])
    assert module_progress(learner=anonymous(), module=module).status == "not_started"


def test_parent_module_progress_spans_its_submodules_in_order():
    """A parent module's steps are its submodules' steps in order, k/n over all of them."""
    learner = anonymous()
    parent, (one, two) = make_parent_module(submodules=[2, 1])
    complete(learner, lenses_of(two)[0])
    progress = module_progress(learner=learner, module=parent)
    assert [step.entry.module_id for step in progress.steps] == [one.pk, one.pk, two.pk]
    assert (progress.status, progress.completed, progress.total) == ("in_progress", 1, 3)


def test_course_progress_groups_modules_into_units_by_meeting():
    """Units are the modules before each meeting then the meeting; trailing modules form a last unit."""
    learner = anonymous()
    first, second, third = make_module(lenses=2), make_module(lenses=1, optional=1), make_module(lenses=1)
    course = make_course(units=[[first, second]])
    CourseEntry.objects.create(course=course, position=99, kind="module", module=third, optional=True)
    complete(learner, lenses_of(first)[1], *lenses_of(second))
    record_heartbeat(learner=learner, content_id=lenses_of(second)[1].pk, time_delta_s=30)

    units = course_progress(learner=learner, course=course).units
    assert [len(unit.modules) for unit in units] == [2, 1]
    assert units[0].meeting.title == "Meeting 1" and units[1].meeting is None
    a, b = units[0].modules
    assert (a.status, a.completed, a.total, a.next_step_position) == ("in_progress", 1, 2, 0)
    assert (b.status, b.completed, b.total, b.next_step_position) == ("completed", 1, 1, None)
    assert a.estimated_seconds == 180 and b.estimated_seconds == 90
    assert b.time_spent_s == 30
    assert units[1].modules[0].optional and units[1].modules[0].status == "not_started"


def test_module_and_course_progress_use_a_constant_number_of_queries():
    """Queries do not grow with modules, lenses or completed rows."""
    counts = []
    for modules, lenses in ((1, 2), (12, 25)):
        learner = account()
        course = make_course(units=[[make_module(lenses=lenses, optional=2) for _ in range(modules)]])
        module = course.course_entries.filter(kind="module").first().module
        for entry in ModuleEntry.objects.filter(module__course_placements__course=course).select_related("item"):
            complete(learner, entry.item)
        with CaptureQueriesContext(connection) as course_queries:
            course_progress(learner=learner, course=course)
        with CaptureQueriesContext(connection) as module_queries:
            module_progress(learner=learner, module=module)
        counts.append((len(course_queries), len(module_queries)))
    assert counts[0] == counts[1] == (3, 2)


def test_steps_defer_the_item_body():
    """Step items are loaded without their body (pages load the current lens body separately)."""
    module = make_module(lenses=1)
    step = module_progress(learner=None, module=module).steps[0]
    assert "body" in step.entry.item.get_deferred_fields()


def test_account_sees_rows_written_late_under_a_token_it_claimed():
    """A heartbeat that lands under a claimed token after the claim still counts for the account."""
    user = UserFactory()
    token = uuid.uuid4()
    ClaimedToken.objects.create(token=token, user=user)
    module = make_module(lenses=1)
    # Written by a request that passed the claimed-token check just before the claim committed.
    ProgressFactory(session_token=token, content_id=lenses_of(module)[0].pk, completed_at=timezone.now())
    assert module_progress(learner=account(user), module=module).status == "completed"


def test_count_learners_with_progress_counts_distinct_learners():
    """The loader's dry-run hook counts accounts and tokens with rows on the given UUIDs, once each."""
    lens, other = LensFactory(), LensFactory()
    learner = anonymous()
    complete(learner, lens, other)
    complete(account(), lens)
    complete(anonymous(), LensFactory())
    assert count_learners_with_progress({lens.pk, other.pk}) == 2
    assert count_learners_with_progress(set()) == 0
