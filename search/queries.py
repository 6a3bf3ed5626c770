"""Searching published lenses: ranked PostgreSQL full-text search, or `icontains` on SQLite.

A search is three queries however many results: the ranked documents with their highlighted snippets,
then where each lens opens (learn.links.resolve_targets: in a course, else its standalone page). Drafts
and retired lenses never match: their documents are removed at sync, and the query checks the item too.
Highlights come back marked with private-use characters, so the text is escaped before `<mark>` goes in.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q
from django.utils.safestring import SafeString, mark_safe

from learn.links import resolve_targets
from search.indexing import SEARCH_CONFIG
from search.models import LensDocument

MAX_QUERY_CHARS = 200
RESULTS = 20
_START, _STOP = "\ue000", "\ue001"
_SNIPPET_CHARS = 220


class BadQuery(ValueError):
    """A query that cannot be searched; the message says what to type instead."""


@dataclass(frozen=True)
class Result:
    url: str
    title: SafeString
    snippet: SafeString


def clean_query(raw: str) -> str:
    """The query with whitespace collapsed; BadQuery when it is empty, too long, or has no letters or digits."""
    query = " ".join(raw.split())
    if not query:
        raise BadQuery("Type a word or two to search the lenses.")
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"That search is {len(query)} characters long; keep it under {MAX_QUERY_CHARS}.")
    if not re.search(r"\w", query):
        raise BadQuery("Search for words or numbers: that search has only punctuation.")
    return query


def _marked(text: str) -> SafeString:
    """Escaped text with the highlight markers turned into <mark> elements."""
    escaped = html.escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>")
    return mark_safe(escaped)


def _ranked(query: str) -> list[tuple]:
    terms = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    headline = {"config": SEARCH_CONFIG, "start_sel": _START, "stop_sel": _STOP}
    return list(
        LensDocument.objects.filter(vector=terms, item__retired_at__isnull=True, item__is_draft=False)
        .annotate(
            rank=SearchRank(F("vector"), terms),
            title_marked=SearchHeadline("title", terms, highlight_all=True, **headline),
            snippet=SearchHeadline(
                "text", terms, max_words=35, min_words=15, max_fragments=2, fragment_delimiter=" … ", **headline
            ),
        )
        .order_by("-rank", "title", "pk")
        .values_list("pk", "title_marked", "snippet")[:RESULTS]
    )


def _snippet(text: str, query: str) -> str:
    """Around the first occurrence of the query in the text, the occurrence marked (the SQLite fallback)."""
    at = text.lower().find(query.lower())
    if at < 0:
        return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")
    start = max(0, at - _SNIPPET_CHARS // 2)
    end = min(len(text), at + len(query) + _SNIPPET_CHARS // 2)
    found = text[at : at + len(query)]
    return (
        ("…" if start else "")
        + text[start:at]
        + f"{_START}{found}{_STOP}"
        + text[at + len(query) : end]
        + ("…" if end < len(text) else "")
    )


def _contains(query: str) -> list[tuple]:
    rows = (
        LensDocument.objects.filter(Q(title__icontains=query) | Q(text__icontains=query))
        .filter(item__retired_at__isnull=True, item__is_draft=False)
        .order_by("title", "pk")
        .values_list("pk", "title", "text")
    )
    matches = [(pk, title, text, query.lower() in title.lower()) for pk, title, text in rows[: RESULTS * 5]]
    matches.sort(key=lambda row: not row[3])  # title matches first, as the ranked search does
    return [
        (pk, _snippet(title, query) if in_title else title, _snippet(text, query))
        for pk, title, text, in_title in matches[:RESULTS]
    ]


def search_lenses(raw: str) -> list[Result]:
    """The best matches of the query among published lenses, each linking where it opens (3 queries)."""
    query = clean_query(raw)
    rows = _ranked(query) if connection.vendor == "postgresql" else _contains(query)
    targets = resolve_targets({pk for pk, *_ in rows}, course=None, module=None, in_any_course=True)
    return [
        Result(url=targets[pk].url, title=_marked(title), snippet=_marked(snippet))
        for pk, title, snippet in rows
        if pk in targets
    ]
