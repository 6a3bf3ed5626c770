"""The AI tutor: prompts from the lens, and streamed replies from an OpenAI-compatible API.

Any server that speaks the chat-completions protocol works (a hosted provider, llama.cpp, Ollama,
vLLM): `TUTOR_BASE_URL`, `TUTOR_API_KEY`, `TUTOR_MODEL`, `TUTOR_TIMEOUT_SECONDS` and
`TUTOR_MAX_REPLY_SECONDS` configure it. The learner's message is saved before the tutor is asked, the
tutor is only ever called outside a database transaction, and its reply is generated on a background
thread into a database row (`chat.replies`), so it is saved even when the learner leaves. A reply that
fails part-way keeps what arrived, marked interrupted, and the learner can try again.
"""

import logging
import time
from collections.abc import Iterator
from functools import lru_cache

import openai
from django.conf import settings
from django.db import connection

from chat import replies, services
from chat.models import ChatMessage, ChatSession, FeedbackRequest, QuestionAnswer, ReplyState

logger = logging.getLogger(__name__)

NOT_CONFIGURED_MESSAGE = "The tutor is not available on this server."

TUTOR_ROLE = (
    "You are a friendly, rigorous tutor on an online course. Help the learner think for themselves: ask "
    "questions back, point out gaps, and keep answers short unless they ask for more. Write plain text or "
    "simple Markdown."
)
FEEDBACK_ROLE = (
    "You are a tutor giving feedback on a learner's written answer to a question from an online course. "
    "Be specific and encouraging: say what is good, what is missing or wrong, and one thing to improve. "
    "Keep it short. Write plain text or simple Markdown."
)
# Lens text sent to the tutor is capped (local models have small context windows); the text just
# before the chat matters most, so the earliest text is dropped first.
MAX_LENS_CHARS = 40_000
# The conversation history sent along: the most recent messages only.
MAX_HISTORY_MESSAGES = 40


class TutorError(Exception):
    """The tutor could not answer; `message` says so to the learner, `status` is the HTTP answer."""

    status = 502

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


TIMED_OUT_MESSAGE = "The tutor took too long to answer. Try again in a moment."
TOO_LONG_MESSAGE = "The tutor took too long to finish its reply. Try again."
BROKE_OFF_MESSAGE = "The tutor's reply broke off before the end. Try again."


def status_for_problem(problem: str) -> int:
    """The HTTP status of a page saying a reply failed with `problem` (as saved): 504 for a timeout, else 502."""
    return 504 if problem in {TIMED_OUT_MESSAGE, TOO_LONG_MESSAGE} else 502


class TutorNotConfigured(TutorError):
    status = 503


class TutorTimedOut(TutorError):
    status = 504


class TutorFailed(TutorError):
    status = 502


class NothingToAnswer(TutorError):
    status = 409


class AlreadyReplying(TutorError):
    status = 409


def is_configured() -> bool:
    """Whether a tutor server is configured (base URL and model)."""
    return bool(settings.TUTOR_BASE_URL and settings.TUTOR_MODEL)


@lru_cache(maxsize=4)
def _client(base_url: str, api_key: str, timeout: int) -> openai.OpenAI:
    # No retries: a retried request would double the wait the learner sees; they have "Try again".
    # Local servers need no key, but the client insists on one.
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)


def stream_completion(messages: list[dict]) -> Iterator[str]:
    """Stream the pieces of a chat completion; raises a TutorError when it can't finish."""
    if not is_configured():
        raise TutorNotConfigured(NOT_CONFIGURED_MESSAGE)
    if connection.in_atomic_block:
        # A transaction held open while a model thinks would hold row locks for seconds or minutes.
        raise RuntimeError("The tutor must not be called inside a database transaction.")
    client = _client(settings.TUTOR_BASE_URL, settings.TUTOR_API_KEY, settings.TUTOR_TIMEOUT_SECONDS)
    deadline = time.monotonic() + settings.TUTOR_MAX_REPLY_SECONDS
    try:
        stream = client.chat.completions.create(model=settings.TUTOR_MODEL, messages=messages, stream=True)
        finished = False
        try:
            for chunk in stream:
                if time.monotonic() > deadline:
                    raise TutorTimedOut(TOO_LONG_MESSAGE)
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    finished = finished or bool(choice.finish_reason)
        finally:
            stream.close()
        if not finished:  # the connection closed mid-reply: what came is not the whole reply
            raise TutorFailed(BROKE_OFF_MESSAGE)
    except openai.APITimeoutError:
        raise TutorTimedOut(TIMED_OUT_MESSAGE) from None
    except openai.APIStatusError as error:
        logger.warning("Tutor server answered HTTP %s: %s", error.status_code, error.message)
        if error.status_code == 429:
            raise TutorFailed("The tutor is busy right now. Try again in a minute.") from None
        raise TutorFailed(f"The tutor server had a problem (HTTP {error.status_code}). Try again.") from None
    except openai.APIConnectionError:
        logger.warning("Tutor server unreachable at %s", settings.TUTOR_BASE_URL)
        raise TutorFailed("The tutor server could not be reached. Try again in a moment.") from None
    except openai.OpenAIError as error:
        logger.warning("Tutor failed: %s", error)
        raise TutorFailed("The tutor could not answer. Try again.") from None


# Prompts


