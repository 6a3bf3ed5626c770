"""Articles and video transcripts: the sources that lenses excerpt.

An article is Markdown with frontmatter (`title`, `author`, `source_url`, `published`). A transcript is
Markdown with `title`, `channel` and a YouTube `url`, plus `<same name>.timestamps.json`: a list of
`{"text": ..., "start": "M:SS.ss"}` phrases, read only when a lens excerpts the video.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import islice, repeat
from operator import add, itemgetter, le, mul

from .diagnostics import FileReport
from .directives import check_directives
from .documents import ArticleDoc, TranscriptDoc
from .reader import read_source

# YouTube's ids are 11 characters, but authors' vaults hold shorter ones too: any run of id characters.
_YOUTUBE_ID = re.compile(r"(?:youtube\.com/.*[?&]v=|youtu\.be/|youtube\.com/(?:embed|shorts|live)/)([A-Za-z0-9_-]+)")
# YYYY-MM-DD; a year or a year and month alone is a date too (authors cite old books and papers so).
_DATE = re.compile(r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?$")
ARTICLE_KEYS = (
    "title",
    "author",
    "source_url",
    "published",
    "created",
    "accessed",
    "audio_url",
    "allowAuthorInTitle",
    "allowUnreachableUrl",
    "tldr",
    "read-time",
)
TRANSCRIPT_KEYS = ("title", "channel", "url", "video_id")
# `H:MM:SS` (minutes of two digits at most), or `M:SS` with any number of minutes (a 100-minute talk's
# timestamps read `100:00.33`); seconds may have a fraction.
_TIME = re.compile(r"^(?:(\d+):(\d{1,2})|(\d+)):(\d{1,2}(?:\.\d+)?)$")
# The same times, one per line of a joined string: a whole file's starts are read in one pass (see `_starts`).
_TIMES = re.compile(r"^(?:(\d+):(\d{1,2})|(\d+)):(\d{1,2}(?:\.\d+)?)$", re.MULTILINE)
# All of them `M:SS` (the exporter's form): the whole joined string in one match.
_MINUTES_SECONDS = re.compile(r"(?:\d+:\d{1,2}(?:\.\d+)?\n)*\d+:\d{1,2}(?:\.\d+)?")
_START, _TEXT = itemgetter("start"), itemgetter("text")


@dataclass(frozen=True, slots=True)
class Phrase:
    start: float  # seconds
    text: str


def parse_article(text: str, path: str = "articles/article.md") -> ArticleDoc:
    """An article: `title`, `author`, `source_url` and `published` (YYYY-MM-DD) required; its directives checked."""
    source = read_source(path, text, frontmatter_expected=False)
    doc = ArticleDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        source.report.info(1, "skipped: tagged `validator-ignore`")
        return doc
    report = source.report
    if not text.lstrip("\ufeff").startswith("---"):
        report.error(
            1,
            "article has no frontmatter",
            "start it with `---` lines holding `title`, `author`, `source_url` and `published: YYYY-MM-DD`",
        )
    else:
        source.check_keys(ARTICLE_KEYS)
        for key in ("title", "source_url", "published"):
            source.string(key, required=True)
        if not (source.string_list("author") or source.string_list("authors")):  # text or a list
            blank = " (it is blank)" if "author" in source.frontmatter else ""
            report.error(
                source.line_of("author"), f"missing required frontmatter field `author`{blank}", "write `author: ...`"
            )
    doc.title = source.string("title") or path.rsplit("/", 1)[-1].removesuffix(".md")
    doc.authors = source.string_list("author") or source.string_list("authors")
    doc.source_url = source.string("source_url")
    doc.published = source.string("published")
    if doc.published and not _DATE.match(doc.published):
        report.error(
            source.line_of("published"), f"`published` {doc.published!r} is not a date", "write YYYY-MM-DD (or YYYY)"
        )
    for key, values in (("title", [doc.title]), ("author", doc.authors)):
        if any("[[" in value for value in values):
            report.error(
                source.line_of(key if key in source.frontmatter else "authors"),
                f"article `{key}` holds a wikilink or an `![[embed]]`, which is shown as raw text there",
                "write it as plain text",
            )
    doc.body = "\n".join(line.text for line in source.body)
    check_directives(source.body, report, body=doc.body)
    doc.body_line = source.body[0].number if source.body else 1
    return doc


def parse_transcript(text: str, path: str, timestamps_path: str) -> TranscriptDoc:
    source = read_source(path, text)
    doc = TranscriptDoc(path, source.report, draft=source.is_draft, ignored=source.is_ignored)
    if doc.ignored:
        source.report.info(1, "skipped: tagged `validator-ignore`")
        return doc
    doc.title = source.string("title") or path.rsplit("/", 1)[-1].removesuffix(".md")
    doc.channel = source.string("channel")
    doc.url = source.string("url")
    doc.timestamps_path = timestamps_path
    source.check_keys(TRANSCRIPT_KEYS)
    # A `url` that is not YouTube is accepted: the lens shows the transcript without an embedded video.
    doc.youtube_id = source.string("video_id") or youtube_id(doc.url)
    if not doc.url and not doc.youtube_id:
        source.string("url", required=True)
    return doc


def youtube_id(url: str) -> str:
    match = _YOUTUBE_ID.search(url)
    return match.group(1) if match else ""


def parse_time(value: str) -> float | None:
    """`M:SS`, `H:MM:SS` (and fractions of a second) in seconds; None when not a time."""
    match = _TIME.match(value.strip())
    if match is None:
        return None
    hours, minutes_with_hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes_with_hours or minutes) * 60 + float(seconds)


def check_timestamps(raw: str, report: FileReport) -> None:
    """Every `.timestamps.json`: valid JSON, a non-empty list of `{text, start}` with non-decreasing starts."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        report.error(exc.lineno, f"timestamps file is not valid JSON: {exc.msg}", "fix the JSON syntax at this line")
        return
    if not isinstance(data, list):
        report.error(1, 'timestamps file must be a list of {"text": ..., "start": "M:SS.ss"} objects')
        return
    if not data:
        report.error(1, "timestamps file has no phrases", "export the video's transcript with its timestamps")
        return
    if _starts(data) is not None:
        return  # the common case, checked in one pass: every entry well-formed and in time order
    lines: list[int] = []  # worked out only when there is something to report

    def line_of(index: int) -> int:
        if not lines:
            lines.extend(_element_lines(raw))
        return lines[index] if index < len(lines) else 1

    previous = 0.0
    for index, item in enumerate(data):
        start = parse_time(item["start"]) if isinstance(item, dict) and isinstance(item.get("start"), str) else None
        if start is None or not isinstance(item.get("text"), str):
            report.error(line_of(index), f'timestamps entry {index} needs `text` and a `start` like "1:23.45"')
            continue
        if start < previous:
            report.error(
                line_of(index),
                f"timestamps entry {index} starts at {item['start']}, before the entry above it",
                "phrases must be in time order; fix or remove this one",
            )
        previous = max(previous, start)


