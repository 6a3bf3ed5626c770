"""Reading a whole vault: every file parsed by its folder, then every link between files checked.

Files are classified by their top folder (`courses/`, `modules/`, `Learning Outcomes/`, `Lenses/`,
`articles/`, `video_transcripts/`). Files elsewhere are noted (info) and left alone. A file whose real
path is outside the vault (a symbolic link to `/etc/passwd`, to another checkout) is reported and never
read or written; folders that are symbolic links are not entered at all. After parsing, links
are resolved relative to their file and checked: the target must exist, be of the right kind, be loaded
(not `validator-ignore`), and published content must not point at a draft. UUIDs must be unique across
the vault; a duplicate blocks the whole sync.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cache import VaultCache, content_hash
from .diagnostics import Diagnostic, FileReport
from .documents import (
    ArticleDoc,
    CourseDoc,
    Document,
    LensFileDoc,
    ModuleDoc,
    OutcomeDoc,
    Segment,
    TranscriptDoc,
    lenses_of,
)
from .layout import parse_course, parse_lens, parse_module, parse_outcome
from .media import check_timestamps, parse_article, parse_transcript
from .wikilinks import Link, VaultIndex

FOLDERS = {
    "courses": "course",
    "modules": "module",
    "learning outcomes": "outcome",
    "lenses": "lens",
    "articles": "article",
    "video_transcripts": "transcript",
}
KIND_NAMES = {
    "course": "a course (`courses/`)",
    "module": "a module (`modules/`)",
    "outcome": "a learning outcome (`Learning Outcomes/`)",
    "lens": "a lens (`Lenses/`)",
    "article": "an article (`articles/`)",
    "transcript": "a video transcript (`video_transcripts/`)",
}
TIMESTAMPS = ".timestamps.json"
ProgressCallback = Callable[[int, int], None]


@dataclass
class Vault:
    root: Path
    index: VaultIndex
    documents: dict[str, Document] = field(default_factory=dict)  # by vault-relative path
    kinds: dict[str, str] = field(default_factory=dict)  # path -> course, module, outcome, ...
    reports: dict[str, FileReport] = field(default_factory=dict)  # every file, including skipped ones
    hashes: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 of the bytes read
    excerpted: set[str] = field(default_factory=set)  # articles and transcripts some lens excerpts
    # article or transcript path -> UUID of the first published lens (by file path) that excerpts it
    excerpted_by: dict[str, object] = field(default_factory=dict)
    cache: VaultCache | None = None
    duplicate_ids: bool = False

    def of_kind(self, kind: str) -> Iterator[tuple[str, Document]]:
        for path, doc in self.documents.items():
            if self.kinds[path] == kind:
                yield path, doc

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for report in self.reports.values() for d in report.diagnostics]

    def read_text(self, path: str) -> str:
        """A file's text; OutsideVault for a file whose real path is outside the vault."""
        if not inside_vault(self.root, path):
            raise OutsideVault(OUTSIDE_MESSAGE)
        return (self.root / path).read_text(encoding="utf-8")


class OutsideVault(OSError):
    """A vault file that is a symbolic link to a file outside the vault: never read, never written."""


OUTSIDE_MESSAGE = "is a symbolic link to a file outside the vault; not read (only files inside the vault are synced)"


def inside_vault(root: Path, path: str) -> bool:
    """Whether the vault file's real path, symbolic links followed, is inside the vault's real path.

    The one rule for every reader and writer of vault files (`read_vault`, `--write-ids`, a git checkout).
    """
    parts = path.split("/")
    if "" not in parts and "." not in parts and ".." not in parts:
        # Fast path (most files): no component below the root is a symbolic link, so the file is inside.
        current = os.fspath(root)
        for part in parts:
            current = os.path.join(current, part)
            if os.path.islink(current):
                break
        else:
            return True
    try:
        return (root / path).resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop, or a path that cannot be resolved
        return False


def folder_kind(path: str) -> str | None:
    top = path.split("/", 1)[0].lower()
    return FOLDERS.get(top) if "/" in path else None


def list_files(root: Path) -> list[str]:
    """Vault-relative paths of all files, hidden folders (`.obsidian`, `.git`) left out."""
    paths = []
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        relative = Path(directory).relative_to(root).as_posix()
        for name in files:
            if not name.startswith("."):
                paths.append(name if relative == "." else f"{relative}/{name}")
    return sorted(paths)


