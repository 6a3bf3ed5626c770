"""The questions of a lens or test, and which of them a learner has not answered yet."""

from dataclasses import dataclass

from django.utils.text import Truncator

from chat.models import QuestionAnswer
from content_loader.models import ContentItem
from learners import Learner


@dataclass(frozen=True)
class Unanswered:
    """A question that has no answer yet, as a refusal names it."""

    number: int  # 1-based, among the item's questions
    key: str
    prompt: str  # the start of the question's text

    @property
    def label(self) -> str:
        return f"question {self.number} (“{self.prompt}”)"


def questions_of(item: ContentItem) -> list[dict]:
    """The question segments of a lens or test, in order (roleplays are not answered in writing)."""
    return [s for s in item.body.get("segments", []) if isinstance(s, dict) and s.get("type") == "question"]


def current_answers(*, learner: Learner, item: ContentItem) -> dict[str, str]:
    """The learner's current answer text per question key of the item (1 query)."""
    answers = QuestionAnswer.objects.current().owned_by(learner)
    return dict(answers.filter(content_id=item.pk).values_list("question_key", "text"))


def unanswered_questions(item: ContentItem, answers: dict[str, str]) -> list[Unanswered]:
    """The required questions of the item with no (non-blank) answer among `answers` (key -> text)."""
    return [
        Unanswered(number, question["key"], Truncator(question.get("content_text", "")).chars(60))
        for number, question in enumerate(questions_of(item), start=1)
        if not question.get("optional") and not answers.get(question["key"], "").strip()
    ]
