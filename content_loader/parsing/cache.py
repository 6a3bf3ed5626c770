"""What a resync can reuse: each file's parse and each lens's compiled body, keyed by content hash.

Authors sync after every edit, and almost every file is the same as last time. A file whose bytes hash the
same as at the last run is not parsed again: its parsed document (with the problems found in it) comes
from here. A lens whose file and everything its body was compiled from (the articles and transcripts it
excerpts, what each of its `[[links]]` resolves to) are unchanged is not compiled again. Every check that
spans files (links, UUIDs, slugs, what loads) still runs on every sync, so every problem is reported on
every run. Compiled bodies stay on disk until a sync writes them, which keeps a large vault's memory low.

The cache is one SQLite file per vault under `settings.CONTENT_CACHE_DIR` (a temporary file when there is
none). It holds only what this code computed from the vault's own files, so it is pickled; it is thrown
away whole when the parser's code changes, and a cache that cannot be read is ignored (a cold sync).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS lenses (
    path TEXT NOT NULL, idx INTEGER NOT NULL, file_hash TEXT NOT NULL, deps BLOB NOT NULL,
    digest TEXT NOT NULL, seconds INTEGER NOT NULL, diagnostics BLOB NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (path, idx)
);
"""


def code_version() -> str:
    """A hash of the parser's own source: results computed by other code are not reused."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_json(body: dict) -> str:
    """The canonical JSON of a lens body: what its digest is taken of and what the cache stores."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class CachedLens:
    file_hash: str
    deps: tuple  # what the body was compiled from, as `payloads.LensCompiler` records it
    digest: str  # SHA-256 of the body's canonical JSON
    seconds: int
    diagnostics: bytes  # pickled list of the problems compiling it reported


class VaultCache:
    """The cache of one vault (see the module docstring). Use it as a context manager."""

    def __init__(self, root: Path, directory: Path | None) -> None:
        self._temporary: Path | None = None
        if directory is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="content-cache-"))
            directory = self._temporary
        directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        self.path = directory / f"{name}.sqlite3"
        self._db = self._open()
        self._files: dict[str, str] = {}  # path -> hash (the pickled data is read when a file needs it)
        self._lenses: dict[tuple[str, int], CachedLens] = {}
        self._seen: set[str] = set()
        self._pending: list[tuple[str, list]] = []  # writes not yet flushed (see `_write`)
        try:
            self._files = dict(self._db.execute("SELECT path, hash FROM files"))
            self._lenses = {
                (path, idx): CachedLens(file_hash, pickle.loads(deps), digest, seconds, diagnostics)
                for path, idx, file_hash, deps, digest, seconds, diagnostics in self._db.execute(
                    "SELECT path, idx, file_hash, deps, digest, seconds, diagnostics FROM lenses"
                )
            }
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            self._reset()

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=120)
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:  # not a cache we can read: start again
            self.path.unlink(missing_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=120)
            db.executescript(_SCHEMA)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a lost cache only costs a cold sync
        version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if version is None or version[0] != code_version():
            db.executescript("DELETE FROM files; DELETE FROM lenses;")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", [code_version()])
        # Writes go in short transactions of a few hundred rows: every row is keyed by content hash, so each is
        # valid on its own, and no sync holds the file's write lock while it waits for another (two syncs of
        # one vault take turns in PostgreSQL).
        return db

    def _write(self, sql: str, params: list) -> None:
        self._pending.append((sql, params))
        if len(self._pending) >= 200:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        self._db.execute("BEGIN IMMEDIATE")
        for sql, params in self._pending:
            self._db.execute(sql, params)
        self._db.execute("COMMIT")
        self._pending.clear()

    def _reset(self) -> None:
        self._files, self._lenses = {}, {}
        self._db.executescript("DELETE FROM files; DELETE FROM lenses;")

    def __enter__(self) -> VaultCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close(save=exc[0] is None)

    # -- files -------------------------------------------------------------------------------------

    def file(self, path: str, digest: str):
        """The object stored for this file at this hash, or None."""
        self._seen.add(path)
        if self._files.get(path) != digest:
            return None
        try:
            row = self._db.execute("SELECT data FROM files WHERE path = ? AND hash = ?", [path, digest]).fetchone()
            return pickle.loads(row[0]) if row else None
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None

    def put_file(self, path: str, digest: str, value) -> None:
        self._seen.add(path)
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._files[path] = digest
        self._write("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", [path, digest, data])

    # -- lenses ------------------------------------------------------------------------------------

    def lens(self, path: str, index: int) -> CachedLens | None:
        return self._lenses.get((path, index))

    def put_lens(self, path: str, index: int, lens: CachedLens, body: str) -> None:
        self._lenses[(path, index)] = lens
        self._write(
            "INSERT OR REPLACE INTO lenses VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [path, index, lens.file_hash, pickle.dumps(lens.deps), lens.digest, lens.seconds, lens.diagnostics, body],
        )

    def bodies(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The stored bodies of these lenses, by (path, index), as their canonical JSON text (`body_json`):
        PostgreSQL reads that text itself, so a sync never decodes a body only to have it encoded again."""
        self._flush()
        found: dict[tuple[str, int], str] = {}
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            condition = " OR ".join(["(path = ? AND idx = ?)"] * len(chunk))
            params = [value for key in chunk for value in key]
            for path, idx, body in self._db.execute(f"SELECT path, idx, body FROM lenses WHERE {condition}", params):
                found[(path, idx)] = body
        return found

    # -- end ---------------------------------------------------------------------------------------

    def close(self, *, save: bool) -> None:
        """After a complete run (`save`), forget the files that are gone from the vault."""
        self._flush()
        if save:
            gone = [[path] for path in self._files if path not in self._seen]
            if gone:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM files WHERE path = ?", gone)
                self._db.executemany("DELETE FROM lenses WHERE path = ?", gone)
                self._db.execute("COMMIT")
        self._db.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)


__all__ = ["CachedLens", "VaultCache", "body_json", "code_version", "content_hash"]
