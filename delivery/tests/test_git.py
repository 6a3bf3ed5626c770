"""The git fetcher's rules, as plain functions: which URLs and refs it accepts, and what it never shows."""

import base64

import pytest

from delivery import git

REMOTE = git.Remote(url="https://ada:pa55word@git.example.org/course.git", token="glpat-SECRET123")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/course.git",
        "ssh://git@host/course.git",
        "git@github.com:org/course.git",
        "file:///srv/c",
    ],
)
def test_https_ssh_and_file_urls_are_accepted(url):
    """The transports the issue names (and ssh's scp-like form) pass validation."""
    git.validate_url(url)


@pytest.mark.parametrize(
    "url", ["ext::sh -c evil", "http://example.org/c.git", "-uevil", "fd::3", "/just/a/path", "ftp://x/y"]
)
def test_other_transports_are_refused(url):
    """ext:: (runs a command), plain http, option-like and bare paths are refused before git runs."""
    with pytest.raises(git.GitError, match="is not https://"):
        git.validate_url(url)


@pytest.mark.parametrize("ref", ["main", "release/2026", "v1.2", "0123456789abcdef0123456789abcdef01234567"])
def test_branch_tag_and_commit_names_are_accepted(ref):
    """Branches (with slashes), tags and commit ids are valid refs."""
    git.validate_ref(ref)


@pytest.mark.parametrize("ref", ["", "-v", "--upload-pack=x", "a b", "a..b", "x~1", "HEAD@{1}", "x.lock", "x\n"])
def test_refs_git_would_read_as_options_or_expressions_are_refused(ref):
    """A ref that is empty, starts with '-', or holds spaces, `..`, `~`, `@{` or control characters: refused."""
    with pytest.raises(git.GitError, match="not a valid"):
        git.validate_ref(ref)


def test_redact_removes_the_token_its_basic_form_and_url_passwords():
    """Git's messages pass through `redact`: no token, no Basic credentials, no user:password@ of a URL."""
    basic = base64.b64encode(b"x-access-token:glpat-SECRET123").decode()
    text = f"fatal: https://ada:pa55word@git.example.org/ said glpat-SECRET123 / Authorization: Basic {basic}"
    cleaned = git.redact(text, REMOTE)
    assert "glpat-SECRET123" not in cleaned and basic not in cleaned and "pa55word" not in cleaned
    assert "https://git.example.org/" in cleaned


def test_the_token_travels_in_git_s_environment_never_in_its_arguments():
    """The token becomes an Authorization header in GIT_CONFIG_* (not argv, not .git/config); prompts are off."""
    env = git._environment(REMOTE)
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert (
        env["GIT_CONFIG_VALUE_0"]
        == "Authorization: Basic " + base64.b64encode(b"x-access-token:glpat-SECRET123").decode()
    )
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:file"
    assert REMOTE.display_url() == "https://git.example.org/course.git"


def test_an_ssh_key_is_used_alone_and_without_prompts():
    """CONTENT_GIT_SSH_KEY: ssh uses that key only, in batch mode (a missing key fails instead of asking)."""
    env = git._environment(git.Remote(url="git@host:c.git", ssh_key="/etc/keys/deploy key"))
    assert env["GIT_SSH_COMMAND"].startswith("ssh -i '/etc/keys/deploy key' -o IdentitiesOnly=yes -o BatchMode=yes")
