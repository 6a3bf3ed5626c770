"""Where a learner goes next, and what the pages call things: pure rules over progress already read.

Nothing here queries the database or reads a request. The pages read progress once (`progress.queries`)
and ask this module where "Continue" leads, what comes after "Mark complete" (the "Next" button, the
"Module completed" dialog's choices, a submitted test's "Continue"), the module viewer's stage bar and
drawer links, which button a course or a module row shows, how a submodule or a unit is named and whether
(and when) the course was completed. URLs are built with `reverse`, which reads no database.

A step is anything with `item_id`, `optional`, `hide`, `completed_at` and `last_seen_at` (a module's
`StepProgress`, a course overview's `StepState`), in learner order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from django.urls import reverse

from progress.queries import Status


class Step(Protocol):
    item_id: UUID
    optional: bool
    hide: bool
    completed_at: datetime | None
    last_seen_at: datetime | None


# Labels ----------------------------------------------------------------------------------------------


def module_label(module, *, entry_title: str = "") -> str:
    """A module's name wherever a learner reads it: "Parent: Sub" for a submodule (its parent loaded).

    `entry_title` is the course's link text for the module, used when it has one."""
    title = entry_title or module.title
    parent = module.parent if module.parent_id else None
    return f"{parent.title}: {title}" if parent is not None else title


def summary_label(summary) -> str:
    """A course's module row's name (`module_label` with the course's link text): "Parent: Sub"."""
    return module_label(summary.module, entry_title=summary.entry.title)


@dataclass(frozen=True)
class UnitView:
    """A unit of the course overview: its modules, its title, and the meeting that ends it."""

    modules: list
    title: str
    meeting: object | None  # content_loader CourseEntry
    meeting_label: str
    meeting_date: date | None


def unit_views(units: Sequence, meeting_dates: dict[int, date] | None = None) -> list[UnitView]:
    """Each unit named by what ends it: "Before meeting 1: Introduction"; modules after the last meeting are
    "After meeting N"; a course without meetings has one unit, "Modules". A meeting is "Meeting N: name",
    with its date from `meeting_dates` (by meeting number) when the current run sets one."""
    meeting_dates = meeting_dates or {}
    views = []
    meetings = 0
    for unit in units:
        if unit.meeting is None:
            title = f"After meeting {meetings}" if meetings else "Modules"
            views.append(UnitView(unit.modules, title, None, "", None))
            continue
        meetings += 1
        name = unit.meeting.title.strip()
        if name.lower() in {"meeting", f"meeting {meetings}"}:  # a bare "# Meeting: Meeting 2" names nothing
            name = ""
        views.append(
            UnitView(
                modules=unit.modules,
                title=f"Before meeting {meetings}: {name}" if name else f"Before meeting {meetings}",
                meeting=unit.meeting,
                meeting_label=f"Meeting {meetings}: {name}" if name else f"Meeting {meetings}",
                meeting_date=meeting_dates.get(meetings),
            )
        )
    return views


def page_title(*parts: str) -> str:
    """A page's <title> parts, most specific first, without the site name: "Lens · Module · Course"."""
    return " · ".join(part for part in parts if part)


# Statuses --------------------------------------------------------------------------------------------


def module_action(summary) -> str:
    """The button a module row shows: "Start" before any progress, "Continue" once started, "Review" when
    done (for a module of only optional lenses: every visible lens completed)."""
    visible = [step for step in summary.steps if not step.hide]
    if summary.total:
        done = summary.completed == summary.total
    else:
        done = bool(visible) and all(step.completed_at for step in visible)
    if done:
        return "Review"
    started = summary.completed or any(step.completed_at or step.last_seen_at for step in summary.steps)
    return "Continue" if started else "Start"


def only_optional(summary) -> bool:
    """A module with no required lens (shown as "Optional", never "0/0 Not started")."""
    return summary.total == 0


# Steps -----------------------------------------------------------------------------------------------


def resume_step(steps: Sequence[Step]) -> Step | None:
    """Where "Continue" lands: the step last open if not completed; else the next required step after it
    (not an earlier one skipped); else the first incomplete required step; else, with every required step
    done, the first step (to review); with none required, the first incomplete step."""
    visible = [step for step in steps if not step.hide]
    if not visible:
        return None
    seen = [index for index, step in enumerate(visible) if step.last_seen_at is not None]
    if seen:
        last = max(seen, key=lambda index: visible[index].last_seen_at)
        if visible[last].completed_at is None:
            return visible[last]
        after = _first(visible[last + 1 :], required=True)
        if after is not None:
            return after
    if any(not step.optional for step in visible):  # a finished module or course opens at its start, to review
        return _first(visible, required=True) or visible[0]
    return _first(visible, required=False) or visible[0]


