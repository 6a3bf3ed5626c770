"""Reading scores: distributions for the course dashboard, and the latest score of each answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import OuterRef, Q, Subquery

from assessment.models import Assessment

SCORES = (1, 2, 3, 4, 5)


@dataclass
class ScoreRow:
    """How many answers (and roleplays) got each score, for one learning outcome or one question or roleplay."""

    kind: str  # "Learning outcome" or "Question"
    title: str
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return round(sum(s * c for s, c in self.counts.items()) / self.total, 2) if self.total else None

    @property
    def in_order(self) -> list[int]:
        return [self.counts[score] for score in SCORES]


def latest_scores(content_ids: list[UUID]) -> list[Assessment]:
    """The latest finished score of every current answer in these lenses and tests, and of each learner's
    latest scored attempt at each roleplay (1 query)."""
    from chat.models import QuestionAnswer
    from content_loader.models import ContentItem

    answers = QuestionAnswer.objects.filter(pk=OuterRef("subject_id"))
    current_answers = Q(subject_kind="answer", subject_id__in=QuestionAnswer.objects.current().values("pk"))
    rows = (
        Assessment.objects.scored()
        .filter(current_answers | Q(subject_kind="roleplay"), content_id__in=content_ids)
        .annotate(
            question_text=Subquery(answers.values("question_text")[:1]),
            outcome_title=Subquery(ContentItem.objects.filter(pk=OuterRef("learning_outcome_id")).values("title")[:1]),
        )
        .order_by("subject_kind", "subject_id", "-assessed_at", "-id")
        .only(
            "subject_kind",
            "score",
            "content_id",
            "segment_key",
            "learning_outcome_id",
            "subject_id",
            "assessed_at",
            "user_id",
            "session_token",
        )
    )
    latest: dict[tuple, Assessment] = {}
    for row in sorted(rows, key=lambda row: row.assessed_at, reverse=True):
        latest.setdefault(_counted_as(row), row)
    return list(latest.values())


def _counted_as(row: Assessment) -> tuple:
    """What one score stands for: an answer (its latest version), or a learner's try at a roleplay (its
    latest scored attempt, so "Try again" replaces the learner's score rather than adding one)."""
    if row.subject_kind == "roleplay":
        return ("roleplay", row.user_id, row.session_token, row.content_id, row.segment_key)
    return ("answer", row.subject_id)


def _latest_per_subject(rows) -> dict[int, Assessment]:
    """The first row of each subject (rows ordered newest first per subject; portable, unlike DISTINCT ON)."""
    latest: dict[int, Assessment] = {}
    for row in rows:
        latest.setdefault(row.subject_id, row)
    return latest


def distribution(content_ids: list[UUID], titles: dict[UUID, str]) -> list[ScoreRow]:
    """Score counts per learning outcome, then per question (titled by its lens), in a stable order."""
    outcomes: dict[UUID, ScoreRow] = {}
    questions: dict[tuple, ScoreRow] = defaultdict(lambda: ScoreRow("Question", ""))
    for row in latest_scores(content_ids):
        if row.learning_outcome_id is not None:
            outcome = outcomes.setdefault(
                row.learning_outcome_id, ScoreRow("Learning outcome", row.outcome_title or "(retired outcome)")
            )
            outcome.counts[row.score] += 1
        question = questions[(row.content_id, row.segment_key)]
        if not question.title:
            asked = "Roleplay" if row.subject_kind == "roleplay" else row.question_text or row.segment_key
            question.title = f"{titles.get(row.content_id, 'Lens')}: {asked}"
        question.counts[row.score] += 1
    return sorted(outcomes.values(), key=lambda r: r.title) + sorted(questions.values(), key=lambda r: r.title)


def latest_by_answer(answer_ids: list[int]) -> dict[int, Assessment]:
    """Answer id -> its latest finished score (1 query)."""
    rows = (
        Assessment.objects.scored()
        # Always one query, even for no answers: pages' pinned query counts do not depend on the data.
        .filter(subject_kind="answer", subject_id__in=answer_ids or [0])
        .order_by("subject_id", "-assessed_at", "-id")
    )
    return _latest_per_subject(rows)
