"""Lens and test bodies: parsed segments turned into the render-ready payload of `content_loader.body`.

This is where excerpts are resolved: article anchors against the article's Markdown, video times against
the transcript's `.timestamps.json`. Text is rendered to safe HTML, and each lens gets its estimated
time: (words of its text, excerpts and question/roleplay content) / 200 per minute, plus the length of
its video clips, times 1.5.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from ..body import (
    ArticleInfo,
    ArticleSegment,
    ChatSegment,
    LensBody,
    QuestionSegment,
    RoleplaySegment,
    TextSegment,
    VideoInfo,
    VideoSegment,
)
from ..body import Segment as SegmentPayload
from .cache import CachedLens, body_json
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
from .excerpts import AnchorNotFound, count_matches, locate_excerpt, unquote, video_clip
from .media import Phrase, load_phrases, parse_time
from .rendering import LinkTarget, plain_text, render_markdown, word_count
from .vault import Vault

_FOOTNOTE_DEFINITION = re.compile(r"^\[\^([^\]\s]+)\]:.*(?:\n(?:[ \t]+\S.*|[ \t]*(?=\n[ \t]+\S)))*", re.MULTILINE)
_FOOTNOTE_DEFINITION_LABEL = re.compile(r"^\[\^([^\]\s]+)\]:", re.MULTILINE)
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")
WORDS_PER_MINUTE = 200
MAX_TIME = re.compile(r"(?P<minutes>\d{1,3})(?::(?P<seconds>[0-5]\d))?")
TIME_FACTOR = 1.5


@dataclass
class CompiledLens:
    body: dict | None  # None: kept in the vault cache until a sync writes it (`VaultCache.bodies([key])`)
    estimated_seconds: int
    digest: str = ""  # SHA-256 of the body's canonical JSON
    key: tuple[str, int] = ("", 0)  # (path, index of the lens in its file)


@dataclass
class LensCompiler:
    """Compiles lens bodies for one vault, caching transcripts between lenses.

    `deps` collects, for the lens being compiled, everything its body was made from besides its own file
    (see `dependencies_current`), so that the vault cache knows when the body must be compiled again.
    """

    vault: Vault
    _phrases: dict[str, list[Phrase]] = field(default_factory=dict)
    _footnotes: dict[str, dict[str, str]] = field(default_factory=dict)  # article -> label -> definition
    deps: list[tuple] = field(default_factory=list)

    def compile(self, lens: LensDoc, doc: Document) -> CompiledLens:
        self.deps = [("sources", _sources(lens))]
        report = doc.report
        segments: list[SegmentPayload] = []
        words = 0
        video_seconds = 0.0
        article_end: dict[str, int] = {}  # article path -> where its previous excerpt in this lens ended
        last_excerpt: dict[str, tuple[ArticleSegment, int]] = {}  # article path -> (its payload, end offset)
        for index, segment in enumerate(lens.segments):
            payload = self._segment(segment, index, lens, report, article_end, last_excerpt)
            if payload is None:
                continue
            segments.append(payload)
            if payload["type"] == "text":
                words += word_count(payload["text"])
            elif payload["type"] == "article":
                words += payload["word_count"]
            elif payload["type"] == "question" or payload["type"] == "roleplay":
                words += word_count(payload["content_text"])
            elif payload["type"] == "video":
                video_seconds += max(0.0, payload["end_s"] - payload["start_s"])
        for path, (payload, end) in last_excerpt.items():
            article = self.vault.documents[path]
            assert isinstance(article, ArticleDoc)
            payload["after_html"] = self._render_slice(article, end, len(article.body), f"s{payload['index']}a-")
        for index, payload in enumerate(segments):
            payload["index"] = index
        body = LensBody(segments=segments)
        if lens.kind == "lens":
            body["tldr"] = lens.tldr
        if lens.derived_id:
            body["derived_id"] = True
        seconds = (words / WORDS_PER_MINUTE * 60 + video_seconds) * TIME_FACTOR
        return CompiledLens(dict(body), round(seconds))

    def _segment(
        self,
        segment: Segment,
        index: int,
        lens: LensDoc,
        report: FileReport,
        article_end: dict[str, int],
        last_excerpt: dict[str, tuple[ArticleSegment, int]],
    ) -> SegmentPayload | None:
        fields = segment.fields
        line, optional = segment.line, segment.optional
        prefix = f"s{index}-"  # ids of this segment's HTML: unique on the lens's page
        if segment.kind == "text":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            return TextSegment(type="text", index=index, line=line, optional=optional, html=html, text=plain_text(html))
        if segment.kind == "chat":
            return ChatSegment(
                type="chat",
                index=index,
                line=line,
                optional=optional,
                instructions=fields.get("instructions"),
                hide_previous_content_from_user=fields.flag("hidePreviousContentFromUser"),
                hide_previous_content_from_tutor=fields.flag("hidePreviousContentFromTutor"),
            )
        if segment.kind == "question":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            text = plain_text(html)
            return QuestionSegment(
                type="question",
                index=index,
                line=line,
                optional=optional,
                key=question_key(text),
                content_html=html,
                content_text=text,
                assessment_instructions=fields.get("assessment-instructions"),
                max_chars=self._max_chars(segment, report),
                max_time=fields.get("max-time"),
                max_time_seconds=self._max_time(segment, report),
                enforce_voice=fields.flag("enforce-voice"),
                feedback=fields.flag("feedback"),
            )
        if segment.kind == "roleplay":
            html = self._render(fields.get("content"), lens, report, fields.line("content", segment.line), prefix)
            return RoleplaySegment(
                type="roleplay",
                index=index,
                line=line,
                optional=optional,
                id=fields.get("id").strip(),
                content_html=html,
                content_text=plain_text(html),
                ai_instructions=fields.get("ai-instructions"),
                opening_message=fields.get("opening-message"),
                assessment_instructions=fields.get("assessment-instructions"),
                feedback=fields.flag("feedback"),
            )
        if segment.kind == "article":
            return self._article(segment, index, report, article_end, last_excerpt)
        return self._video(segment, index, report)

    def _article(
        self,
        segment: Segment,
        index: int,
        report: FileReport,
        article_end: dict[str, int],
        last_excerpt: dict[str, tuple[ArticleSegment, int]],
    ) -> ArticleSegment | None:
        if segment.source is None or segment.source.path is None:
            return None  # the missing or broken source is reported already
        path = segment.source.path
        article = self.vault.documents[path]
        assert isinstance(article, ArticleDoc)
        self.deps.append(("file", path, self.vault.hashes.get(path, "")))
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
        excerpt_html = self._render_slice(article, span.start, span.end, f"s{index}-")
        text = plain_text(excerpt_html)
        if not text.strip():
            report.error(
                fields.line("from", segment.line),
                f"the excerpt of {path} selects nothing",
                "check that `from::` comes before `to::` in the article and that text lies between them",
            )
            return None
        for which in ("from", "to"):
            anchor = unquote(fields.get(which))
            if anchor and count_matches(article.body, anchor) > 1:
                report.warning(
                    fields.line(which),
                    f"`{which}::` text {_shorten(anchor)!r} is found more than once in {path}; the "
                    + (
                        "first one after the previous excerpt is used"
                        if which == "from"
                        else "first one after `from::` is used"
                    ),
                    "quote a few more words so that it is found once",
                )
        payload = ArticleSegment(
            type="article",
            index=index,
            line=segment.line,
            optional=segment.optional,
            article=ArticleInfo(
                title=article.title,
                authors=article.authors,
                source_url=article.source_url,
                published=article.published,
                path=path,
            ),
            before_html=self._render_slice(article, after, span.start, f"s{index}b-") if span.start > after else "",
            excerpt_html=excerpt_html,
            after_html="",
            text=text,
            word_count=word_count(text),
        )
        article_end[path] = max(span.end, after)
        last_excerpt[path] = (payload, article_end[path])
        return payload

    def _video(self, segment: Segment, index: int, report: FileReport) -> VideoSegment | None:
        if segment.source is None or segment.source.path is None:
            return None
        path = segment.source.path
        transcript = self.vault.documents[path]
        assert isinstance(transcript, TranscriptDoc)
        self.deps.append(("file", path, self.vault.hashes.get(path, "")))
        if transcript.timestamps_path:
            self.deps.append(
                ("file", transcript.timestamps_path, self.vault.hashes.get(transcript.timestamps_path, ""))
            )
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
        if phrases and not text.strip():
            report.error(
                fields.line("from", segment.line),
                f"no transcript words between {start:g} s and {end:g} s of {path}",
                "check `from::` and `to::` against the transcript's timestamps",
            )
            return None
        if phrases and times["from"] is not None and start > phrases[-1].start:
            report.warning(fields.line("from", segment.line), f"`from::` is after the last phrase of {path}")
        return VideoSegment(
            type="video",
            index=index,
            line=segment.line,
            optional=segment.optional,
            video=VideoInfo(
                title=transcript.title,
                channel=transcript.channel,
                url=transcript.url,
                youtube_id=transcript.youtube_id,
                path=path,
            ),
            start_s=start,
            end_s=end,
            transcript=text,
        )

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

    def _load_phrases(self, transcript: TranscriptDoc) -> list[Phrase]:
        if transcript.path not in self._phrases:
            path = transcript.timestamps_path
            # The file's own problems are reported when the vault is read (`media.check_timestamps`).
            self._phrases[transcript.path] = load_phrases(self.vault.read_text(path), FileReport(path))
        return self._phrases[transcript.path]

    def _max_chars(self, segment: Segment, report: FileReport) -> int | None:
        value = segment.get("max-chars").strip()
        if not value:
            return None
        if not value.isdigit():
            report.error(segment.fields.line("max-chars"), f"`max-chars::` must be a whole number, not {value!r}")
            return None
        return int(value)

    def _max_time(self, segment: Segment, report: FileReport) -> int | None:
        """`max-time::` in seconds: whole minutes (`5`) or minutes and seconds (`M:SS`, e.g. `1:30`)."""
        value = segment.get("max-time").strip()
        if not value:
            return None
        match = MAX_TIME.fullmatch(value)
        seconds = int(match["minutes"]) * 60 + int(match["seconds"] or 0) if match else 0
        if not seconds:
            report.error(
                segment.fields.line("max-time"),
                f"`max-time::` must be a time more than zero, not {value!r}",
                "write whole minutes (`max-time:: 5`) or minutes:seconds (`max-time:: 1:30`)",
            )
            return None
        return seconds

    def _render(self, markdown: str, lens: LensDoc, report: FileReport, line: int, id_prefix: str) -> str:
        """Render a field of a lens, reporting wikilinks that lead nowhere (and published links to drafts).

        A link to an article or a video transcript leads to the lens that excerpts it."""
        problems: list[tuple[str, str]] = []
        errors: list[tuple[str, str]] = []
        published = not self.vault.documents[lens.path].draft

        def resolve(target: str) -> LinkTarget | None:
            fingerprint = link_fingerprint(self.vault, lens.path, target)
            self.deps.append(("link", lens.path, target, fingerprint))
            path, problem, content_id, title, draft, excerpted_by = fingerprint
            if path is None:
                problems.append((f"link `[[{target}]]`: {problem}", ""))
                return None
            if excerpted_by is False:
                problems.append(
                    (
                        f"link `[[{target}]]` points at {path}, which no lens excerpts, so it leads nowhere",
                        "link to a lens that excerpts it",
                    )
                )
            if draft and published:
                errors.append(
                    (
                        f"published content references a draft: link `[[{target}]]` points at {path}, "
                        "which is tagged work-in-progress",
                        "publish it (remove the `wip`/`work-in-progress` tag) or link to something published",
                    )
                )
                return LinkTarget(None, title)
            if excerpted_by is not None:  # an article or a transcript: the lens that excerpts it
                kind = "article" if isinstance(self.vault.documents.get(path), ArticleDoc) else "video"
                return LinkTarget(excerpted_by or None, title, kind)
            return LinkTarget(str(content_id) if content_id else None, title)

        html = render_markdown(markdown, resolve_link=resolve, id_prefix=id_prefix)
        for message, suggestion in problems:
            report.warning(line, message, suggestion)
        for message, suggestion in errors:
            report.error(line, message, suggestion)
        return html


def link_fingerprint(vault: Vault, from_path: str, target: str) -> tuple:
    """What a `[[link]]` in a lens resolves to: (path, problem, content id, title, is a draft, is excerpted
    (None unless an article or transcript))."""
    resolution = vault.index.resolve(from_path, target)
    if resolution.path is None:
        return (None, resolution.problem, None, "", False, None)
    doc = vault.documents.get(resolution.path)
    content_id, title = _identity(doc)
    # For an article or transcript: the UUID of the published lens that excerpts it, or False for none.
    excerpted_by = None
    if isinstance(doc, ArticleDoc | TranscriptDoc):
        lens_id = vault.excerpted_by.get(resolution.path)
        excerpted_by = str(lens_id) if lens_id else False
    return (resolution.path, "", content_id, title, doc is not None and doc.draft, excerpted_by)


def _sources(lens: LensDoc) -> tuple:
    return tuple(segment.source.path for segment in lens.segments if segment.source is not None)


def dependencies_current(vault: Vault, lens: LensDoc, deps: tuple) -> bool:
    """Whether everything a cached body was compiled from is as it was (see `LensCompiler.deps`)."""
    for dep in deps:
        if dep[0] == "sources":
            if dep[1] != _sources(lens):
                return False
        elif dep[0] == "file":
            if vault.hashes.get(dep[1], "") != dep[2]:
                return False
        elif dep[0] == "link":
            if link_fingerprint(vault, dep[1], dep[2]) != dep[3]:
                return False
        else:
            return False
    return True


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
    """Compiled bodies by `id()` of their LensDoc; diagnostics land in the files' reports as usual.

    With a vault cache, a lens whose file and dependencies are unchanged is taken from it (with the
    problems compiling it reported then) and its body stays in the cache; only the others are compiled.
    """
    cache = vault.cache
    compiled: dict[int, CompiledLens] = {}
    tasks = []
    for path, doc in vault.documents.items():
        if doc.ignored:
            continue
        for index, lens in enumerate(lenses_of(doc)):
            cached = cache.lens(path, index) if cache is not None else None
            if (
                cached is not None
                and cached.file_hash == vault.hashes.get(path)
                and dependencies_current(vault, lens, cached.deps)
            ):
                doc.report.diagnostics.extend(pickle.loads(cached.diagnostics))
                compiled[id(lens)] = CompiledLens(None, cached.seconds, cached.digest, (path, index))
            else:
                tasks.append((path, index))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 2 or len(tasks) < 200 or "fork" not in multiprocessing.get_all_start_methods():
        for start in range(0, len(tasks), 100):
            _keep(vault, _compile_tasks(vault, tasks[start : start + 100]), compiled)
    else:
        global _WORK
        _WORK = vault
        # Small chunks: the pool balances the load, and the bodies of a chunk (whole articles rendered around
        # their excerpts) wait in this process only until they are in the cache: the peak stays low.
        size = max(1, min(40, len(tasks) // (workers * 8)))
        chunks = [tasks[start : start + size] for start in range(0, len(tasks), size)]
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = pool.map(_compile_in_worker, chunks)  # every chunk submitted: the workers are forked
                # The workers have their own copy of the articles' text: this process lets go of its copy now
                # rather than after compiling, so that the results arriving do not add to it at the peak.
                _drop_article_text(vault)
                for chunk in results:  # taken as they come: memory stays low
                    _keep(vault, chunk, compiled)
        finally:
            _WORK = None
    _drop_article_text(vault)
    return compiled


def _drop_article_text(vault: Vault) -> None:
    """Compiled: the articles' text is no longer needed (a large vault's articles are most of its memory)."""
    for doc in vault.documents.values():
        if isinstance(doc, ArticleDoc):
            doc.body = ""


def _keep(vault: Vault, results: list, compiled: dict[int, CompiledLens]) -> None:
    """Report what compiling found and keep the bodies (in the vault cache when there is one)."""
    cache = vault.cache
    for path, index, seconds, encoded, digest, diagnostics, deps in results:
        doc = vault.documents[path]
        doc.report.diagnostics.extend(diagnostics)
        body = None
        if cache is not None:
            entry = CachedLens(vault.hashes.get(path, ""), deps, digest, seconds, pickle.dumps(diagnostics))
            cache.put_lens(path, index, entry, encoded)
        else:
            body = json.loads(encoded)
        compiled[id(lenses_of(doc)[index])] = CompiledLens(body, seconds, digest, (path, index))


def _compile_in_worker(tasks: list[tuple[str, int]]) -> list:
    assert _WORK is not None
    return _compile_tasks(_WORK, tasks)


def _compile_tasks(vault: Vault, tasks: list[tuple[str, int]]) -> list:
    """(path, index, seconds, body JSON, digest, diagnostics, deps) per task; diagnostics leave the reports."""
    compiler = LensCompiler(vault)
    results = []
    for path, index in tasks:
        report = vault.documents[path].report
        start = len(report.diagnostics)
        lens = compiler.compile(lenses_of(vault.documents[path])[index], vault.documents[path])
        assert lens.body is not None  # a freshly compiled lens has its body
        encoded = body_json(lens.body)
        digest = hashlib.sha256(encoded.encode()).hexdigest()
        results.append(
            (path, index, lens.estimated_seconds, encoded, digest, report.diagnostics[start:], tuple(compiler.deps))
        )
        del report.diagnostics[start:]
    return results
