"""Local git repositories for the tests: a bare "origin" (`git init --bare` in a temp folder) and a work
tree that authors commit in and push from, holding a copy of the demo vault (content/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLEEP_LENS = "Lenses/Sleep and memory.md"
SLEEP_LENS_ID = "10e17a33-9405-45aa-8a7a-c27c664ea08f"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.org",
    "GIT_COMMITTER_NAME": "Ada Author",
    "GIT_COMMITTER_EMAIL": "ada@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


class ContentRepo:
    """`origin` is the bare repository; `work` an author's clone with the demo vault on branch main."""

    def __init__(self, folder: Path, vault: Path = ROOT / "content") -> None:
        self.origin = folder / "origin.git"
        self.work = folder / "work"
        folder.mkdir(parents=True, exist_ok=True)
        git(folder, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        shutil.copytree(vault, self.work, ignore=shutil.ignore_patterns(".git"))
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "remote", "add", "origin", str(self.origin))
        self.commit("Add the demo course")

    @property
    def url(self) -> str:
        return f"file://{self.origin}"

    def commit(self, message: str, files: dict[str, str] | None = None, *, branch: str = "main") -> str:
        """Write `files` (vault-relative path -> text), commit them on `branch`, push; returns the SHA."""
        if git(self.work, "branch", "--show-current") != branch:
            git(self.work, "checkout", "--quiet", "-B", branch)
        for path, text in (files or {}).items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.work, "push", "--quiet", "origin", branch)
        return git(self.work, "rev-parse", "HEAD")

    def retitle_sleep_lens(self, title: str, message: str = "Retitle the sleep lens") -> str:
        text = re.sub(r"(?m)^title: .*$", f"title: {title}", (self.work / SLEEP_LENS).read_text(), count=1)
        return self.commit(message, {SLEEP_LENS: text})
