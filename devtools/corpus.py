"""Where the real course vault used as test data lives: never copied into the project.

The vault is all-rights-reserved material that sits next to the project, at `../shared/corpora/
lens-edu-relay` (from a git worktree the `shared` folder may be further up). `LENS_VAULT` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELATIVE = Path("shared") / "corpora" / "lens-edu-relay"


def real_vault() -> Path | None:
    """The real vault's folder, or None when it is not on this machine."""
    if os.environ.get("LENS_VAULT"):
        path = Path(os.environ["LENS_VAULT"])
        return path if path.is_dir() else None
    for parent in ROOT.parents:
        candidate = parent / RELATIVE
        if candidate.is_dir():
            return candidate
    return None
