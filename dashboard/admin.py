"""The dashboard in Django admin: a link on the admin's home page, links to each learner's dashboard page
from accounts and progress rows, and learner data actions on accounts."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from accounts.forms import UniqueEmailUserChangeForm
from dashboard.views import VIEW_PROGRESS, export_response
from learners import Learner
from progress.admin import UserContentProgressAdmin
from progress.models import LearnerDataAudit, UserContentProgress
from progress.tooling.learner_data import export_learner_data, record_data_request

admin.site.index_template = "dashboard/admin_index.html"

User = get_user_model()


class LearnerUserAdmin(UserAdmin):
    """Django's user admin, with a link to each learner's dashboard page and their data actions."""

    form = UniqueEmailUserChangeForm
    list_display = [*UserAdmin.list_display, "progress_link"]
    actions = ["export_learner_data", "erase_learner_data"]

    @admin.display(description="progress")
    def progress_link(self, user) -> str:
        return format_html('<a href="{}">dashboard</a>', reverse("dashboard:learner-user", args=[user.pk]))

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm(VIEW_PROGRESS)

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("auth.delete_user")

    @admin.action(description="Download learner data (JSON, recorded)", permissions=["export"])
    def export_learner_data(self, request, queryset):
        users = list(queryset.order_by("pk"))
        documents = []
        for user in users:
            learner = Learner(user_id=user.pk)
            documents.append(export_learner_data(learner=learner))
            record_data_request(learner=learner, action=LearnerDataAudit.Action.EXPORT, actor=request.user)
        if len(documents) == 1:
            return export_response(documents[0], f"learner-data-user-{users[0].pk}.json")
        return export_response({"learners": documents}, f"learner-data-{len(documents)}-users.json")

    @admin.action(description="Erase learner data and account (asks to confirm)", permissions=["erase"])
    def erase_learner_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Erase one learner at a time: select exactly one account.", messages.WARNING)
            return None
        return redirect("dashboard:erase-user", user_id=queryset.get().pk)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, LearnerUserAdmin)


def learner_page(row: UserContentProgress) -> str:
    """The staff dashboard's page of the row's learner."""
    if row.user_id:
        return reverse("dashboard:learner-user", kwargs={"user_id": row.user_id})
    return reverse("dashboard:learner-token", kwargs={"token": row.session_token})


class LearnerLinkedProgressAdmin(UserContentProgressAdmin):
    """Progress rows, each linking its learner's dashboard page (progress's admin knows no dashboard URL)."""

    list_display = [*UserContentProgressAdmin.list_display, "learner_link"]
    readonly_fields = ["learner_dashboard", *UserContentProgressAdmin.readonly_fields]
    fields = ["learner_dashboard", *UserContentProgressAdmin.fields]

    @admin.display(description="learner's page")
    def learner_link(self, row):
        return format_html('<a href="{}">dashboard</a>', learner_page(row))

    @admin.display(description="learner's dashboard")
    def learner_dashboard(self, row):
        return format_html('<a href="{}">Every module, time per lens and chats of this learner</a>', learner_page(row))


admin.site.unregister(UserContentProgress)
admin.site.register(UserContentProgress, LearnerLinkedProgressAdmin)
