"""What the parser makes of each kind of vault file: plain dataclasses, no database.

Identity: every course, module, learning outcome, test and lens carries the UUID written in the vault
(`id` in frontmatter, `id::` for sections inside a file). Submodules get their own identity (`id::` under
the submodule heading, else derived from their parent module's UUID and their slug).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from .diagnostics import FileReport
from .fields import FieldBlock
from .wikilinks import Link

# Lens segment types of the current layout, with their fields.
SEGMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content", "optional"),
    "chat": ("instructions", "optional", "hidePreviousContentFromUser", "hidePreviousContentFromTutor"),
    "article": ("source", "from", "to", "optional"),
    "video": ("source", "from", "to", "optional"),
    "question": (
        "content",
        "assessment-instructions",
        "max-time",
        "max-chars",
        "enforce-voice",
        "feedback",
        "optional",
    ),
    "roleplay": (
        "id",
        "content",
        "ai-instructions",
        "opening-message",
        "assessment-instructions",
        "feedback",
        "optional",
    ),
}
SEGMENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "chat": ("instructions",),
    "article": (),  # `source::` on the first Article segment of a lens: checked by the lens parser
    "video": (),
    "question": ("content",),
    "roleplay": ("id", "content", "ai-instructions"),
}
SEGMENT_HEADINGS = {"Text": "text", "Chat": "chat", "Article": "article", "Video": "video"}
SEGMENT_HEADINGS |= {"Question": "question", "Roleplay": "roleplay"}
# The original single-file module: `## Text`, `## Chat`, `## Video-excerpt` and `## Article-excerpt`
# segments inside `# Video:` / `# Article:` / `# Text:` / `# Chat:` sections, with these fields.
SINGLE_FILE_SEGMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content", "optional"),
    "chat": ("instructions", "optional", "hidePreviousContentFromUser", "hidePreviousContentFromTutor"),
    "video": ("from", "to", "optional"),
    "article": ("from", "to", "optional"),
}


@dataclass
class Segment:
    kind: str  # a key of SEGMENT_FIELDS
    line: int
    fields: FieldBlock
    optional: bool = False
    source: Link | None = None  # Article and Video: the article or transcript (inherited when omitted)

    def get(self, key: str) -> str:
        return self.fields.get(key)


@dataclass
class LensDoc:
    """A lens (a lens file, an inline `# Lens:`, or a single-file section) or a learning outcome's test."""

    kind: Literal["lens", "test"]
    id: uuid.UUID | None
    title: str
    path: str
    line: int  # 1 for a lens file, else the line of its heading
    segments: list[Segment] = field(default_factory=list)
    tldr: str = ""
    derived_id: bool = False  # a single-file section without `id::`: identity derived from position
    id_written: bool = False  # an `id` or `id::` is written (valid or not)
    titled: bool = True  # the title is the lens's own (False: a lens file without `title:`, named by its file)

    @property
    def content_id(self) -> uuid.UUID | None:
        """The UUID written in the vault (None for a section without `id::`)."""
        return self.id


@dataclass
class Step:
    """One step of a module or learning-outcome body, in order.

    `lens`: a lens placed here, by reference (`link`) or inline (`lens`); `lo`: a learning outcome by
    reference; `test`: a learning outcome's test (inline); `submodule`: the start of a submodule.
    """

    kind: Literal["lens", "lo", "test", "submodule"]
    line: int
    title: str = ""
    optional: bool = False
    hide: bool = False
    link: Link | None = None
    lens: LensDoc | None = None
    slug: str = ""  # submodule: `slug::`, or derived from the title
    id: uuid.UUID | None = None  # submodule: `id::`, if given
    level: int = 1  # level of the section heading


@dataclass
class CourseStep:
    kind: Literal["module", "meeting"]
    line: int
    title: str = ""
    optional: bool = False
    link: Link | None = None


@dataclass
class Document:
    """Common to every parsed file."""

    path: str
    report: FileReport
    draft: bool = False
    ignored: bool = False
    id_written: bool = False  # an `id` is written in the frontmatter (valid or not)


@dataclass
class CourseDoc(Document):
    id: uuid.UUID | None = None
    slug: str = ""
    title: str = ""
    description: str = ""
    steps: list[CourseStep] = field(default_factory=list)
    slug_aliases: list[str] = field(default_factory=list)
    replaces: list[uuid.UUID] = field(default_factory=list)


@dataclass
class ModuleDoc(Document):
    id: uuid.UUID | None = None
    slug: str = ""
    title: str = ""
    steps: list[Step] = field(default_factory=list)
    slug_aliases: list[str] = field(default_factory=list)
    replaces: list[uuid.UUID] = field(default_factory=list)
    single_file: bool = False  # written in the original single-file format

    @property
    def sections(self) -> list[LensDoc]:
        """The lenses defined in this file (inline `# Lens:` sections and single-file sections)."""
        return lenses_of(self)

    @property
    def content_id(self) -> uuid.UUID | None:
        return self.id


@dataclass
class OutcomeDoc(Document):
    id: uuid.UUID | None = None
    title: str = ""
    statement: str = ""
    steps: list[Step] = field(default_factory=list)
    replaces: list[uuid.UUID] = field(default_factory=list)


@dataclass
class LensFileDoc(Document):
    lens: LensDoc | None = None
    replaces: list[uuid.UUID] = field(default_factory=list)


@dataclass
class ArticleDoc(Document):
    title: str = ""
    authors: list[str] = field(default_factory=list)
    source_url: str = ""
    published: str = ""
    body: str = ""  # Markdown, authoring markup removed
    body_line: int = 1  # line of the file where `body` starts


@dataclass
class TranscriptDoc(Document):
    title: str = ""
    channel: str = ""
    url: str = ""
    youtube_id: str = ""
    timestamps_path: str = ""  # vault-relative path of the `.timestamps.json`, "" when missing


def lenses_of(doc: Document) -> list[LensDoc]:
    """The lenses and tests a file defines (a lens file; inline sections and tests of modules, outcomes)."""
    if isinstance(doc, LensFileDoc):
        return [doc.lens] if doc.lens is not None else []
    if isinstance(doc, ModuleDoc | OutcomeDoc):
        return [step.lens for step in doc.steps if step.lens is not None]
    return []
