"""Factories for conversations, answers and lenses with chat and question segments."""

import functools
import uuid

import factory

from accounts.tests.factories import UserFactory  # noqa: F401  (re-exported: tests written before it moved)
from chat.models import ChatMessage, ChatSession, QuestionAnswer
from content_loader.parsing.payloads import question_key


class ChatSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatSession

    session_token = factory.LazyFunction(uuid.uuid4)
    content_id = factory.LazyFunction(uuid.uuid4)
    content_type = "lens"


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatMessage

    session = factory.SubFactory(ChatSessionFactory)
    role = ChatMessage.Role.USER
    text = factory.Sequence(lambda n: f"Message {n}")


def chat_lens_body(
    *, instructions: str = "Discuss the reading.", text: str = "Corrigibility means accepting correction.", **flags
) -> dict:
    """A lens body: a Text segment, then a Chat segment (index 1), then a Question segment (index 2)."""
    return {
        "tldr": "",
        "segments": [
            {"type": "text", "index": 0, "line": 5, "optional": False, "html": f"<p>{text}</p>", "text": text},
            {
                "type": "chat",
                "index": 1,
                "line": 9,
                "optional": False,
                "instructions": instructions,
                "hide_previous_content_from_user": flags.get("hide_from_user", False),
                "hide_previous_content_from_tutor": flags.get("hide_from_tutor", False),
            },
            shared_question(index=2),
        ],
    }


def question_segment(
    index: int = 0,
    prompt: str = "Why might an AI resist being switched off?",
    *,
    key: str | None = None,
    feedback: bool = False,
    max_chars: int | None = None,
    optional: bool = False,
    max_time_seconds: int | None = None,
    enforce_voice: bool = False,
) -> dict:
    """A `#### Question` segment as the loader stores it, with the loader's defaults (no feedback, no length
    limit, untimed). Its key is the one the loader derives from the prompt unless `key` is given."""
    return {
        "type": "question",
        "index": index,
        "line": 14,
        "optional": optional,
        "key": key or question_key(prompt),
        "content_html": f"<p>{prompt}</p>",
        "content_text": prompt,
        "assessment_instructions": "Look for instrumental convergence.",
        "max_chars": max_chars,
        "max_time": f"{max_time_seconds // 60}:{max_time_seconds % 60:02d}" if max_time_seconds else "",
        "max_time_seconds": max_time_seconds,
        "enforce_voice": enforce_voice,
        "feedback": feedback,
    }


QUESTION_KEY = "0123456789abcdef"
# The question most chat tests share: a fixed key, feedback on, at most 200 characters.
shared_question = functools.partial(question_segment, key=QUESTION_KEY, feedback=True, max_chars=200)


class QuestionAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuestionAnswer

    session_token = factory.LazyFunction(uuid.uuid4)
    content_id = factory.LazyFunction(uuid.uuid4)
    content_type = "lens"
    question_key = QUESTION_KEY
    question_text = "Why might an AI resist being switched off?"
    text = factory.Sequence(lambda n: f"Answer {n}")
