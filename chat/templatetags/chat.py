"""Template tags that load what the chat and question templates show, so pages can simply include them."""

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from chat.panels import ChatPanel, QuestionBox, build_chat_panel, build_question_box

register = template.Library()

# Raw HTML in the tutor's Markdown is shown as text, and nh3 cleans the result once more.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@register.simple_tag(takes_context=True)
def chat_panel(context, lens, segment, next_url: str = "") -> ChatPanel:
    """`{% chat_panel lens segment as chat %}`: the learner's conversation for a chat segment."""
    return build_chat_panel(context["request"], lens=lens, segment=segment, next_url=next_url)


@register.simple_tag(takes_context=True)
def question_box(
    context,
    item,
    segment,
    locked: bool = False,
    answer_url: str = "",
    feedback_url: str = "",
    start_url: str = "",
) -> QuestionBox:
    """`{% question_box item segment locked=... answer_url=... as box %}`: the learner's answer to a question.

    The page must say where answers go (`answer_url`, a view of the page that decides locking): the chat
    app has no unlocked answer URL of its own.
    """
    if not answer_url:
        raise ValueError("chat/question.html needs an `answer_url` (a view that decides whether the answer is locked).")
    return build_question_box(
        context["request"],
        item=item,
        segment=segment,
        locked=bool(locked),
        answer_url=answer_url,
        feedback_url=feedback_url,
        start_url=start_url,
    )


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
