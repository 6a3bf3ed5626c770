"""The validator's rules: each problem is reported at its file and line, with the severity the
format's authors expect and a suggestion; and what the format's authors accept loads without an error."""

import uuid

import pytest

from content_loader.parsing import build_catalog, read_vault
from content_loader.tests.vaults import INLINE_ID, LENS_A, TEST_ID, article, lens, module, outcome

WATCH = "https://youtu.be/abcdefghijk"
TIMES = '[{"text": "hi", "start": "0:00"}, {"text": "yo", "start": "0:50"}]'


def one_lens(body: str, frontmatter: str = "") -> dict[str, str]:
    return {"Lenses/L.md": f"---\nid: {LENS_A}\n{frontmatter}---\n{body}"}


def transcript(url: str = WATCH) -> str:
    return f"---\ntitle: V\nchannel: C\nurl: {url}\n---\nText.\n"


def timestamps(*entries: str) -> str:
    """A timestamps file with one entry a line, from line 2."""
    return "[\n" + "\n".join(entries) + "\n]"


def with_lens_a(files: dict[str, str]) -> dict[str, str]:
    return {**files, "Lenses/A.md": lens(LENS_A)}


def excerpting(anchor_lines: str, body: str) -> dict[str, str]:
    return {"articles/a.md": article(body), **one_lens(f"#### Article\nsource:: [[../articles/a]]\n{anchor_lines}")}


