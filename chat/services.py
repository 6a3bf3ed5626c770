"""Writes to tutor conversations and question answers. Each function is one write path.

Learners are passed as `learner=` (a `learners.Learner`: an account or a token, exactly one), the same
value the progress middleware sets on `request.learner`. Nothing here calls the tutor: the slow network
call lives in `chat.tutor` and runs on a background thread (`chat.replies`), never inside a transaction.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from chat import replies
from chat.models import AnswerDraft, AnswerStart, ChatMessage, ChatSession, FeedbackRequest, QuestionAnswer, ReplyState
from chat.signals import answer_saved
from learners import Learner
from ops import ratelimit


class ChatError(Exception):
    """An expected refusal, with a message a learner can act on."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EmptyMessage(ChatError):
    pass


class MessageTooLong(ChatError):
    pass


class RateLimited(ChatError):
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class AnswerLocked(ChatError):
    status = 409


class AnswerTooLong(ChatError):
    pass


class UnstorableText(ChatError):
    pass


class AnswerTimeUp(ChatError):
    """A timed question (`max-time::`) saved before "Start", or after its countdown and the grace."""

    status = 409


def check_storable(text: str) -> None:
    """Refuse text PostgreSQL cannot store (a NUL character) before it reaches the database."""
    if "\x00" in text:
        raise UnstorableText("Your text contains a NUL character, which cannot be saved. Remove it and try again.")


def _owner_fields(learner: Learner) -> dict:
    """The owner columns of a row of the learner's (exactly one of the two is set)."""
    return {"user_id": learner.user_id, "session_token": learner.session_token}


# Conversations


def get_or_create_active_session(*, learner: Learner, content_id: UUID | None, content_type: str | None) -> ChatSession:
    """The learner's active conversation about a content item, created if there is none (race-safe)."""
    owner = _owner_fields(learner)
    active = ChatSession.objects.active().owned_by(learner).about(content_id)
    # A concurrent creator (a second tab) makes our INSERT fail on the conditional unique constraint;
    # its row is then committed and visible, so read it. Two rounds cover an archive in between.
    for _attempt in range(3):
        session = active.first()
        if session is not None:
            return session
        try:
            with transaction.atomic():
                return ChatSession.objects.create(**owner, content_id=content_id, content_type=content_type)
        except IntegrityError:
            continue
    raise RuntimeError("Could not get or create an active conversation.")


@transaction.atomic
def append_message(*, session_id: int, role: str, text: str, lens_id: UUID | None) -> ChatMessage:
    """Add a message to a conversation: a plain INSERT, so concurrent writers never lose one."""
    message = ChatMessage.objects.create(session_id=session_id, role=role, text=text, lens_id=lens_id)
    ChatSession.objects.filter(pk=session_id).update(last_active_at=timezone.now())
    return message


def _take(scope: str, *, learner: Learner, limit: int, window: int, done: str) -> None:
    """Count one action of the learner in `scope` (ops.ratelimit), or refuse it with RateLimited."""
    try:
        ratelimit.take(
            scope=scope,
            identity=ratelimit.identity_of(**_owner_fields(learner)),
            limit=limit,
            window=window,
        )
    except ratelimit.RateLimited as refusal:
        raise RateLimited(
            f"You have {done.format(limit=limit)} in the last {refusal.window_text}. "
            f"Please wait {refusal.wait} and try again.",
            retry_after=refusal.retry_after,
        ) from None


def count_tutor_call(*, learner: Learner) -> None:
    """Count one model call the learner causes (a reply, "Try again", feedback, a roleplay reply), or refuse it.

    Called right before the call, outside any transaction; a refused call is not counted.
    """
    _take(
        "tutor-call",
        learner=learner,
        limit=settings.CHAT_RATE_LIMIT_MESSAGES,
        window=settings.CHAT_RATE_LIMIT_WINDOW_SECONDS,
        done="asked the tutor {limit} times",
    )


