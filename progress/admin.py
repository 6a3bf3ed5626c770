"""Staff views of progress rows and of the audit trail of their corrections.

Rows are never added or deleted here. The two actions and every hand edit ask for a reason and go
through `progress.tooling.audit`, which writes the append-only record; records can be undone from their list.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Exists, OuterRef, Q, Subquery
from django.template.response import TemplateResponse

from content_loader.admin import ReadOnlyAdmin
from content_loader.models import ContentItem
from progress.identity import parse_token
from progress.models import LearnerDataAudit, ProgressAudit, UserContentProgress
from progress.tooling import audit


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


def ask_reason_then(modeladmin, request, queryset, *, title: str, apply) -> TemplateResponse | None:
    """Show a reason form for a changelist action; once given, call apply(obj, reason) for each object."""
    form = ReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        done = refused = 0
        for obj in queryset:
            try:
                done += apply(obj, form.cleaned_data["reason"]) is not None
            except audit.CorrectionRefused as exc:
                refused += 1
                modeladmin.message_user(request, str(exc), messages.WARNING)
        modeladmin.message_user(request, f"{title}: {done} changed, {refused} refused.", messages.SUCCESS)
        return None
    return TemplateResponse(
        request,
        "admin/progress/action_reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "opts": modeladmin.model._meta,
            "objects": queryset,
            "form": form,
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


class CompletedFilter(admin.SimpleListFilter):
    title = "completed"
    parameter_name = "completed"

    def lookups(self, request, model_admin):
        return [("yes", "Completed"), ("no", "Not completed")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(completed_at__isnull=self.value() == "no")
        return queryset


class RegistryFilter(admin.SimpleListFilter):
    title = "content in the registry"
    parameter_name = "content"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("retired", "Retired"), ("unknown", "Not in the registry")]

    def queryset(self, request, queryset):
        items = ContentItem.objects.filter(pk=OuterRef("content_id"))
        if self.value() == "active":
            return queryset.filter(Exists(items.filter(retired_at__isnull=True)))
        if self.value() == "retired":
            return queryset.filter(Exists(items.filter(retired_at__isnull=False)))
        if self.value() == "unknown":
            return queryset.filter(~Exists(items))
        return queryset


class ProgressEditForm(forms.ModelForm):
    audit_reason = forms.CharField(
        label="Reason for this change",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        max_length=2000,
        help_text="Required: the change and this reason are kept in the audit trail.",
    )

    class Meta:
        model = UserContentProgress
        fields = audit.EDITABLE_FIELDS


@admin.register(UserContentProgress)
class UserContentProgressAdmin(admin.ModelAdmin):
    """Progress rows; dashboard/admin.py adds the links to each learner's dashboard page (a layer above)."""

    form = ProgressEditForm
    list_display = [
        "learner",
        "title",
        "kind",
        "started_at",
        "completed_at",
        "time_to_complete_s",
        "total_time_spent_s",
    ]
    list_filter = ["content_type", CompletedFilter, RegistryFilter]
    list_select_related = ["user"]
    search_fields = ["content_title"]  # extended in get_search_results
    search_help_text = "Username, email, token, title or content UUID."
    readonly_fields = [
        "user",
        "session_token",
        "content_id",
        "content_type",
        "started_at",
        "last_heartbeat_at",
    ]
    fields = [*readonly_fields, *audit.EDITABLE_FIELDS, "audit_reason"]
    actions = ["mark_complete", "reset_completion"]
    date_hierarchy = "started_at"

    def get_queryset(self, request):
        item = ContentItem.objects.filter(pk=OuterRef("content_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                registry_title=Subquery(item.values("title")[:1]),
                registry_type=Subquery(item.values("content_type")[:1]),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = (
            Q(user__username__icontains=term)
            | Q(user__email__icontains=term)
            | Q(content_title__icontains=term)
            | Q(content_id__in=ContentItem.objects.filter(title__icontains=term).values("pk"))
        )
        if (uuid := parse_token(term)) is not None:
            matches |= Q(content_id=uuid) | Q(session_token=uuid)
        return queryset.filter(matches), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="learner", ordering="user__username")
    def learner(self, row):
        return row.user.get_username() if row.user_id else f"token {str(row.session_token)[:8]}…"

    @admin.display(description="content title", ordering="content_title")
    def title(self, row):
        return row.registry_title or row.content_title or str(row.content_id)

    @admin.display(description="type", ordering="content_type")
    def kind(self, row):
        return row.registry_type or row.content_type

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in audit.EDITABLE_FIELDS}
        try:
            audit.edit(row_id=obj.pk, actor=request.user, reason=form.cleaned_data["audit_reason"], changes=changes)
        except audit.CorrectionRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Mark complete (asks for a reason)", permissions=["change"])
    def mark_complete(self, request, queryset):
        return ask_reason_then(
            self,
            request,
            queryset,
            title="Mark complete",
            apply=lambda row, reason: audit.mark_complete(row_id=row.pk, actor=request.user, reason=reason),
        )

    @admin.action(description="Reset completion (asks for a reason)", permissions=["change"])
    def reset_completion(self, request, queryset):
        return ask_reason_then(
            self,
            request,
            queryset,
            title="Reset completion",
            apply=lambda row, reason: audit.reset_completion(row_id=row.pk, actor=request.user, reason=reason),
        )


@admin.register(ProgressAudit)
class ProgressAuditAdmin(ReadOnlyAdmin):  # append-only: records are added by services, undone by new ones
    list_display = ["created_at", "actor_username", "action", "progress_id", "learner", "reason", "undone"]
    list_filter = ["action"]
    search_fields = ["actor_username", "learner", "reason"]
    actions = ["undo"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(is_undone=Exists(ProgressAudit.objects.filter(undoes=OuterRef("pk"))))
        )

    @admin.display(boolean=True, description="undone")
    def undone(self, record):
        return record.is_undone

    def has_undo_permission(self, request):
        return request.user.has_perm("progress.change_usercontentprogress")

    @admin.action(description="Undo (asks for a reason)", permissions=["undo"])
    def undo(self, request, queryset):
        return ask_reason_then(
            self,
            request,
            queryset,
            title="Undo",
            apply=lambda record, reason: audit.undo(audit_id=record.pk, actor=request.user, reason=reason),
        )


@admin.register(LearnerDataAudit)
class LearnerDataAuditAdmin(ReadOnlyAdmin):
    """Exports and erasures of learners' data: append-only, like the correction records."""

    list_display = ["created_at", "action", "learner", "actor_display", "counts"]
    list_filter = ["action"]
    search_fields = ["learner", "actor_username"]

    @admin.display(description="by", ordering="actor_username")
    def actor_display(self, record):
        return record.actor_username or "the learner"
