"""The pure half of the loader: vault files in, dataclasses and diagnostics out (no database).

One module per step:
- `markup` removes comments and CriticMarkup (keeping line numbers), `reader` reads one file's
  frontmatter and numbered lines, `headings` and `fields` give its headings and `key::` fields;
- `layout` parses each kind of file (course, module, learning outcome, lens), `sections` the sections
  of modules and outcomes (both layouts), `segments` lens segments, `media` articles and transcripts;
- `wikilinks` resolves links, `vault` reads a whole vault and checks the links between files;
- `excerpts`, `rendering` and `payloads` make the render-ready lens bodies of `content_loader.body`;
- `structure` lays out modules (submodules, outcomes expanded), `catalog` decides what loads and makes
  the checksummed registry records; `diagnostics` is what every step reports problems with.
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
