"""Fetching one commit of the content repository into a cache folder, with `git` itself.

`git` (through subprocess) rather than a library: it is on every server already, speaks every transport
(https with a token, ssh with a key, `file://`), does shallow fetches well, and its errors are the ones
operators know. GitPython shells out to it anyway; dulwich re-implements the protocols.

The cache is one working tree (`settings.CONTENT_GIT_CACHE_DIR`), reused between runs: each fetch asks
for one commit (`--depth 1`), checks it out and removes everything else, so the tree is exactly that
commit. Symbolic links are checked out as plain files (`core.symlinks=false`): nothing in the checkout
resolves outside it. Callers serialise fetches (`delivery.services` holds the sync lock).

Credentials never reach the command line, the repository's config, logs or error messages: the token
goes in an `Authorization` header passed through git's environment (`GIT_CONFIG_*`), the SSH key through
`GIT_SSH_COMMAND`, and `redact()` scrubs both (and any `user:password@` in a URL) from git's output.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("https", "ssh", "file")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo.git
_BAD_REF = re.compile(r"(^-)|[\s\x00-\x1f\x7f~^:?*\[\\]|\.\.|@\{")


class GitError(Exception):
    """Fetching failed; the message says why, with no credential in it."""


class RefNotFound(GitError):
    """The repository has no such branch, tag or commit: retrying will not help."""


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    date: datetime
    message: str


@dataclass(frozen=True)
class Remote:
    url: str
    token: str = ""
    username: str = "x-access-token"
    ssh_key: str = ""

    def display_url(self) -> str:
        """The URL without any `user:password@` part: what reports and records show."""
        return strip_userinfo(self.url)


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return url


def validate_url(url: str) -> None:
    """Refuse what is not an https, ssh or file:// repository URL (ext::, plain http, options)."""
    if _SCP_LIKE.match(url):
        return
    scheme = urlsplit(url).scheme
    if scheme not in ALLOWED_SCHEMES or url.startswith("-"):
        raise GitError(f"repository URL {strip_userinfo(url)!r} is not https://, ssh:// or file:// (or user@host:path)")


def validate_ref(ref: str) -> None:
    """Refuse a ref that is no branch, tag or commit name (and could be read as an option)."""
    if not ref or _BAD_REF.search(ref) or ref.endswith((".", "/", ".lock")):
        raise GitError(f"{ref!r} is not a valid branch, tag or commit name")


def fetch(remote: Remote, ref: str, cache_dir: Path, *, timeout: float = 300) -> tuple[Path, Commit]:
    """Make `cache_dir` exactly the commit `ref` names in `remote`; returns the folder and the commit.

    Raises `RefNotFound` when there is no such ref and `GitError` for anything else (unreachable, refused
    credentials, a timeout), each with git's reason, redacted. A cache that git cannot use (a fetch killed
    half-way) is deleted and fetched afresh once.
    """
    validate_url(remote.url)
    validate_ref(ref)
    try:
        return _fetch(remote, ref, cache_dir, timeout)
    except RefNotFound:
        raise
    except GitError:
        if not (cache_dir / ".git").exists():
            raise
        shutil.rmtree(cache_dir, ignore_errors=True)
        return _fetch(remote, ref, cache_dir, timeout)


def _fetch(remote: Remote, ref: str, cache_dir: Path, timeout: float) -> tuple[Path, Commit]:
    if not (cache_dir / ".git").is_dir():
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        _git(remote, cache_dir, timeout, "init", "--quiet")
        _git(remote, cache_dir, timeout, "config", "core.symlinks", "false")
    for stale in ("index.lock", "shallow.lock"):  # left by a killed run; we hold the sync lock
        (cache_dir / ".git" / stale).unlink(missing_ok=True)
    # The URL is given on each fetch, never stored: changing CONTENT_GIT_URL needs no cache clean-up.
    result = _git(
        remote, cache_dir, timeout, "fetch", "--quiet", "--depth=1", "--no-tags", remote.url, ref, check=False
    )
    if result.returncode != 0:
        reason = redact(result.stderr.strip() or result.stdout.strip(), remote)
        if "couldn't find remote ref" in reason or "not our ref" in reason or "no such remote ref" in reason:
            raise RefNotFound(f"{remote.display_url()} has no branch, tag or commit {ref!r}")
        raise GitError(f"could not fetch {ref!r} from {remote.display_url()}: {reason or 'git failed'}")
    _git(remote, cache_dir, timeout, "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD")
    _git(remote, cache_dir, timeout, "clean", "--quiet", "-ffdx")
    fields = _git(remote, cache_dir, timeout, "log", "-1", "--format=%H%x00%an <%ae>%x00%aI%x00%B").stdout
    sha, author, date, message = fields.split("\x00", 3)
    return cache_dir, Commit(sha=sha, author=author, date=datetime.fromisoformat(date), message=message.strip())


def _environment(remote: Remote) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal nobody watches
        "GIT_ALLOW_PROTOCOL": "https:ssh:file",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",  # git's messages in English, for the checks above
    }
    config: list[tuple[str, str]] = []
    if remote.token:
        basic = base64.b64encode(f"{remote.username}:{remote.token}".encode()).decode()
        config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for n, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
    if remote.ssh_key:
        env["GIT_SSH_COMMAND"] = (
            f"ssh -i {shlex.quote(remote.ssh_key)} -o IdentitiesOnly=yes -o BatchMode=yes"
            " -o StrictHostKeyChecking=accept-new"
        )
    return env


def _git(remote: Remote, cwd: Path, timeout: float, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=_environment(remote), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {timeout:.0f} s ({remote.display_url()})") from None
    except FileNotFoundError as exc:
        raise GitError("the git program is not installed on this server") from exc
    if check and result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {redact(result.stderr.strip(), remote)}")
    return result


def redact(text: str, remote: Remote) -> str:
    """`text` without the token (plain or in its Basic form) or any `user:password@` of a URL."""
    secrets = [remote.token] if remote.token else []
    if remote.token:
        secrets.append(base64.b64encode(f"{remote.username}:{remote.token}".encode()).decode())
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return re.sub(r"(\w+://)[^/@\s]+@", r"\1", text)
