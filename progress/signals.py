"""The one deliberate signal: logging in claims the anonymous learner's progress and chats."""

import uuid

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from learners import Learner
from progress.identity import anonymous_token
from progress.middleware import ROTATED_TOKEN_ATTR
from progress.services import TokenClaimedElsewhere, claim_progress

RECEIPT_TAG = "progress-receipt"


@receiver(user_logged_in, dispatch_uid="progress.claim_on_login")
def claim_on_login(sender, request, user, **kwargs) -> None:
    """Claim the request's anonymous token, queue the receipt as a message, and rotate the cookie."""
    if request is None:
        return
    token, _via = anonymous_token(request)
    request.learner = Learner(user_id=user.pk)
    setattr(request, ROTATED_TOKEN_ATTR, uuid.uuid4())
    if token is None:
        return
    try:
        receipt = claim_progress(user=user, session_token=token)
    except TokenClaimedElsewhere:
        return  # a stale cookie of another account's learner: that account keeps its data, the login goes on
    if (
        receipt.progress_records_claimed
        or receipt.chat_sessions_claimed
        or receipt.answers_claimed
        or receipt.roleplays_claimed
    ):
        messages.success(request, receipt.summary(), extra_tags=RECEIPT_TAG, fail_silently=True)
