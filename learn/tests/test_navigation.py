"""learn.navigation's pure rules: where "Continue" resumes, what follows "Mark complete", names of units."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

from learn import navigation

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def step(*, optional=False, hide=False, done=None, seen=None):
    """A step; `done`/`seen` are minutes after T0 (None: never)."""
    return SimpleNamespace(
        item_id=uuid4(),
        optional=optional,
        hide=hide,
        completed_at=None if done is None else T0 + timedelta(minutes=done),
        last_seen_at=None if seen is None else T0 + timedelta(minutes=seen),
    )


def test_resume_returns_to_the_last_lens_opened_when_not_completed():
    """The lens open last (not completed) is where "Continue" goes, even with earlier ones left undone."""
    steps = [step(), step(seen=5), step(seen=2)]
    assert navigation.resume_step(steps) is steps[1]


def test_resume_after_a_completed_last_lens_goes_to_the_next_required_step_after_it():
    """The last lens opened is completed: the next required step after it, not an earlier one skipped."""
    steps = [step(), step(done=3, seen=3), step(optional=True), step(), step()]
    assert navigation.resume_step(steps) is steps[3]


def test_resume_without_history_starts_at_the_first_required_step_and_reviews_a_finished_module():
    """Nothing opened: the first incomplete required step; everything required done: the first step."""
    fresh = [step(optional=True), step(), step()]
    assert navigation.resume_step(fresh) is fresh[1]
    finished = [step(done=1, seen=1), step(done=2, seen=2), step(optional=True)]
    assert navigation.resume_step(finished) is finished[0]
    only_optional = [step(optional=True, done=1, seen=1), step(optional=True)]
    assert navigation.resume_step(only_optional) is only_optional[1]
    assert navigation.resume_step([step(optional=True, hide=True)]) is None


def test_next_step_after_completion():
    """The next incomplete required step after the lens, then before it; else an optional one after it."""
    steps = [step(), step(done=1), step(optional=True), step(done=2)]
    assert navigation.next_step(steps, steps[3].item_id) is steps[0]
    steps[0].completed_at = T0
    assert navigation.next_step(steps, steps[1].item_id) is steps[2]
    steps[2].completed_at = T0
    assert navigation.next_step(steps, steps[1].item_id) is None


def test_units_are_named_by_the_meeting_that_ends_them():
    """ "Before meeting 1: Introduction" then "Meeting 1: Introduction" with its date; modules after the last
    meeting are "After meeting N"; a bare "Meeting 2" name is not repeated."""
    units = [
        SimpleNamespace(modules=["a"], meeting=SimpleNamespace(title="Introduction")),
        SimpleNamespace(modules=["b"], meeting=SimpleNamespace(title="Meeting 2")),
        SimpleNamespace(modules=["c"], meeting=None),
    ]
    first, second, last = navigation.unit_views(units, {1: T0.date()})
    assert (first.title, first.meeting_label, first.meeting_date) == (
        "Before meeting 1: Introduction",
        "Meeting 1: Introduction",
        T0.date(),
    )
    assert (second.title, second.meeting_label, second.meeting_date) == ("Before meeting 2", "Meeting 2", None)
    assert last.title == "After meeting 2" and last.meeting is None
    assert navigation.unit_views([SimpleNamespace(modules=["a"], meeting=None)])[0].title == "Modules"


def test_module_label_names_the_parent_of_a_submodule():
    """A submodule reads "Parent: Sub" (the course's link text for it when it has one)."""
    parent = SimpleNamespace(title="Welcome", parent_id=None, parent=None)
    sub = SimpleNamespace(title="Dive Deeper", parent_id=1, parent=parent)
    assert navigation.module_label(sub) == "Welcome: Dive Deeper"
    assert navigation.module_label(sub, entry_title="Going further") == "Welcome: Going further"
    assert navigation.module_label(parent) == "Welcome"


def test_module_action_is_start_continue_or_review():
    """ "Start" untouched, "Continue" once a lens was opened or completed, "Review" when done."""

    def summary(steps, completed, total):
        return SimpleNamespace(steps=steps, completed=completed, total=total)

    assert navigation.module_action(summary([step(), step()], 0, 2)) == "Start"
    assert navigation.module_action(summary([step(seen=1), step()], 0, 2)) == "Continue"
    assert navigation.module_action(summary([step(done=1), step(done=2)], 2, 2)) == "Review"
    assert navigation.module_action(summary([step(optional=True, done=1)], 0, 0)) == "Review"
    assert navigation.module_action(summary([step(optional=True)], 0, 0)) == "Start"