def read_vault(root: Path | str, *, progress: ProgressCallback | None = None, cache: VaultCache | None = None) -> Vault:
    """Parse every file of the vault at `root` and check the links between them.

    With a `cache`, a file whose bytes are unchanged since the cache's last run is not parsed again.
    """
    root = Path(root)
    paths = list_files(root)
    vault = Vault(root, VaultIndex(paths), cache=cache)
    path_set = set(paths)
    for done, path in enumerate(paths, start=1):
        if progress:
            progress(done, len(paths))
        if not inside_vault(root, path):
            report = FileReport(path)
            report.error(1, OUTSIDE_MESSAGE, "copy the file into the vault, or remove the link")
            vault.reports[path] = report
            continue
        kind = folder_kind(path)
        timestamps = path.endswith(TIMESTAMPS) and kind == "transcript"
        if timestamps and path.removesuffix(TIMESTAMPS) + ".md" not in path_set:
            _note(vault, path, "timestamps file has no transcript `.md` of the same name; ignored")
            continue
        if not timestamps and (kind is None or not path.endswith(".md")):
            where = "not in a content folder" if kind is None else "not a Markdown file"
            _note(vault, path, f"{where}; ignored")
            continue
        try:
            data = (root / path).read_bytes()
            digest = content_hash(data + path_set_marker(kind, path, path_set))
            parsed = cache.file(path, digest) if cache is not None else None
            if parsed is None:
                assert kind is not None  # files outside the content folders were skipped above
                parsed = _parse(kind, path, data.decode("utf-8"), path_set)
                if cache is not None:
                    cache.put_file(path, digest, parsed)
        except (OSError, UnicodeDecodeError) as exc:
            report = FileReport(path)
            report.error(1, f"cannot read file: {exc}")
            vault.reports[path] = report
            continue
        vault.hashes[path] = digest
        if timestamps:
            assert isinstance(parsed, FileReport)  # a timestamps file is only checked
            vault.reports[path] = parsed
            continue
        assert isinstance(parsed, Document) and kind is not None
        vault.documents[path] = parsed
        vault.kinds[path] = kind
        vault.reports[path] = parsed.report
    link_vault(vault)
    return vault


def path_set_marker(kind: str | None, path: str, paths: set[str]) -> bytes:
    """What a file's parse depends on besides its bytes: a transcript, whether its timestamps file exists."""
    if kind == "transcript" and path.endswith(".md"):
        return b"\0timestamps" if path.removesuffix(".md") + TIMESTAMPS in paths else b"\0no timestamps"
    return b""


def _note(vault: Vault, path: str, message: str) -> None:
    report = FileReport(path)
    report.info(1, message)
    vault.reports[path] = report


def _parse(kind: str, path: str, text: str, paths: set[str]) -> Document | FileReport:
    if path.endswith(TIMESTAMPS):
        report = FileReport(path)
        check_timestamps(text, report)
        return report
    if kind == "course":
        return parse_course(text, path)
    if kind == "module":
        return parse_module(text, path)
    if kind == "outcome":
        return parse_outcome(text, path)
    if kind == "lens":
        return parse_lens(text, path)
    if kind == "article":
        return parse_article(text, path)
    timestamps = path.removesuffix(".md") + TIMESTAMPS
    return parse_transcript(text, path, timestamps if timestamps in paths else "")


# -- links -----------------------------------------------------------------------------------------


def link_vault(vault: Vault) -> None:
    """Resolve every link, check kinds, ignored targets and drafts; then check UUIDs are unique."""
    for doc in vault.documents.values():
        if doc.ignored:
            continue
        if isinstance(doc, CourseDoc):
            for step in doc.steps:
                if step.link is not None:
                    _resolve(vault, doc, step.link, "module")
        elif isinstance(doc, ModuleDoc | OutcomeDoc):
            for step in doc.steps:
                if step.link is not None:
                    _resolve(vault, doc, step.link, "outcome" if step.kind == "lo" else "lens")
                if step.lens is not None:
                    _link_segments(vault, doc, step.lens.segments)
        elif isinstance(doc, LensFileDoc) and doc.lens is not None:
            _link_segments(vault, doc, doc.lens.segments)
    _check_unique_ids(vault)
    _forget_unused_articles(vault)


def _forget_unused_articles(vault: Vault) -> None:
    """Only excerpted articles need their text: letting go of the rest keeps memory to what is used."""
    vault.excerpted = {
        segment.source.path
        for doc in vault.documents.values()
        if not doc.ignored
        for lens in lenses_of(doc)
        for segment in lens.segments
        if segment.source is not None and segment.source.path
    }
    vault.excerpted_by = {}
    for doc_path in sorted(vault.documents):
        doc = vault.documents[doc_path]
        if doc.ignored or doc.draft:
            continue
        for lens in lenses_of(doc):
            if lens.kind != "lens" or lens.id is None or lens.derived_id:
                continue
            for segment in lens.segments:
                if segment.source is not None and segment.source.path:
                    vault.excerpted_by.setdefault(segment.source.path, lens.id)
    for path, doc in vault.documents.items():
        if isinstance(doc, ArticleDoc) and path not in vault.excerpted:
            doc.body = ""