def next_step(steps: Sequence[Step], current_id: UUID) -> Step | None:
    """After completing `current_id`: the next incomplete required step (after it, then from the start);
    failing that, the next incomplete optional step after it; None when nothing is left to do."""
    visible = [step for step in steps if not step.hide]
    index = next((i for i, step in enumerate(visible) if step.item_id == current_id), -1)
    after, before = visible[index + 1 :], visible[: max(index, 0)]
    return _first([*after, *before], required=True) or _first(after, required=False)


def _first(steps: Sequence[Step], *, required: bool) -> Step | None:
    return next((s for s in steps if s.completed_at is None and (not required or not s.optional)), None)


# Courses ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseStep:
    """A step of a course: the module summary it belongs to, and the step (optional if its module is)."""

    summary: object  # progress.queries.ModuleSummary
    step: object  # progress.queries.StepState

    @property
    def item_id(self) -> UUID:
        return self.step.item_id

    @property
    def optional(self) -> bool:
        return self.step.optional or self.summary.optional

    @property
    def hide(self) -> bool:
        return self.step.hide

    @property
    def completed_at(self) -> datetime | None:
        return self.step.completed_at

    @property
    def last_seen_at(self) -> datetime | None:
        return self.step.last_seen_at


def course_steps(progress) -> list[CourseStep]:
    """Every step of the course's modules in course order."""
    return [CourseStep(summary, step) for unit in progress.units for summary in unit.modules for step in summary.steps]


def course_completed_at(progress) -> datetime | None:
    """When the course was completed: every required module (with required lenses) done; else None."""
    required = [s for unit in progress.units for s in unit.modules if not s.optional and s.total]
    if not required or any(summary.completed_at is None for summary in required):
        return None
    return max(summary.completed_at for summary in required)


@functools.lru_cache(maxsize=4096)
def lens_url(course_slug: str, module_slug: str, lens_id: UUID) -> str:
    """The module viewer's URL of a lens: a function of its arguments alone, so kept once built."""
    return reverse("learn:lens", kwargs={"course_slug": course_slug, "module_slug": module_slug, "lens_id": lens_id})


@dataclass(frozen=True)
class CourseButton:
    """A course's main button on the home page and the overview: its action, where it leads and the name of
    the module it resumes in."""

    action: str  # "Start", "Continue" or "Review"
    url: str  # the lens `resume_step` finds over the course's steps, or the overview when the course has none
    title: str  # the resumed module's name ("Parent: Sub"); "" when the course has no lens
    completed_at: datetime | None
    resumes: bool  # the course has a lens to lead to


def course_button(progress) -> CourseButton:
    """The course's main button over its progress: "Start", "Continue" (something opened or completed) or,
    once completed, "Review"; it leads to `resume_step` over the course's steps (listed once: the overview's
    largest course has 271), or to the overview when the course has no lens."""
    steps = course_steps(progress)
    found = resume_step(steps)
    completed_at = course_completed_at(progress)
    started = any(step.last_seen_at or step.completed_at for step in steps)
    if found is None:
        url = reverse("learn:course", args=[progress.course.slug])
    else:
        url = lens_url(progress.course.slug, found.summary.module.slug, found.item_id)
    return CourseButton(
        action="Review" if completed_at else "Continue" if started else "Start",
        url=url,
        title=summary_label(found.summary) if found else "",
        completed_at=completed_at,
        resumes=found is not None,
    )


@dataclass(frozen=True)
class CourseCard:
    """A course on the home page with the learner's overall progress over its required modules."""

    course: object  # content_loader ContentItem
    modules_completed: int
    modules_total: int
    lenses_completed: int
    lenses_total: int
    action: str  # "Start", "Continue" or "Review"
    continue_url: str
    completed_at: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.lenses_completed / self.lenses_total) if self.lenses_total else 0


def course_card(progress) -> CourseCard:
    """The home page's card for a course: required modules and lenses done, and its button."""
    required = [summary for unit in progress.units for summary in unit.modules if not summary.optional]
    button = course_button(progress)
    return CourseCard(
        course=progress.course,
        modules_completed=sum(summary.status == Status.COMPLETED for summary in required),
        modules_total=len(required),
        lenses_completed=sum(summary.completed for summary in required),
        lenses_total=sum(summary.total for summary in required),
        action=button.action,
        continue_url=button.url,
        completed_at=button.completed_at,
    )


def progress_rows(courses: Sequence) -> list[dict]:
    """My progress's rows: each course (its progress) the learner opened, completed or spent time in, with its
    modules and the active time over them."""
    rows = []
    for progress in courses:
        summaries = [summary for unit in progress.units for summary in unit.modules]
        total_time = sum(summary.time_spent_s for summary in summaries)
        if total_time or any(summary.completed or summary.status != Status.NOT_STARTED for summary in summaries):
            rows.append({"course": progress.course, "modules": summaries, "time_spent_s": total_time})
    return rows


