"""The learner pages' one write of their own: submitting a test, which spans chat (answers) and progress.

Everything else the pages write goes straight to `progress.services` or `chat.services`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.db import transaction

from chat import services as chat_services
from chat.questions import current_answers, questions_of, unanswered_questions
from content_loader.models import ContentItem, ContentType
from learners import Learner
from progress.queries import progress_by_item
from progress.services import CompletionResult, complete_content, lock_learners
from roleplay.segments import unfinished_roleplays


class TestNotReady(Exception):
    """The test cannot be submitted yet; `message` says why (naming what is unanswered or unfinished)."""

    __test__ = False  # not a pytest test class

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@contextmanager
def completions_held(learner: Learner | None) -> Iterator[None]:
    """A transaction in which none of the learner's completions can commit (they take the same lock).

    What `is_completed` answers inside stays true until the end, so an answer saved because its lens
    was not completed cannot land after a completion that locked it.
    """
    with transaction.atomic():
        if learner is not None:
            lock_learners(learner)
        yield


def is_completed(*, learner: Learner | None, item_id: UUID) -> bool:
    """Whether the learner completed this lens or test, under its UUID or one it replaced (1 query)."""
    progress = progress_by_item(learner, [item_id]).get(item_id)
    return progress is not None and progress.completed_at is not None


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
    with completions_held(learner):
        refusal = _save_answers(learner=learner, test=test, answers=answers)
        if refusal is None:
            return complete_content(
                learner=learner,
                content_id=test.pk,
                content_type=ContentType.TEST,
                content_title=title,
                module_slug=module_slug,
            )
    raise refusal  # after the transaction: the answers saved before the refusal are kept


def _save_answers(*, learner: Learner, test: ContentItem, answers: dict[str, str]) -> TestNotReady | None:
    """Save the answers sent with a submission; the refusal when a question still lacks one (or an
    answer cannot be saved), None when the test can be completed (or was already)."""
    if is_completed(learner=learner, item_id=test.pk):
        return None
    current = current_answers(learner=learner, item=test)
    for question in questions_of(test):
        text = answers.get(question["key"])
        if text is None or text == current.get(question["key"]):
            continue
        try:
            chat_services.save_answer(
                learner=learner,
                content_id=test.pk,
                content_type=test.content_type,
                question=question,
                text=text,
                locked=False,
            )
        except chat_services.ChatError as error:
            return TestNotReady(error.message)
        current[question["key"]] = text

    if unanswered := unanswered_questions(test, current):
        names = ", ".join(missing.label for missing in unanswered)
        return TestNotReady(f"Answer every question before submitting the test. Not answered yet: {names}.")
    if unfinished := unfinished_roleplays(learner=learner, item=test):
        names = ", ".join(roleplay.label for roleplay in unfinished)
        return TestNotReady(
            f"Finish every roleplay (“Finish conversation”) before submitting the test. Not finished yet: {names}."
        )
    return None
