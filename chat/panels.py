"""What the chat and question templates show, and who is asking.

`build_chat_panel` and `build_question_box` load a learner's conversation or answer for one segment; the
views build them and pass them to the templates. A page showing several chats and questions of one lens
loads the conversation (`load_conversation`) and the answers (`QuestionAnswer.objects.for_item_page`)
once and passes them in, so its queries do not grow with the number of segments.

The chat app routes no answer or feedback URL of its own: whether an answer may still change depends on
progress (the lens or test is completed), which chat never imports. The learner pages answer on their own
URLs (learn/views/questions.py) and pass those URLs and `locked` here.
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from chat import replies, services, tutor
from chat.models import AnswerDraft, AnswerStart, ChatMessage, ChatSession, QuestionAnswer
from content_loader.access import previews_drafts
from content_loader.models import NO_STORED_ID_MESSAGE, ContentItem, ContentType
from learners import Learner

# Who is asking


def learner_of(request: HttpRequest) -> Learner | None:
    """The request's learner (`request.learner`, set by the progress middleware); None when unknown."""
    return getattr(request, "learner", None)


def require_learner(request: HttpRequest) -> Learner:
    """The request's learner, or PermissionDenied when there is none (no account, no usable token)."""
    learner = learner_of(request)
    if learner is None:
        raise PermissionDenied("We could not tell who you are. Reload the page (cookies must be allowed) or log in.")
    return learner


# Looking up the content


class NotStored(Exception):
    """A write (a POST) to a lens or test that stores nothing: a `## Test:` without `id::`, whose UUID is
    derived from its place. `chat.middleware.NotStoredMiddleware` answers it with a 409 refusal."""

    message = NO_STORED_ID_MESSAGE
    status = 409

    def __init__(self, *, dom_id: str, back_url: str = "/") -> None:
        super().__init__(self.message)
        self.dom_id, self.back_url = dom_id, back_url


def refuse_unstored_writes(request: HttpRequest, item: ContentItem, *, dom_id: str, back_url: str = "/") -> None:
    """Raise `NotStored` for a POST to an item that stores no progress (the one place this is refused)."""
    if request.method == "POST" and not item.stores_progress:
        raise NotStored(dom_id=dom_id, back_url=back_url)


def _lens_or_404(request: HttpRequest, item_id: UUID) -> ContentItem:
    """The lens or test, 404 when it is gone or a draft this user may not preview."""
    items = ContentItem.objects.filter(content_type__in=[ContentType.LENS, ContentType.TEST])
    if not previews_drafts(getattr(request, "user", None)):
        items = items.filter(is_draft=False)
    return get_object_or_404(items, pk=item_id)


def chat_segment(request: HttpRequest, lens_id: UUID, segment_index: int) -> tuple[ContentItem, dict]:
    """The lens (or test) and its chat segment at `segment_index`; 404 when either is gone (or a draft),
    `NotStored` (409) for a POST when the lens stores nothing."""
    lens = _lens_or_404(request, lens_id)
    segments = lens.body.get("segments", [])
    if not 0 <= segment_index < len(segments) or segments[segment_index].get("type") != "chat":
        raise Http404("This chat is no longer part of the lens. Reload the page.")
    refuse_unstored_writes(request, lens, dom_id=chat_dom_id(lens.pk, segment_index))
    return lens, segments[segment_index]


def question_segment(
    request: HttpRequest, item_id: UUID, question_key: str, *, back_url: str = "/"
) -> tuple[ContentItem, dict]:
    """The lens or test and its question with `question_key`; 404 when either is gone (or a draft),
    `NotStored` (409, with a link to `back_url`) for a POST when the item stores nothing."""
    item = _lens_or_404(request, item_id)
    for segment in item.body.get("segments", []):
        if segment.get("type") == "question" and segment.get("key") == question_key:
            refuse_unstored_writes(request, item, dom_id=question_dom_id(item.pk, question_key), back_url=back_url)
            return item, segment
    raise Http404("This question is no longer part of the lens. Reload the page.")


# What the templates show


def chat_dom_id(lens_id: UUID, segment_index: int) -> str:
    """The id of a chat segment's panel in the page: the target of its fragments and refusals."""
    return f"chat-{lens_id}-{segment_index}"


