"""Fixtures of the loader's tests: small vaults written to `tmp_path`, and the real vault (read once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_loader.parsing import Catalog, build_catalog, read_vault
from devtools.corpus import real_vault


@pytest.fixture
def make_vault(tmp_path: Path):
    """Write `{relative path: text}` into a fresh vault folder and return its path."""

    def make(files: dict[str, str], root: Path | None = None) -> Path:
        root = root or tmp_path / "vault"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return make


@pytest.fixture(scope="session")
def real_vault_path() -> Path:
    """The real vault next to the project (`../shared/corpora/lens-edu-relay`, or LENS_VAULT)."""
    path = real_vault()
    if path is None:
        pytest.skip("the real vault is not here (../shared/corpora/lens-edu-relay; set LENS_VAULT)")
    return path


@pytest.fixture(scope="session")
def real_catalog(real_vault_path: Path) -> Catalog:
    """The real vault parsed and compiled once for the whole session."""
    return build_catalog(read_vault(real_vault_path))
