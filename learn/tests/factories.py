"""Lens bodies with every segment type, for page tests that run without a vault."""

import uuid

import factory

from chat.tests.factories import (
    QUESTION_KEY,
    question_segment,  # noqa: F401  (re-exported: one builder for every app's tests)
)
from content_loader.tests.factories import LensFactory


def segment_body() -> dict:
    """A lens body with one segment of each type, shaped as content_loader/body.py describes."""
    return {
        "tldr": "Why the sky looks blue.",
        "segments": [
            {
                "type": "text",
                "index": 0,
                "line": 5,
                "optional": False,
                "html": "<p>Light <strong>scatters</strong>.</p>",
                "text": "Light scatters.",
            },
            {
                "type": "article",
                "index": 1,
                "line": 9,
                "optional": False,
                "article": {
                    "title": "On Scattering",
                    "authors": ["Ada Rayleigh", "Jo Mie"],
                    "source_url": "https://example.org/scattering",
                    "published": "2021-03-04",
                    "path": "articles/scattering.md",
                },
                "before_html": "<p>Opening words skipped.</p>",
                "excerpt_html": "<p>Short wavelengths scatter more.</p>",
                "after_html": "<p>The rest of the article.</p>",
                "text": "Short wavelengths scatter more.",
                "word_count": 4,
            },
            {
                "type": "video",
                "index": 2,
                "line": 14,
                "optional": True,
                "video": {
                    "title": "Sky colours explained",
                    "channel": "Physics Channel",
                    "url": "https://www.youtube.com/watch?v=abcdefghijk",
                    "youtube_id": "abcdefghijk",
                    "path": "video_transcripts/sky.md",
                },
                "start_s": 12.0,
                "end_s": 95.5,
                "transcript": "Here we see the sky. It is blue.",
            },
            {
                "type": "chat",
                "index": 3,
                "line": 20,
                "optional": False,
                "instructions": "Ask the learner why sunsets are red.",
                "hide_previous_content_from_user": False,
                "hide_previous_content_from_tutor": False,
            },
            {
                "type": "question",
                "index": 4,
                "line": 24,
                "optional": False,
                "key": QUESTION_KEY,
                "content_html": "<p>Why are sunsets red?</p>",
                "content_text": "Why are sunsets red?",
                "assessment_instructions": "",
                "max_chars": 500,
                "max_time": "",
                "enforce_voice": False,
                "feedback": False,
            },
            {
                "type": "roleplay",
                "index": 5,
                "line": 30,
                "optional": False,
                "id": "5b0e7c9a-2f4d-4e8b-9a61-0c3d2e1f4a5b",
                "content_html": "<p>You are a sceptical journalist.</p>",
                "content_text": "You are a sceptical journalist.",
                "ai_instructions": "You are an editor who wants a clear story.",
                "opening_message": "So, what is the story?",
                "assessment_instructions": "",
                "feedback": False,
            },
        ],
    }


class RichLensFactory(LensFactory):
    """A lens showing every segment type."""

    title = "Why the sky is blue"
    body = factory.LazyFunction(segment_body)


# Lenses and tests with chats and questions -------------------------------------------------------------


def text_segment(index: int, text: str) -> dict:
    return {"type": "text", "index": index, "line": 5, "optional": False, "html": f"<p>{text}</p>", "text": text}


def chat_segment(index: int, *, hide_from_user: bool = False, instructions: str = "Discuss it.") -> dict:
    return {
        "type": "chat",
        "index": index,
        "line": 9,
        "optional": False,
        "instructions": instructions,
        "hide_previous_content_from_user": hide_from_user,
        "hide_previous_content_from_tutor": False,
    }


def body_of(*segments: dict) -> dict:
    return {"tldr": "", "segments": list(segments)}


def roleplay_segment(
    index: int,
    scenario: str = "Convince Sam to space out the revision.",
    *,
    roleplay_id: str | None = None,
    instructions: str = "You are Sam, a stubborn student who likes cramming.",
    opening: str = "Why would I start studying early?",
    feedback: bool = False,
    optional: bool = False,
    assessment: str = "Did the learner answer Sam's objections?",
) -> dict:
    """A `#### Roleplay` shaped as the loader compiles it (content_loader/parsing/payloads.py)."""
    return {
        "type": "roleplay",
        "index": index,
        "line": 30,
        "optional": optional,
        "id": roleplay_id or str(uuid.uuid4()),
        "content_html": f"<p>{scenario}</p>",
        "content_text": scenario,
        "ai_instructions": instructions,
        "opening_message": opening,
        "assessment_instructions": assessment,
        "feedback": feedback,
    }
