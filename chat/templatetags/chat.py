"""Filters of the chat and question templates: the tutor's Markdown, durations and countdowns."""

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# Raw HTML in the tutor's Markdown is shown as text, and nh3 cleans the result once more.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@register.filter
def tutor_markdown(text: str) -> SafeString:
    """The tutor's Markdown as safe HTML."""
    html = nh3.clean(_markdown.render(text or ""), link_rel="noopener noreferrer nofollow")
    return mark_safe(html)  # markdown-it escaped any raw HTML, and nh3 cleaned the result


@register.filter
def duration(seconds: int) -> str:
    """`{{ 90|duration }}` → "1 minute 30 seconds": a question's `max-time`, as the learner reads it."""
    minutes, rest = divmod(int(seconds), 60)
    parts = [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    if rest or not parts:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


@register.filter
def clock(seconds: int) -> str:
    """`{{ 75|clock }}` → "1:15": a countdown as question-timer.js shows it."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes}:{rest:02d}"