# (id, files, path, line, severity, words of the message, words of the suggestion)
RULES = [
    (
        "article-without-frontmatter",
        {"articles/a.md": "Just text.\n"},
        "articles/a.md",
        1,
        "error",
        "article has no frontmatter",
        "`published: YYYY-MM-DD`",
    ),
    (
        "article-field-missing",
        {"articles/a.md": "---\ntitle: T\nauthor: A\nsource_url: https://e.org\n---\nB\n"},
        "articles/a.md",
        1,
        "error",
        "missing required frontmatter field `published`",
        "write `published: ...`",
    ),
    (
        "article-field-blank",
        {"articles/a.md": article("B\n").replace("title: An article", "title: '  '")},
        "articles/a.md",
        2,
        "error",
        "`title` (it is blank)",
        "write `title: ...`",
    ),
    (
        "article-published-not-a-date",
        {"articles/a.md": article("B\n").replace("2024-01-02", "Jan 2024")},
        "articles/a.md",
        5,
        "error",
        "`published` 'Jan 2024' is not a date",
        "YYYY-MM-DD",
    ),
    (
        "article-embed-in-title",
        {"articles/a.md": article("B\n", title="'![[cover.png]] Title'")},
        "articles/a.md",
        2,
        "error",
        "article `title` holds a wikilink or an `![[embed]]`",
        "plain text",
    ),
    (
        "article-link-in-author",
        {"articles/a.md": article("B\n").replace("author: Someone", "author: '[[Ada]]'")},
        "articles/a.md",
        3,
        "error",
        "article `author` holds a wikilink",
        "plain text",
    ),
    (
        "slug-with-capitals-and-spaces",
        with_lens_a({"modules/m.md": module("# Lens:\nsource:: [[../Lenses/A]]\n", slug="Bad Slug")}),
        "modules/m.md",
        3,
        "error",
        "`slug` 'Bad Slug' may hold only lowercase letters",
        "write `bad-slug`",
    ),
    (
        "slug-alias-with-a-leading-hyphen",
        with_lens_a(
            {
                "modules/m.md": module("# Lens:\nsource:: [[../Lenses/A]]\n").replace(
                    "slug: intro", "slug: intro\nslug-aliases: [old-intro, -intro]"
                )
            }
        ),
        "modules/m.md",
        4,
        "error",
        "`slug-aliases` '-intro'",
        "write `intro`",
    ),
    (
        "required-title-only-whitespace",
        with_lens_a({"modules/m.md": module("# Lens:\nsource:: [[../Lenses/A]]\n", title="'   '")}),
        "modules/m.md",
        4,
        "error",
        "missing required frontmatter field `title` (it is blank)",
        "write `title: ...`",
    ),
    (
        "frontmatter-key-typo",
        one_lens("#### Text\ncontent:: x\n", "tilte: Hello\n"),
        "Lenses/L.md",
        3,
        "warning",
        "unknown frontmatter key `tilte:`",
        "did you mean `title:`?",
    ),
    (
        "timestamps-not-json",
        {
            "video_transcripts/v.md": transcript(),
            "video_transcripts/v.timestamps.json": timestamps(
                '{"text": "a", "start": "0:00"},', '{"text": "b" "start": "0:01"}'
            ),
        },
        "video_transcripts/v.timestamps.json",
        3,
        "error",
        "timestamps file is not valid JSON",
        "fix the JSON syntax",
    ),
    (
        "timestamps-empty",
        {"video_transcripts/v.md": transcript(), "video_transcripts/v.timestamps.json": "[]"},
        "video_transcripts/v.timestamps.json",
        1,
        "error",
        "timestamps file has no phrases",
        "export",
    ),
    (
        "timestamps-bad-start",
        {
            "video_transcripts/v.md": transcript(),
            "video_transcripts/v.timestamps.json": timestamps(
                '{"text": "a", "start": "0:00"},', '{"text": "b", "start": "soon"}'
            ),
        },
        "video_transcripts/v.timestamps.json",
        3,
        "error",
        "timestamps entry 1 needs `text` and a `start`",
        "",
    ),
    (
        "timestamps-going-back",
        {
            "video_transcripts/v.md": transcript(),
            "video_transcripts/v.timestamps.json": timestamps(
                '{"text": "a", "start": "0:05"},', '{"text": "b", "start": "0:01"}'
            ),
        },
        "video_transcripts/v.timestamps.json",
        3,
        "error",
        "starts at 0:01, before the entry above it",
        "time order",
    ),
    (
        "timestamps-without-transcript",
        {"video_transcripts/w.timestamps.json": TIMES},
        "video_transcripts/w.timestamps.json",
        1,
        "info",
        "has no transcript `.md` of the same name",
        "",
    ),
    (
        "directive-unclosed",
        {"articles/a.md": article("Intro.\n:::collapse\nHidden.\n")},
        "articles/a.md",
        8,
        "error",
        "`:::collapse` block is never closed",
        "end it with a line `:::`",
    ),
    (
        "directive-near-miss",
        {"articles/a.md": article("Intro.\n:::colapse\nHidden.\n:::\n")},
        "articles/a.md",
        8,
        "error",
        "unknown directive `:::colapse`",
        "did you mean `:::collapse`?",
    ),
    (
        "directive-other-dialect",
        {"articles/a.md": article("Intro.\n:::warning\nCareful.\n:::\n")},
        "articles/a.md",
        8,
        "error",
        "unknown directive `:::warning`",
        "directives here",
    ),
    (
        "directive-wrong-form",
        {"articles/a.md": article("Intro.\n:::footnote\nA note.\n:::\n")},
        "articles/a.md",
        8,
        "error",
        "`:::footnote` is not a form `footnote` has",
        ":footnote[...]",
    ),
    (
        "directive-empty-container",
        {"articles/a.md": article("Intro.\n:::note\n\n:::\n")},
        "articles/a.md",
        8,
        "warning",
        "`:::note` block is empty",
        "add its text",
    ),
    (
        "directive-attribute",
        {"articles/a.md": article("Intro.\n::note[Mind this.]{open}\n")},
        "articles/a.md",
        8,
        "warning",
        "takes no attributes; `{open}` is ignored",
        "remove it",
    ),
    (
        "directive-unclosed-text-form",
        {"articles/a.md": article("A claim :footnote[the source.\n")},
        "articles/a.md",
        7,
        "error",
        "`:footnote[` is never closed",
        "end it with `]`",
    ),
    (
        "empty-content",
        one_lens("#### Text\ncontent::\n"),
        "Lenses/L.md",
        5,
        "error",
        "`content::` of a Text segment is empty",
        "write its text",
    ),
    (
        "empty-text-segment",
        one_lens("#### Text\n\n#### Chat\ninstructions:: Talk.\n"),
        "Lenses/L.md",
        4,
        "error",
        "a Text segment is missing required field `content::`",
        "",
    ),
    (
        "empty-text-segment-of-an-inline-lens",
        {"modules/m.md": module(f"# Lens: In\nid:: {INLINE_ID}\n\n#### Text\ncontent::\n")},
        "modules/m.md",
        11,
        "error",
        "`content::` of a Text segment is empty",
        "write its text",
    ),
    (
        "empty-from",
        excerpting('from::\nto:: "end"\n', "Words to the end.\n"),
        "Lenses/L.md",
        6,
        "error",
        "`from::` is empty",
        "leave `from::` out",
    ),
    (
        "excerpt-selects-nothing",
        excerpting("", ""),
        "Lenses/L.md",
        4,
        "error",
        "the excerpt of articles/a.md selects nothing",
        "check that `from::` comes before `to::`",
    ),
    (
        "video-range-without-words",
        {
            "video_transcripts/v.md": transcript(),
            "video_transcripts/v.timestamps.json": TIMES,
            **one_lens("#### Video\nsource:: [[../video_transcripts/v]]\nfrom:: 0:10\nto:: 0:20\n"),
        },
        "Lenses/L.md",
        6,
        "error",
        "no transcript words between 10 s and 20 s",
        "check `from::` and `to::`",
    ),
    (
        "outcome-without-lens",
        {"Learning Outcomes/o.md": outcome(f"## Test:\nid:: {TEST_ID}\n\n#### Question\ncontent:: Why?\n")},
        "Learning Outcomes/o.md",
        1,
        "warning",
        "learning outcome has no lens",
        "add a `## Lens:`",
    ),
    (
        "empty-trailing-submodule",
        with_lens_a(
            {"modules/m.md": module("# Submodule: One\n\n# Lens:\nsource:: [[../Lenses/A]]\n\n# Submodule: Two\n")}
        ),
        "modules/m.md",
        12,
        "warning",
        "submodule `Two` has no lenses",
        "add lenses below it",
    ),
    (
        "nested-submodule",
        with_lens_a(
            {"modules/m.md": module("# Submodule: One\n\n## Submodule: Inner\n\n# Lens:\nsource:: [[../Lenses/A]]\n")}
        ),
        "modules/m.md",
        9,
        "error",
        "`## Submodule: Inner` is inside `# Submodule: One` (line 7); submodules do not nest",
        "# Submodule:",
    ),
    (
        "anchor-found-twice",
        excerpting('from:: "Hello there"\n', "Hello there. Then hello there again.\n"),
        "Lenses/L.md",
        6,
        "warning",
        "`from::` text 'Hello there' is found more than once",
        "quote a few more words",
    ),
    (
        "misspelt-field-is-a-warning",
        one_lens("#### Text\ncontent:: x\ncontnet:: y\n"),
        "Lenses/L.md",
        6,
        "warning",
        "unknown field `contnet::` in a Text segment is ignored",
        "did you mean `content::`?",
    ),
    (
        "non-boolean-flag-is-a-warning",
        one_lens("#### Text\ncontent:: x\noptional:: yes\n"),
        "Lenses/L.md",
        6,
        "warning",
        "`optional::` must be `true` or `false`, not 'yes'; it is read as `false`",
        "optional:: true",
    ),
    (
        "from-on-the-wrong-segment-is-a-warning",
        one_lens("#### Text\ncontent:: x\nfrom:: here\n"),
        "Lenses/L.md",
        6,
        "warning",
        "field `from::` does not belong in a Text segment",
        "fields here",
    ),
    (
        "title-on-a-segment-heading-is-an-error",
        one_lens("#### Text: Welcome\ncontent:: x\n"),
        "Lenses/L.md",
        4,
        "error",
        "segment heading `#### Text: Welcome` has a title",
        "write `#### Text`",
    ),
    (
        "long-tldr-is-an-error",
        one_lens("#### Text\ncontent:: x\n", "tldr: " + "word " * 81 + "\n"),
        "Lenses/L.md",
        3,
        "error",
        "`tldr` has 81 words",
        "shorten it",
    ),
    (
        "text-before-the-first-section-is-an-error",
        with_lens_a({"modules/m.md": module("An introduction.\n\n# Lens:\nsource:: [[../Lenses/A]]\n")}),
        "modules/m.md",
        7,
        "error",
        "text before the first section of a module is not shown",
        "put it in a section",
    ),
    (
        "link-to-an-article-no-lens-excerpts",
        {"articles/a.md": article("Body.\n"), **one_lens("#### Text\ncontent:: See [[../articles/a]].\n")},
        "Lenses/L.md",
        5,
        "warning",
        "points at articles/a.md, which no lens excerpts",
        "link to a lens that excerpts it",
    ),
    (
        "test-without-id-is-a-warning",
        with_lens_a(
            {
                "Learning Outcomes/o.md": outcome(
                    "## Test:\n\n#### Question\ncontent:: Why?\n\n## Lens:\nsource:: [[../Lenses/A]]\n"
                )
            }
        ),
        "Learning Outcomes/o.md",
        6,
        "warning",
        "`## Test:` has no `id::`: it is shown",
        "--write-ids",
    ),
    (
        "question-max-time-malformed",
        one_lens("#### Question\ncontent:: Why?\nmax-time:: soon\n"),
        "Lenses/L.md",
        6,
        "error",
        "`max-time::` must be a time more than zero, not 'soon'",
        "`max-time:: 1:30`",
    ),
    (
        "question-max-time-seconds-out-of-range",
        one_lens("#### Question\ncontent:: Why?\nmax-time:: 1:75\n"),
        "Lenses/L.md",
        6,
        "error",
        "not '1:75'",
        "minutes:seconds",
    ),
]


