"""Excerpts are resolved when the vault is compiled: article anchors, video times, estimated time."""

import json
import uuid

import pytest

from content_loader.parsing import build_catalog, read_vault
from content_loader.parsing.excerpts import AnchorNotFound, find_anchor, locate_excerpt, unquote
from content_loader.tests.vaults import article

L1 = "11111111-1111-4111-8111-111111111111"
ARTICLE = """---
title: An article
author:
  - Ada
  - Bob
source_url: https://example.org/a
published: 2024-01-02
---
Intro paragraph that is skipped.

## The **real** start

It\u2019s \u201cquoted\u201d here, and a [linked phrase](https://example.org/x "Title") ends it.

Middle part.

> A quoted block that matters.

Closing words.
"""


def body_of(make_vault, files: dict[str, str], lens_id: str = L1) -> dict:
    catalog = build_catalog(read_vault(make_vault(files)))
    errors = [str(d) for d in catalog.diagnostics if d.severity == "error"]
    assert errors == []
    return catalog.items[uuid.UUID(lens_id)]


def article_lens(segments: str) -> dict[str, str]:
    return {"articles/a.md": ARTICLE, "Lenses/L.md": f"---\nid: {L1}\n---\n{segments}"}


def test_quotes_of_either_kind_match():
    """Straight quotes in an anchor match curly ones in the article, and the other way round."""
    body = "It\u2019s \u201cquoted\u201d here."
    assert find_anchor(body, 'It\'s "quoted"') is not None
    assert find_anchor('It\'s "quoted" here.', "It\u2019s \u201cquoted\u201d") is not None


def test_anchor_with_markdown_matches_the_source():
    """Anchors may contain Markdown as written in the article (`## The **real** start`)."""
    span = locate_excerpt(ARTICLE, "## The **real** start", "")
    assert ARTICLE[span.start :].startswith("## The **real** start")


def test_anchor_without_markdown_matches_text_with_markdown():
    """A plain-text anchor still finds text that has emphasis or a link in between."""
    assert find_anchor(ARTICLE, "The real start") is not None
    assert find_anchor(ARTICLE, "a linked phrase ends it") is not None


def test_missing_anchor_raises():
    """An anchor that is not there names which end failed."""
    with pytest.raises(AnchorNotFound) as raised:
        locate_excerpt(ARTICLE, "Intro", "nowhere to be found")
    assert raised.value.which == "to"


def test_unquote_strips_one_pair_of_quotes():
    """`"text"` and `“text”` lose their outer quotes; inner quotes stay."""
    assert unquote('"## Stage 4. "Is it"') == '## Stage 4. "Is it'
    assert unquote("“curly”") == "curly"
    assert unquote("bare words") == "bare words"


def test_excerpt_end_takes_in_the_link_target(make_vault):
    """An anchor ending at a link's text takes in the link, so the excerpt renders a link, not brackets."""
    lens = body_of(
        make_vault,
        article_lens('#### Article\nsource:: [[../articles/a]]\nfrom:: "It\'s"\nto:: "[linked phrase]"\n'),
    )
    [segment] = lens.body["segments"]
    assert '<a href="https://example.org/x"' in segment["excerpt_html"]
    assert "](" not in segment["excerpt_html"]


def test_skipped_text_is_kept_collapsed_before_and_after(make_vault):
    """Text before the first excerpt and after the last one is kept (for collapsed display), not dropped."""
    segments = (
        '#### Article\nsource:: [[../articles/a]]\nfrom:: "The real start"\nto:: "ends it."\n'
        "#### Text\ncontent:: Between.\n"
        '#### Article\nfrom:: "> A quoted block"\nto:: "matters."\n'
    )
    lens = body_of(make_vault, article_lens(segments))
    first, _text, second = lens.body["segments"]
    assert first["before_html"] == "<p>Intro paragraph that is skipped.</p>"
    assert first["excerpt_html"].startswith('<h2 id="s0-the-real-start">The <strong>real</strong> start</h2>')
    assert first["after_html"] == ""
    assert second["before_html"] == "<p>Middle part.</p>"
    assert second["excerpt_html"] == "<blockquote>\n<p>A quoted block that matters.</p>\n</blockquote>"
    assert second["after_html"] == "<p>Closing words.</p>"
    assert first["article"] == {
        "title": "An article",
        "authors": ["Ada", "Bob"],
        "source_url": "https://example.org/a",
        "published": "2024-01-02",
        "path": "articles/a.md",
    }
    assert [s["index"] for s in lens.body["segments"]] == [0, 1, 2]


def test_whole_article_when_no_anchors(make_vault):
    """Without `from::` and `to::` the excerpt is the whole article."""
    lens = body_of(make_vault, article_lens("#### Article\nsource:: [[../articles/a]]\n"))
    [segment] = lens.body["segments"]
    assert segment["before_html"] == "" and segment["after_html"] == ""
    assert segment["text"].startswith("Intro paragraph") and segment["text"].endswith("Closing words.")


def transcript_files(extra_segments: str = "") -> dict[str, str]:
    phrases = [{"text": f"Phrase {n}.", "start": f"{n // 60}:{n % 60:02d}.50"} for n in range(0, 4000, 10)]
    return {
        "video_transcripts/v.md": '---\ntitle: V\nchannel: C\nurl: "https://www.youtube.com/watch?v=aircAruvnKk"\n---\n',
        "video_transcripts/v.timestamps.json": json.dumps(phrases),
        "Lenses/L.md": f"---\nid: {L1}\n---\n#### Video\nsource:: [[../video_transcripts/v]]\n{extra_segments}",
    }


