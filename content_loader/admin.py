"""A read-only browser of the content registry: `sync_content` is its only writer.

Search by title, slug or UUID; filter by type and by retired. An item's page shows where it is used
(the courses and modules that place it) and its own structure.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import ContentItem, ReplacedId, SlugAlias


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RetiredFilter(admin.SimpleListFilter):
    title = "retired"
    parameter_name = "retired"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Retired")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(retired_at__isnull=False)
        return queryset


def _link(item: ContentItem) -> str:
    url = reverse("admin:content_loader_contentitem_change", args=[item.pk])
    retired = " (retired)" if item.retired_at else ""
    return format_html('<a href="{}">{}</a>{}', url, str(item), retired)


@admin.register(ContentItem)
class ContentItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "content_type", "slug", "id", "source_path", "last_synced_at", "retired_at"]
    list_filter = ["content_type", RetiredFilter]
    search_fields = ["title", "slug"]
    search_help_text = "Title, slug, or a full UUID."
    list_select_related = ["parent"]
    readonly_fields = ["used_in", "structure"]
    fields = [
        "id",
        "content_type",
        "title",
        "slug",
        "parent",
        "source_path",
        "source_line",
        "estimated_seconds",
        "first_synced_at",
        "last_synced_at",
        "retired_at",
        "checksum",
        "used_in",
        "structure",
        "body",
    ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """A search term that is a UUID finds that item (or the item that replaced it)."""
        try:
            content_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        replacements = ReplacedId.objects.filter(old_id=content_id).values_list("item_id", flat=True)
        return queryset.filter(pk__in=[content_id, *replacements]), False

    @admin.display(description="Used in")
    def used_in(self, obj: ContentItem) -> str:
        rows = []
        for entry in obj.module_placements.select_related("module", "learning_outcome"):
            via = f" via {entry.learning_outcome.title}" if entry.learning_outcome else ""
            flags = " (optional)" if entry.optional else ""
            rows.append((_link(entry.module), f"position {entry.position}{flags}{via}"))
        for entry in obj.outcome_placements.select_related("module", "item"):
            rows.append((_link(entry.module), f"places {entry.item.title} (position {entry.position})"))
        for entry in obj.course_placements.select_related("course"):
            rows.append((_link(entry.course), f"position {entry.position}"))
        if not rows:
            return "Not placed in any module or course."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))

    @admin.display(description="Structure")
    def structure(self, obj: ContentItem) -> str:
        if obj.content_type == "course":
            entries = obj.course_entries.select_related("module")
            rows: list[tuple[int | str, str]] = [
                (e.position, _link(e.module) if e.module else format_html("<strong>Meeting: {}</strong>", e.title))
                for e in entries
            ]
        elif obj.content_type == "module":
            rows = [(e.position, _link(e.item)) for e in obj.module_entries.select_related("item")]
            rows += [("submodule", _link(sub)) for sub in obj.submodules.all()]
        else:
            return "-"
        if not rows:
            return "Empty."
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}: {}</li>", rows))


@admin.register(ReplacedId)
class ReplacedIdAdmin(ReadOnlyAdmin):
    list_display = ["old_id", "item"]
    search_fields = ["item__title"]
    list_select_related = ["item"]


@admin.register(SlugAlias)
class SlugAliasAdmin(ReadOnlyAdmin):
    list_display = ["slug", "content_type", "item"]
    search_fields = ["slug", "item__title"]
    list_select_related = ["item"]
