"""What the module viewer shows of a lens or test: each segment with its template, chat panel or answer box.

The learner's conversation about the lens, their answers and their roleplay attempts are loaded once for
the whole page (3 queries for the chats, 1 for the questions, 3 for the roleplays, none for a kind the lens
does not have), however many chat, question and roleplay segments it has.

`hidePreviousContentFromUser` on a chat: the learner discusses what came before from memory. The
segments between the previous chat (or the start of the lens) and that chat are shown as usual until
the learner starts the conversation; from then on they are folded away (a closed <details>, which the
learner can still open). The format's original staged player showed a chat with the preceding stage
blurred; on one scrolling page the learner must first be able to read it, hence "fold once the
discussion starts". A chat is never folded: it is where the learner works, and every chat of a lens
shows the same conversation.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse

from chat import tutor
from chat.models import AnswerDraft, QuestionAnswer
from chat.panels import (
    ChatPanel,
    Conversation,
    QuestionBox,
    build_chat_panel,
    build_question_box,
    learner_of,
    load_conversation,
)
from content_loader.models import ContentItem
from roleplay.models import RoleplayAttempt
from roleplay.panels import RoleplayPanel, build_roleplay_panel, load_attempts
from roleplay.segments import roleplay_uuid


def tutor_turned_off(segments: list[dict]) -> bool:
    """Whether the lens shows the one "The AI tutor is turned off" notice: it has a chat and no tutor is
    configured (its chat segments then show no chat box, only a conversation held before)."""
    return not tutor.is_configured() and any(segment.get("type") == "chat" for segment in segments)


# One template per segment type (`learn/templates/learn/segments/<type>.html`); see content_loader/body.py.
SEGMENT_TYPES = {"text", "article", "video", "chat", "question", "roleplay"}
UNKNOWN = "learn/segments/unknown.html"
# Skipped text (an article's text before or after its excerpt) longer than this much HTML is not put in the
# page: the page links to it, and htmx loads it when the learner opens it. Most skipped text is a few
# paragraphs; a whole article after a short excerpt can be hundreds of kilobytes.
SKIPPED_INLINE_LIMIT = 6_000
SKIPPED_PARTS = ("before", "after")


@dataclass
class SegmentView:
    """One segment as the page shows it."""

    segment: dict
    template: str
    chat: ChatPanel | None = None
    box: QuestionBox | None = None
    roleplay: RoleplayPanel | None = None
    folds_previous: bool = False  # a chat whose preceding segments fold away once the conversation starts

    is_fold = False


@dataclass
class Fold:
    """Segments put away while the learner discusses them with the tutor (`hidePreviousContentFromUser`)."""

    segments: list[SegmentView] = field(default_factory=list)
    folded: bool = False  # the conversation has started

    is_fold = True


def lens_blocks(
    request: HttpRequest,
    *,
    lens: ContentItem,
    segments: list[dict],
    page_url: str,
    locked: bool,
    question_urls: Callable[[str], tuple[str, str]],
    autostart_feedback: bool = False,
) -> list[SegmentView | Fold]:
    """The page's segments in order, with their chat panels and answer boxes, folds applied.

    `locked`: the lens or test is completed, so answers are read-only. `question_urls(key)` gives a
    question's (answer URL, feedback URL), the feedback URL "" when the page offers no feedback.
    `autostart_feedback` asks the page's script to fetch the tutor's feedback at once (a test just
    submitted).
    """
    learner = learner_of(request)
    has_learner = learner is not None
    types = {segment.get("type") for segment in segments}
    conversation = Conversation()
    answers: list[QuestionAnswer] = []
    drafts: list[AnswerDraft] = []
    attempts: list[RoleplayAttempt] = []
    if has_learner and "roleplay" in types:
        roleplay_ids = [i for i in (roleplay_uuid(s) for s in segments if s.get("type") == "roleplay") if i]
        attempts = load_attempts(learner=learner, roleplay_ids=roleplay_ids)
    if has_learner and "chat" in types:
        conversation = load_conversation(learner=learner, content_id=lens.pk)
    if has_learner and "question" in types:
        answers = list(QuestionAnswer.objects.for_item_page(learner, content_id=lens.pk))
        if not locked:  # a completed lens or test shows its answers; drafts no longer matter
            drafts = list(AnswerDraft.objects.for_item_page(learner, content_id=lens.pk))

    views = []
    for segment in segments:
        kind = segment.get("type")
        view = SegmentView(segment, f"learn/segments/{kind}.html" if kind in SEGMENT_TYPES else UNKNOWN)
        if kind == "chat":
            view.chat = build_chat_panel(
                request, lens=lens, segment=segment, next_url=page_url, conversation=conversation
            )
        elif kind == "roleplay" and roleplay_uuid(segment) is not None:
            view.roleplay = build_roleplay_panel(
                request, item=lens, segment=segment, next_url=page_url, attempts=attempts
            )
        elif kind == "question" and segment.get("key"):
            answer_url, feedback_url = question_urls(segment["key"])
            view.box = build_question_box(
                request,
                item=lens,
                segment=segment,
                locked=locked,
                answer_url=answer_url,
                feedback_url=feedback_url,
                next_url=page_url,
                answers=answers,
                drafts=drafts,
                autostart_feedback=autostart_feedback,
                start_url=start_url_of(answer_url),
            )
        views.append(view)
    return fold_previous_content(views, started=conversation.started)


def start_url_of(answer_url: str) -> str:
    """The "Start" URL of a timed question: beside its answer URL (`…/questions/<key>/start/`, learn.urls)."""
    return answer_url.removesuffix("answer/") + "start/"


def ship_skipped_text(segments: list[dict], *, lens_id) -> list[dict]:
    """The segments with each long skipped text replaced by the URL it loads from (`before_url`, `after_url`)."""
    shipped = []
    for segment in segments:
        if segment.get("type") == "article":
            for part in SKIPPED_PARTS:
                if len(segment.get(f"{part}_html") or "") > SKIPPED_INLINE_LIMIT:
                    segment = {
                        **segment,
                        f"{part}_html": "",
                        f"{part}_url": reverse(
                            "learn:skipped-text", kwargs={"lens_id": lens_id, "index": segment["index"], "part": part}
                        ),
                    }
        shipped.append(segment)
    return shipped


def fold_previous_content(views: list[SegmentView], *, started: bool) -> list[SegmentView | Fold]:
    """Group the segments that a `hidePreviousContentFromUser` chat hides (since the previous chat)."""
    blocks: list[SegmentView | Fold] = []
    since_chat: list[SegmentView] = []
    for view in views:
        if view.segment.get("type") != "chat":
            since_chat.append(view)
            continue
        if view.segment.get("hide_previous_content_from_user") and since_chat:
            blocks.append(Fold(segments=since_chat, folded=started))
            view.folds_previous = True
        else:
            blocks.extend(since_chat)
        since_chat = []
        blocks.append(view)
    blocks.extend(since_chat)
    return blocks
