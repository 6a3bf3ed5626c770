"""The content registry: every item a learner can progress through, by its permanent UUID.

`sync_content` is the only writer. Items are never deleted: one that vanished from the vault is retired
(`retired_at` set), so progress stored under its UUID stays meaningful. The structure tables
(`CourseEntry`, `ModuleEntry`) always describe the vault as it was last synced; they are replaced
wholesale for an item whose file changed.

A module with `# Submodule:` sections is stored as a parent `module` item plus one `module` item per
submodule (`parent` set, slug `parent-slug/sub-slug`). Courses list the submodules, in order, as their
modules; lenses and tests are placed in the submodules (leaf modules) only.
"""

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from django.db import models
from django.db.models import F, Q


class ContentType(models.TextChoices):
    COURSE = "course", "Course"
    MODULE = "module", "Module"
    LEARNING_OUTCOME = "lo", "Learning outcome"
    LENS = "lens", "Lens"
    TEST = "test", "Test"


# What a learner works through, and so what progress rows and chats may be about (a course only holds them).
LEARNER_CONTENT_TYPES = [ContentType.MODULE, ContentType.LEARNING_OUTCOME, ContentType.LENS, ContentType.TEST]


class SlugMoved(Exception):
    """A course or module was asked for by an earlier slug (`slug-aliases:`): it lives at `slug` now.

    The learner pages answer it with a permanent redirect to the same page under the current slug."""

    def __init__(self, content_type: str, slug: str):
        super().__init__(content_type, slug)
        self.content_type = content_type
        self.slug = slug


class ContentItemQuerySet(models.QuerySet):
    def active(self) -> "ContentItemQuerySet":
        """Items present in the vault at the last sync."""
        return self.filter(retired_at__isnull=True)

    def published(self) -> "ContentItemQuerySet":
        """Active items learners may see: not retired and not drafts."""
        return self.active().filter(is_draft=False)

    def courses(self, *, drafts: bool = False) -> "ContentItemQuerySet":
        """Published courses by title (the courses learners are offered); with `drafts`, draft courses too."""
        items = self.active() if drafts else self.published()
        return items.filter(content_type=ContentType.COURSE).order_by("title")

    def find_by_slug(self, content_type: str, slug: str) -> "ContentItem | None":
        """The active course or module with this slug, else the one with this slug alias (1 or 2 queries)."""
        if not slug or "\x00" in slug or len(slug) > 300:
            return None
        items = self.active().filter(content_type=content_type)
        found = (
            items.filter(slug=slug)[:1]
            or items.filter(pk__in=SlugAlias.objects.filter(content_type=content_type, slug=slug).values("item_id"))[:1]
        )
        return found[0] if found else None

    def course_at(self, slug: str, *, drafts: bool = False) -> "ContentItem | None":
        """The course a learner page's address names (a draft only with `drafts`), 1 or 2 queries; raises
        `SlugMoved` when `slug` is one of its earlier slugs."""
        course = self.courses(drafts=drafts).find_by_slug(ContentType.COURSE, slug)
        if course is not None and course.slug != slug:
            raise SlugMoved(ContentType.COURSE, course.slug)
        return course


