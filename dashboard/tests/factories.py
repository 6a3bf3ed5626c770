"""A course with learners at every stage, for the dashboard's tests and its browser test."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession
from content_loader.models import ContentItem, ReplacedId
from content_loader.tests.factories import make_course, make_module
from progress.models import ClaimedToken, UserContentProgress
from progress.tests.factories import lenses_of

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def row(*, user=None, token=None, item, completed: bool = True, seconds: int = 0, day: int = 0) -> None:
    """A progress row as the engine writes it: time to complete and total time, completed or not."""
    when = START + timedelta(days=day)
    UserContentProgress.objects.create(
        user=user,
        session_token=None if user else (token or uuid.uuid4()),
        content_id=item if isinstance(item, uuid.UUID) else item.pk,
        content_type="lens",
        started_at=when,
        completed_at=when + timedelta(seconds=seconds) if completed else None,
        time_to_complete_s=seconds,
        total_time_spent_s=seconds,
        last_heartbeat_at=when + timedelta(seconds=seconds) if seconds else None,
    )


@dataclass
class Cohort:
    course: ContentItem
    first: ContentItem  # 2 required lenses and 1 optional
    second: ContentItem  # 1 required lens
    ada: object
    bea: object


def make_cohort(*, extra_modules: int = 0, extra_learners: int = 0, prefix: str = "") -> Cohort:
    """Learners of "first" (2 required + 1 optional lenses) and "second" (1 required lens):

    - ada (account) completed both lenses of first (one of them under a claimed token, late) and the
      lens of second: completed, completed;
    - bea (account) completed one lens of first in 120 s, and has time on second: in progress, not started;
    - an anonymous learner completed only first's optional lens: not started, not started;
    - an anonymous learner completed second's lens under an old UUID it replaces: not started, completed;
    - an account with progress in another course only: not in this cohort.
    Times to complete first's first lens: 60 (ada), 120 (bea), 0 (untracked, dee): median 90 over 2.
    """
    first = make_module(lenses=2, optional=1, slug=f"{prefix}first", title="First steps")
    second = make_module(lenses=1, slug=f"{prefix}second", title="Second thoughts")
    extra = [make_module(lenses=2, slug=f"{prefix}extra-{n}") for n in range(extra_modules)]
    course = make_course(units=[[first, second], extra] if extra else [[first, second]], slug=f"{prefix}memory")
    (f1, f2, optional), (s1,) = lenses_of(first), lenses_of(second)

    ada = UserFactory(username=f"{prefix}ada")
    late = uuid.uuid4()
    ClaimedToken.objects.create(token=late, user=ada)
    row(user=ada, item=f1, seconds=60)
    row(token=late, item=f2, seconds=200)
    row(user=ada, item=s1, seconds=400)
    session = ChatSession.objects.create(user=ada, content_id=f1.pk, content_type="lens")
    ChatMessage.objects.create(session=session, role="user", text="What is the forgetting curve?")
    ChatMessage.objects.create(session=session, role="assistant", text="How memory fades over time.")

    bea = UserFactory(username=f"{prefix}bea")
    row(user=bea, item=f1, seconds=120, day=1)
    row(user=bea, item=s1, completed=False, seconds=30, day=1)

    row(token=uuid.uuid4(), item=optional, seconds=50)
    dee = UserFactory(username=f"{prefix}dee")
    row(user=dee, item=f1, seconds=0)

    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=s1)
    row(token=uuid.uuid4(), item=old_id, seconds=300)

    elsewhere = make_module(lenses=1, slug=f"{prefix}elsewhere")
    make_course(units=[[elsewhere]], slug=f"{prefix}other")
    row(user=UserFactory(), item=lenses_of(elsewhere)[0], seconds=10)

    lenses = [f1, f2, s1] + [lens for module in extra for lens in lenses_of(module)]
    for number in range(extra_learners):
        learner = UserFactory()
        for index, lens in enumerate(lenses):
            row(user=learner, item=lens, seconds=30 + number + index, completed=index % 3 != 2)
    return Cohort(course, first, second, ada, bea)
