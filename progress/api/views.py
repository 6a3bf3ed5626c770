"""The progress JSON API: one view per URL, each parsing its input and calling one service or query."""

import uuid

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chat.models import ChatMessage, ChatSession
from content_loader.models import LEARNER_CONTENT_TYPES, ContentItem, ContentType
from progress.api import openapi
from progress.api.plumbing import (
    MAX_CLIENT_SECONDS,
    MAX_TIME_DELTA_S,
    MAX_TITLE_LENGTH,
    ApiError,
    int_field,
    str_field,
    uuid_field,
)
from progress.api.plumbing import api_view as api
from progress.identity import TOKEN_HEADER, parse_token
from progress.middleware import ROTATED_TOKEN_ATTR
from progress.queries import completed_content_ids, course_progress, module_progress
from progress.services import TokenClaimedElsewhere, claim_progress, complete_content, record_heartbeat


@api("POST", claimed_token_checked=True)
def complete(request, learner, payload):
    """POST /api/progress/complete: mark an item completed; reports its module when module_slug names one.

    The claimed-token check is the service's, under the learner's lock (TokenClaimed: 401).
    """
    content_type = payload.get("content_type")
    if content_type not in LEARNER_CONTENT_TYPES:
        raise ApiError(400, f"content_type must be one of: {', '.join(LEARNER_CONTENT_TYPES)}.")
    result = complete_content(
        learner=learner,
        content_id=uuid_field(payload, "content_id"),
        content_type=content_type,
        content_title=str_field(payload, "content_title", max_length=MAX_TITLE_LENGTH) or "",
        # Accepted because the API's clients send it, never credited: time comes from heartbeats.
        time_spent_s=int_field(payload, "time_spent_s", low=0, high=MAX_CLIENT_SECONDS, required=False),
        module_slug=str_field(payload, "module_slug", max_length=300),
    )
    module = result.module
    return JsonResponse(
        {
            "completed_at": result.completed_at,
            "newly_completed": result.newly_completed,
            "module_status": module.status if module else None,
            "module_progress": {"completed": module.completed, "total": module.total} if module else None,
            "module_newly_completed": result.module_newly_completed,
        }
    )


@api("POST", claimed_token_checked=True)
def heartbeat(request, learner, payload):
    """POST /api/progress/time: credit active seconds to an item (a heartbeat, or a sendBeacon flush).

    404 for a UUID the registry does not know; the claimed-token check is part of the one statement.
    """
    record_heartbeat(
        learner=learner,
        content_id=uuid_field(payload, "content_id"),
        time_delta_s=int_field(payload, "time_delta_s", low=1, high=MAX_TIME_DELTA_S),
    )
    return HttpResponse(status=204)


@api("POST", user_only=True)
def claim(request, learner, payload):
    """POST /api/progress/claim: move an anonymous token's progress, chats and answers to the caller's account.

    The token comes from the body's `session_token` (the original client's `claimSessionRecords`, which
    sends only the session cookie), else the one the request carries (X-Session-Token header or learner
    cookie). The token is a bearer secret: whoever holds it can already act as that learner, so naming it
    proves as much as carrying it; the request itself is authenticated by the session and CSRF-checked, and
    it merges into the caller's own account only. A token another account already claimed moves nothing: 409.
    """
    held = {
        token
        for token in (
            parse_token(request.META.get(TOKEN_HEADER)),
            parse_token(request.COOKIES.get(settings.PROGRESS_COOKIE_NAME)),
        )
        if token is not None
    }
    if payload.get("session_token") is None:
        if len(held) != 1:
            raise ApiError(400, "session_token is required: the request carries no single anonymous token.")
        token = next(iter(held))
    else:
        token = uuid_field(payload, "session_token")
    try:
        receipt = claim_progress(user=request.user, session_token=token)
    except TokenClaimedElsewhere as exc:
        raise ApiError(409, str(exc)) from None
    if parse_token(request.COOKIES.get(settings.PROGRESS_COOKIE_NAME)) == token:
        setattr(request, ROTATED_TOKEN_ATTR, uuid.uuid4())  # the browser's token is spent: give it a fresh one
    return JsonResponse(
        {
            "progress_records_claimed": receipt.progress_records_claimed,
            "chat_sessions_claimed": receipt.chat_sessions_claimed,
            "lenses_completed": receipt.lenses_completed,
            "seconds": receipt.seconds,
            "seconds_not_kept": receipt.seconds_not_kept,
            "answers_claimed": receipt.answers_claimed,
            "roleplays_claimed": receipt.roleplays_claimed,
        }
    )


@api("GET")
def completed(request, learner, payload):
    """GET /api/progress/completed: every UUID the learner completed."""
    return JsonResponse({"content_ids": completed_content_ids(learner)})


@api("GET")
def module(request, learner, payload, *, slug: str):
    """GET /api/modules/<slug>/progress: a module's lenses with completion, time and the open chat."""
    item = ContentItem.objects.defer("body").find_by_slug(ContentType.MODULE, slug)
    if item is None:
        raise ApiError(404, f"No module has the slug {slug[:300]!r}.")
    progress = module_progress(learner=learner, module=item)
    chat = (
        ChatSession.objects.active()
        .owned_by(learner)
        .filter(content_id=item.pk)
        .annotate(has_messages=Exists(ChatMessage.objects.filter(session=OuterRef("pk"))))
        .values("pk", "has_messages")
        .first()
    )
    return JsonResponse(
        {
            "module": {"id": item.pk, "slug": item.slug, "title": item.title},
            "status": progress.status,
            "progress": {"completed": progress.completed, "total": progress.total},
            "lenses": [
                {
                    "id": step.entry.item_id,
                    "title": step.entry.display_title,
                    "type": step.entry.item.content_type,
                    "optional": step.optional,
                    "completed": step.completed,
                    "completedAt": step.completed_at,
                    "timeSpentS": step.time_spent_s,
                }
                for step in progress.steps
            ],
            "chatSession": {"sessionId": chat["pk"], "hasMessages": chat["has_messages"]} if chat else None,
        }
    )


@api("GET")
def course(request, learner, payload, *, slug: str):
    """GET /api/courses/<slug>/progress: a course's units, each module with its status and k/n."""
    item = ContentItem.objects.defer("body").find_by_slug(ContentType.COURSE, slug)
    if item is None:
        raise ApiError(404, f"No course has the slug {slug[:300]!r}.")
    progress = course_progress(learner=learner, course=item)
    return JsonResponse(
        {
            "course": {"id": item.pk, "slug": item.slug, "title": item.title},
            "units": [
                {
                    "meeting": {"title": unit.meeting.title} if unit.meeting else None,
                    "modules": [
                        {
                            "id": summary.module.pk,
                            "slug": summary.module.slug,
                            "title": summary.entry.title or summary.module.title,
                            "optional": summary.optional,
                            "status": summary.status,
                            "progress": {"completed": summary.completed, "total": summary.total},
                        }
                        for summary in unit.modules
                    ],
                }
                for unit in progress.units
            ],
        }
    )


@csrf_exempt  # nothing to protect, and a POST gets the API's JSON 405 rather than a CSRF page
def openapi_document(request):
    """GET /api/openapi.json: the OpenAPI 3.1 description of this API."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "This URL accepts GET only."}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    response = JsonResponse(openapi.spec())
    response["Cache-Control"] = "public, max-age=300"  # the same for everyone: no learner in it
    return response