def _starts(data: list) -> list[float] | None:
    """The start of every phrase in seconds when every entry is `{text, start}` with a time (written without
    surrounding spaces) and the starts never decrease; None otherwise (the entry-by-entry reading then reports
    or sorts). Tens of thousands of phrases per transcript: read in a few passes over the whole file, each
    done by a C loop (`map`, one regex match), instead of Python code per phrase."""
    try:
        # `join` takes only text: a start that is not raises TypeError, as an entry that is no object (a JSON
        # object is a dict) does in `itemgetter`; one without the key raises KeyError.
        joined = "\n".join(map(_START, data))
        if set(map(type, map(_TEXT, data))) != {str}:
            return None
    except (TypeError, KeyError):
        return None
    if joined.count("\n") != len(data) - 1:  # a start holding a line break: no time
        return None
    if _MINUTES_SECONDS.fullmatch(joined):  # every start `M:SS.ss`, the exporter's form
        parts = joined.replace(":", "\n").split("\n")  # minutes, seconds, minutes, seconds, ...
        seconds = list(map(add, map(mul, map(int, parts[0::2]), repeat(60)), map(float, parts[1::2])))
    else:
        found = _TIMES.findall(joined)
        if len(found) != len(data):  # an entry that is no time
            return None
        seconds = [int(h or 0) * 3600 + int(mh or m) * 60 + float(s) for h, mh, m, s in found]
    if not all(map(le, seconds, islice(seconds, 1, None))):
        return None
    return seconds


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{},\n]|[^\s"\[\]{},]+')


def _element_lines(raw: str) -> list[int]:
    """The line where each element of a top-level JSON array starts."""
    lines: list[int] = []
    depth, line, expecting = 0, 1, False
    for match in _JSON_TOKEN.finditer(raw):
        token = match.group()
        if token == "\n":
            line += 1
            continue
        if depth == 1 and expecting and token not in ",]":
            lines.append(line)
            expecting = False
        if token in ("[", "{"):
            depth += 1
            expecting = depth == 1
        elif token in ("]", "}"):
            depth -= 1
        elif token == "," and depth == 1:
            expecting = True
    return lines


def load_phrases(raw: str, report: FileReport) -> list[Phrase]:
    """The phrases of a `.timestamps.json`, in time order; problems go to `report` (line 1)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        report.error(exc.lineno, f"timestamps file is not valid JSON: {exc.msg}")
        return []
    if not isinstance(data, list):
        report.error(1, 'timestamps file must be a list of {"text", "start"} objects')
        return []
    seconds = _starts(data)
    if seconds is not None:  # already in time order
        return list(map(Phrase, seconds, map(_TEXT, data)))
    phrases = []
    for index, item in enumerate(data):
        start = parse_time(item["start"]) if isinstance(item, dict) and isinstance(item.get("start"), str) else None
        if start is None or not isinstance(item.get("text"), str):
            report.error(1, f'timestamps entry {index} needs `text` and a `start` like "1:23.45"')
            continue
        phrases.append(Phrase(start, item["text"]))
    phrases.sort(key=lambda phrase: phrase.start)
    return phrases
