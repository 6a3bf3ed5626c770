"""From a parsed vault to the records the registry stores: items, their structure and their checksums.

Which files load: a file with errors is not loaded, and neither is a file that places (course → module,
module → lens or learning outcome, learning outcome → lens) or excerpts (lens → article or transcript) a
file that is not loaded; the registry keeps the last synced version of their items. `validator-ignore`
files are not loaded. Drafts (`wip`) load by the same rules, as drafts (`is_draft`): stored, never shown to
learners; published content that places one is an error, so it never points at a draft.

Structure: a course lists its leaf modules (a module without submodules, or each submodule) and its
meetings; a leaf module lists its lenses and tests, learning outcomes expanded in place (their lenses,
then their test). A lens is optional when the module or the outcome says so.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field, fields

from .cache import body_json
from .diagnostics import Diagnostic
from .documents import CourseDoc, Document, LensDoc, LensFileDoc, ModuleDoc, OutcomeDoc, lenses_of
from .layout import stem
from .payloads import CompiledLens, compile_lenses
from .rendering import render_markdown
from .structure import Leaf, course_id, layout_module, module_id, section_id, submodule_id
from .vault import Vault, defined_ids, mark_draft_findings


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
    body: dict | None = field(default_factory=dict)  # None: in the vault cache until written (`body_key`)
    body_key: tuple[str, int] | None = None  # a lens or test: (file, index of the lens in it)
    body_digest: str = ""  # SHA-256 of the body's canonical JSON ("" : work it out from `body`)
    estimated_seconds: int = 0
    replaces: tuple[uuid.UUID, ...] = ()
    slug_aliases: tuple[str, ...] = ()
    is_draft: bool = False
    course_entries: tuple[CourseEntryRecord, ...] = ()
    module_entries: tuple[ModuleEntryRecord, ...] = ()
    checksum: str = ""

    def compute_checksum(self) -> str:
        """SHA-256 of everything stored for this item (a changed excerpted article changes it too).

        The body enters through its digest, worked out once when the lens is compiled.
        """
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("checksum", "body", "body_key")}
        data["course_entries"] = [asdict(entry) for entry in self.course_entries]
        data["module_entries"] = [asdict(entry) for entry in self.module_entries]
        if not self.body_digest:
            data["body_digest"] = hashlib.sha256(body_json(self.body or {}).encode()).hexdigest()
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

    def load_bodies(self, records: list[ItemRecord]) -> None:
        """Fill in the bodies these records keep in the vault cache (before they are written)."""
        wanted = [record.body_key for record in records if record.body is None and record.body_key is not None]
        if not wanted:
            return
        assert self.vault.cache is not None
        bodies = self.vault.cache.bodies(wanted)
        for record in records:
            if record.body is None and record.body_key is not None:
                record.body = bodies[record.body_key]


def build_catalog(vault: Vault, *, workers: int | None = None) -> Catalog:
    """Compile every lens and test, lay out the structure, decide what loads, and make the records.

    Compiling (rendering Markdown, above all whole articles around excerpts) is most of the work; it runs
    in `workers` forked processes (default: one per CPU) when there is enough of it.
    """
    catalog = Catalog(vault)
    compiled = compile_lenses(vault, workers=workers)
    leaves = {
        path: layout_module(vault, doc)
        for path, doc in vault.of_kind("module")
        if isinstance(doc, ModuleDoc) and not doc.ignored  # every "module" document is a ModuleDoc
    }
    _check_slugs(vault, leaves)
    loadable: dict[str, bool] = {}
    for path in vault.documents:
        _is_loadable(vault, path, loadable, set())
    for path, ok in loadable.items():
        doc = vault.documents[path]
        if ok:
            catalog.loaded_paths.add(path)
        elif not doc.ignored:
            catalog.held_back.add(path)
            catalog.held_back_ids.update(content_id for content_id, _, _ in defined_ids(doc))
            doc.report.info(1, "not loaded: the registry keeps its last synced version")
    for path in sorted(catalog.loaded_paths):
        before = len(catalog.items)
        _records(catalog, vault.documents[path], compiled, leaves)
        if vault.documents[path].draft:
            for record in list(catalog.items.values())[before:]:  # the items this file defines
                record.is_draft = True
    mark_draft_findings(vault)
    for record in catalog.items.values():
        record.checksum = record.compute_checksum()
    return catalog


def _check_slugs(vault: Vault, leaves: dict[str, list[Leaf]]) -> None:
    """Active slugs are unique per type: a later file reusing one is an error naming the first.

    Drafts are stored too, so they take part; published files claim their slugs first.
    """
    seen: dict[tuple[str, str], str] = {}
    for path, doc in sorted(vault.documents.items(), key=lambda pair: pair[1].draft):
        if doc.ignored or not isinstance(doc, CourseDoc | ModuleDoc) or not doc.slug:
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
    for lens in lenses_of(doc):
        for segment in lens.segments:
            if segment.source is not None and segment.source.path is not None:
                found.append((segment.source.path, segment.source.line))
    return found


def _is_loadable(vault: Vault, path: str, memo: dict[str, bool], visiting: set[str]) -> bool:
    if path in memo:
        return memo[path]
    doc = vault.documents[path]
    if doc.ignored:
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
        # A published file placing a draft or an ignored file has said so already.
        if not target.ignored and (doc.draft or not target.draft) and dependency not in reported:
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
        entries: list[CourseEntryRecord] = []
        for step in doc.steps:
            if step.kind == "meeting":
                entries.append(CourseEntryRecord(len(entries), "meeting", None, step.title, False))
                continue
            assert step.link is not None and step.link.path is not None
            module = vault.documents[step.link.path]
            assert isinstance(module, ModuleDoc)
            parent = module_id(module)
            module_leaves = leaves[module.path]
            # The module's own title wins over the link's display name, which is only a fallback.
            label = "" if module.title else step.title
            for leaf in module_leaves:
                if leaf.step is None:
                    entries.append(CourseEntryRecord(len(entries), "module", parent, label, step.optional))
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


def _module_records(catalog: Catalog, doc: ModuleDoc, compiled: dict[int, CompiledLens], leaves: list[Leaf]) -> None:
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


def _module_entries(leaf: Leaf) -> tuple[ModuleEntryRecord, ...]:
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
        body_key=compiled.key,
        body_digest=compiled.digest,
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
