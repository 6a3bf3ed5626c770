"""Finding excerpts: article text between quoted anchors, and transcript text between two times.

Article anchors (`from::`, `to::`) are quoted text copied from the article; both ends are inclusive and
either may be left out (the start or the end of the article). They are matched against the article's
Markdown source, so an anchor may contain Markdown (`**bold**`, `> quote`, `## Heading`). Curly and
straight quotes match each other, any run of whitespace matches any other, and a backslash escape in the
article does not stop a match. When that finds nothing, a looser match ignores Markdown markup (emphasis,
link targets, heading and quote markers) between the words of the anchor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from .media import Phrase

_QUOTES = {
    '"': '["\u201c\u201d\u201e\u201f\u00ab\u00bb]',
    "'": "['\u2018\u2019\u201a\u201b`]",
}
for _straight, _curly in (('"', "\u201c\u201d\u201e\u201f"), ("'", "\u2018\u2019\u201a\u201b")):
    for _char in _curly:
        _QUOTES[_char] = _QUOTES[_straight]
_OUTER_QUOTES = re.compile(r'^\s*["\u201c\u201d](.*)["\u201c\u201d]\s*$', re.DOTALL)
_MARKUP = re.compile(r"\]\([^)\s]*\)|[*_`~]|^\s*(?:>\s*)+|^\s*#{1,6}\s+|\[|\]|<[^>\n]+>", re.MULTILINE)
_WORD = re.compile(r"\w+")
_GAP = r"(?:\]\([^)\n]*\)|<[^>\n]{1,80}>|[^\w])*?"
_LINE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]*)*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d+[.)][ \t]+)?[*_\[]*")
_TRAILING = re.compile(r"(?:(?<=\])\([^)\n]*\)|\]\([^)\n]*\)|\*+|_+|\[\^[^\]\s]+\]|</su[pb]>|`)*")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


class AnchorNotFound(Exception):
    def __init__(self, which: str, anchor: str) -> None:
        super().__init__(which)
        self.which = which  # "from" or "to"
        self.anchor = anchor


def unquote(value: str) -> str:
    """An anchor without the quotes around it (straight or curly)."""
    match = _OUTER_QUOTES.match(value)
    return match.group(1) if match else value.strip()


@lru_cache(maxsize=2048)
def _exact_pattern(anchor: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\s+)", anchor):
        if not token:
            continue
        if token.isspace():
            parts.append(r"\s+")
            continue
        for char in token:
            if char in _QUOTES:
                parts.append(_QUOTES[char])
            elif char.isalnum() or char == " ":
                parts.append(re.escape(char))
            else:
                parts.append(r"\\?" + re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE)


@lru_cache(maxsize=2048)
def _loose_pattern(anchor: str) -> re.Pattern[str] | None:
    words = _WORD.findall(_MARKUP.sub(" ", anchor))
    if len(words) < 2:
        return None
    return re.compile(_GAP.join(re.escape(word) for word in words), re.IGNORECASE)


def _patterns(anchor: str) -> Iterator[re.Pattern[str]]:
    """The exact pattern of an anchor, then its loose one, compiled only when the exact one found nothing (a
    long anchor's loose pattern takes a while to compile, and most anchors are found exactly)."""
    yield _exact_pattern(anchor)
    loose = _loose_pattern(anchor)
    if loose is not None:
        yield loose


def find_anchor(body: str, anchor: str, start: int = 0) -> Span | None:
    """The first match of an anchor in `body` at or after `start` (then anywhere), or None."""
    for pattern in _patterns(anchor):
        match = pattern.search(body, start) or (pattern.search(body) if start else None)
        if match:
            return Span(match.start(), match.end())
    return None


def count_matches(body: str, anchor: str) -> int:
    """How many times an anchor occurs in `body` (by the pattern that finds it), stopping at two."""
    for pattern in _patterns(anchor):
        found = 0
        for _ in pattern.finditer(body):
            found += 1
            if found == 2:
                break
        if found:
            return found
    return 0


def locate_excerpt(body: str, from_anchor: str, to_anchor: str, *, after: int = 0) -> Span:
    """The excerpt of `body` from one anchor to the other (inclusive), snapped to whole Markdown marks.

    `after` is where the previous excerpt of the same article in the lens ended: anchors are looked for
    from there first. Raises AnchorNotFound.
    """
    start = 0
    if from_anchor:
        found = find_anchor(body, from_anchor, after)
        if found is None:
            raise AnchorNotFound("from", from_anchor)
        start = found.start
    end = len(body)
    if to_anchor:
        found = find_anchor(body, to_anchor, start)
        if found is None or found.end <= start:
            raise AnchorNotFound("to", to_anchor)
        end = found.end
    return Span(_snap_start(body, start), _snap_end(body, end))


def _snap_start(body: str, start: int) -> int:
    """Start at the beginning of the line when only block marks (`#`, `>`, list markers) precede."""
    line_start = body.rfind("\n", 0, start) + 1
    if _LINE_PREFIX.fullmatch(body, line_start, start):
        return line_start
    return start


def _snap_end(body: str, end: int) -> int:
    """Take in closing marks right after the anchor: emphasis, a link's target, a footnote reference."""
    match = _TRAILING.match(body, end)
    return match.end() if match else end


def video_clip(phrases: list[Phrase], start_s: float, end_s: float | None) -> tuple[float, str]:
    """The clip's end (the transcript's end when `end_s` is None) and the text of its phrases."""
    if end_s is None:
        end_s = transcript_end(phrases)
    text = " ".join(p.text.strip() for p in phrases if start_s <= p.start < end_s and p.text.strip())
    return end_s, text


def transcript_end(phrases: list[Phrase]) -> float:
    """The last phrase's start plus its estimated length (about 2.5 words a second)."""
    if not phrases:
        return 0.0
    last = phrases[-1]
    return round(last.start + max(1.0, len(last.text.split()) / 2.5), 2)
