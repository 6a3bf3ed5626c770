"""The shape of `ContentItem.body`: what the loader stores and what the pages render from.

Pages never read vault files; everything a learner sees comes from these payloads. All `*_html` values
are produced by the loader from Markdown with raw HTML escaped or sanitised, so templates may mark them
safe. Plain-text values (`text`, `instructions`, ...) are for the tutor's prompt and for search.

Inside `*_html`, the loader marks up what plain Markdown cannot say (content_loader/parsing/rendering.py):
- a wikilink to a lens, module, course or learning outcome is `<a class="content-link" data-content-id="UUID"
  href="#content-UUID">text</a>`, and `::card[[...]]` the same with `class="content-card"`; a link to an
  article or transcript carries the UUID of the lens that excerpts it and `data-target-kind="article"`
  (or `"video"`). Pages must rewrite these to the item's page (learn/links.py). A link to anything else is
  `<span class="content-link unresolved">text</span>`;
- `:::collapse` blocks are `<details class="collapse"><summary>label</summary>...</details>`; an inline
  `:collapse[...]` is `<span class="collapse">` (a paragraph cannot hold a <details>), for pages to fold
  behind an ellipsis; notes are `<aside class="note">` (blocks), `<span class="note">` (inline) or
  `<span class="note note--line">` (`::note`), each starting with a "Note" label; course-team footnotes
  are lettered markers `<sup class="lens-footnote-ref">` with their notes in `<section class="footnotes
  lens-footnotes">`, and Markdown footnotes `<section class="footnotes">`;
- every `id` is prefixed by its segment (`s3-`, `s3b-` and `s3a-` for the skipped text before and after
  an excerpt), so the pieces of one lens never collide; `href="#..."` points at an id of the same piece.
"""

from typing import Literal, NotRequired, TypedDict


class TextSegment(TypedDict):
    type: Literal["text"]
    index: int  # position of the segment in its lens or test, from 0
    line: int  # line of the segment heading in its file
    optional: bool
    html: str
    text: str


class ArticleInfo(TypedDict):
    title: str
    authors: list[str]
    source_url: str
    published: str  # as written in the article's frontmatter, "" when absent
    path: str  # vault-relative path of the article file


class ArticleSegment(TypedDict):
    type: Literal["article"]
    index: int
    line: int
    optional: bool
    article: ArticleInfo
    # Text of the article skipped before this excerpt (since the previous excerpt of the same article in
    # this lens, or since the article's start), shown collapsed; "" when nothing was skipped.
    before_html: str
    excerpt_html: str  # `::collapse` blocks inside it are already rendered as <details> elements
    # For the last excerpt of an article in a lens: the rest of the article, shown collapsed; else "".
    after_html: str
    text: str  # plain text of the excerpt
    word_count: int


class VideoInfo(TypedDict):
    title: str
    channel: str
    url: str
    youtube_id: str
    path: str


class VideoSegment(TypedDict):
    type: Literal["video"]
    index: int
    line: int
    optional: bool
    video: VideoInfo
    start_s: float
    end_s: float  # the clip's end; the end of the transcript when `to::` is absent
    transcript: str  # the transcript phrases whose start lies in [start_s, end_s)


class ChatSegment(TypedDict):
    type: Literal["chat"]
    index: int
    line: int
    optional: bool
    instructions: str
    hide_previous_content_from_user: bool
    hide_previous_content_from_tutor: bool


class QuestionSegment(TypedDict):
    type: Literal["question"]
    index: int
    line: int
    optional: bool
    # Stable identity of the question for saved answers: the first 16 hex digits of the SHA-256 of its
    # whitespace-collapsed content text, so answers survive reordering of segments.
    key: str
    content_html: str
    content_text: str
    assessment_instructions: str
    max_chars: int | None
    max_time: str
    max_time_seconds: int | None  # max_time parsed; None when absent or malformed (sync reports it)
    enforce_voice: bool
    feedback: bool


class RoleplaySegment(TypedDict):
    type: Literal["roleplay"]
    index: int
    line: int
    optional: bool
    id: str
    content_html: str
    content_text: str
    ai_instructions: str
    opening_message: str
    assessment_instructions: str
    feedback: bool


Segment = TextSegment | ArticleSegment | VideoSegment | ChatSegment | QuestionSegment | RoleplaySegment


class LensBody(TypedDict):
    """Body of a `lens` or `test` item."""

    tldr: NotRequired[str]
    segments: list[Segment]
    # Added by the loader: present (and True) only for a section of an original single-file module written
    # without `id::`. Its UUID is derived from the module and the section's position, so it changes when
    # sections move: it is shown, but progress must not be stored for it.
    derived_id: NotRequired[bool]


class CourseBody(TypedDict):
    description_html: NotRequired[str]


class LearningOutcomeBody(TypedDict):
    statement: NotRequired[str]
