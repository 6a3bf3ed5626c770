"""A test URLconf: the project's URLs, plus a minimal lens page and answer/feedback routes for chat's tests.

The chat app routes no answer or feedback URL itself (the learner pages do, deciding locking from
progress); these test routes call its views the same way, with `locked` given by the test's URL, so the
chat app is tested without the learner pages.
"""

from uuid import UUID

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import include, path, reverse
from django.views.decorators.http import require_POST

from chat import views
from content_loader.models import ContentItem

PAGE = engines["django"].from_string(
    """{% extends "chat/page.html" %}
{% block content %}
<h1>{{ lens.title }}</h1>
{% for segment in lens.body.segments %}
  {% if segment.type == "chat" %}{% include "chat/lens_chat.html" with lens=lens segment=segment %}
  {% elif segment.type == "question" %}
    {% url "chat-test:answer" lens.pk segment.key as answer %}{% url "chat-test:feedback" lens.pk segment.key as fb %}
    {% url "chat-test:start" lens.pk segment.key as start_url %}{# read by the include from the context #}
    {% include "chat/question.html" with item=lens segment=segment locked=locked answer_url=answer feedback_url=fb %}
  {% endif %}
{% endfor %}
{% endblock %}"""
)


def lens_page(request: HttpRequest, lens_id: UUID) -> HttpResponse:
    """The lens's chats and questions (`?locked=1`: as on a completed lens)."""
    lens = get_object_or_404(ContentItem, pk=lens_id)
    context = {"lens": lens, "locked": request.GET.get("locked") == "1"}
    return HttpResponse(PAGE.render(context, request))


@require_POST
def answer(request: HttpRequest, item_id: UUID, question_key: str, locked: bool = False) -> HttpResponse:
    return views.answer(
        request,
        item_id,
        question_key,
        locked=locked,
        back_url=reverse("chat-test:lens", args=[item_id]),
        feedback_url=reverse("chat-test:feedback", args=[item_id, question_key]),
    )


@require_POST
def start(request: HttpRequest, item_id: UUID, question_key: str, locked: bool = False) -> HttpResponse:
    return views.start(
        request,
        item_id,
        question_key,
        locked=locked,
        answer_url=reverse("chat-test:answer", args=[item_id, question_key]),
        feedback_url=reverse("chat-test:feedback", args=[item_id, question_key]),
        back_url=reverse("chat-test:lens", args=[item_id]),
    )


@require_POST
@transaction.non_atomic_requests
def feedback(request: HttpRequest, item_id: UUID, question_key: str, locked: bool = False) -> HttpResponse:
    return views.feedback(
        request, item_id, question_key, locked=locked, back_url=reverse("chat-test:lens", args=[item_id])
    )


test_patterns = [
    path("lens/<uuid:lens_id>/", lens_page, name="lens"),
    path("items/<uuid:item_id>/questions/<slug:question_key>/answer/", answer, name="answer"),
    path("items/<uuid:item_id>/questions/<slug:question_key>/feedback/", feedback, name="feedback"),
    path("items/<uuid:item_id>/questions/<slug:question_key>/start/", start, name="start"),
    path("locked/<uuid:item_id>/questions/<slug:question_key>/answer/", answer, {"locked": True}, name="answer-locked"),
    path(
        "locked/<uuid:item_id>/questions/<slug:question_key>/feedback/",
        feedback,
        {"locked": True},
        name="feedback-locked",
    ),
]

urlpatterns = [
    path("chat-test/", include((test_patterns, "chat-test"))),
    path("", include("courseplatform.urls")),
]
