"""What the roleplay template shows, loaded once for every roleplay of a page.

`load_attempts` fetches the learner's attempts at all the roleplays of a lens or test (3 queries, only on
pages that have roleplays); `build_roleplay_panel` picks one roleplay's active attempt and past attempts.
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse

from chat import replies, tutor
from chat.models import ReplyState
from chat.panels import learner_of, page_url, refuse_unstored_writes
from content_loader.access import previews_drafts
from content_loader.models import ContentItem, ContentType
from learners import Learner
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage
from roleplay.segments import find_roleplay, roleplay_uuid
from voice import client as voice


def roleplay_segment(request: HttpRequest, item_id: UUID, roleplay_id: UUID) -> tuple[ContentItem, dict]:
    """The lens or test and its roleplay segment with this `id::`; 404 when either is gone, or is a draft
    this user may not preview (content_loader.access); `NotStored` (409) for a POST when it stores nothing."""
    items = ContentItem.objects.filter(content_type__in=[ContentType.LENS, ContentType.TEST])
    if not previews_drafts(getattr(request, "user", None)):
        items = items.filter(is_draft=False)
    item = get_object_or_404(items, pk=item_id)
    segment = find_roleplay(item, roleplay_id)
    if segment is None:
        raise Http404("This roleplay is no longer part of the lesson. Reload the page.")
    refuse_unstored_writes(request, item, dom_id=roleplay_dom_id(roleplay_id))
    return item, segment


def roleplay_dom_id(roleplay_id: UUID) -> str:
    """The id of a roleplay's panel in the page: the target of its fragments and refusals."""
    return f"roleplay-{roleplay_id}"


def load_attempts(*, learner: Learner, roleplay_ids: list[UUID]) -> list[RoleplayAttempt]:
    """The learner's attempts at these roleplays, with their messages and feedback (3 queries)."""
    return list(RoleplayAttempt.objects.for_item_page(learner, roleplay_ids=roleplay_ids))


@dataclass
class OpeningLine:
    """The character's opening message before the attempt exists (it is saved with the learner's first line)."""

    text: str
    pk: str = "opening"
    role: str = RoleplayMessage.Role.ASSISTANT
    is_generating: bool = False
    is_interrupted: bool = False


@dataclass
class RoleplayPanel:
    """Everything `roleplay/roleplay.html` shows for one roleplay segment."""

    item: ContentItem
    segment: dict
    roleplay_id: UUID
    dom_id: str
    next_url: str
    has_learner: bool
    ai_available: bool
    max_chars: int
    attempt: RoleplayAttempt | None = None
    messages: list = field(default_factory=list)
    past: list[RoleplayAttempt] = field(default_factory=list)
    pending: RoleplayMessage | None = None  # the learner's last line, when the character has not answered it
    replying: bool = False
    problem: str = ""  # why the last reply was interrupted, when it was
    feedback: RoleplayFeedback | None = None  # the latest feedback request on the active attempt
    done_feedback: RoleplayFeedback | None = None  # the latest complete one
    voice_url: str = ""  # where the record button posts (static/js/voice.js); "" when transcription is off
    voice_max_seconds: int = 0
    can_speak: bool = False  # character lines get a "Play" button (static/js/speech.js) when SPEECH_VOICE is set

    @property
    def finished(self) -> bool:
        return self.attempt is not None and self.attempt.is_finished

    @property
    def can_send(self) -> bool:
        return self.has_learner and self.ai_available and not self.finished

    @property
    def said_something(self) -> bool:
        return any(m.role == RoleplayMessage.Role.USER for m in self.messages)

    @property
    def offers_feedback(self) -> bool:
        return bool(self.segment.get("feedback")) and self.ai_available and self.finished

    @property
    def feedback_unfinished(self) -> RoleplayFeedback | None:
        """The latest feedback request when it is still being generated or was interrupted."""
        if self.feedback is None or self.feedback.state == ReplyState.COMPLETE:
            return None
        return self.feedback

    @property
    def feedback_text(self) -> str:
        """The latest complete feedback on the active attempt ("" before any)."""
        return self.done_feedback.text if self.done_feedback is not None else ""

    @property
    def url_kwargs(self) -> dict:
        return {"item_id": self.item.pk, "roleplay_id": self.roleplay_id}

    def url(self, name: str) -> str:
        return reverse(f"roleplay:{name}", kwargs=self.url_kwargs)

    @property
    def send_url(self) -> str:
        return self.url("send")

    @property
    def reply_url(self) -> str:
        return self.url("reply")

    @property
    def finish_url(self) -> str:
        return self.url("finish")

    @property
    def restart_url(self) -> str:
        return self.url("restart")

    @property
    def feedback_url(self) -> str:
        return self.url("feedback")


def shown(messages: list[RoleplayMessage]) -> list[RoleplayMessage]:
    """The transcript: a failed reply that brought no text is a notice in the status line, not a message."""
    return [m for m in messages if m.role == RoleplayMessage.Role.USER or m.text or m.is_generating]


def build_roleplay_panel(
    request: HttpRequest,
    *,
    item: ContentItem,
    segment: dict,
    next_url: str = "",
    attempts: list[RoleplayAttempt] | None = None,
) -> RoleplayPanel:
    """The roleplay panel of a learner for one segment (3 queries, none when `attempts` are given)."""
    learner = learner_of(request)
    roleplay_id = roleplay_uuid(segment)
    dom_id = roleplay_dom_id(roleplay_id)
    panel = RoleplayPanel(
        item=item,
        segment=segment,
        roleplay_id=roleplay_id,
        dom_id=dom_id,
        next_url=f"{next_url or page_url(request)}#{dom_id}",
        has_learner=learner is not None,
        ai_available=tutor.is_configured(),
        max_chars=settings.CHAT_MAX_MESSAGE_CHARS,
        voice_url=reverse("voice:transcribe") if voice.can_transcribe() else "",
        voice_max_seconds=settings.SPEECH_MAX_SECONDS,
        can_speak=voice.can_speak(),
    )
    if panel.has_learner:
        if attempts is None:
            attempts = load_attempts(learner=learner, roleplay_ids=[roleplay_id])
        mine = [a for a in attempts if a.roleplay_id == roleplay_id]
        panel.attempt = next((a for a in mine if a.archived_at is None), None)
        panel.past = sorted((a for a in mine if a.archived_at is not None), key=lambda a: a.archived_at, reverse=True)
    if panel.attempt is None:
        opening = (segment.get("opening_message") or "").strip()
        panel.messages = [OpeningLine(opening)] if opening else []
        return panel
    panel.messages = shown(list(panel.attempt.messages.all()))
    requests = list(panel.attempt.feedback_requests.all())
    panel.feedback = requests[-1] if requests else None
    panel.done_feedback = next((r for r in reversed(requests) if r.state == ReplyState.COMPLETE), None)
    answered = [m for m in panel.attempt.messages.all() if m.role == RoleplayMessage.Role.USER or m.counts_as_answer]
    if answered and answered[-1].role == RoleplayMessage.Role.USER:
        panel.pending = answered[-1]
        everything = list(panel.attempt.messages.all())
        panel.replying = any(m.is_generating for m in everything)
        last = everything[-1]
        if not panel.replying and last.role == RoleplayMessage.Role.ASSISTANT and last.is_interrupted:
            panel.problem = last.problem or replies.DEAD_GENERATOR_PROBLEM
    return panel
