"""The learner pages' one write of their own: submitting a test, which spans chat (answers) and progress.

Everything else the pages write goes straight to `progress.services` or `chat.services`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.utils.text import Truncator

from chat import services as chat_services
from chat.models import QuestionAnswer
from content_loader.models import ContentItem, ContentType
from progress.identity import Learner
from progress.queries import progress_by_item
from progress.services import CompletionResult, complete_content


@dataclass(frozen=True)
class Unanswered:
    """A question of a test that has no answer yet, as the refusal names it."""

    number: int  # 1-based, among the test's questions
    key: str
    prompt: str  # the start of the question's text

    @property
    def label(self) -> str:
        return f"question {self.number} (“{self.prompt}”)"


class TestNotReady(Exception):
    """The test cannot be submitted yet; `message` says why, `unanswered` names the questions."""

    __test__ = False  # not a pytest test class

    def __init__(self, message: str, *, unanswered: Sequence[Unanswered] = ()):
        super().__init__(message)
        self.message = message
        self.unanswered = list(unanswered)


def is_completed(*, learner: Learner | None, item_id: UUID) -> bool:
    """Whether the learner completed this lens or test, under its UUID or one it replaced (1 query)."""
    progress = progress_by_item(learner, [item_id]).get(item_id)
    return progress is not None and progress.completed_at is not None


def questions_of(test: ContentItem) -> list[dict]:
    """The question segments of a test, in order (roleplays are not answered in writing)."""
    return [s for s in test.body.get("segments", []) if isinstance(s, dict) and s.get("type") == "question"]


def submit_test(
    *, learner: Learner, test: ContentItem, title: str, module_slug: str, answers: dict[str, str]
) -> CompletionResult:
    """Submit a test: save the answers sent with it, then complete it if every required question has one.

    `answers` maps question keys to text typed but not yet saved (the page sends them along); each is
    saved first, so nothing typed is lost when the submission is refused. Refused with `TestNotReady`
    (naming the unanswered questions) while a required question has no answer. A test already
    completed is not changed: its answers are locked, and the completion is simply reported again.
    """
    if test.content_type != ContentType.TEST:
        raise ValueError(f"{test.pk} is a {test.content_type}, not a test.")
    questions = questions_of(test)
    owner = {"user_id": learner.user_id, "session_token": learner.session_token}
    current = {
        answer.question_key: answer.text
        for answer in QuestionAnswer.objects.current().owned_by(**owner).filter(content_id=test.pk)
    }
    if not is_completed(learner=learner, item_id=test.pk):
        for question in questions:
            text = answers.get(question["key"])
            if text is None or text == current.get(question["key"]):
                continue
            try:
                chat_services.save_answer(
                    **owner,
                    content_id=test.pk,
                    content_type=test.content_type,
                    question=question,
                    text=text,
                    locked=False,
                )
            except chat_services.ChatError as error:
                raise TestNotReady(error.message) from error
            current[question["key"]] = text

        unanswered = [
            Unanswered(number, question["key"], Truncator(question.get("content_text", "")).chars(60))
            for number, question in enumerate(questions, start=1)
            if not question.get("optional") and not current.get(question["key"], "").strip()
        ]
        if unanswered:
            names = ", ".join(missing.label for missing in unanswered)
            raise TestNotReady(
                f"Answer every question before submitting the test. Not answered yet: {names}.",
                unanswered=unanswered,
            )
    return complete_content(
        learner=learner,
        content_id=test.pk,
        content_type=ContentType.TEST,
        content_title=title,
        module_slug=module_slug,
    )
