"""The `key:: value` grammar."""

from content_loader.parsing.diagnostics import FileReport
from content_loader.parsing.fields import parse_fields
from content_loader.parsing.layout import parse_lens
from content_loader.parsing.reader import Line


def block(text: str, first: int = 1) -> list[Line]:
    return [Line(first + i, line) for i, line in enumerate(text.split("\n"))]


def test_multiline_value_runs_to_the_next_field():
    """A value continues over following lines until the next `key::` line."""
    report = FileReport("x.md")
    fields = parse_fields(block("content::\nfirst\n\nsecond\nfeedback:: true"), report)
    assert fields.get("content") == "first\n\nsecond"
    assert fields.get("feedback") == "true"
    assert report.consumed == {1, 5}


def test_key_given_twice_is_an_error_naming_the_first():
    """A key twice in one section is an error at the second, naming the line of the first."""
    report = FileReport("x.md")
    parse_fields(block("content:: a\ncontent:: b", first=10), report)
    assert [str(d) for d in report.diagnostics] == [
        "x.md:11: error: field `content::` is given twice in this section (first on line 10)"
    ]


def test_escaped_headings_are_unescaped():
    """`\\## Title` inside a value is text; the backslash goes."""
    fields = parse_fields(block("content::\nintro\n\\## Chapter 1\nbody"), FileReport("x.md"))
    assert fields.get("content") == "intro\n## Chapter 1\nbody"


def test_unescaped_heading_ends_the_field_with_a_warning():
    """A heading that is not a segment ends the value above it, with a warning and a suggestion."""
    doc = parse_lens("---\nid: 0afe7995-8350-4d4f-80e4-1421b48ab554\n---\n#### Text\ncontent::\nHello\n## Chapter\n")
    assert [str(d) for d in doc.report.diagnostics] == [
        "Lenses/lens.md:7: warning: heading `## Chapter` ends the field above it; it is not part of a lens "
        "(escape it as `\\## Chapter` if it belongs to the text)"
    ]
    assert doc.lens.segments[0].get("content") == "Hello"
