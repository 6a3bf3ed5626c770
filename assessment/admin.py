from django.contrib import admin

from assessment.models import Assessment


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    """Read-only: scores are written by the assessment job only."""

    list_display = ["subject_kind", "subject_id", "state", "score", "model", "attempts", "created_at", "assessed_at"]
    list_filter = ["state", "score", "model", "subject_kind", "created_at"]
    search_fields = ["segment_key", "reasoning", "error"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
