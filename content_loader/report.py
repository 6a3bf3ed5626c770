"""What one `sync_content` run found and did, as text for people and as a dict for machines."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from .parsing.diagnostics import Diagnostic, Severity


@dataclass(frozen=True, slots=True)
class ItemChange:
    id: uuid.UUID
    content_type: str
    title: str
    source_path: str

    def __str__(self) -> str:
        return f"{self.content_type} {self.title!r} ({self.source_path}) {self.id}"

    def as_dict(self) -> dict:
        return {"id": str(self.id), "type": self.content_type, "title": self.title, "path": self.source_path}


@dataclass(frozen=True, slots=True)
class WrittenId:
    path: str
    line: int
    what: str
    id: uuid.UUID

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: wrote id {self.id} ({self.what})"


@dataclass
class Impact:
    """Learners affected by a sync: progress on retired items or on modules whose required lenses change."""

    retired_ids: set[uuid.UUID] = field(default_factory=set)
    changed_module_ids: set[uuid.UUID] = field(default_factory=set)
    learners: int | None = None  # None: no progress app registered a counter
    learners_on_retired: int | None = None
    learners_on_modules: int | None = None

    def describe(self) -> str:
        if self.learners is None:
            return "learner impact unknown (no progress app)"
        return (
            f"{self.learners} learner(s) have progress on items that would be retired "
            f"({self.learners_on_retired}) or on modules whose required lenses would change "
            f"({self.learners_on_modules})"
        )

    def as_dict(self) -> dict:
        return {
            "learners": self.learners,
            "learners_on_retired_items": self.learners_on_retired,
            "learners_on_changed_modules": self.learners_on_modules,
            "retired_ids": sorted(str(i) for i in self.retired_ids),
            "changed_module_ids": sorted(str(i) for i in self.changed_module_ids),
            "description": self.describe(),
        }


@dataclass
class SyncReport:
    """The outcome of one run. `exit_code` is 1 when any error was reported, else 0."""

    vault: str
    mode: str  # "sync", "dry-run" or "check"
    files: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    loaded: Counter = field(default_factory=Counter)  # items found in the vault, by type
    held_back: list[str] = field(default_factory=list)  # files not loaded (errors): registry keeps them
    drafts: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    added: list[ItemChange] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    restored: list[ItemChange] = field(default_factory=list)  # retired items that came back
    retired: list[ItemChange] = field(default_factory=list)
    unchanged: int = 0
    blocked: str = ""  # why nothing was written (a duplicate UUID), "" when not blocked
    impact: Impact | None = None
    written_ids: list[WrittenId] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """Errors in published files (the exit status follows these)."""
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR and not d.draft)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING and not d.draft)

    @property
    def draft_errors(self) -> int:
        """Errors in drafts: reported in full, they keep that draft's last synced version but block nothing else."""
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR and d.draft)

    @property
    def draft_warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING and d.draft)

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.restored) + len(self.retired)

    @property
    def counts(self) -> dict[str, int]:
        """How many items were added, changed, restored, retired and left unchanged, and how many draft files."""
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "restored": len(self.restored),
            "retired": len(self.retired),
            "unchanged": self.unchanged,
            "drafts": len(self.drafts),
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.blocked else 0

    def summary(self) -> str:
        """The one-line summary printed at the end of a run."""
        problems = f"{self.errors} error(s), {self.warnings} warning(s)"
        if self.draft_errors or self.draft_warnings:
            problems += f" (and in drafts {self.draft_errors} error(s), {self.draft_warnings} warning(s))"
        if self.mode == "check":
            items = sum(self.loaded.values())
            return f"Checked {self.vault}: {self.files} files, {items} items; {problems}."
        if self.blocked:
            return f"Not synced {self.vault}: {self.blocked}; {problems}."
        verb = "Would sync" if self.mode == "dry-run" else "Synced"
        if self.changes == 0:
            changes = "0 changes"
        else:
            counts = [
                f"{len(self.added)} added",
                f"{len(self.changed)} changed",
                f"{len(self.retired)} retired",
            ]
            if self.restored:
                counts.insert(2, f"{len(self.restored)} restored")
            changes = ", ".join(counts)
        held = f", {len(self.held_back)} file(s) held back" if self.held_back else ""
        if self.drafts:
            held += f", {len(self.drafts)} draft file(s) synced unpublished"
        if self.ignored:
            held += f", {len(self.ignored)} ignored file(s)"
        return f"{verb} {self.vault}: {changes} ({self.unchanged} unchanged{held}); {problems} in {self.seconds:.1f} s."

    def lines(self, *, verbose: bool = False) -> list[str]:
        """The full text report: problems, then changes, then the summary."""
        out = [str(written) for written in self.written_ids]
        for diagnostic in self.diagnostics:
            if diagnostic.severity is not Severity.INFO or verbose:
                out.append(str(diagnostic))
        show_items = verbose or self.mode == "dry-run"
        prefix = "would be " if self.mode == "dry-run" else ""
        for label, changes in (
            ("added", self.added),
            ("changed", self.changed),
            ("restored", self.restored),
            ("retired", self.retired),
        ):
            if changes and show_items:
                out.append(f"{prefix}{label} ({len(changes)}):")
                out.extend(f"  {change}" for change in changes)
        if self.impact is not None:
            out.append(self.impact.describe())
        out.append(self.summary())
        return out

    def as_dict(self) -> dict:
        return {
            "vault": self.vault,
            "mode": self.mode,
            "files": self.files,
            "items": dict(sorted(self.loaded.items())),
            "errors": self.errors,
            "warnings": self.warnings,
            "draft_errors": self.draft_errors,
            "draft_warnings": self.draft_warnings,
            "exit_code": self.exit_code,
            "blocked": self.blocked,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "held_back": self.held_back,
            "drafts": self.drafts,
            "ignored": self.ignored,
            "added": [c.as_dict() for c in self.added],
            "changed": [c.as_dict() for c in self.changed],
            "restored": [c.as_dict() for c in self.restored],
            "retired": [c.as_dict() for c in self.retired],
            "unchanged": self.unchanged,
            "changes": self.changes,
            "counts": self.counts,
            "impact": self.impact.as_dict() if self.impact else None,
            "written_ids": [
                {"path": w.path, "line": w.line, "what": w.what, "id": str(w.id)} for w in self.written_ids
            ],
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
        }
