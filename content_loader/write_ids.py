"""`sync_content --write-ids`: give a fresh UUID to every item that lacks one, in its file.

Courses, modules, learning outcomes and lenses get `id: <uuid>` in their frontmatter; inline lenses,
single-file sections and tests get `id:: <uuid>` on the line after their heading. Only that one line of
each file is added (or an empty `id:` line filled in); every other byte stays as it was, line endings
included. Files tagged `validator-ignore`, and links to files outside the vault, are left alone.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from .parsing.documents import CourseDoc, Document, LensFileDoc, ModuleDoc, OutcomeDoc
from .parsing.layout import parse_course, parse_lens, parse_module, parse_outcome
from .parsing.vault import folder_kind, inside_vault, list_files
from .report import WrittenId

_PARSERS = {"course": parse_course, "module": parse_module, "outcome": parse_outcome, "lens": parse_lens}
_EMPTY_ID = re.compile(rb"^id:[ \t]*(\r?\n|\r)?$")
_FENCE = re.compile(rb"^-{3,}[ \t]*(\r?\n|\r)?$")


def write_missing_ids(root: Path, *, dry_run: bool = False) -> list[WrittenId]:
    """Write a UUID for each item without one; return what was (or, with `dry_run`, would be) written."""
    written: list[WrittenId] = []
    for path in list_files(root):
        kind = folder_kind(path)
        if kind not in _PARSERS or not path.endswith(".md") or not inside_vault(root, path):
            continue  # a file outside the vault is reported by read_vault, never written
        raw = (root / path).read_bytes()
        try:
            doc = _PARSERS[kind](raw.decode("utf-8"), path)
        except UnicodeDecodeError:
            continue
        if doc.ignored:
            continue
        edits = _missing(doc)
        if not edits:
            continue
        new_raw, done = _apply(raw, edits, path)
        written += done
        if not dry_run and new_raw != raw:
            (root / path).write_bytes(new_raw)
    return written


def _missing(doc: Document) -> list[tuple[int, str]]:
    """(line, what): line 0 for the frontmatter `id`, else the heading line after which `id::` goes.

    An `id` that is written but invalid is left for the author (the parser reports it).
    """
    edits: list[tuple[int, str]] = []
    if isinstance(doc, CourseDoc | ModuleDoc | OutcomeDoc):
        if doc.id is None and not doc.id_written:
            edits.append((0, {CourseDoc: "course", ModuleDoc: "module", OutcomeDoc: "learning outcome"}[type(doc)]))
    elif isinstance(doc, LensFileDoc) and doc.lens is not None and not doc.lens.id_written:
        edits.append((0, "lens"))
    if isinstance(doc, ModuleDoc | OutcomeDoc):
        for step in doc.steps:
            if step.lens is not None and not step.lens.id_written:
                edits.append((step.line, step.lens.kind))
    return edits


def _apply(raw: bytes, edits: list[tuple[int, str]], path: str) -> tuple[bytes, list[WrittenId]]:
    lines = raw.splitlines(keepends=True)
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    written: list[WrittenId] = []
    frontmatter: WrittenId | None = None
    for line, what in sorted(edits, reverse=True):  # bottom first, so earlier line numbers hold
        new_id = uuid.uuid4()
        if line == 0:
            before = len(lines)
            frontmatter = _frontmatter_id(lines, new_id, newline, path, what)
            written = [WrittenId(w.path, w.line + len(lines) - before, w.what, w.id) for w in written]
            continue
        heading = lines[line - 1]
        ending = heading[len(heading.rstrip(b"\r\n")) :]
        if not ending:  # the heading is the last line of a file without a final newline
            lines[line - 1] = heading + newline
        lines.insert(line, b"id:: " + str(new_id).encode() + ending)
        written = [WrittenId(w.path, w.line + 1, w.what, w.id) for w in written]
        written.append(WrittenId(path, line + 1, what, new_id))
    if frontmatter is not None:
        written.append(frontmatter)
    return b"".join(lines), sorted(written, key=lambda w: w.line)


def _frontmatter_id(lines: list[bytes], new_id: uuid.UUID, newline: bytes, path: str, what: str) -> WrittenId:
    value = b"id: " + str(new_id).encode()
    if lines and _FENCE.match(lines[0]):
        closing = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
        if closing is not None:
            for index in range(1, closing):
                match = _EMPTY_ID.match(lines[index])
                if match:  # `id:` with no value: fill it in
                    lines[index] = value + (match.group(1) or b"")
                    return WrittenId(path, index + 1, what, new_id)
        ending = lines[0][len(lines[0].rstrip(b"\r\n")) :] or newline
        lines.insert(1, value + ending)
        return WrittenId(path, 2, what, new_id)
    lines[0:0] = [b"---" + newline, value + newline, b"---" + newline]
    return WrittenId(path, 2, what, new_id)
