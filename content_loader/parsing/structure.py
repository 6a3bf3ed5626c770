"""The structure of modules: their leaf modules (submodules) and the lenses and tests placed in each.

Learning outcomes are expanded where a module places them: their lenses, then their test, each with the
outcome recorded; a lens is optional when the module or the outcome says so. An outcome's own
`# Submodule:` headings become submodules of the module. Identities the vault does not write are derived
here (a submodule from its parent's UUID and its slug).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .documents import CourseDoc, LensFileDoc, ModuleDoc, OutcomeDoc, Step
from .vault import Vault

# Namespace of the UUIDs the loader derives (for a course or module without `id`, a single-file section
# without `id::`). Never change it: derived identities would change with it.
DERIVED_NAMESPACE = uuid.UUID("2f0c3d4e-8a51-4c3e-9a57-5be1a7a0c0de")


@dataclass
class Leaf:
    """A leaf module being assembled: the module itself, or one of its submodules."""

    step: Step | None  # the `# Submodule:` step, None for a module without submodules
    path: str  # file holding the submodule heading
    entries: list[dict] = field(default_factory=list)


def module_id(doc: ModuleDoc) -> uuid.UUID:
    return doc.id or uuid.uuid5(DERIVED_NAMESPACE, f"module:{doc.slug}")


def course_id(doc: CourseDoc) -> uuid.UUID:
    return doc.id or uuid.uuid5(DERIVED_NAMESPACE, f"course:{doc.slug}")


def submodule_id(parent: uuid.UUID, step: Step) -> uuid.UUID:
    return step.id or uuid.uuid5(parent, step.slug)


def section_id(module: uuid.UUID, position: int) -> uuid.UUID:
    """Identity of a single-file section without `id::`: its module and position (not stable)."""
    return uuid.uuid5(module, f"section:{position}")


def layout_module(vault: Vault, module: ModuleDoc) -> list[Leaf]:
    """The leaf modules of a module, with their entries (learning outcomes expanded in place)."""
    leaves = [Leaf(None, module.path)]
    sections = 0
    for step in module.steps:
        added: list[dict] = []
        if step.kind == "submodule":
            leaves.append(Leaf(step, module.path))
        elif step.kind == "lens":
            lens_id = None
            if step.lens is not None:
                lens_id = step.lens.id or section_id(module_id(module), sections)
                sections += 1
            added = [_entry(vault, step, lens_id, None, step.optional, step.hide)]
            leaves[-1].entries.extend(added)
        elif step.kind == "lo" and step.link is not None and step.link.path is not None:
            outcome = vault.documents[step.link.path]
            assert isinstance(outcome, OutcomeDoc)
            for sub_step, entries in outcome_runs(vault, outcome, step.optional):
                if sub_step is not None:
                    leaves.append(Leaf(sub_step, outcome.path))
                leaves[-1].entries.extend(entries)
                added += entries
        for entry in added:
            entry["line"] = step.line
    if len(leaves) == 1:
        return leaves
    if leaves[0].entries:
        module.report.error(
            leaves[0].entries[0]["line"],
            "this module has submodules, so all its lenses and learning outcomes must be inside one",
            "start the file with a `# Submodule:` heading",
        )
    seen: dict[str, int] = {}
    for leaf in leaves[1:]:
        assert leaf.step is not None
        if not leaf.entries:
            vault.reports[leaf.path].warning(
                leaf.step.line,
                f"submodule `{leaf.step.title}` has no lenses: learners would find it empty",
                "add lenses below it, or remove the heading",
            )
        if leaf.step.slug in seen:
            module.report.error(
                leaf.step.line if leaf.path == module.path else 1,
                f"two submodules have the slug {leaf.step.slug!r} (the first on line {seen[leaf.step.slug]})",
                "give one of them a different `slug::`",
            )
        seen.setdefault(leaf.step.slug, leaf.step.line)
    return leaves[1:]


def outcome_runs(vault: Vault, outcome: OutcomeDoc, optional: bool) -> list[tuple[Step | None, list[dict]]]:
    """An outcome's entries, cut at its submodules; in each run its lenses come before its tests."""
    runs: list[tuple[Step | None, list[dict]]] = [(None, [])]
    tests: list[dict] = []

    def close_run() -> None:
        runs[-1][1].extend(tests)
        tests.clear()

    for step in outcome.steps:
        if step.kind == "submodule":
            close_run()
            runs.append((step, []))
        elif step.kind == "test" and step.lens is not None and step.lens.id is not None:
            tests.append(_entry(vault, step, step.lens.id, outcome.id, optional, False))
        elif step.kind == "lens":
            lens_id = step.lens.id if step.lens is not None else None
            runs[-1][1].append(_entry(vault, step, lens_id, outcome.id, optional or step.optional, step.hide))
    close_run()
    return runs


def _entry(vault: Vault, step: Step, lens_id, outcome_id, optional: bool, hide: bool) -> dict:
    title = step.title
    if lens_id is None and step.link is not None and step.link.path is not None:
        target = vault.documents[step.link.path]
        if isinstance(target, LensFileDoc) and target.lens is not None:
            lens_id = target.lens.id
            if target.lens.titled:
                title = ""  # the lens file's own title wins; the heading's label is only a fallback
    return {
        "item_id": lens_id,
        "learning_outcome_id": outcome_id,
        "title": title,
        "optional": optional,
        "hide": hide and optional,
        "dependency": step.link.path if step.link is not None else None,
    }