# The module viewer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LensLink:
    """One step of a module as the stage bar and the drawer show it."""

    step: object  # progress.queries.StepProgress
    number: int
    url: str
    current: bool

    @property
    def title(self) -> str:
        return self.step.entry.display_title

    @property
    def completed(self) -> bool:
        return self.step.completed_at is not None

    @property
    def optional(self) -> bool:
        return self.step.optional


def lens_links(course_slug: str, module_slug: str, steps: Sequence, current_id: UUID | None) -> list[LensLink]:
    """The visible (not hidden) steps of a module, numbered from 1, with their URLs."""
    visible = [step for step in steps if not step.hide]
    return [
        LensLink(
            step=step,
            number=number,
            url=lens_url(course_slug, module_slug, step.item_id),
            current=step.item_id == current_id,
        )
        for number, step in enumerate(visible, start=1)
    ]


@dataclass(frozen=True)
class ViewerPlace:
    """Where a lens sits in its module: the stage bar's links, the lens's step, and what "Next" leads to."""

    links: list[LensLink]
    current: object | None  # the lens's StepProgress (None when the module does not place it)
    completed: bool
    next_step: object | None  # once the lens is completed: `next_step`'s step, else None
    previous_link: LensLink | None  # the visible steps around it
    next_link: LensLink | None
    percent: int  # required steps completed, of 100


def viewer_place(course_slug: str, module_slug: str, progress, lens_id: UUID) -> ViewerPlace:
    """The module viewer's navigation for the lens `lens_id` over the module's progress."""
    links = lens_links(course_slug, module_slug, progress.steps, lens_id)
    index = next((i for i, link in enumerate(links) if link.current), None)
    current = next((step for step in progress.steps if step.item_id == lens_id), None)
    completed = current is not None and current.completed_at is not None
    return ViewerPlace(
        links=links,
        current=current,
        completed=completed,
        next_step=next_step(progress.steps, lens_id) if completed else None,
        previous_link=links[index - 1] if index else None,
        next_link=links[index + 1] if index is not None and index + 1 < len(links) else None,
        percent=round(100 * progress.completed / progress.total) if progress.total else 0,
    )


@dataclass(frozen=True)
class AfterCompletion:
    """A completion's module progress, and whether it finished the module."""

    progress: object  # progress.queries.ModuleProgress
    module_done: bool  # this completion finished the module: the "Module completed" dialog opens


def module_url(course_slug: str, module_slug: str) -> str:
    return reverse("learn:module", kwargs={"course_slug": course_slug, "module_slug": module_slug})


@dataclass(frozen=True)
class DialogChoices:
    """What the "Module completed" dialog offers; "Course completed" when the course is done."""

    optional_remaining: int  # optional visible steps of the module not completed
    optional_url: str  # the first of them; "" when none
    next_module: object | None  # the module after this one in the course (a ContentItem)
    next_module_url: str  # "" once the course is completed: nothing to move on to
    course_completed: bool

    def context(self) -> dict:
        return {
            "optional_remaining": self.optional_remaining,
            "optional_url": self.optional_url,
            "next_module_url": self.next_module_url,
            "next_module": self.next_module,
            "course_completed": self.course_completed,
        }


def dialog_choices(
    course_slug: str, module_slug: str, steps: Sequence, *, next_module, course_completed: bool
) -> DialogChoices:
    """The dialog's choices over the module's steps: its optional steps left, the next module (`next_module`,
    unless the course is completed)."""
    links = lens_links(course_slug, module_slug, steps, None)
    remaining = [link for link in links if link.optional and not link.completed]
    return DialogChoices(
        optional_remaining=len(remaining),
        optional_url=remaining[0].url if remaining else "",
        next_module=next_module,
        next_module_url=module_url(course_slug, next_module.slug) if next_module and not course_completed else "",
        course_completed=course_completed,
    )


def continue_url(
    course_slug: str,
    module_slug: str,
    steps: Sequence[Step],
    lens_id: UUID,
    *,
    dialog_due: bool,
    next_module: Callable[[], object | None],
) -> str:
    """Where "Continue" leads from a submitted test: the next step to do; else the "Module completed" dialog
    when it is due (it opens on the test's own page), else the next module, else the course overview.

    `next_module` is called only when it decides (finding the next module costs a query)."""
    step = next_step(steps, lens_id)
    if step is not None:
        return lens_url(course_slug, module_slug, step.item_id)
    if dialog_due:
        return lens_url(course_slug, module_slug, lens_id)
    following = next_module()
    if following is not None:
        return module_url(course_slug, following.slug)
    return reverse("learn:course", args=[course_slug])