def question_dom_id(item_id: UUID, question_key: str) -> str:
    """The id of a question's answer box in the page."""
    return f"question-{item_id}-{question_key}"


@dataclass
class Conversation:
    """A learner's active conversation about a lens, and their archived ones (shared by its chat segments)."""

    session: ChatSession | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    past: list[ChatSession] = field(default_factory=list)

    @property
    def started(self) -> bool:
        return bool(self.messages)


def load_conversation(*, learner: Learner, content_id: UUID) -> Conversation:
    """The learner's conversation about a lens, with its messages and past conversations (3 queries)."""
    session = ChatSession.objects.for_chat_panel(learner, content_id=content_id).first()
    return Conversation(
        session=session,
        messages=list(session.messages.all()) if session is not None else [],
        past=list(ChatSession.objects.for_past_conversations(learner, content_id=content_id)),
    )


@dataclass
class ChatPanel:
    """Everything `chat/lens_chat.html` shows for one chat segment."""

    lens: ContentItem
    segment: dict
    dom_id: str
    next_url: str
    has_learner: bool
    tutor_available: bool
    max_chars: int
    session: ChatSession | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    past: list[ChatSession] = field(default_factory=list)
    pending: ChatMessage | None = None  # the learner's last message, when the tutor has not answered it
    replying: bool = False  # a reply to it is being generated right now (on this server or another)
    problem: str = ""  # why the last reply was interrupted, when it was

    @property
    def shown_messages(self) -> list[ChatMessage]:
        """The transcript: a failed reply that brought no text is a notice in the status line, not a message."""
        return [m for m in self.messages if m.role == ChatMessage.Role.USER or m.text or m.is_generating]

    @property
    def url_kwargs(self) -> dict:
        return {"lens_id": self.lens.pk, "segment_index": self.segment["index"]}

    @property
    def send_url(self) -> str:
        return reverse("chat:send", kwargs=self.url_kwargs)

    @property
    def reply_url(self) -> str:
        return reverse("chat:reply", kwargs=self.url_kwargs)

    @property
    def new_url(self) -> str:
        return reverse("chat:new", kwargs=self.url_kwargs)

    @property
    def can_send(self) -> bool:
        return self.has_learner and self.tutor_available


def page_url(request: HttpRequest) -> str:
    """The page the learner is on: where plain (no-JavaScript) forms come back to."""
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        return htmx.current_url_abs_path
    return request.get_full_path()


def build_chat_panel(
    request: HttpRequest,
    *,
    lens: ContentItem,
    segment: dict,
    next_url: str = "",
    conversation: Conversation | None = None,
) -> ChatPanel:
    """The chat panel of a learner for one chat segment (3 queries with a learner, none without).

    `conversation` may be the learner's conversation about the lens from `load_conversation`, loaded once
    for every chat segment of the lens (then no query here).
    """
    learner = learner_of(request)
    dom_id = chat_dom_id(lens.pk, segment["index"])
    panel = ChatPanel(
        lens=lens,
        segment=segment,
        dom_id=dom_id,
        next_url=f"{next_url or page_url(request)}#{dom_id}",
        has_learner=learner is not None,
        tutor_available=tutor.is_configured(),
        max_chars=settings.CHAT_MAX_MESSAGE_CHARS,
    )
    if not panel.has_learner:
        return panel
    if conversation is None:
        conversation = load_conversation(learner=learner, content_id=lens.pk)
    panel.session, panel.messages, panel.past = conversation.session, conversation.messages, conversation.past
    if panel.session is not None:
        answered = [m for m in panel.messages if m.role == ChatMessage.Role.USER or m.counts_as_answer]
        if answered and answered[-1].role == ChatMessage.Role.USER:
            panel.pending = answered[-1]
            panel.replying = any(m.is_generating for m in panel.messages)
            last = panel.messages[-1]
            if not panel.replying and last.role == ChatMessage.Role.ASSISTANT and last.is_interrupted:
                panel.problem = last.problem or replies.DEAD_GENERATOR_PROBLEM
    return panel