class ContentItem(models.Model):
    id = models.UUIDField(primary_key=True, help_text="The permanent UUID written in the vault.")
    content_type = models.CharField(max_length=10, choices=ContentType.choices)
    slug = models.CharField(max_length=300, blank=True, help_text="Courses and modules only.")
    title = models.CharField(max_length=500)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submodules",
        help_text="For a submodule: the module whose file defines it.",
    )
    source_path = models.CharField(max_length=1000, help_text="Path of the defining file, relative to the vault.")
    source_line = models.PositiveIntegerField(default=1, help_text="Line of the defining heading (inline items).")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of what was synced for this item.")
    body = models.JSONField(
        default=dict,
        blank=True,
        help_text="Parsed, render-ready payload (for lenses and tests: their segments).",
    )
    estimated_seconds = models.PositiveIntegerField(
        default=0,
        help_text="Lenses and tests: words / 200 per minute plus video length, times 1.5.",
    )
    first_synced_at = models.DateTimeField()
    last_synced_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    is_draft = models.BooleanField(
        default=False,
        help_text="Tagged wip or work-in-progress: validated and synced, never listed or served to learners.",
    )

    objects = ContentItemQuerySet.as_manager()

    class Meta:
        ordering = ["content_type", "title"]
        permissions = [("preview_drafts", "Can preview draft content at its learner URLs")]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=ContentType.values),
                name="content_item_valid_type",
            ),
            models.UniqueConstraint(
                fields=["content_type", "slug"],
                condition=Q(retired_at__isnull=True) & ~Q(slug=""),
                name="content_item_unique_active_slug",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_content_type_display()}: {self.title}"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def stores_progress(self) -> bool:
        """Whether learners' progress and answers may be stored under this item's UUID: not for a `## Test:`
        without `id::`, whose UUID is derived from its place and changes once `--write-ids` gives it one."""
        return not (isinstance(self.body, dict) and self.body.get("derived_id"))


NO_STORED_ID_MESSAGE = (
    "Nothing you do in this test can be saved yet: it has no id in the course files. You can read it and "
    "think through its questions; your answers and progress can be stored once the course team runs "
    "`manage.py sync_content --write-ids`."
)


class CourseEntryQuerySet(models.QuerySet["CourseEntry"]):
    def module_at(self, course: ContentItem, module_slug: str, *, drafts: bool = False) -> "CourseEntry | None":
        """The course's entry for the module a learner page's address names, module and parent loaded (a draft
        module only with `drafts`), 1 or 2 queries; raises `SlugMoved` for one of the module's earlier slugs."""
        entries = self.filter(course=course, kind=CourseEntry.Kind.MODULE, module__retired_at__isnull=True)
        if not drafts:
            entries = entries.filter(module__is_draft=False)
        entries = entries.select_related("module", "module__parent")
        entry = entries.filter(module__slug=module_slug).first() or (
            entries.filter(
                module__slug_aliases__content_type=ContentType.MODULE, module__slug_aliases__slug=module_slug
            ).first()
        )
        if entry is not None and entry.module is not None and entry.module.slug != module_slug:
            raise SlugMoved(ContentType.MODULE, entry.module.slug)
        return entry


class CourseEntry(models.Model):
    """One step of a course in learner order: a module, or a meeting that closes a unit."""

    class Kind(models.TextChoices):
        MODULE = "module", "Module"
        MEETING = "meeting", "Meeting"

    course = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="course_entries")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    module = models.ForeignKey(
        ContentItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="course_placements",
        help_text="A leaf module (a module without submodules, or a submodule).",
    )
    title = models.CharField(
        max_length=500,
        blank=True,
        help_text="Meeting name; for a module, the link's display name only when the module has no title.",
    )
    optional = models.BooleanField(default=False)

    objects = CourseEntryQuerySet.as_manager()

    class Meta:
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="course_entry_unique_position"),
            models.CheckConstraint(
                condition=(Q(kind="module") & Q(module__isnull=False)) | (Q(kind="meeting") & Q(module__isnull=True)),
                name="course_entry_module_iff_kind_module",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} #{self.position}: {self.title or self.module_id}"

    def placement_of(self, item_id, *, drafts: bool = False) -> "ModuleEntry | None":
        """This module's entry for the lens or test `item_id`, item loaded (a draft only with `drafts`)."""
        if self.module is None:  # a meeting places nothing
            return None
        placement = self.module.module_entries.filter(item_id=item_id).select_related("item").first()
        if placement is None or (placement.item.is_draft and not drafts):
            return None
        return placement

    def next_module(self) -> ContentItem | None:
        """The active module after this one in the course's order (1 query)."""
        following = (
            CourseEntry.objects.filter(
                course_id=self.course_id,
                kind=CourseEntry.Kind.MODULE,
                position__gt=self.position,
                module__retired_at__isnull=True,
            )
            .select_related("module")
            .order_by("position")
            .first()
        )
        return following.module if following else None


