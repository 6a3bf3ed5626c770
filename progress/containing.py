"""The modules and learning outcomes holding an item, and their counts around the item's completion.

`Structure.of` reads, from the steps of every active leaf module placing the item and of their sibling
submodules (the columns of `sql.containing_steps_sql`), the groups a completion of the item counts: each leaf
module placing it, the parent of each (its submodules' steps), and the learning outcome each placement came
through (its steps in that leaf module). That is content alone, so `progress.services` keeps it per content
version (`content_loader.kept`); `Structure.counts` then needs only the learner's completed steps. Distinct
UUIDs, as `derive_status` counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from content_loader.models import ContentType
from progress.queries import Status


@dataclass(frozen=True)
class Counts:
    """A module's (or a learning outcome's, in one leaf module) counts around the completed item."""

    required: int
    required_done_other: int  # required steps other than the item, completed
    item_required: bool
    other_done: bool  # any step other than the item completed

    def status(self, *, item_done: bool) -> tuple[Status, int, int]:
        """Status, k and n with the item completed or not: the rule of `derive_status`, on counts."""
        completed = self.required_done_other + (1 if item_done and self.item_required else 0)
        if self.required == 0:
            return (Status.COMPLETED if item_done or self.other_done else Status.NOT_STARTED), 0, 0
        if completed == self.required:
            return Status.COMPLETED, completed, self.required
        return (Status.IN_PROGRESS if completed else Status.NOT_STARTED), completed, self.required


@dataclass(frozen=True)
class Group:
    """The steps one module or learning outcome counts (UUIDs as text, as the completion's SQL returns them)."""

    key: tuple[str, UUID]  # (content type, id) of the module or outcome
    required: frozenset[str]
    steps: frozenset[str]


@dataclass(frozen=True)
class Structure:
    item: str
    groups: tuple[Group, ...]
    steps: str  # every step's UUID, as a uuid[] literal (sql.complete_kept_sql's `%(steps)s`)

    @classmethod
    def of(cls, item_id: UUID, rows: Iterable[tuple]) -> Structure:
        """From rows of (module, parent, outcome, step, optional, ...) with UUIDs; any further columns are ignored."""
        item = str(item_id)
        by_module: dict[UUID, list[tuple[str, bool, UUID | None]]] = {}
        by_parent: dict[UUID, list[tuple[str, bool, UUID | None]]] = {}
        placements = set()
        for module, parent, outcome, step, optional, *_ in rows:
            row = (str(step), bool(optional), outcome)
            by_module.setdefault(module, []).append(row)
            if parent is not None:
                by_parent.setdefault(parent, []).append(row)
            if row[0] == item:
                placements.add((module, parent, outcome))
        lists: dict[tuple[str, UUID], list[list[tuple[str, bool, UUID | None]]]] = {}
        for leaf, parent, outcome in sorted(placements, key=str):
            lists.setdefault((ContentType.MODULE, leaf), [by_module[leaf]])
            if parent is not None:
                lists.setdefault((ContentType.MODULE, parent), [by_parent[parent]])
            if outcome is not None:
                lists.setdefault((ContentType.LEARNING_OUTCOME, outcome), []).append(
                    [r for r in by_module[leaf] if r[2] == outcome]
                )
        groups = tuple(
            Group(key, frozenset(step for step, optional, _ in steps if not optional), frozenset(s[0] for s in steps))
            for key, step_lists in lists.items()
            for steps in step_lists
        )
        every = sorted({step for group in groups for step in group.steps})
        return cls(item, groups, "{" + ",".join(every) + "}")

    def counts(self, done: set[str] | frozenset[str]) -> dict[tuple[str, UUID], Counts]:
        """Each module's and outcome's counts, given the learner's completed steps (the item's own state aside).
        A learning outcome placed in several leaf modules is finished through any of them: its counts are those
        of the most complete."""
        others_done = done - {self.item}
        found: dict[tuple[str, UUID], Counts] = {}
        for group in self.groups:
            counts = Counts(
                required=len(group.required),
                required_done_other=len(group.required & others_done),
                item_required=self.item in group.required,
                other_done=not others_done.isdisjoint(group.steps),
            )
            if group.key not in found or counts.status(item_done=True)[0] == Status.COMPLETED:
                found[group.key] = counts
        return found
