"""Staff views of roleplay attempts: read-only transcripts and feedback, with filters."""

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest

from chat.admin import ContentFilter, LearnerFilter, learner_label
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage


class AttemptStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "In progress"), ("finished", "Finished"), ("archived", "Past attempts")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.active().filter(finished_at__isnull=True)
        if self.value() == "finished":
            return queryset.finished()
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RoleplayMessageInline(ReadOnlyInline):
    model = RoleplayMessage
    fields = ["created_at", "role", "text", "state", "problem"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class RoleplayFeedbackInline(ReadOnlyInline):
    model = RoleplayFeedback
    fields = ["requested_at", "text", "state", "problem"]
    readonly_fields = fields
    ordering = ["requested_at", "id"]


@admin.register(RoleplayAttempt)
class RoleplayAttemptAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "learner",
        "roleplay_id",
        "content_type",
        "message_count",
        "started_at",
        "finished_at",
        "archived_at",
    ]
    list_filter = [
        AttemptStateFilter,
        LearnerFilter,
        "content_type",
        ContentFilter,
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__email", "session_token", "roleplay_id", "content_id"]
    readonly_fields = [f.name for f in RoleplayAttempt._meta.fields]
    inlines = [RoleplayMessageInline, RoleplayFeedbackInline]
    list_select_related = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_count=Count("messages"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="learner", ordering="user__username")
    def learner(self, obj: RoleplayAttempt) -> str:
        return learner_label(obj)

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, obj: RoleplayAttempt) -> int:
        return obj.message_count