def _link_segments(vault: Vault, doc: Document, segments: list[Segment]) -> None:
    resolved: dict[int, str | None] = {}  # the same inherited Link object is resolved once
    for segment in segments:
        if segment.source is None:
            continue
        if id(segment.source) not in resolved:
            kind = "article" if segment.kind == "article" else "transcript"
            target = _resolve(vault, doc, segment.source, kind)
            resolved[id(segment.source)] = target.path if target else None


def _resolve(vault: Vault, doc: Document, link: Link, kind: str) -> Document | None:
    """The document a link points at (setting `link.path`), or None after reporting why not."""
    resolution = vault.index.resolve(doc.path, link.target)
    if resolution.path is None:
        doc.report.error(link.line, f"reference {resolution.problem}", resolution.suggestion)
        return None
    target = vault.documents.get(resolution.path)
    if target is None or vault.kinds.get(resolution.path) != kind:
        doc.report.error(
            link.line,
            f"`[[{link.target}]]` points at {resolution.path}, which is not {KIND_NAMES[kind]}",
        )
        return None
    if target.ignored:
        doc.report.error(
            link.line,
            f"`[[{link.target}]]` points at {resolution.path}, which is tagged `validator-ignore` and not loaded",
        )
        return None
    if target.draft and not doc.draft:
        doc.report.error(
            link.line,
            f"published content references a draft: {resolution.path} is tagged work-in-progress",
            "publish it (remove the `wip`/`work-in-progress` tag) or tag this file as a draft too",
        )
    link.path = resolution.path
    return target


def mark_draft_findings(vault: Vault) -> None:
    """Problems of a draft keep their severity and are marked as draft findings (they block nothing published)."""
    for path, doc in vault.documents.items():
        if doc.draft and not doc.ignored:
            report = vault.reports[path]
            report.diagnostics = [replace(d, draft=True) for d in report.diagnostics]


def defined_ids(doc: Document) -> Iterator[tuple[uuid.UUID, int, str]]:
    """Every UUID a file defines, with its line and what it identifies."""
    if isinstance(doc, CourseDoc | ModuleDoc | OutcomeDoc) and doc.id is not None:
        yield doc.id, 1, type(doc).__name__.removesuffix("Doc").lower().replace("outcome", "learning outcome")
    if isinstance(doc, ModuleDoc | OutcomeDoc):
        for step in doc.steps:
            if step.kind == "submodule" and step.id is not None:
                yield step.id, step.line, "submodule"
    for lens in lenses_of(doc):
        if lens.id is not None:
            yield lens.id, lens.line, lens.kind
        for segment in lens.segments:
            if segment.kind == "roleplay" and segment.get("id"):
                try:
                    roleplay_id = uuid.UUID(segment.get("id").strip())
                except ValueError:
                    continue  # reported by the segment parser
                yield roleplay_id, segment.fields.line("id"), "roleplay"


def _check_unique_ids(vault: Vault) -> None:
    places: dict[uuid.UUID, list[tuple[str, int, str]]] = defaultdict(list)
    for path, doc in vault.documents.items():
        if not doc.ignored:
            for content_id, line, what in defined_ids(doc):
                places[content_id].append((path, line, what))
    for content_id, found in places.items():
        if len(found) < 2:
            continue
        vault.duplicate_ids = True
        for path, line, what in found:
            others = ", ".join(f"{p}:{n}" for p, n, _ in found if (p, n) != (path, line))
            vault.reports[path].error(
                line,
                f"duplicate UUID {content_id} ({what}) is also used at {others}",
                "give one of them a fresh UUID; no changes are synced until this is fixed",
            )
    claimed: dict[uuid.UUID, str] = {}
    for path, doc in vault.documents.items():
        if doc.ignored:
            continue
        for old in getattr(doc, "replaces", []):
            if old in places:
                where = ", ".join(f"{p}:{n}" for p, n, _ in places[old])
                vault.reports[path].error(1, f"`replaces:` lists {old}, which is still in use at {where}")
            elif old in claimed:
                vault.reports[path].error(1, f"`replaces:` lists {old}, which {claimed[old]} replaces already")
            claimed.setdefault(old, path)


__all__ = ["ArticleDoc", "TranscriptDoc", "Vault", "read_vault"]