def count_message(*, learner: Learner) -> None:
    """Count one message sent to the tutor (stored whether or not a reply is asked for), or refuse it."""
    _take(
        "chat-message",
        learner=learner,
        limit=settings.CHAT_RATE_LIMIT_MESSAGES,
        window=settings.CHAT_RATE_LIMIT_WINDOW_SECONDS,
        done="sent {limit} messages",
    )


def count_answer_save(*, learner: Learner) -> None:
    """Count one answer saved, or refuse it (ANSWER_RATE_LIMIT_SAVES per ANSWER_RATE_LIMIT_WINDOW_SECONDS)."""
    _take(
        "answer-save",
        learner=learner,
        limit=settings.ANSWER_RATE_LIMIT_SAVES,
        window=settings.ANSWER_RATE_LIMIT_WINDOW_SECONDS,
        done="saved answers {limit} times",
    )


def check_message(text: str) -> str:
    """The message as it will be saved (stripped), or a refusal for an empty or too long one."""
    text = text.strip()
    if not text:
        raise EmptyMessage("Type a message for the tutor first.")
    check_storable(text)
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageTooLong(
            f"Your message is {len(text):,} characters long; the limit is {limit:,}. Shorten it, or send it in parts."
        )
    return text


def send_learner_message(
    *,
    learner: Learner,
    content_id: UUID | None,
    content_type: str | None,
    lens_id: UUID | None,
    text: str,
) -> ChatMessage:
    """Save a learner's message in their active conversation (created if needed), within the limits.

    The message is committed before the tutor is asked, so a failing tutor never loses it.
    """
    text = check_message(text)
    count_message(learner=learner)
    session = get_or_create_active_session(learner=learner, content_id=content_id, content_type=content_type)
    return append_message(session_id=session.pk, role=ChatMessage.Role.USER, text=text, lens_id=lens_id)


@transaction.atomic
def start_new_conversation(*, learner: Learner, content_id: UUID | None, content_type: str | None) -> ChatSession:
    """Archive the learner's active conversation (kept under "Past conversations") and start an empty one.

    Progress is not touched.
    """
    ChatSession.objects.active().owned_by(learner).about(content_id).update(archived_at=timezone.now())
    return get_or_create_active_session(learner=learner, content_id=content_id, content_type=content_type)


def archive_chat_sessions(*, session_ids: list[int]) -> int:
    """Archive the given conversations (staff action); returns how many were active."""
    return ChatSession.objects.active().filter(pk__in=session_ids).update(archived_at=timezone.now())


def begin_reply(*, session_id: int, lens_id: UUID | None) -> ChatMessage | None:
    """Create the tutor's reply to the conversation, `generating`; None when one is generated already.

    A reply whose generator died is marked interrupted first (its text kept). An earlier failed reply that
    brought no text at all is only a notice, and the new reply takes its place. The partial unique
    constraint on generating messages keeps two requests from both asking the tutor.
    """
    replies.expire_dead(ChatMessage.objects.filter(session_id=session_id))
    try:
        with transaction.atomic():
            ChatMessage.objects.filter(
                session_id=session_id, role=ChatMessage.Role.ASSISTANT, state=ReplyState.INTERRUPTED, text=""
            ).delete()
            return ChatMessage.objects.create(
                session_id=session_id, role=ChatMessage.Role.ASSISTANT, lens_id=lens_id, **replies.lease_fields()
            )
    except IntegrityError:
        return None


def touch_session(*, session_id: int) -> None:
    """Mark the conversation active now (a reply was saved)."""
    ChatSession.objects.filter(pk=session_id).update(last_active_at=timezone.now())