def lens_text_before(body: dict, segment_index: int) -> str:
    """What the learner has read and watched in the lens before a segment, as plain text."""
    parts = []
    for segment in body.get("segments", [])[:segment_index]:
        kind = segment.get("type")
        if kind == "text" and segment.get("text"):
            parts.append(segment["text"])
        elif kind == "article" and segment.get("text"):
            article = segment.get("article", {})
            by = f" by {', '.join(article['authors'])}" if article.get("authors") else ""
            parts.append(f'Excerpt from the article "{article.get("title", "")}"{by}:\n{segment["text"]}')
        elif kind == "video" and segment.get("transcript"):
            video = segment.get("video", {})
            parts.append(f'Transcript of the video "{video.get("title", "")}":\n{segment["transcript"]}')
        elif kind in {"question", "roleplay"} and segment.get("content_text"):
            parts.append(f"A question the learner was asked:\n{segment['content_text']}")
    text = "\n\n".join(parts)
    if len(text) > MAX_LENS_CHARS:
        text = "[…]\n" + text[-MAX_LENS_CHARS:]
    return text


def system_prompt(*, lens_title: str, body: dict, segment_index: int) -> str:
    """The tutor's system prompt for a chat segment: its instructions and the lens seen so far."""
    segment = body["segments"][segment_index]
    parts = [TUTOR_ROLE]
    if segment.get("instructions"):
        parts.append(f"Instructions for this conversation:\n{segment['instructions']}")
    if not segment.get("hide_previous_content_from_tutor"):
        seen = lens_text_before(body, segment_index)
        if seen:
            parts.append(f'The learner has just studied this, from the lesson "{lens_title}":\n\n{seen}')
    return "\n\n".join(parts)


def conversation_messages(*, system: str, messages: list[ChatMessage]) -> list[dict]:
    """The chat-completions messages: the system prompt, then the recent history.

    Consecutive messages of one role (two tabs sent before a reply) are joined, and the history starts
    with a learner message: some local chat templates insist on alternating roles.
    """
    history: list[dict] = []
    for message in messages[-MAX_HISTORY_MESSAGES:]:
        if history and history[-1]["role"] == message.role:
            history[-1]["content"] += "\n\n" + message.text
        else:
            history.append({"role": message.role, "content": message.text})
    while history and history[0]["role"] != ChatMessage.Role.USER:
        history.pop(0)
    return [{"role": "system", "content": system}, *history]


def feedback_messages(*, question: dict, answer_text: str) -> list[dict]:
    """The chat-completions messages asking for feedback on an answer, by `assessment_instructions`."""
    system = FEEDBACK_ROLE
    if question.get("assessment_instructions"):
        system += f"\n\nHow to assess the answer:\n{question['assessment_instructions']}"
    user = f"The question:\n{question.get('content_text', '')}\n\nMy answer:\n{answer_text}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# Replies


def pending_message(session: ChatSession) -> ChatMessage | None:
    """The learner's last message when the tutor has not answered it (yet, or its reply was interrupted)."""
    messages = list(session.messages.all())
    while messages and messages[-1].role == ChatMessage.Role.ASSISTANT and not messages[-1].counts_as_answer:
        messages.pop()
    return messages[-1] if messages and messages[-1].role == ChatMessage.Role.USER else None


def generating_reply(session: ChatSession) -> ChatMessage | None:
    """The tutor's reply being generated in the conversation right now (by a live generator), if any."""
    return next((m for m in session.messages.all() if m.is_generating), None)


def ask_for_reply(*, session: ChatSession, lens_title: str, body: dict, segment_index: int) -> ChatMessage:
    """Have the tutor answer the learner's unanswered message: returns the reply's row, being generated.

    The reply is generated on a background thread (`chat.replies`) and saved whatever the learner does
    next; follow it with `replies.follow`. When a reply is already being generated for the conversation
    (another tab, a reload), that one is returned and the tutor is not asked twice.
    """
    if not is_configured():
        raise TutorNotConfigured(NOT_CONFIGURED_MESSAGE)
    running = generating_reply(session)
    if running is not None:
        return running
    pending = pending_message(session)
    if pending is None:
        raise NothingToAnswer("The tutor has already answered your last message.")
    history = [m for m in session.messages.all() if m.role == ChatMessage.Role.USER or m.counts_as_answer]
    messages = conversation_messages(
        system=system_prompt(lens_title=lens_title, body=body, segment_index=segment_index), messages=history
    )
    reply = services.begin_reply(session_id=session.pk, lens_id=pending.lens_id)
    if reply is None:  # another request began one a moment ago: follow that one
        reply = ChatMessage.objects.filter(session_id=session.pk, state=ReplyState.GENERATING).first()
        if reply is None:
            raise AlreadyReplying("The tutor is already answering this conversation. Reload to see the reply.")
        return reply
    replies.start(
        row=reply,
        stream=lambda: stream_completion(messages),
        on_complete=lambda saved: services.touch_session(session_id=saved.session_id),
    )
    return reply


def ask_for_feedback(*, answer: QuestionAnswer, question: dict) -> FeedbackRequest:
    """Have the tutor give feedback on a saved answer: returns the request's row, being generated.

    Generated in the background like a reply (`chat.replies`); once complete, the feedback is saved on
    the answer. While feedback on the answer is being generated, that request is returned instead.
    """
    if not is_configured():
        raise TutorNotConfigured(NOT_CONFIGURED_MESSAGE)
    request, created = services.request_feedback(answer_id=answer.pk)
    if not created:  # already being generated (another tab): follow it
        return request
    messages = feedback_messages(question=question, answer_text=answer.text)
    replies.start(
        row=request,
        stream=lambda: stream_completion(messages),
        on_complete=lambda saved: services.save_feedback(answer_id=saved.answer_id, text=saved.text),
    )
    return request
