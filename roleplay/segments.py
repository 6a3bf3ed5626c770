"""The roleplay segments of a lens or test, and which of them a learner has not finished yet."""

from dataclasses import dataclass
from uuid import UUID

from django.utils.text import Truncator

from content_loader.models import ContentItem
from learners import Learner
from roleplay.models import RoleplayAttempt


def roleplay_uuid(segment: dict) -> UUID | None:
    """The segment's `id::` as a UUID (None when it is missing or malformed: the loader reported it)."""
    try:
        return UUID(str(segment.get("id", "")).strip())
    except ValueError:
        return None


def roleplays_of(item: ContentItem) -> list[dict]:
    """The roleplay segments of a lens or test that have a usable `id::`, in order."""
    return [
        s
        for s in item.body.get("segments", [])
        if isinstance(s, dict) and s.get("type") == "roleplay" and roleplay_uuid(s) is not None
    ]


def find_roleplay(item: ContentItem, roleplay_id: UUID) -> dict | None:
    """The item's roleplay segment with this `id::`, if it still has one."""
    return next((s for s in roleplays_of(item) if roleplay_uuid(s) == roleplay_id), None)


@dataclass(frozen=True)
class Unfinished:
    """A required roleplay with no finished attempt, as a refusal names it."""

    number: int  # 1-based, among the item's roleplays
    roleplay_id: UUID
    scenario: str  # the start of the scenario

    @property
    def label(self) -> str:
        return f"roleplay {self.number} (“{self.scenario}”)"


def unfinished_roleplays(*, learner: Learner, item: ContentItem) -> list[Unfinished]:
    """The item's required roleplays the learner has not finished in any attempt (1 query; none without roleplays).

    A test is submitted only once each is finished, like a required question must have an answer.
    """
    required = [s for s in roleplays_of(item) if not s.get("optional")]
    if not required:
        return []
    finished = set(
        RoleplayAttempt.objects.finished()
        .owned_by(learner)
        .filter(roleplay_id__in=[roleplay_uuid(s) for s in required])
        .values_list("roleplay_id", flat=True)
    )
    numbers = {id(s): n for n, s in enumerate(roleplays_of(item), start=1)}
    return [
        Unfinished(numbers[id(s)], roleplay_uuid(s), Truncator(s.get("content_text", "")).chars(60))
        for s in required
        if roleplay_uuid(s) not in finished
    ]