@pytest.mark.parametrize(
    ("files", "path", "line", "severity", "message", "suggestion"),
    [case[1:] for case in RULES],
    ids=[case[0] for case in RULES],
)
def test_each_rule_reports_its_problem_at_the_file_and_line(
    make_vault, files, path, line, severity, message, suggestion
):
    """Each rule of the validator reports its problem at the right file and line, with the severity the format's
    authors expect and a suggestion an author can act on."""
    catalog = build_catalog(read_vault(make_vault(files)))
    found = [d for d in catalog.diagnostics if d.path == path and message in d.message]
    assert found, [str(d) for d in catalog.diagnostics]
    assert [(d.line, str(d.severity)) for d in found] == [(line, severity)]
    assert suggestion in found[0].suggestion


ACCEPTED = [
    (
        "transcript-url-not-youtube",
        {
            "video_transcripts/v.md": transcript("https://vimeo.com/123"),
            "video_transcripts/v.timestamps.json": TIMES,
            **one_lens("#### Video\nsource:: [[../video_transcripts/v]]\n"),
        },
    ),
    (
        "short-video-id",
        {
            "video_transcripts/v.md": transcript("https://youtu.be/abc123"),
            "video_transcripts/v.timestamps.json": TIMES,
            **one_lens("#### Video\nsource:: [[../video_transcripts/v]]\n"),
        },
    ),
    ("contentId-as-the-old-name-of-id", {"Lenses/L.md": f"---\ncontentId: {LENS_A}\n---\n#### Text\ncontent:: x\n"}),
    ("excerpt-anchors-in-any-case", excerpting('from:: "hello THERE"\n', "Intro. Hello there, friend.\n")),
    (
        "text-segments-inside-a-test",
        with_lens_a(
            {
                "Learning Outcomes/o.md": outcome(
                    f"## Test:\nid:: {TEST_ID}\n\n#### Text\ncontent:: First, a word.\n\n"
                    "#### Question\ncontent:: Why?\n\n## Lens:\nsource:: [[../Lenses/A]]\n"
                )
            }
        ),
    ),
    (
        "test-without-id",
        with_lens_a(
            {
                "Learning Outcomes/o.md": outcome(
                    "## Test:\n\n#### Question\ncontent:: Why?\n\n## Lens:\nsource:: [[../Lenses/A]]\n"
                )
            }
        ),
    ),
    ("published-as-a-year", {"articles/a.md": article("B\n").replace("2024-01-02", "1964")}),
]


