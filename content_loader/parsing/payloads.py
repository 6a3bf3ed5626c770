"""Lens and test bodies: parsed segments turned into the render-ready payload of `content_loader.body`.

This is where excerpts are resolved: article anchors against the article's Markdown, video times against
the transcript's `.timestamps.json`. Text is rendered to safe HTML, and each lens gets its estimated
time: (words of its text, excerpts and question/roleplay content) / 200 per minute, plus the length of
its video clips, times 1.5.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .diagnostics import FileReport
from .documents import (
    ArticleDoc,
    Document,
    LensDoc,
    LensFileDoc,
    ModuleDoc,
    OutcomeDoc,
    Segment,
    TranscriptDoc,
    lenses_of,
)
from .excerpts import AnchorNotFound, locate_excerpt, unquote, video_clip
from .media import Phrase, load_phrases, parse_time
from .rendering import LinkTarget, plain_text, render_markdown, word_count
from .vault import Vault

_FOOTNOTE_DEFINITION = re.compile(r"^\[\^([^\]\s]+)\]:.*(?:\n(?:[ \t]+\S.*|[ \t]*(?=\n[ \t]+\S)))*", re.MULTILINE)
_FOOTNOTE_DEFINITION_LABEL = re.compile(r"^\[\^([^\]\s]+)\]:", re.MULTILINE)
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")
WORDS_PER_MINUTE = 200
TIME_FACTOR = 1.5


@dataclass
class CompiledLens:
    body: dict
    estimated_seconds: int


@dataclass
class LensCompiler:
    """Compiles lens bodies for one vault, caching transcripts between lenses."""

    vault: Vault
    _phrases: dict[str, list[Phrase]] = field(default_factory=dict)
    _footnotes: dict[str, dict[str, str]] = field(default_factory=dict)  # article -> label -> definition
    _excerpted_by: dict[str, object] | None = None  # article or transcript path -> UUID of a lens excerpting it

    def compile(self, lens: LensDoc, doc: Document) -> CompiledLens:
        report = doc.report
        segments: list[dict] = []
        words = 0
        video_seconds = 0.0
        article_end: dict[str, int] = {}  # article path -> where its previous excerpt in this lens ended
        last_excerpt: dict[str, tuple[dict, int]] = {}  # article path -> (segment payload, end offset)
        for index, segment in enumerate(lens.segments):
            payload = self._segment(segment, index, lens, report, article_end, last_excerpt)
            if payload is None:
                continue
            segments.append(payload)
            kind = payload["type"]
            if kind == "text":
                words += word_count(payload["text"])
            elif kind == "article":
                words += payload["word_count"]
            elif kind in ("question", "roleplay"):
                words += word_count(payload["content_text"])
            elif kind == "video":
                video_seconds += max(0.0, payload["end_s"] - payload["start_s"])
        for path, (payload, end) in last_excerpt.items():
            article = self.vault.documents[path]
            assert isinstance(article, ArticleDoc)
            payload["after_html"] = self._render_slice(article, end, len(article.body), f"s{payload['index']}a-")
        for index, payload in enumerate(segments):
            payload["index"] = index
        body: dict = {"segments": segments}
        if lens.kind == "lens":
            body = {"tldr": lens.tldr, **body}
        if lens.derived_id:
            body["derived_id"] = True
        seconds = (words / WORDS_PER_MINUTE * 60 + video_seconds) * TIME_FACTOR
        return CompiledLens(body, round(seconds))

    def _segment(
        self,
        segment: Segment,
        index: int,
        lens: LensDoc,
        report: FileReport,
        article_end: dict[str, int],
        last_excerpt: dict[str, tuple[dict, int]],
    ) -> dict | None:
        base = {"type": segment.kind, "index": index, "line": segment.line, "optional": segment.optional}
        fields = segment.fields
        prefix = f"s{index}-"  # ids of this segment's HTML: unique on the lens's page
        if segment.kind == "text":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            return {**base, "html": html, "text": plain_text(html)}
        if segment.kind == "chat":
            return {
                **base,
                "instructions": fields.get("instructions"),
                "hide_previous_content_from_user": fields.flag("hidePreviousContentFromUser"),
                "hide_previous_content_from_tutor": fields.flag("hidePreviousContentFromTutor"),
            }
        if segment.kind == "question":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            text = plain_text(html)
            return {
                **base,
                "key": question_key(text),
                "content_html": html,
                "content_text": text,
                "assessment_instructions": fields.get("assessment-instructions"),
                "max_chars": self._max_chars(segment, report),
                "max_time": fields.get("max-time"),
                "enforce_voice": fields.flag("enforce-voice"),
                "feedback": fields.flag("feedback"),
            }
        if segment.kind == "roleplay":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            return {
                **base,
                "id": fields.get("id").strip(),
                "content_html": html,
                "content_text": plain_text(html),
                "ai_instructions": fields.get("ai-instructions"),
                "opening_message": fields.get("opening-message"),
                "assessment_instructions": fields.get("assessment-instructions"),
                "feedback": fields.flag("feedback"),
            }
        if segment.kind == "article":
            return self._article(segment, base, report, article_end, last_excerpt)
        return self._video(segment, base, report)

    def _article(
        self,
        segment: Segment,
        base: dict,
        report: FileReport,
        article_end: dict[str, int],
        last_excerpt: dict[str, tuple[dict, int]],
    ) -> dict | None:
        if segment.source is None or segment.source.path is None:
            return None  # the missing or broken source is reported already
        path = segment.source.path
        article = self.vault.documents[path]
        assert isinstance(article, ArticleDoc)
        fields = segment.fields
        after = article_end.get(path, 0)
        try:
            span = locate_excerpt(article.body, unquote(fields.get("from")), unquote(fields.get("to")), after=after)
        except AnchorNotFound as missing:
            report.error(
                fields.line(missing.which, segment.line),
                f"`{missing.which}::` text not found in {path}: {_shorten(missing.anchor)!r}",
                "copy the words exactly from the article (straight and curly quotes both match)",
            )
            return None
        index = base["index"]
        excerpt_html = self._render_slice(article, span.start, span.end, f"s{index}-")
        text = plain_text(excerpt_html)
        payload = {
            **base,
            "article": {
                "title": article.title,
                "authors": article.authors,
                "source_url": article.source_url,
                "published": article.published,
                "path": path,
            },
            "before_html": self._render_slice(article, after, span.start, f"s{index}b-") if span.start > after else "",
            "excerpt_html": excerpt_html,
            "after_html": "",
            "text": text,
            "word_count": word_count(text),
        }
        article_end[path] = max(span.end, after)
        last_excerpt[path] = (payload, article_end[path])
        return payload

    def _video(self, segment: Segment, base: dict, report: FileReport) -> dict | None:
        if segment.source is None or segment.source.path is None:
            return None
        path = segment.source.path
        transcript = self.vault.documents[path]
        assert isinstance(transcript, TranscriptDoc)
        fields = segment.fields
        times: dict[str, float | None] = {}
        for key in ("from", "to"):
            value = fields.get(key)
            times[key] = parse_time(value) if value else None
            if value and times[key] is None:
                report.error(fields.line(key), f"`{key}::` must be a time like 1:23 or 1:02:03, not {value!r}")
                return None
        if not transcript.timestamps_path:
            report.error(
                segment.source.line,
                f"{path} has no timestamps file",
                f"add {path.removesuffix('.md')}.timestamps.json",
            )
            return None
        phrases = self._load_phrases(transcript)
        start = times["from"] or 0.0
        end, text = video_clip(phrases, start, times["to"])
        if end <= start:
            report.error(fields.line("to", segment.line), f"the clip ends ({end:g} s) before it starts ({start:g} s)")
            return None
        if phrases and times["from"] is not None and start > phrases[-1].start:
            report.warning(fields.line("from", segment.line), f"`from::` is after the last phrase of {path}")
        return {
            **base,
            "video": {
                "title": transcript.title,
                "channel": transcript.channel,
                "url": transcript.url,
                "youtube_id": transcript.youtube_id,
                "path": path,
            },
            "start_s": start,
            "end_s": end,
            "transcript": text,
        }

    def _render_slice(self, article: ArticleDoc, start: int, end: int, id_prefix: str) -> str:
        """Render part of an article, with the footnote definitions it refers to but does not hold; its
        relative links resolve against the article's `source_url`."""
        text = article.body[start:end]
        if article.path not in self._footnotes:
            self._footnotes[article.path] = {
                m.group(1): m.group(0) for m in _FOOTNOTE_DEFINITION.finditer(article.body)
            }
        definitions = self._footnotes[article.path]
        if definitions:
            held = set(_FOOTNOTE_DEFINITION_LABEL.findall(text))
            needed = [
                definitions[label]
                for label in dict.fromkeys(_FOOTNOTE_REF.findall(text))
                if label in definitions and label not in held
            ]
            if needed:
                text = text + "\n\n" + "\n\n".join(needed)
        return render_markdown(text, id_prefix=id_prefix, base_url=article.source_url)

    def _excerpting_lens(self, path: str):
        """The UUID of the first published lens (by file path) that excerpts this article or transcript."""
        if self._excerpted_by is None:
            self._excerpted_by = {}
            for doc_path in sorted(self.vault.documents):
                doc = self.vault.documents[doc_path]
                if doc.ignored or doc.draft:
                    continue
                for lens in lenses_of(doc):
                    if lens.kind != "lens" or lens.id is None or lens.derived_id:
                        continue
                    for segment in lens.segments:
                        if segment.source is not None and segment.source.path:
                            self._excerpted_by.setdefault(segment.source.path, lens.id)
        return self._excerpted_by.get(path)

    def _load_phrases(self, transcript: TranscriptDoc) -> list[Phrase]:
        if transcript.path not in self._phrases:
            path = transcript.timestamps_path
            report = self.vault.reports.setdefault(path, FileReport(path))
            self._phrases[transcript.path] = load_phrases(self.vault.read_text(path), report)
        return self._phrases[transcript.path]

    def _max_chars(self, segment: Segment, report: FileReport) -> int | None:
        value = segment.get("max-chars").strip()
        if not value:
            return None
        if not value.isdigit():
            report.error(segment.fields.line("max-chars"), f"`max-chars::` must be a whole number, not {value!r}")
            return None
        return int(value)

    def _render(self, markdown: str, lens: LensDoc, report: FileReport, line: int, id_prefix: str) -> str:
        """Render a field of a lens, reporting wikilinks that lead nowhere.

        A link to an article or a video transcript leads to the lens that excerpts it."""
        problems: list[str] = []

        def resolve(target: str) -> LinkTarget | None:
            resolution = self.vault.index.resolve(lens.path, target)
            if resolution.path is None:
                problems.append(f"link `[[{target}]]`: {resolution.problem}")
                return None
            doc = self.vault.documents.get(resolution.path)
            content_id, title = _identity(doc)
            if doc is not None and doc.draft and content_id is not None:
                problems.append(f"link `[[{target}]]` points at a draft ({resolution.path}); it is shown as text")
                return LinkTarget(None, title)
            if isinstance(doc, ArticleDoc | TranscriptDoc):
                lens_id = self._excerpting_lens(resolution.path)
                kind = "article" if isinstance(doc, ArticleDoc) else "video"
                return LinkTarget(str(lens_id) if lens_id else None, title, kind)
            return LinkTarget(str(content_id) if content_id else None, title)

        html = render_markdown(markdown, resolve_link=resolve, id_prefix=id_prefix)
        for problem in problems:
            report.warning(line, problem)
        return html