class ModuleEntryQuerySet(models.QuerySet):
    def of_modules(self, module_ids=None) -> "ModuleEntryQuerySet":
        """The steps (lenses and tests) of these active modules, a parent module's being its submodules', in
        learner order: submodules in the file's order, then position. `module_ids`: ids or a query of them;
        None: every active module. Each entry carries `module_parent_id`."""
        entries = self.filter(module__retired_at__isnull=True)
        if module_ids is not None:
            entries = entries.filter(Q(module_id__in=module_ids) | Q(module__parent_id__in=module_ids))
        return entries.annotate(module_parent_id=F("module__parent_id")).order_by(
            "module__source_line", "module__slug", "position"
        )

    def steps_by_module(self, module_ids: Iterable[UUID] | None = None) -> dict[UUID, list["ModuleEntry"]]:
        """{module id: its steps} by `of_modules`, each entry with `.item` (its body deferred): the one reading
        of a module's steps, `optional` and `hide` on each (1 query). Only the given modules (every active
        one when None) are keys; a module without steps is none."""
        wanted = set(module_ids) if module_ids is not None else None
        steps: dict[UUID, list[ModuleEntry]] = defaultdict(list)
        for entry in self.of_modules(wanted).select_related("item").defer("item__body"):
            for module_id in (entry.module_id, entry.module_parent_id):
                if module_id is not None and (wanted is None or module_id in wanted):
                    steps[module_id].append(entry)
        return dict(steps)


class ModuleEntry(models.Model):
    """A lens or test placed in a leaf module, in learner order."""

    module = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="module_entries")
    position = models.PositiveIntegerField()
    item = models.ForeignKey(
        ContentItem, on_delete=models.PROTECT, related_name="module_placements", help_text="A lens or a test."
    )
    learning_outcome = models.ForeignKey(
        ContentItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outcome_placements",
        help_text="The learning outcome the item came through, if any.",
    )
    title = models.CharField(
        max_length=500,
        blank=True,
        help_text="The heading's label, kept only where the item has no title of its own (a lens file without one).",
    )
    optional = models.BooleanField(default=False)
    hide = models.BooleanField(default=False, help_text="Optional and hidden from the progress bar.")

    objects = ModuleEntryQuerySet.as_manager()

    class Meta:
        ordering = ["module", "position"]
        constraints = [
            models.UniqueConstraint(fields=["module", "position"], name="module_entry_unique_position"),
            models.CheckConstraint(condition=Q(hide=False) | Q(optional=True), name="module_entry_hide_needs_optional"),
        ]

    def __str__(self) -> str:
        return f"{self.module_id} #{self.position}: {self.item_id}"

    @property
    def display_title(self) -> str:
        return self.title or self.item.title


class ReplacedId(models.Model):
    """An old UUID that a newer item `replaces:`; progress stored under it counts for the newer item."""

    old_id = models.UUIDField(primary_key=True)
    item = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="replaced_ids")

    def __str__(self) -> str:
        return f"{self.old_id} → {self.item_id}"


class SlugAlias(models.Model):
    """An earlier slug (`slug-aliases:`) that still finds a course or module."""

    content_type = models.CharField(max_length=10, choices=ContentType.choices)
    slug = models.CharField(max_length=300)
    item = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="slug_aliases")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["content_type", "slug"], name="slug_alias_unique")]

    def __str__(self) -> str:
        return f"{self.slug} → {self.item_id}"


class ContentVersion(models.Model):
    """The registry's version: one row whose number changes with every statement that writes a row of the
    tables above or to a course run's dates (PostgreSQL triggers, this app's migration 0004 and learn's 0002;
    a fresh number from a sequence each time, so never one seen before, even after a rollback). What is read
    from content alone is kept per version (`content_loader.kept`). SQLite has no such triggers: there the
    version is read from the items."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"content version {self.version}"
