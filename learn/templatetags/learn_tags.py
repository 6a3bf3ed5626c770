"""Small formatting filters for the learner pages."""

import math

from django import template

from learn import fragments, navigation
from progress.queries import Status

register = template.Library()


@register.filter
def status_label(status: str) -> str:
    """The badge text for a module status: "Not started", "In progress" or "Completed"."""
    return Status(status).label if status in Status.values else status


@register.filter
def fill_class(percent: int | float | None) -> str:
    """The progress-bar fill class for a percentage, in steps of 5 (`progress__fill--35`).

    A class rather than an inline width because the Content-Security-Policy allows no inline styles.
    """
    step = 5 * round(max(0, min(100, float(percent or 0))) / 5)
    return f"progress__fill--{step}"


@register.filter
def estimate(seconds: int | float | None) -> str:
    """An estimated duration, in whole minutes (at least one): "1 min", "25 min", "1 h 5 min"."""
    return minutes(max(60, 60 * math.ceil(int(seconds or 0) / 60)))


@register.filter
def module_name(summary) -> str:
    """A course's module row's name (learn.navigation.module_label): "Parent: Sub" for a submodule."""
    return navigation.module_label(summary.module, entry_title=summary.entry.title)


@register.filter
def module_action(summary) -> str:
    """A module row's button: "Start", "Continue" or "Review" (learn.navigation.module_action)."""
    return navigation.module_action(summary)


@register.filter
def clock(seconds: int | float | None) -> str:
    """A position in a video: "m:ss" ("0:05", "12:40"), "h:mm:ss" from an hour."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    mins, secs = divmod(rest, 60)
    return f"{hours}:{mins:02d}:{secs:02d}" if hours else f"{mins}:{secs:02d}"


@register.filter
def minutes(seconds: int | float | None) -> str:
    """A duration for people: "45 s", "12 min", "1 h 5 min"."""
    seconds = int(seconds or 0)
    if seconds < 60:
        return f"{seconds} s"
    total_minutes = round(seconds / 60)
    hours, rest = divmod(total_minutes, 60)
    if not hours:
        return f"{total_minutes} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@register.simple_tag(takes_context=True)
def module_row(context, summary) -> str:
    """A module's row of the course overview, rendered once per content version, status, count and action."""
    course = context["course"]
    action = navigation.module_action(summary)
    state = (course.pk, summary.entry.pk, summary.status, summary.completed, action)
    return fragments.rendered(course, "learn/course.html#module-row", state, {"course": course, "summary": summary})


@register.simple_tag(takes_context=True)
def lens_link(context, link, partial: str) -> str:
    """A lens of the module viewer's stage bar or drawer (`partial`), rendered once per content version and
    the learner's state of it (completed, current)."""
    state = (partial, link.url, link.number, link.current, link.completed)
    return fragments.rendered(context["course"], f"learn/module.html#{partial}", state, {"link": link})