@pytest.mark.parametrize("files", [case[1] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED])
def test_what_the_formats_authors_accept_loads_without_an_error(make_vault, files):
    """Inputs the format's own processor accepts load, every item of them, with no error."""
    catalog = build_catalog(read_vault(make_vault(files)))
    assert [str(d) for d in catalog.diagnostics if d.severity == "error"] == []
    assert catalog.held_back == set()
    lens_files = [path for path in files if path.startswith(("Lenses/", "Learning Outcomes/"))]
    assert {record.source_path for record in catalog.items.values()} == set(lens_files)


def test_a_transcript_that_is_not_on_youtube_is_shown_without_an_embed(make_vault):
    """A Video segment of a non-YouTube transcript keeps its transcript text and has no YouTube id to embed."""
    files = ACCEPTED[0][1]
    [record] = build_catalog(read_vault(make_vault(files))).items.values()
    [segment] = record.body["segments"]
    assert (segment["video"]["youtube_id"], segment["video"]["url"]) == ("", "https://vimeo.com/123")
    assert segment["transcript"] == "hi yo"


def test_a_test_without_id_gets_a_derived_identity_and_its_text_segments(make_vault):
    """A `## Test:` without `id::` is stored under an identity derived from its outcome (marked derived), with
    its Text segments in order among its questions."""
    files = with_lens_a(
        {
            "Learning Outcomes/o.md": outcome(
                "## Test:\n\n#### Text\ncontent:: First, a word.\n\n#### Question\ncontent:: Why?\n\n"
                "## Lens:\nsource:: [[../Lenses/A]]\n"
            )
        }
    )
    catalog = build_catalog(read_vault(make_vault(files)))
    [test] = [record for record in catalog.items.values() if record.content_type == "test"]
    assert test.body["derived_id"] is True
    assert [segment["type"] for segment in test.body["segments"]] == ["text", "question"]


@pytest.mark.parametrize(("value", "seconds"), [("5", 300), ("0:03", 3), ("1:30", 90), (" 12 ", 720)])
def test_max_time_is_parsed_to_seconds(make_vault, value, seconds):
    """`max-time::` in minutes or minutes:seconds reaches the question as `max_time_seconds`, with no error."""
    catalog = build_catalog(read_vault(make_vault(one_lens(f"#### Question\ncontent:: Why?\nmax-time:: {value}\n"))))
    assert not [d for d in catalog.diagnostics if "max-time" in d.message]
    (question,) = catalog.items[uuid.UUID(LENS_A)].body["segments"]
    assert question["max_time_seconds"] == seconds