@dataclass
class QuestionBox:
    """Everything `chat/question.html` shows for one question segment."""

    item: ContentItem
    segment: dict
    dom_id: str
    next_url: str
    has_learner: bool
    locked: bool
    answer_url: str
    feedback_url: str
    feedback_available: bool
    autostart_feedback: bool = False
    answer: QuestionAnswer | None = None
    superseded: list[QuestionAnswer] = field(default_factory=list)
    draft: AnswerDraft | None = None  # text typed and not saved as the answer, newer than the answer
    start_url: str = ""  # timed questions: where "Start" posts (a learner page's view, learn/views/questions.py)
    started: AnswerStart | None = None  # timed questions: when the learner pressed "Start"

    @property
    def voice_max_seconds(self) -> int:
        return settings.SPEECH_MAX_SECONDS

    @property
    def timed(self) -> bool:
        return bool(self.segment.get("max_time_seconds"))

    @property
    def deadline(self):
        """When a started timed question's countdown reaches zero (None: untimed or not started)."""
        return services.answer_deadline(self.started, self.segment)

    @property
    def seconds_left(self) -> int:
        """Whole seconds until the countdown ends (the browser counts from this, not from its own clock)."""
        return max(0, int((self.deadline - timezone.now()).total_seconds())) if self.deadline else 0

    @property
    def time_up(self) -> bool:
        return self.deadline is not None and timezone.now() >= self.deadline

    @property
    def editable(self) -> bool:
        """Whether the learner may type: not locked, a learner, and a timed question started and not over."""
        if self.locked or not self.has_learner:
            return False
        return not self.timed or (self.started is not None and not self.time_up)

    @property
    def text(self) -> str:
        """What the box holds: the learner's draft when there is one, else their saved answer."""
        if self.draft is not None:
            return self.draft.text
        return self.answer.text if self.answer is not None else ""

    @property
    def offers_feedback(self) -> bool:
        """Whether to show "Get feedback": not for a locked answer that is missing or already has its feedback."""
        if not (self.feedback_available and self.has_learner):
            return False
        if self.locked:
            return self.answer is not None and not self.answer.feedback_is_current
        return True


def build_question_box(
    request: HttpRequest,
    *,
    item: ContentItem,
    segment: dict,
    locked: bool,
    answer_url: str,
    feedback_url: str = "",
    next_url: str = "",
    answers: list[QuestionAnswer] | None = None,
    drafts: list[AnswerDraft] | None = None,
    autostart_feedback: bool = False,
    start_url: str = "",
) -> QuestionBox:
    """The answer box of a learner for one question (2 queries, or none when `answers` and `drafts` are given).

    `locked` (the lens or test is completed) and `answer_url` come from the page, which decides locking;
    without a `feedback_url` there is no "Get feedback" button. `answers` may be the learner's answers for
    the whole page (`QuestionAnswer.objects.for_item_page`), fetched once for all questions of a lens, and
    `drafts` likewise (`AnswerDraft.objects.for_item_page`).
    `autostart_feedback` asks chat.js to fetch the feedback at once (a test just submitted).
    """
    learner = learner_of(request)
    dom_id = question_dom_id(item.pk, segment["key"])
    box = QuestionBox(
        item=item,
        segment=segment,
        dom_id=dom_id,
        next_url=f"{next_url or page_url(request)}#{dom_id}",
        has_learner=learner is not None,
        locked=locked,
        answer_url=answer_url,
        feedback_url=feedback_url,
        feedback_available=bool(segment.get("feedback") and feedback_url) and tutor.is_configured(),
        start_url=start_url,
    )
    if not box.has_learner:
        return box
    if box.timed:  # one query, for timed questions only
        box.started = (
            AnswerStart.objects.owned_by(learner).filter(content_id=item.pk, question_key=segment["key"]).first()
        )
    if answers is None:
        answers = list(QuestionAnswer.objects.for_item_page(learner, content_id=item.pk))
    if drafts is None:
        drafts = list(AnswerDraft.objects.for_item_page(learner, content_id=item.pk))
    for answer in answers:
        if answer.question_key != segment["key"]:
            continue
        if answer.superseded_at is None:
            box.answer = answer
        else:
            box.superseded.append(answer)
    if not locked:
        draft = next((d for d in drafts if d.question_key == segment["key"]), None)
        if draft is not None and (box.answer is None or draft.updated_at > box.answer.updated_at):
            box.draft = draft
    box.autostart_feedback = (
        autostart_feedback and box.offers_feedback and box.answer is not None and not box.answer.feedback_is_current
    )
    return box