def _identity(doc: Document | None) -> tuple[object | None, str]:
    if isinstance(doc, LensFileDoc) and doc.lens is not None:
        return doc.lens.id, doc.lens.title
    if isinstance(doc, ModuleDoc | OutcomeDoc):
        return doc.id, doc.title
    if isinstance(doc, ArticleDoc | TranscriptDoc):
        return None, doc.title
    return None, ""


def question_key(content_text: str) -> str:
    """Stable identity of a question: the first 16 hex digits of SHA-256 of its collapsed text."""
    collapsed = re.sub(r"\s+", " ", content_text).strip()
    return hashlib.sha256(collapsed.encode()).hexdigest()[:16]


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_WORK: Vault | None = None  # the vault being compiled, inherited by forked workers


def compile_lenses(vault: Vault, *, workers: int | None) -> dict[int, CompiledLens]:
    """Compiled bodies by `id()` of their LensDoc; diagnostics land in the files' reports as usual."""
    tasks = [
        (path, index)
        for path, doc in vault.documents.items()
        if not doc.ignored
        for index in range(len(lenses_of(doc)))
    ]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 2 or len(tasks) < 200 or "fork" not in multiprocessing.get_all_start_methods():
        results = _compile_tasks(vault, tasks)
    else:
        global _WORK
        _WORK = vault
        size = max(1, len(tasks) // (workers * 8))  # small chunks: the pool balances the load
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = [result for chunk in pool.map(_compile_in_worker, chunks) for result in chunk]
        finally:
            _WORK = None
    compiled: dict[int, CompiledLens] = {}
    side_reports: set[str] = set()
    for path, index, lens_result, diagnostics in results:
        if index == -1:  # a timestamps file: every worker that read it reported the same problems
            if path in side_reports:
                continue
            side_reports.add(path)
        vault.reports.setdefault(path, FileReport(path)).diagnostics.extend(diagnostics)
        if lens_result is not None:
            compiled[id(lenses_of(vault.documents[path])[index])] = lens_result
    return compiled


def _compile_in_worker(tasks: list[tuple[str, int]]) -> list:
    assert _WORK is not None
    return _compile_tasks(_WORK, tasks)


def _compile_tasks(vault: Vault, tasks: list[tuple[str, int]]) -> list:
    """(path, index, compiled, diagnostics) per task; diagnostics are taken out of the reports."""
    compiler = LensCompiler(vault)
    results = []
    before = {path: len(report.diagnostics) for path, report in vault.reports.items()}
    for path, index in tasks:
        report = vault.documents[path].report
        start = len(report.diagnostics)
        compiled = compiler.compile(lenses_of(vault.documents[path])[index], vault.documents[path])
        results.append((path, index, compiled, report.diagnostics[start:]))
        del report.diagnostics[start:]
    for path, report in vault.reports.items():  # reports of timestamps files read on the way
        if path not in vault.documents and len(report.diagnostics) > before.get(path, 0):
            results.append((path, -1, None, report.diagnostics[before.get(path, 0) :]))
            del report.diagnostics[before.get(path, 0) :]
    return results
