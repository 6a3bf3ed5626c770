"""The pure half of the loader: vault files in, dataclasses and diagnostics out (no database).

Steps, one module each: `reader` (a file's text, frontmatter and numbered lines; `markup` removes
comments and CriticMarkup first), `headings` and `fields` (the `key::` grammar), `layout` and `segments`
(the structure of courses, modules, learning outcomes and lenses, in both layouts), `vault` (every file,
and the links between them), `payloads` with `excerpts`, `media` and `rendering` (render-ready lens
bodies), and `catalog` (what loads, as registry records with checksums).
"""

from .catalog import Catalog, CourseEntryRecord, ItemRecord, ModuleEntryRecord, build_catalog
from .diagnostics import Diagnostic, FileReport, Severity
from .layout import parse_course, parse_lens, parse_module, parse_outcome
from .vault import Vault, read_vault

__all__ = [
    "Catalog",
    "CourseEntryRecord",
    "Diagnostic",
    "FileReport",
    "ItemRecord",
    "ModuleEntryRecord",
    "Severity",
    "Vault",
    "build_catalog",
    "parse_course",
    "parse_lens",
    "parse_module",
    "parse_outcome",
    "read_vault",
]