def test_video_clip_times_and_transcript(make_vault):
    """`from::`/`to::` as M:SS or H:MM:SS give the clip, its transcript text and the YouTube id."""
    lens = body_of(make_vault, transcript_files("from:: 0:20\nto:: 1:00:40\n"))
    [segment] = lens.body["segments"]
    assert (segment["start_s"], segment["end_s"]) == (20.0, 3640.0)
    assert segment["transcript"].startswith("Phrase 20. Phrase 30.")
    assert segment["transcript"].endswith("Phrase 3630.")
    assert segment["video"]["youtube_id"] == "aircAruvnKk"


def test_video_defaults_to_the_whole_transcript(make_vault):
    """Without times the clip runs from 0 to the end of the transcript."""
    lens = body_of(make_vault, transcript_files())
    [segment] = lens.body["segments"]
    assert segment["start_s"] == 0.0 and segment["end_s"] > 3990.5
    assert segment["transcript"].endswith("Phrase 3990.")


def test_bad_time_is_reported(make_vault):
    """A time that is not M:SS or H:MM:SS is an error at its line."""
    catalog = build_catalog(read_vault(make_vault(transcript_files("to:: soon\n"))))
    assert [str(d) for d in catalog.diagnostics if d.severity == "error"] == [
        "Lenses/L.md:6: error: `to::` must be a time like 1:23 or 1:02:03, not 'soon'"
    ]


def test_estimated_seconds(make_vault):
    """(words of text and question content) / 200 per minute + video length, times 1.5."""
    files = transcript_files("from:: 0:00\nto:: 1:00\n#### Text\ncontent:: " + "word " * 100 + "\n")
    files["Lenses/L.md"] += "#### Question\ncontent:: " + "ask " * 100 + "\n"
    lens = body_of(make_vault, files)
    assert lens.estimated_seconds == round((200 / 200 * 60 + 60) * 1.5)


def test_compiling_in_workers_reports_a_transcript_problem_once(make_vault):
    """Lenses compiled by several forked workers that share a transcript report its problems once, as
    compiling them in this process does."""
    files = transcript_files()
    phrases = json.loads(files["video_transcripts/v.timestamps.json"])
    phrases[3]["start"] = "soon"
    files["video_transcripts/v.timestamps.json"] = json.dumps(phrases)
    for number in range(240):
        files[f"Lenses/L{number}.md"] = (
            f"---\nid: {uuid.uuid4()}\n---\n#### Video\nsource:: [[../video_transcripts/v]]\n"
        )
    root = make_vault(files)

    def problems(workers: int) -> list[str]:
        return sorted(str(d) for d in build_catalog(read_vault(root), workers=workers).diagnostics)

    alone = problems(1)
    assert any("v.timestamps.json" in problem for problem in alone), alone
    assert problems(2) == alone


def test_an_excerpt_keeps_the_footnotes_it_cites(make_vault):
    """A footnote cited inside the excerpt but defined after `to::` is rendered with the excerpt."""
    notes = article("Before.\n\nThe claim[^1] stands.\n\nAfter.\n\n[^1]: The source of it.\n", title="Notes")
    files = {
        "articles/n.md": notes,
        "Lenses/L.md": f"---\nid: {L1}\n---\n#### Article\nsource:: [[../articles/n]]\n"
        "from:: The claim\nto:: stands.\n",
    }
    [segment] = body_of(make_vault, files).body["segments"]
    assert 'class="footnotes"' in segment["excerpt_html"] and "The source of it." in segment["excerpt_html"]


def test_times_of_long_videos_read_the_same_in_segments_and_timestamps():
    """`M:SS` takes any number of minutes (timestamps of a 100-minute talk), `H:MM:SS` two-digit minutes;
    the segments' `from::`/`to::` and the timestamps files read times by the same rule."""
    from content_loader.parsing.diagnostics import FileReport
    from content_loader.parsing.media import load_phrases, parse_time

    assert parse_time("100:00.33") == 6000.33 and parse_time("1:02:03") == 3723 and parse_time("0:20") == 20
    assert parse_time("1:123:00") is None and parse_time("1:12e3") is None and parse_time("1:23.") is None
    report = FileReport("v.timestamps.json")
    raw = json.dumps([{"text": "Late.", "start": "100:00.33"}, {"text": "Odd.", "start": "1:12e3"}])
    phrases = load_phrases(raw, report)
    assert [(phrase.start, phrase.text) for phrase in phrases] == [(6000.33, "Late.")]
    assert len(report.diagnostics) == 1


def test_timestamps_read_in_one_pass_match_the_entry_by_entry_reading():
    """The whole-file reading of starts (every `M:SS`, or `H:MM:SS` among them) gives each phrase's time in
    seconds; an entry that is no time, no object or out of order leaves it to the entry-by-entry reading."""
    from content_loader.parsing.media import _starts, parse_time

    def entries(*starts):
        return [{"text": f"w{index}", "start": start} for index, start in enumerate(starts)]

    assert _starts(entries("0:00.08", "0:59.9", "1:00", "12:34.5", "100:00.33")) == [
        parse_time(start) for start in ("0:00.08", "0:59.9", "1:00", "12:34.5", "100:00.33")
    ]
    assert _starts(entries("59:59", "1:00:00", "1:00:00.5")) == [3599, 3600, 3600.5]
    assert _starts(entries("1:00", "0:59")) is None  # going back
    assert _starts(entries("1:00", " 1:01")) is None  # a space around the time
    assert _starts(entries("1:00", "1:1e3")) is None
    assert _starts([{"text": "a", "start": "0:01"}, "not an object"]) is None
    assert _starts([{"text": "a", "start": "0:01"}, {"text": "b"}]) is None
    assert _starts([{"text": "a", "start": "0:01"}, {"text": 2, "start": "0:02"}]) is None
    assert _starts([]) is None
