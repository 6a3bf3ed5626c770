"""Where a learner goes next, and what the pages call things: pure rules over progress already read.

Nothing here queries the database. The pages read progress once (`progress.queries`) and ask this module
where "Continue" leads, what comes after "Mark complete", which button a module row shows, how a submodule
or a unit is named and whether (and when) the course was completed.

A step is anything with `item_id`, `optional`, `hide`, `completed_at` and `last_seen_at` (a module's
`StepProgress`, a course overview's `StepState`), in learner order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from django.urls import reverse


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


def course_resume(progress) -> CourseStep | None:
    """Where the course's "Start"/"Continue" leads (`resume_step` over the whole course)."""
    return resume_step(course_steps(progress))


def course_started(progress) -> bool:
    """Whether the learner has opened or completed anything in the course."""
    return any(step.last_seen_at or step.completed_at for step in course_steps(progress))


def course_completed_at(progress) -> datetime | None:
    """When the course was completed: every required module (with required lenses) done; else None."""
    required = [s for unit in progress.units for s in unit.modules if not s.optional and s.total]
    if not required or any(summary.completed_at is None for summary in required):
        return None
    return max(summary.completed_at for summary in required)


def course_action(progress) -> str:
    """The course's main button: "Start", "Continue" or, once completed, "Review"."""
    if course_completed_at(progress):
        return "Review"
    return "Continue" if course_started(progress) else "Start"


def lens_url(course_slug: str, module_slug: str, lens_id: UUID) -> str:
    return reverse("learn:lens", kwargs={"course_slug": course_slug, "module_slug": module_slug, "lens_id": lens_id})


def course_continue_url(progress) -> str:
    """The URL of `course_resume`'s lens, or the course overview when the course has no lens."""
    found = course_resume(progress)
    if found is None:
        return reverse("learn:course", args=[progress.course.slug])
    return lens_url(progress.course.slug, found.summary.module.slug, found.item_id)
