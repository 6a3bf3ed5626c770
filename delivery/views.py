"""The push webhook: `POST /hooks/content` from GitHub or GitLab queues a sync of the configured branch."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import request_sync
from .webhooks import MAX_BODY_BYTES, NO_COMMIT, Refused, read_delivery

logger = logging.getLogger("delivery.webhook")


@csrf_exempt  # authenticated by its signature, never by a cookie
@require_POST
def content_webhook(request: HttpRequest) -> JsonResponse:
    """Answer at once: 202 and a queued sync for a push to the branch; never a 500."""
    if not settings.CONTENT_WEBHOOK_SECRET:
        return JsonResponse({"error": "no webhook here (CONTENT_WEBHOOK_SECRET is not set)"}, status=404)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _refuse(Refused(400, "the Content-Length header is not a number"), request)
    if length > MAX_BODY_BYTES:
        return _refuse(Refused(413, f"the body is over {MAX_BODY_BYTES} bytes"), request)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _refuse(Refused(413, f"the body is over {MAX_BODY_BYTES} bytes"), request)
    try:
        delivery = read_delivery(request.headers, body, settings.CONTENT_WEBHOOK_SECRET)
    except Refused as refused:
        return _refuse(refused, request)
    log = {"origin": delivery.origin, "event": delivery.event, "delivery_id": delivery.delivery_id}
    if delivery.event == "ping":
        logger.info("Content webhook ping", extra=log)
        return JsonResponse({"ok": True, "pong": True})
    if delivery.event != "push":
        logger.info("Content webhook: event ignored", extra=log)
        return JsonResponse({"queued": False, "reason": f"{delivery.event!r} events are ignored"}, status=202)
    log |= {"ref": delivery.ref, "after": delivery.after}
    if delivery.branch != settings.CONTENT_GIT_BRANCH:
        logger.info("Content webhook: push to another branch", extra=log)
        reason = f"{delivery.ref} is not the content branch ({settings.CONTENT_GIT_BRANCH})"
        return JsonResponse({"queued": False, "reason": reason}, status=202)
    if delivery.after == NO_COMMIT:
        logger.warning("Content webhook: the content branch was deleted; nothing synced", extra=log)
        return JsonResponse({"queued": False, "reason": "the branch was deleted; content stays as it is"}, status=202)
    try:
        sync_request, queued = request_sync(
            origin=delivery.origin,
            delivery_id=delivery.delivery_id,
            ref=delivery.ref,
            after_sha=delivery.after,
            requested_by=delivery.pusher,
        )
    except Exception:
        # The sender retries a 503; a 500 would say the request was wrong.
        logger.exception("Content webhook: could not record the delivery", extra=log)
        return JsonResponse({"error": "could not queue the sync just now; redeliver later"}, status=503)
    if not queued:
        logger.info("Content webhook: repeated delivery, nothing new queued", extra=log)
        return JsonResponse(
            {"queued": False, "reason": "this delivery was received before", "request": sync_request.pk}, status=202
        )
    logger.info("Content webhook: sync queued", extra=log | {"request": sync_request.pk})
    return JsonResponse({"queued": True, "request": sync_request.pk}, status=202)


def _refuse(refused: Refused, request: HttpRequest) -> JsonResponse:
    delivery_id = request.headers.get("X-GitHub-Delivery") or request.headers.get("X-Gitlab-Event-UUID") or ""
    logger.warning(
        "Content webhook refused: %s",
        refused.reason,
        extra={"status": refused.status, "delivery_id": delivery_id[:100]},
    )
    return JsonResponse({"error": refused.reason}, status=refused.status)
