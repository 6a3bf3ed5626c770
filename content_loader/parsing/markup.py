"""Removal of authoring markup before parsing, keeping track of where every line came from.

Obsidian comments (`%% ... %%`, inline or over several lines) are dropped. CriticMarkup is resolved as
"reject all changes": additions `{++...++}` and comments `{>>...<<}` are dropped; deletions `{--...--}`,
the old side of substitutions `{~~old~>new~~}` and highlights `{==...==}` are kept as text. Editors may
prefix the inner text with metadata (`{"author":"...","timestamp":...}@@`), which is dropped too.

Removing a span that holds line breaks joins lines, so the result carries a map from each of its lines
to the line of the original file where that line starts: diagnostics always name original lines.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_CRITIC = re.compile(
    r"\{\+\+(?P<add>.*?)\+\+\}"
    r"|\{--(?P<delete>.*?)--\}"
    r"|\{~~(?P<old>.*?)~>(?P<new>.*?)~~\}"
    r"|\{==(?P<highlight>.*?)==\}"
    r"|\{>>(?P<comment>.*?)<<\}",
    re.DOTALL,
)
_CRITIC_METADATA = re.compile(r"\{[^{}\n]*\}@@")
_COMMENT = re.compile(r"%%.*?%%", re.DOTALL)
_MARKERS = ("%%", "{++", "{--", "{~~", "{==", "{>>")


@dataclass(frozen=True, slots=True)
class CleanText:
    """Text with authoring markup removed; `line_of[i]` is the original line (from 1) of line i (from 0)."""

    text: str
    line_of: tuple[int, ...]
    unclosed_comment_line: int | None = None

    def original_line(self, index: int) -> int:
        if not self.line_of:
            return 1
        return self.line_of[min(index, len(self.line_of) - 1)]


def remove_authoring_markup(text: str) -> CleanText:
    """Drop comments and resolve CriticMarkup (reject all), mapping lines back to the original."""
    if not any(marker in text for marker in _MARKERS):
        return CleanText(text, tuple(range(1, text.count("\n") + 2)))
    # Kept pieces as (start, end) offsets into `text`; CriticMarkup first, so that comments written
    # inside rejected additions disappear with them.
    first_pieces = _critic_pieces(text)
    first_pass = "".join(text[start:end] for start, end in first_pieces)
    comment_spans, unclosed_at = _comment_spans(first_pass)
    pieces = _subtract(first_pieces, comment_spans) if comment_spans else first_pieces
    cleaned = "".join(text[start:end] for start, end in pieces)
    newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line_at(offset: int) -> int:
        return bisect.bisect_right(newlines, offset - 1) + 1

    # Map each cleaned line start back through the pieces to an original offset.
    line_of: list[int] = []
    piece_starts = _starts(pieces)  # offset in `cleaned` where each piece begins
    line_start = 0
    while True:
        index = bisect.bisect_right(piece_starts, line_start) - 1
        if index < 0 or not pieces:
            line_of.append(1)
        else:
            start, end = pieces[index]
            offset = start + (line_start - piece_starts[index])
            if offset >= end and index + 1 < len(pieces):
                offset = pieces[index + 1][0]
            line_of.append(line_at(offset))
        newline = cleaned.find("\n", line_start)
        if newline < 0:
            break
        line_start = newline + 1
    unclosed_line = None
    if unclosed_at is not None:
        unclosed_line = line_at(_to_original(first_pieces, _starts(first_pieces), unclosed_at))
    return CleanText(cleaned, tuple(line_of), unclosed_line)


def _critic_pieces(text: str) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    position = 0
    for match in _CRITIC.finditer(text):
        pieces.append((position, match.start()))
        for group in ("delete", "old", "highlight"):
            if match.group(group) is not None:
                start, end = match.span(group)
                metadata = _CRITIC_METADATA.match(text, start, end)
                pieces.append((metadata.end() if metadata else start, end))
        position = match.end()
    pieces.append((position, len(text)))
    return [(start, end) for start, end in pieces if end > start]


def _comment_spans(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Comment spans in `text`; an unclosed `%%` comments out the rest (its offset is returned)."""
    spans = [match.span() for match in _COMMENT.finditer(text)]
    last_end = spans[-1][1] if spans else 0
    unclosed = text.find("%%", last_end)
    if unclosed >= 0:
        spans.append((unclosed, len(text)))
        return spans, unclosed
    return spans, None


def _subtract(pieces: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Remove `spans` (offsets into the concatenation of `pieces`) from `pieces`."""
    result: list[tuple[int, int]] = []
    span_index = 0
    position = 0  # offset of the current piece within the concatenation
    for start, end in pieces:
        length = end - start
        cursor = 0
        while cursor < length:
            while span_index < len(spans) and spans[span_index][1] <= position + cursor:
                span_index += 1
            if span_index == len(spans) or spans[span_index][0] >= position + length:
                result.append((start + cursor, end))
                break
            span_start, span_end = spans[span_index]
            keep_until = max(span_start - position, cursor)
            if keep_until > cursor:
                result.append((start + cursor, start + keep_until))
            cursor = min(span_end - position, length)
        position += length
    return [(start, end) for start, end in result if end > start]


def _starts(pieces: list[tuple[int, int]]) -> list[int]:
    starts = []
    position = 0
    for start, end in pieces:
        starts.append(position)
        position += end - start
    return starts


def _to_original(pieces: list[tuple[int, int]], piece_starts: list[int], offset: int) -> int:
    """The original offset of the character at `offset` of the concatenated `pieces`."""
    index = bisect.bisect_right(piece_starts, offset) - 1
    if index < 0:
        return 0
    start, end = pieces[index]
    return min(start + offset - piece_starts[index], end)
