"""Authoring markup is removed before parsing, and every remaining line knows where it came from."""

from content_loader.parsing.markup import remove_authoring_markup
from content_loader.parsing.reader import read_source


def lines_with_numbers(text: str) -> list[tuple[int, str]]:
    clean = remove_authoring_markup(text)
    return [(clean.original_line(i), line) for i, line in enumerate(clean.text.split("\n"))]


def test_comments_inline_and_over_several_lines_are_removed():
    """`%% ... %%` disappears whether on one line or many; later lines keep their original numbers."""
    text = "a %% hidden %% b\n%% start\nstill hidden\nend %%\n# Heading\n"
    result = lines_with_numbers(text)
    assert result[0] == (1, "a  b")
    assert (5, "# Heading") in result
    assert "hidden" not in remove_authoring_markup(text).text


def test_criticmarkup_is_resolved_by_rejecting_all_changes():
    """Additions and comments go; deletions, the old side of substitutions and highlights stay."""
    text = "x {++added++} {--deleted--} {~~old~>new~~} {==marked==}{>>note<<} y"
    assert remove_authoring_markup(text).text == "x  deleted old marked y"


def test_criticmarkup_metadata_is_dropped():
    """Editors prefix changes with `{"author": ...}@@`; the kept text loses it."""
    text = '{--{"author":"A","timestamp":1}@@kept--}{++{"author":"A","timestamp":1}@@gone++}'
    assert remove_authoring_markup(text).text == "kept"


def test_multiline_addition_keeps_line_numbers_of_what_follows():
    """A rejected addition spanning lines does not shift the lines after it."""
    text = "one\n{++two\nthree\n++}four\nfive\n"
    assert lines_with_numbers(text)[:3] == [(1, "one"), (4, "four"), (5, "five")]


def test_unclosed_comment_is_reported():
    """An unclosed `%%` hides the rest of the file, with a warning at its line."""
    source = read_source("Lenses/x.md", "---\nid: x\n---\ntext\n%% oops\nmore\n")
    assert [(d.line, d.severity) for d in source.report.diagnostics] == [(5, "warning")]
    assert "never closed" in source.report.diagnostics[0].message


def test_crlf_files_parse_like_lf_files():
    """CRLF line endings are allowed everywhere, frontmatter included."""
    source = read_source("Lenses/x.md", "---\r\nid: abc\r\ntitle: T\r\n---\r\n#### Text\r\ncontent:: hi\r\n")
    assert source.frontmatter == {"id": "abc", "title": "T"}
    assert [(line.number, line.text) for line in source.body] == [(5, "#### Text"), (6, "content:: hi"), (7, "")]


def test_criticmarkup_inside_frontmatter_is_resolved_first():
    """Frontmatter with a pending edit is read as it was before the edit."""
    text = (
        '---\nid: x\ntitle: {--{"author":"A","timestamp":1}@@"Old"--}{++{"author":"A","timestamp":1}@@"New"++}\n---\n'
    )
    assert read_source("Lenses/x.md", text).frontmatter["title"] == "Old"
