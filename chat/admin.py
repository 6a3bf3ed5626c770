"""Staff views of tutor conversations and question answers: read-only, except archiving."""

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest

from chat import services
from chat.models import ChatMessage, ChatSession, QuestionAnswer
from content_loader.models import ContentItem


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("archived", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "archived":
            return queryset.archived()
        return queryset


class ContentFilter(admin.SimpleListFilter):
    """The content items that have rows here, by title."""

    title = "content"
    parameter_name = "content_id"

    def lookups(self, request, model_admin):
        ids = model_admin.get_queryset(request).exclude(content_id=None).values("content_id").distinct()
        items = ContentItem.objects.filter(pk__in=ids).order_by("title")
        return [(str(item.pk), f"{item.get_content_type_display()}: {item.title}") for item in items]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(content_id=self.value())
        return queryset


class LearnerFilter(admin.SimpleListFilter):
    """Accounts or anonymous learners; a single learner is picked from a row's "learner" link."""

    title = "learner"
    parameter_name = "learner"

    def lookups(self, request, model_admin):
        return [("accounts", "Accounts"), ("anonymous", "Anonymous")]

    def queryset(self, request, queryset):
        if self.value() == "accounts":
            return queryset.filter(user__isnull=False)
        if self.value() == "anonymous":
            return queryset.filter(user__isnull=True)
        return queryset


def learner_label(obj) -> str:
    return obj.user.get_username() if obj.user_id else f"anonymous {str(obj.session_token)[:8]}"


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    fields = ["created_at", "role", "text", "state", "problem", "lens_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "learner", "content_type", "content_id", "message_count", "last_active_at", "archived_at"]
    list_filter = [
        ActiveFilter,
        LearnerFilter,
        "content_type",
        ContentFilter,
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__email", "session_token", "content_id"]
    readonly_fields = [
        "user",
        "session_token",
        "content_id",
        "content_type",
        "started_at",
        "last_active_at",
        "archived_at",
    ]
    inlines = [ChatMessageInline]
    actions = ["archive"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_count=Count("messages"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="learner", ordering="user__username")
    def learner(self, obj: ChatSession) -> str:
        return learner_label(obj)

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, obj: ChatSession) -> int:
        return obj.message_count

    @admin.action(description="Archive selected conversations")
    def archive(self, request: HttpRequest, queryset) -> None:
        count = services.archive_chat_sessions(session_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Archived {count} conversation{'s' if count != 1 else ''}.")


@admin.register(QuestionAnswer)
class QuestionAnswerAdmin(admin.ModelAdmin):
    list_display = ["learner", "content_type", "question_key", "question", "answer", "updated_at", "current"]
    list_filter = [
        LearnerFilter,
        "content_type",
        ContentFilter,
        ("superseded_at", admin.EmptyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__email", "session_token", "question_key", "question_text", "text"]
    readonly_fields = [f.name for f in QuestionAnswer._meta.fields]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="learner", ordering="user__username")
    def learner(self, obj: QuestionAnswer) -> str:
        return learner_label(obj)

    @admin.display(description="question")
    def question(self, obj: QuestionAnswer) -> str:
        return obj.question_text[:80]

    @admin.display(description="answer")
    def answer(self, obj: QuestionAnswer) -> str:
        return obj.text[:80]

    @admin.display(description="current", boolean=True)
    def current(self, obj: QuestionAnswer) -> bool:
        return obj.superseded_at is None
