"""Factories for progress rows, learners and module shapes the registry factories don't build."""

import uuid

import factory

from accounts.tests.factories import UserFactory
from content_loader.models import ContentItem, ModuleEntry
from content_loader.tests.factories import LearningOutcomeFactory, LensFactory, ModuleFactory
from progress.identity import Learner
from progress.models import UserContentProgress


class ProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserContentProgress

    session_token = factory.LazyFunction(uuid.uuid4)
    content_id = factory.LazyFunction(uuid.uuid4)
    content_type = "lens"
    content_title = factory.Sequence(lambda n: f"Lens {n}")


def anonymous() -> Learner:
    """A fresh anonymous learner."""
    return Learner(session_token=uuid.uuid4())


def account(user=None) -> Learner:
    """A logged-in learner (a new account unless one is given)."""
    return Learner(user_id=(user or UserFactory()).pk)


def lenses_of(module: ContentItem) -> list[ContentItem]:
    """The items of a leaf module, in order."""
    return [entry.item for entry in module.module_entries.select_related("item").order_by("position")]


def make_parent_module(*, submodules: list[int], slug: str | None = None) -> tuple[ContentItem, list[ContentItem]]:
    """A module with `# Submodule:` sections: the parent and its submodules with the given lens counts."""
    parent = ModuleFactory(**({"slug": slug} if slug else {}))
    subs = []
    for number, lenses in enumerate(submodules, start=1):
        sub = ModuleFactory(parent=parent, slug=f"{parent.slug}/part-{number}", source_line=number * 10)
        for position in range(lenses):
            ModuleEntry.objects.create(module=sub, position=position, item=LensFactory())
        subs.append(sub)
    return parent, subs


def place(module: ContentItem, item: ContentItem, *, optional: bool = False, learning_outcome=None) -> ModuleEntry:
    """Append an item to a leaf module."""
    position = module.module_entries.count()
    return ModuleEntry.objects.create(
        module=module, position=position, item=item, optional=optional, hide=False, learning_outcome=learning_outcome
    )


def make_outcome_module(*, required: int, optional: int = 0) -> tuple[ContentItem, ContentItem, list[ContentItem]]:
    """A leaf module whose lenses all come through one learning outcome: (module, outcome, lenses)."""
    module = ModuleFactory()
    outcome = LearningOutcomeFactory()
    lenses = []
    for number in range(required + optional):
        lens = LensFactory()
        place(module, lens, optional=number >= required, learning_outcome=outcome)
        lenses.append(lens)
    return module, outcome, lenses


def let_time_pass(learner: Learner, seconds: int) -> None:
    """Pretend `seconds` passed since the learner's last heartbeat: move their clock that far back."""
    from datetime import timedelta

    from progress.models import LearnerClock

    owner = {"user_id": learner.user_id} if learner.user_id else {"session_token": learner.session_token}
    for clock in LearnerClock.objects.filter(**owner):
        LearnerClock.objects.filter(pk=clock.pk).update(
            credited_until=clock.credited_until - timedelta(seconds=seconds)
        )
