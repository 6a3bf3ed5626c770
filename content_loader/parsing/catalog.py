"""From a parsed vault to the records the registry stores: items, their structure and their checksums.

Which files load: a file with errors is not loaded, and neither is a file that places (course → module,
module → lens or learning outcome, learning outcome → lens) or excerpts (lens → article or transcript) a
file that is not loaded; the registry keeps the last synced version of their items. Drafts and
`validator-ignore` files are not loaded either (the sync retires items that became drafts).

Structure: a course lists its leaf modules (a module without submodules, or each submodule) and its
meetings; a leaf module lists its lenses and tests, learning outcomes expanded in place (their lenses,
then their test). A lens is optional when the module or the outcome says so.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

from .diagnostics import Diagnostic, FileReport, Severity
from .documents import CourseDoc, Document, LensDoc, LensFileDoc, ModuleDoc, OutcomeDoc, Step
from .layout import stem
from .payloads import CompiledLens, LensCompiler
from .rendering import render_markdown
from .vault import Vault, _soften, defined_ids

# Namespace of the UUIDs the loader derives (for a course or module without `id`, a single-file section
# without `id::`). Never change it: derived identities would change with it.
DERIVED_NAMESPACE = uuid.UUID("2f0c3d4e-8a51-4c3e-9a57-5be1a7a0c0de")


@dataclass(frozen=True, slots=True)
class CourseEntryRecord:
    position: int
    kind: str  # "module" or "meeting"
    module_id: uuid.UUID | None
    title: str
    optional: bool


@dataclass(frozen=True, slots=True)
class ModuleEntryRecord:
    position: int
    item_id: uuid.UUID
    learning_outcome_id: uuid.UUID | None
    title: str
    optional: bool
    hide: bool


@dataclass
class ItemRecord:
    """One registry row as the vault describes it, with its structure."""

    id: uuid.UUID
    content_type: str  # course, module, lo, lens, test
    title: str
    source_path: str
    source_line: int = 1
    slug: str = ""
    parent_id: uuid.UUID | None = None
    body: dict = field(default_factory=dict)
    estimated_seconds: int = 0
    replaces: tuple[uuid.UUID, ...] = ()
    slug_aliases: tuple[str, ...] = ()
    course_entries: tuple[CourseEntryRecord, ...] = ()
    module_entries: tuple[ModuleEntryRecord, ...] = ()
    checksum: str = ""

    def compute_checksum(self) -> str:
        """SHA-256 of everything stored for this item (a changed excerpted article changes it too)."""
        data = asdict(self)
        data.pop("checksum")
        encoded = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass
class Catalog:
    vault: Vault
    items: dict[uuid.UUID, ItemRecord] = field(default_factory=dict)
    loaded_paths: set[str] = field(default_factory=set)
    held_back: set[str] = field(default_factory=set)  # files with errors (or depending on one)
    held_back_ids: set[uuid.UUID] = field(default_factory=set)  # UUIDs written in those files

    @property
    def blocked(self) -> bool:
        """A duplicate UUID blocks the whole sync."""
        return self.vault.duplicate_ids

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted(self.vault.diagnostics, key=lambda d: (d.path, d.line))

    @property
    def drafts(self) -> list[str]:
        return sorted(path for path, doc in self.vault.documents.items() if doc.draft and not doc.ignored)

    @property
    def ignored(self) -> list[str]:
        return sorted(path for path, doc in self.vault.documents.items() if doc.ignored)

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.vault.diagnostics if d.severity is severity)


@dataclass
class _Leaf:
    """A leaf module being assembled: the module itself, or one of its submodules."""

    step: Step | None  # the `# Submodule:` step, None for a module without submodules
    path: str  # file holding the submodule heading
    entries: list[dict] = field(default_factory=list)


def build_catalog(vault: Vault, *, workers: int | None = None) -> Catalog:
    """Compile every lens and test, lay out the structure, decide what loads, and make the records.

    Compiling (rendering Markdown, above all whole articles around excerpts) is most of the work; it runs
    in `workers` forked processes (default: one per CPU) when there is enough of it.
    """
    catalog = Catalog(vault)
    compiled = _compile_lenses(vault, workers=workers)
    leaves = {path: _layout_module(vault, doc) for path, doc in vault.of_kind("module") if not doc.ignored}
    _check_slugs(vault, leaves)
    for doc in vault.documents.values():
        if doc.draft:
            _soften(doc.report)
    loadable: dict[str, bool] = {}
    for path in vault.documents:
        _is_loadable(vault, path, loadable, set())
    for path, ok in loadable.items():
        doc = vault.documents[path]
        if ok:
            catalog.loaded_paths.add(path)
        elif not doc.draft and not doc.ignored:
            catalog.held_back.add(path)
            catalog.held_back_ids.update(content_id for content_id, _, _ in defined_ids(doc))
            doc.report.info(1, "not loaded: the registry keeps its last synced version")
    for path in sorted(catalog.loaded_paths):
        _records(catalog, vault.documents[path], compiled, leaves)
    for record in catalog.items.values():
        record.checksum = record.compute_checksum()
    return catalog


_WORK: Vault | None = None  # the vault being compiled, inherited by forked workers


def _compile_lenses(vault: Vault, *, workers: int | None) -> dict[int, CompiledLens]:
    """Compiled bodies by `id()` of their LensDoc; diagnostics land in the files' reports as usual."""
    tasks = [
        (path, index) for path, doc in vault.documents.items() if not doc.ignored for index in range(len(_lenses(doc)))
    ]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 2 or len(tasks) < 200 or "fork" not in multiprocessing.get_all_start_methods():
        results = _compile_tasks(vault, tasks)
    else:
        global _WORK
        _WORK = vault
        size = max(1, len(tasks) // (workers * 8))  # small chunks: the pool balances the load
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = [result for chunk in pool.map(_compile_in_worker, chunks) for result in chunk]
        finally:
            _WORK = None
    compiled: dict[int, CompiledLens] = {}
    for path, index, lens_result, diagnostics in results:
        vault.reports.setdefault(path, FileReport(path)).diagnostics.extend(diagnostics)
        if lens_result is not None:
            compiled[id(_lenses(vault.documents[path])[index])] = lens_result
    return compiled


def _compile_in_worker(tasks: list[tuple[str, int]]) -> list:
    assert _WORK is not None
    return _compile_tasks(_WORK, tasks)


def _compile_tasks(vault: Vault, tasks: list[tuple[str, int]]) -> list:
    """(path, index, compiled, diagnostics) per task; diagnostics are taken out of the reports."""
    compiler = LensCompiler(vault)
    results = []
    before = {path: len(report.diagnostics) for path, report in vault.reports.items()}
    for path, index in tasks:
        report = vault.documents[path].report
        start = len(report.diagnostics)
        compiled = compiler.compile(_lenses(vault.documents[path])[index], vault.documents[path])
        results.append((path, index, compiled, report.diagnostics[start:]))
        del report.diagnostics[start:]
    for path, report in vault.reports.items():  # reports of timestamps files read on the way
        if path not in vault.documents and len(report.diagnostics) > before.get(path, 0):
            results.append((path, -1, None, report.diagnostics[before.get(path, 0) :]))
            del report.diagnostics[before.get(path, 0) :]
    return results


def _lenses(doc: Document) -> list[LensDoc]:
    if isinstance(doc, LensFileDoc):
        return [doc.lens] if doc.lens is not None else []
    if isinstance(doc, ModuleDoc | OutcomeDoc):
        return [step.lens for step in doc.steps if step.lens is not None]
    return []


# -- structure -------------------------------------------------------------------------------------


def module_id(doc: ModuleDoc) -> uuid.UUID:
    return doc.id or uuid.uuid5(DERIVED_NAMESPACE, f"module:{doc.slug}")


def course_id(doc: CourseDoc) -> uuid.UUID:
    return doc.id or uuid.uuid5(DERIVED_NAMESPACE, f"course:{doc.slug}")


def submodule_id(parent: uuid.UUID, step: Step) -> uuid.UUID:
    return step.id or uuid.uuid5(parent, step.slug)


def section_id(module: uuid.UUID, position: int) -> uuid.UUID:
    """Identity of a single-file section without `id::`: its module and position (not stable)."""
    return uuid.uuid5(module, f"section:{position}")


def _layout_module(vault: Vault, module: ModuleDoc) -> list[_Leaf]:
    """The leaf modules of a module, with their entries (learning outcomes expanded in place)."""
    leaves = [_Leaf(None, module.path)]
    sections = 0
    for step in module.steps:
        added: list[dict] = []
        if step.kind == "submodule":
            leaves.append(_Leaf(step, module.path))
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
            for sub_step, entries in _outcome_runs(vault, outcome, step.optional):
                if sub_step is not None:
                    leaves.append(_Leaf(sub_step, outcome.path))
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
        if leaf.step.slug in seen:
            module.report.error(
                leaf.step.line if leaf.path == module.path else 1,
                f"two submodules have the slug {leaf.step.slug!r} (the first on line {seen[leaf.step.slug]})",
                "give one of them a different `slug::`",
            )
        seen.setdefault(leaf.step.slug, leaf.step.line)
    return leaves[1:]


def _outcome_runs(vault: Vault, outcome: OutcomeDoc, optional: bool) -> list[tuple[Step | None, list[dict]]]:
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
    if lens_id is None and step.link is not None and step.link.path is not None:
        target = vault.documents[step.link.path]
        if isinstance(target, LensFileDoc) and target.lens is not None:
            lens_id = target.lens.id
    return {
        "item_id": lens_id,
        "learning_outcome_id": outcome_id,
        "title": step.title,
        "optional": optional,
        "hide": hide and optional,
        "dependency": step.link.path if step.link is not None else None,
    }


def _check_slugs(vault: Vault, leaves: dict[str, list[_Leaf]]) -> None:
    """Active slugs are unique per type: a later file reusing one is an error naming the first."""
    seen: dict[tuple[str, str], str] = {}
    for path, doc in vault.documents.items():
        if doc.ignored or doc.draft or not isinstance(doc, CourseDoc | ModuleDoc) or not doc.slug:
            continue
        kind = "course" if isinstance(doc, CourseDoc) else "module"
        slugs = [doc.slug, *doc.slug_aliases]
        if isinstance(doc, ModuleDoc):
            slugs += [f"{doc.slug}/{leaf.step.slug}" for leaf in leaves.get(path, []) if leaf.step is not None]
        for slug in slugs:
            if (kind, slug) in seen and seen[(kind, slug)] != path:
                doc.report.error(1, f"{kind} slug {slug!r} is already used by {seen[(kind, slug)]}")
            seen.setdefault((kind, slug), path)


def _dependencies(doc: Document) -> list[tuple[str, int]]:
    """(path, line of the reference) of every file this one places or excerpts."""
    found: list[tuple[str, int]] = []
    if isinstance(doc, CourseDoc | ModuleDoc | OutcomeDoc):
        for step in doc.steps:
            if step.link is not None and step.link.path is not None:
                found.append((step.link.path, step.link.line))
    for lens in _lenses(doc):
        for segment in lens.segments:
            if segment.source is not None and segment.source.path is not None:
                found.append((segment.source.path, segment.source.line))
    return found


def _is_loadable(vault: Vault, path: str, memo: dict[str, bool], visiting: set[str]) -> bool:
    if path in memo:
        return memo[path]
    doc = vault.documents[path]
    if doc.ignored or doc.draft:
        memo[path] = False
        return False
    if path in visiting:
        return True
    visiting.add(path)
    ok = not doc.report.has_errors
    reported: set[str] = set()
    for dependency, line in _dependencies(doc):
        if _is_loadable(vault, dependency, memo, visiting):
            continue
        ok = False
        target = vault.documents[dependency]
        if not (target.draft or target.ignored) and dependency not in reported:
            reported.add(dependency)
            doc.report.error(line, f"not loaded because {dependency} has errors", f"fix {dependency} first")
    visiting.discard(path)
    memo[path] = ok
    return ok


# -- records ---------------------------------------------------------------------------------------


def _records(catalog: Catalog, doc: Document, compiled: dict[int, CompiledLens], leaves: dict) -> None:
    vault = catalog.vault
    if isinstance(doc, LensFileDoc) and doc.lens is not None and doc.lens.id is not None:
        _lens_record(catalog, doc.lens, compiled[id(doc.lens)], doc.path, replaces=doc.replaces)
    elif isinstance(doc, OutcomeDoc) and doc.id is not None:
        body = {"statement": doc.statement} if doc.statement else {}
        _add(catalog, ItemRecord(doc.id, "lo", doc.title, doc.path, body=body, replaces=tuple(doc.replaces)))
        for step in doc.steps:
            if step.lens is not None and step.lens.id is not None:
                lens = step.lens
                if lens.kind == "test" and not lens.title:
                    lens.title = f"Test: {doc.title}"
                _lens_record(catalog, lens, compiled[id(lens)], doc.path)
    elif isinstance(doc, ModuleDoc):
        _module_records(catalog, doc, compiled, leaves[doc.path])
    elif isinstance(doc, CourseDoc):
        entries = []
        for step in doc.steps:
            if step.kind == "meeting":
                entries.append(CourseEntryRecord(len(entries), "meeting", None, step.title, False))
                continue
            assert step.link is not None and step.link.path is not None
            module = vault.documents[step.link.path]
            assert isinstance(module, ModuleDoc)
            parent = module_id(module)
            module_leaves = leaves[module.path]
            for leaf in module_leaves:
                if leaf.step is None:
                    entries.append(CourseEntryRecord(len(entries), "module", parent, step.title, step.optional))
                else:
                    leaf_id = submodule_id(parent, leaf.step)
                    entries.append(CourseEntryRecord(len(entries), "module", leaf_id, leaf.step.title, step.optional))
        description = render_markdown(doc.description) if doc.description else ""
        record = ItemRecord(
            course_id(doc),
            "course",
            doc.title,
            doc.path,
            slug=doc.slug,
            body={"description_html": description} if description else {},
            replaces=tuple(doc.replaces),
            slug_aliases=tuple(doc.slug_aliases),
            course_entries=tuple(entries),
        )
        _add(catalog, record)


def _module_records(catalog: Catalog, doc: ModuleDoc, compiled: dict[int, CompiledLens], leaves: list[_Leaf]) -> None:
    parent = module_id(doc)
    sections = 0
    for step in doc.steps:
        if step.kind == "lens" and step.lens is not None:
            lens = step.lens
            lens_id = lens.id or section_id(parent, sections)
            sections += 1
            if not lens.title:
                lens.title = step.title or doc.title
            _lens_record(catalog, lens, compiled[id(lens)], doc.path, lens_id=lens_id)
    record = ItemRecord(
        parent,
        "module",
        doc.title,
        doc.path,
        slug=doc.slug,
        replaces=tuple(doc.replaces),
        slug_aliases=tuple(doc.slug_aliases),
    )
    if len(leaves) == 1 and leaves[0].step is None:
        record.module_entries = _module_entries(leaves[0])
        _add(catalog, record)
        return
    _add(catalog, record)
    for leaf in leaves:
        assert leaf.step is not None
        _add(
            catalog,
            ItemRecord(
                submodule_id(parent, leaf.step),
                "module",
                leaf.step.title,
                leaf.path,
                source_line=leaf.step.line,
                slug=f"{doc.slug}/{leaf.step.slug}",
                parent_id=parent,
                module_entries=_module_entries(leaf),
            ),
        )


def _module_entries(leaf: _Leaf) -> tuple[ModuleEntryRecord, ...]:
    entries = [entry for entry in leaf.entries if entry["item_id"] is not None]
    return tuple(
        ModuleEntryRecord(
            position,
            entry["item_id"],
            entry["learning_outcome_id"],
            entry["title"],
            entry["optional"],
            entry["hide"],
        )
        for position, entry in enumerate(entries)
    )


def _lens_record(
    catalog: Catalog,
    lens: LensDoc,
    compiled: CompiledLens,
    path: str,
    *,
    lens_id: uuid.UUID | None = None,
    replaces: list[uuid.UUID] | None = None,
) -> None:
    content_id = lens_id or lens.id
    assert content_id is not None
    title = lens.title or stem(path)
    record = ItemRecord(
        content_id,
        lens.kind,
        title,
        path,
        source_line=lens.line,
        body=compiled.body,
        estimated_seconds=compiled.estimated_seconds,
        replaces=tuple(replaces or ()),
    )
    _add(catalog, record)


def _add(catalog: Catalog, record: ItemRecord) -> None:
    existing = catalog.items.get(record.id)
    if existing is not None and existing != record:
        catalog.vault.reports[record.source_path].error(
            record.source_line,
            f"{record.content_type} {record.id} is defined twice ({existing.source_path}:{existing.source_line})",
        )
        return
    catalog.items[record.id] = record
