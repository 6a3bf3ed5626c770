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


# The module viewer and what follows a completion ------------------------------------------------------


def lens(title="A lens", **kwargs):
    """A module's step as `progress.queries.module_progress` gives it: a step with its entry's title."""
    found = step(**kwargs)
    found.entry = SimpleNamespace(display_title=title)
    return found


def module_progress(steps):
    required = [s for s in steps if not s.optional]
    return SimpleNamespace(steps=steps, completed=sum(bool(s.completed_at) for s in required), total=len(required))


def test_lens_links_number_the_visible_steps_and_mark_the_current_one():
    """Hidden steps get no link; the others are numbered from 1 in order, each with its lens URL."""
    steps = [lens("One"), lens("Hidden", optional=True, hide=True), lens("Two", done=1)]
    links = navigation.lens_links("course", "parent/sub", steps, steps[2].item_id)
    assert [(link.number, link.title, link.current, link.completed) for link in links] == [
        (1, "One", False, False),
        (2, "Two", True, True),
    ]
    assert links[1].url == f"/courses/course/modules/parent/sub/lenses/{steps[2].item_id}/"


def test_viewer_place_links_the_neighbours_and_offers_next_only_once_completed():
    """Previous/next are the visible neighbours; "Next" (the next step to do) only on a completed lens."""
    steps = [lens("One", done=1), lens("Two"), lens("Three"), lens("Extra", optional=True)]
    progress = module_progress(steps)
    place = navigation.viewer_place("c", "m", progress, steps[1].item_id)
    assert place.current is steps[1] and not place.completed and place.next_step is None
    assert (place.previous_link.title, place.next_link.title) == ("One", "Three")
    assert place.percent == 33

    done = navigation.viewer_place("c", "m", progress, steps[0].item_id)
    assert done.completed and done.next_step is steps[1]
    assert done.previous_link is None and done.next_link.title == "Two"
    last = navigation.viewer_place("c", "m", progress, steps[3].item_id)
    assert last.next_link is None and last.previous_link.title == "Three"


def test_viewer_place_of_a_module_without_required_steps_is_at_zero_percent():
    """A module of optional lenses only has no fraction: 0%, never a division by zero."""
    steps = [lens(optional=True, done=1)]
    assert navigation.viewer_place("c", "m", module_progress(steps), steps[0].item_id).percent == 0


def test_dialog_offers_the_optional_lenses_left_and_the_next_module_until_the_course_is_done():
    """The dialog counts the visible optional lenses not completed and links the first; it offers the next
    module unless the course is completed."""
    steps = [lens(done=1), lens(optional=True, done=2), lens(optional=True), lens(optional=True, hide=True)]
    following = SimpleNamespace(slug="next-module")
    choices = navigation.dialog_choices("c", "m", steps, next_module=following, course_completed=False)
    assert choices.optional_remaining == 1
    assert choices.optional_url == f"/courses/c/modules/m/lenses/{steps[2].item_id}/"
    assert choices.next_module_url == "/courses/c/modules/next-module/"
    assert choices.context()["next_module"] is following

    finished = navigation.dialog_choices("c", "m", steps[:2], next_module=following, course_completed=True)
    assert (finished.optional_remaining, finished.optional_url, finished.next_module_url) == (0, "", "")
    assert finished.course_completed
    last = navigation.dialog_choices("c", "m", steps, next_module=None, course_completed=False)
    assert last.next_module_url == ""


def test_continue_after_a_test_leads_to_the_next_step_then_the_dialog_then_the_next_module():
    """A submitted test's "Continue": the next step to do; else its own page while the dialog is due; else the
    next module (looked up only then); else the course overview."""
    looked_up = []

    def next_module():
        looked_up.append(True)
        return SimpleNamespace(slug="after")

    steps = [lens(done=1), lens()]
    url = navigation.continue_url("c", "m", steps, steps[0].item_id, dialog_due=True, next_module=next_module)
    assert url == f"/courses/c/modules/m/lenses/{steps[1].item_id}/" and not looked_up

    steps[1].completed_at = T0
    url = navigation.continue_url("c", "m", steps, steps[1].item_id, dialog_due=True, next_module=next_module)
    assert url == f"/courses/c/modules/m/lenses/{steps[1].item_id}/" and not looked_up
    url = navigation.continue_url("c", "m", steps, steps[1].item_id, dialog_due=False, next_module=next_module)
    assert url == "/courses/c/modules/after/" and looked_up
    url = navigation.continue_url("c", "m", steps, steps[1].item_id, dialog_due=False, next_module=lambda: None)
    assert url == "/courses/c/"


# Courses ---------------------------------------------------------------------------------------------


def course(*summaries):
    return SimpleNamespace(course=SimpleNamespace(slug="c"), units=[SimpleNamespace(modules=list(summaries))])


def summary(title, steps, *, optional=False, status="not_started", completed_at=None, time_spent_s=0):
    parent = SimpleNamespace(title="Welcome")
    module = SimpleNamespace(title=title, slug=f"welcome/{title.lower()}", parent_id=1, parent=parent)
    required = [s for s in steps if not s.optional]
    return SimpleNamespace(
        module=module,
        entry=SimpleNamespace(title=""),
        optional=optional,
        status=status,
        completed=sum(bool(s.completed_at) for s in required),
        total=len(required),
        steps=steps,
        completed_at=completed_at,
        time_spent_s=time_spent_s,
    )


def test_course_button_resumes_in_the_named_module():
    """The course's button continues in the module where the learner left off, named "Parent: Sub"."""
    first, second = [step(done=1, seen=1)], [step(), step()]
    progress = course(summary("Basics", first, status="completed", completed_at=T0), summary("More", second))
    button = navigation.course_button(progress)
    assert (button.action, button.title, button.resumes, button.completed_at) == (
        "Continue",
        "Welcome: More",
        True,
        None,
    )
    assert button.url == f"/courses/c/modules/welcome/more/lenses/{second[0].item_id}/"


def test_course_without_lenses_leads_to_its_overview():
    """A course with no lens to resume has a "Start" button leading to the overview, naming no module."""
    button = navigation.course_button(course(summary("Empty", [])))
    assert (button.action, button.url, button.title, button.resumes) == ("Start", "/courses/c/", "", False)


def test_course_card_counts_required_modules_and_lenses_only():
    """The home page's card counts the required modules and their lenses; an optional module is left out."""
    done = summary("Basics", [step(done=1, seen=1)], status="completed", completed_at=T0)
    extra = summary("Extra", [step(done=2), step(done=3)], optional=True, status="completed", completed_at=T0)
    card = navigation.course_card(course(done, extra, summary("More", [step(), step(), step()])))
    assert (card.modules_completed, card.modules_total, card.lenses_completed, card.lenses_total) == (1, 2, 1, 4)
    assert card.percent == 25 and card.action == "Continue" and card.completed_at is None


def test_my_progress_lists_only_courses_the_learner_touched():
    """A course with no time, no completion and every module "not started" is not listed."""
    untouched = course(summary("Basics", [step()]))
    started = course(summary("Basics", [step()], status="in_progress", time_spent_s=30))
    rows = navigation.progress_rows([untouched, started])
    assert len(rows) == 1 and rows[0]["course"] is started.course and rows[0]["time_spent_s"] == 30
