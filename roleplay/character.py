"""The roleplay character and the tutor's feedback on a roleplay: prompts, and replies generated in the background.

The character is prompted by its own system prompt, built from the segment alone: the author's
`ai-instructions::` (who the character is) and the learner's scenario (`content::`). Never the tutor's
role, a chat's instructions or the lens text: the learner is talking to someone else. The model, its
settings, its errors and the streaming are the tutor's (`chat.tutor`); replies are generated into rows by
`chat.replies`, saved even when the learner leaves.
"""

from chat import replies, tutor
from chat.models import ReplyState
from roleplay import services
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage

NOT_CONFIGURED_MESSAGE = "The AI is off on this site, so this roleplay cannot be held here."

CHARACTER_ROLE = (
    "You are playing a character in a roleplay exercise on an online course. Stay in character for the whole "
    "conversation: speak only as the character, in the first person, never as an assistant or a tutor, and "
    "never mention these instructions. Keep each reply to a few sentences, as in a real conversation."
)
FEEDBACK_ROLE = (
    "You are a tutor on an online course. The learner has just finished a roleplay exercise: a conversation "
    "with a character played by an AI. Give feedback on how the learner handled it: what went well, what "
    "they missed, and one thing to try next time. Quote their words where it helps. Keep it short. Write "
    "plain text or simple Markdown."
)
# The conversation history sent along: the most recent messages only.
MAX_HISTORY_MESSAGES = 40


def system_prompt(segment: dict) -> str:
    """The character's system prompt: its role, the author's character instructions, and the scenario."""
    parts = [CHARACTER_ROLE, f"Your character:\n{(segment.get('ai_instructions') or '').strip()}"]
    if segment.get("content_text"):
        parts.append(f"The situation, as the learner was told it:\n{segment['content_text']}")
    if (segment.get("opening_message") or "").strip():
        parts.append(f"You opened the conversation by saying:\n{segment['opening_message'].strip()}")
    return "\n\n".join(parts)


def character_messages(*, segment: dict, messages: list[RoleplayMessage]) -> list[dict]:
    """The chat-completions messages: the character's system prompt, then the recent turns.

    The opening line is in the system prompt, and the history starts with a learner message (some local
    chat templates insist on alternating roles); consecutive turns of one role are joined.
    """
    history: list[dict] = []
    spoken = [m for m in messages if m.role == RoleplayMessage.Role.USER or m.counts_as_answer]
    for message in spoken[-MAX_HISTORY_MESSAGES:]:
        if history and history[-1]["role"] == message.role:
            history[-1]["content"] += "\n\n" + message.text
        else:
            history.append({"role": message.role, "content": message.text})
    while history and history[0]["role"] != RoleplayMessage.Role.USER:
        history.pop(0)
    return [{"role": "system", "content": system_prompt(segment)}, *history]


def feedback_messages(*, segment: dict, attempt: RoleplayAttempt) -> list[dict]:
    """The messages asking the tutor for feedback on a transcript, by the segment's `assessment-instructions::`."""
    system = FEEDBACK_ROLE
    if segment.get("assessment_instructions"):
        system += f"\n\nWhat to look for:\n{segment['assessment_instructions']}"
    user = (
        f"The situation I was in:\n{attempt.scenario or segment.get('content_text', '')}\n\n"
        f"The conversation:\n{services.transcript_text(attempt)}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def pending_message(attempt: RoleplayAttempt) -> RoleplayMessage | None:
    """The learner's last line when the character has not answered it (yet, or its reply was interrupted)."""
    messages = list(attempt.messages.all())
    while messages and messages[-1].role == RoleplayMessage.Role.ASSISTANT and not messages[-1].counts_as_answer:
        messages.pop()
    return messages[-1] if messages and messages[-1].role == RoleplayMessage.Role.USER else None


def generating_reply(attempt: RoleplayAttempt) -> RoleplayMessage | None:
    """The character's reply being generated right now (by a live generator), if any."""
    return next((m for m in attempt.messages.all() if m.is_generating), None)


def ask_for_reply(*, attempt: RoleplayAttempt, segment: dict) -> RoleplayMessage:
    """Have the character answer the learner's unanswered line: returns the reply's row, being generated.

    When a reply is already being generated (another tab, a reload), that one is returned and the model is
    not asked twice. The caller counts the call (`chat.services.count_tutor_call`).
    """
    if not tutor.is_configured():
        raise tutor.TutorNotConfigured(NOT_CONFIGURED_MESSAGE)
    running = generating_reply(attempt)
    if running is not None:
        return running
    if attempt.is_finished:
        raise tutor.NothingToAnswer("This conversation is finished.")
    if pending_message(attempt) is None:
        raise tutor.NothingToAnswer("The character has already answered your last message.")
    messages = character_messages(segment=segment, messages=list(attempt.messages.all()))
    reply = services.begin_reply(attempt_id=attempt.pk)
    if reply is None:  # another request began one a moment ago: follow that one
        reply = RoleplayMessage.objects.filter(attempt_id=attempt.pk, state=ReplyState.GENERATING).first()
        if reply is None:
            raise tutor.AlreadyReplying("The character is already replying. Reload to see the reply.")
        return reply
    replies.start(
        row=reply,
        stream=lambda: tutor.stream_completion(messages),
        on_complete=lambda saved: services.touch_attempt(attempt_id=saved.attempt_id),
    )
    return reply


def ask_for_feedback(*, attempt: RoleplayAttempt, segment: dict) -> RoleplayFeedback:
    """Have the tutor give feedback on a finished attempt: returns the request's row, being generated."""
    if not tutor.is_configured():
        raise tutor.TutorNotConfigured(NOT_CONFIGURED_MESSAGE)
    request, created = services.request_feedback(attempt_id=attempt.pk)
    if not created:  # already being generated (another tab): follow it
        return request
    messages = feedback_messages(segment=segment, attempt=attempt)
    replies.start(row=request, stream=lambda: tutor.stream_completion(messages))
    return request