@transaction.atomic
def claim_chat_sessions(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's conversations to an account; returns how many moved.

    Called by progress claiming inside its transaction. Where the account already has an active
    conversation for the same content, the anonymous one is archived and moved: kept, never dropped.
    """
    users_active = ChatSession.objects.active().filter(user_id=user_id)
    clashes_with_users_active = Q(
        Exists(users_active.filter(content_id=OuterRef("content_id"))), content_id__isnull=False
    ) | Q(Exists(users_active.filter(content_id__isnull=True)), content_id__isnull=True)
    ChatSession.objects.active().filter(clashes_with_users_active, session_token=session_token).update(
        archived_at=timezone.now()
    )
    return ChatSession.objects.filter(session_token=session_token).update(user_id=user_id, session_token=None)


# Answers to questions


def save_answer(
    *,
    learner: Learner,
    content_id: UUID,
    content_type: str,
    question: dict,
    text: str,
    locked: bool,
) -> QuestionAnswer:
    """Save or edit the learner's answer to a question (a `QuestionSegment`), race-safe.

    `locked` is the caller's decision (the lens or test is completed): a locked answer is not changed.
    `max_chars` of the question is enforced, else the site's ANSWER_MAX_CHARS; saves are rate-limited
    (count_answer_save); the question text is kept as a snapshot.
    """
    if locked:
        raise AnswerLocked("This answer can no longer be changed: the lens or test is completed.")
    check_in_time(learner=learner, content_id=content_id, question=question)
    check_storable(text)
    max_chars = question.get("max_chars")
    if max_chars and len(text) > max_chars:
        raise AnswerTooLong(
            f"Your answer is {len(text):,} characters long; this question allows {max_chars:,}. Shorten it."
        )
    if not max_chars and len(text) > settings.ANSWER_MAX_CHARS:
        raise AnswerTooLong(
            f"Your answer is {len(text):,} characters long; answers can be at most "
            f"{settings.ANSWER_MAX_CHARS:,} characters. Shorten it, or keep the long version elsewhere."
        )
    owner = _owner_fields(learner)
    count_answer_save(learner=learner)
    current = (
        QuestionAnswer.objects.current()
        .owned_by(learner)
        .for_question(content_id=content_id, question_key=question["key"])
    )
    changes = {"text": text, "question_text": question.get("content_text", ""), "updated_at": timezone.now()}
    # The draft was the answer being typed: saving the answer ends it (in the same transaction).
    draft = AnswerDraft.objects.owned_by(learner).filter(content_id=content_id, question_key=question["key"])
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if current.update(**changes):
                    saved = current.get()
                else:
                    saved = QuestionAnswer.objects.create(
                        **owner,
                        content_id=content_id,
                        content_type=content_type,
                        question_key=question["key"],
                        **changes,
                    )
                draft.delete()
        except IntegrityError:
            continue  # another request created it first: update that one
        answer_saved.send(sender=QuestionAnswer, answer=saved, question=question)
        return saved
    raise RuntimeError("Could not save the answer.")


def answer_max_chars(question: dict) -> int:
    """The most characters an answer (or its draft) to `question` may have: its `max-chars`, else the site's."""
    return question.get("max_chars") or settings.ANSWER_MAX_CHARS


def save_draft(
    *,
    learner: Learner,
    content_id: UUID,
    content_type: str,
    question: dict,
    text: str,
    locked: bool,
) -> AnswerDraft | None:
    """Save what the learner is typing into a question box, apart from their answer (race-safe upsert).

    Bounded like answers (`answer_max_chars`); refused once the lens or test is completed (`locked`). A
    draft never counts as an answer: nothing that completes a test reads it. Text equal to the saved
    answer is no draft: any draft is removed and None returned.
    """
    if locked:
        raise AnswerLocked("This answer can no longer be changed: the lens or test is completed.")
    check_in_time(learner=learner, content_id=content_id, question=question)
    check_storable(text)
    limit = answer_max_chars(question)
    if len(text) > limit:
        raise AnswerTooLong(f"Your draft is {len(text):,} characters long; this question allows {limit:,}. Shorten it.")
    owner = _owner_fields(learner)
    drafts = AnswerDraft.objects.owned_by(learner).filter(content_id=content_id, question_key=question["key"])
    answer = (
        QuestionAnswer.objects.current()
        .owned_by(learner)
        .for_question(content_id=content_id, question_key=question["key"])
    )
    if answer.filter(text=text).exists():  # what is typed is the saved answer (a late save after "Save answer")
        drafts.delete()
        return None
    for _attempt in range(3):
        if drafts.update(text=text, updated_at=timezone.now()):
            return drafts.get()
        try:
            with transaction.atomic():
                return AnswerDraft.objects.create(
                    **owner, content_id=content_id, content_type=content_type, question_key=question["key"], text=text
                )
        except IntegrityError:
            continue  # another request (the beacon, a second tab) created it first: update that one
    raise RuntimeError("Could not save the draft.")


# Timed questions


def start_answer(*, learner: Learner, content_id: UUID, question: dict) -> AnswerStart:
    """Start the countdown of a timed question for the learner (race-safe); a second start returns the first."""
    starts = AnswerStart.objects.owned_by(learner).filter(content_id=content_id, question_key=question["key"])
    for _attempt in range(3):
        existing = starts.first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return AnswerStart.objects.create(
                    **_owner_fields(learner),
                    content_id=content_id,
                    question_key=question["key"],
                )
        except IntegrityError:
            continue  # another tab pressed "Start" at the same moment: that start counts
    raise RuntimeError("Could not start the question.")


def answer_deadline(start: AnswerStart | None, question: dict) -> datetime | None:
    """When the countdown of a started timed question reaches zero; None when untimed or not started."""
    seconds = question.get("max_time_seconds")
    if not seconds or start is None:
        return None
    return start.started_at + timedelta(seconds=seconds)


def check_in_time(*, learner: Learner, content_id: UUID, question: dict) -> None:
    """Refuse (AnswerTimeUp) a save of a timed question not started, or later than its deadline plus
    ANSWER_DEADLINE_GRACE_SECONDS. Untimed questions cost no query."""
    if not question.get("max_time_seconds"):
        return
    start = AnswerStart.objects.owned_by(learner).filter(content_id=content_id, question_key=question["key"]).first()
    if start is None:
        raise AnswerTimeUp("This question is timed: press “Start” to begin the countdown, then write your answer.")
    deadline = answer_deadline(start, question)
    if timezone.now() > deadline + timedelta(seconds=settings.ANSWER_DEADLINE_GRACE_SECONDS):
        raise AnswerTimeUp(
            f"Time is up: this question's countdown ended at {deadline:%H:%M:%S} UTC, so this change was not "
            "saved. What was saved before then is kept."
        )


@transaction.atomic
def claim_answer_starts(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's starts of timed questions to an account; returns how many moved.

    Called by progress claiming inside its transaction. Where both started the same question the earlier
    start is kept, so logging in never gives a countdown more time.
    """
    mine = AnswerStart.objects.filter(user_id=user_id)
    theirs = AnswerStart.objects.filter(session_token=session_token)
    earlier_anonymous = theirs.filter(
        content_id=OuterRef("content_id"), question_key=OuterRef("question_key"), started_at__lt=OuterRef("started_at")
    )
    mine.filter(Exists(earlier_anonymous)).delete()
    account_kept = mine.filter(content_id=OuterRef("content_id"), question_key=OuterRef("question_key"))
    theirs.filter(Exists(account_kept)).delete()
    return theirs.update(user_id=user_id, session_token=None)


@transaction.atomic
def claim_answer_drafts(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's drafts to an account; returns how many moved.

    Called by progress claiming inside its transaction. Where the account has a draft for the same
    question too, the more recently typed one is kept (a draft is one box's unsaved text, not an answer).
    """
    mine = AnswerDraft.objects.filter(user_id=user_id)
    theirs = AnswerDraft.objects.filter(session_token=session_token)
    newer_anonymous = theirs.filter(
        content_id=OuterRef("content_id"), question_key=OuterRef("question_key"), updated_at__gt=OuterRef("updated_at")
    )
    mine.filter(Exists(newer_anonymous)).delete()
    account_kept = mine.filter(content_id=OuterRef("content_id"), question_key=OuterRef("question_key"))
    theirs.filter(Exists(account_kept)).delete()
    return theirs.update(user_id=user_id, session_token=None)


def request_feedback(*, answer_id: int) -> tuple[FeedbackRequest, bool]:
    """Record that the learner asked for feedback and create its row, `generating`: (request, True). While
    feedback on the answer is being generated, (that one, False). The call is counted by count_tutor_call."""
    replies.expire_dead(FeedbackRequest.objects.filter(answer_id=answer_id))
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                request = FeedbackRequest.objects.create(
                    answer_id=answer_id, requested_at=now, **replies.lease_fields()
                )
                QuestionAnswer.objects.filter(pk=answer_id).update(feedback_requested_at=now)
                return request, True
        except IntegrityError:
            running = FeedbackRequest.objects.filter(answer_id=answer_id, state=ReplyState.GENERATING).first()
            if running is not None:
                return running, False
    raise RuntimeError("Could not ask for feedback.")


def save_feedback(*, answer_id: int, text: str) -> None:
    """Save the tutor's finished feedback on an answer."""
    QuestionAnswer.objects.filter(pk=answer_id).update(feedback=text, feedback_at=timezone.now())


@transaction.atomic
def claim_question_answers(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's answers to an account; returns how many moved.

    Called by progress claiming inside its transaction. Never drops an answer: where the account already
    has a current answer to the same question, the account's stays current (it may belong to a completed,
    locked lens or test) and the anonymous one moves too, marked superseded and still readable.
    """
    account_current = QuestionAnswer.objects.current().filter(user_id=user_id)
    clash = Exists(account_current.filter(content_id=OuterRef("content_id"), question_key=OuterRef("question_key")))
    QuestionAnswer.objects.current().filter(clash, session_token=session_token).update(superseded_at=timezone.now())
    return QuestionAnswer.objects.filter(session_token=session_token).update(user_id=user_id, session_token=None)


# A learner's rows, written for progress's staff tooling (legacy import, data erasure)


@transaction.atomic(savepoint=False)
def import_conversation(
    *,
    learner: Learner,
    content_id: UUID,
    content_type: str,
    started_at: datetime,
    last_active_at: datetime,
    archived: bool,
    messages: list[tuple[str, str, datetime]],
) -> ChatSession:
    """A conversation from another system with its times and `(role, text, created_at)` messages.

    Active unless `archived`, or archived at `last_active_at` when the learner already has an active
    conversation about the same content (the import keeps both, never replaces one).
    """
    owner = _owner_fields(learner)
    fields = {"content_id": content_id, "content_type": content_type}
    session = None
    if not archived:
        try:
            with transaction.atomic():
                session = ChatSession.objects.create(**owner, **fields)
        except IntegrityError:  # the account already has an active conversation about the content
            session = None
    if session is None:
        session = ChatSession.objects.create(**owner, **fields, archived_at=last_active_at)
    # started_at and last_active_at are set on creation: give them the imported values.
    ChatSession.objects.filter(pk=session.pk).update(started_at=started_at, last_active_at=last_active_at)
    created = ChatMessage.objects.bulk_create(
        [ChatMessage(session=session, role=role, text=text) for role, text, _ in messages]
    )
    for message, (_role, _text, created_at) in zip(created, messages, strict=True):
        message.created_at = created_at
    ChatMessage.objects.bulk_update(created, ["created_at"])
    return session


@transaction.atomic(savepoint=False)
def erase_learner_chats(*, owned: Q) -> None:
    """Delete a learner's conversations (their messages with them), answers, drafts and timed starts.

    `owned` selects the learner's rows (their account's and their tokens'; progress.tooling.learner_data decides).
    """
    ChatSession.objects.filter(owned).delete()
    QuestionAnswer.objects.filter(owned).delete()
    AnswerDraft.objects.filter(owned).delete()
    AnswerStart.objects.filter(owned).delete()
