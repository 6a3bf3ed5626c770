"""Sign-up, and a learner's own data (download it, delete it). Log-in and log-out are Django's own views.

Logging in (also right after sign-up) sends Django's `user_logged_in` signal, on which the progress
engine claims the anonymous learner's progress and leaves a receipt in `django.contrib.messages`; the
base template shows messages.

A login refused by the rate limit (django-axes) gets `locked_out`: the login page's layout, saying for how
long and what to do, with a 429 and `Retry-After`.

"My data" works for accounts and for anonymous learners alike (their data is their token's): the
download is one JSON file, and deleting asks for a confirmation, then removes it all in one transaction
(an account with the account, logging out), and gives the browser a fresh learner token.
"""

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.forms import DeleteMyDataForm, SignUpForm
from chat.models import ChatSession
from content_loader.models import ContentItem
from progress.learner_data import erase_learner_data, export_learner_data, learner_data_counts
from progress.middleware import ROTATED_TOKEN_ATTR


def safe_next_url(request: HttpRequest, fallback: str = "/") -> str:
    """The `next` parameter when it points at this site, else `fallback` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def locked_out(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None) -> HttpResponse:
    """django-axes's answer to a login past the limit (`AXES_LOCKOUT_CALLABLE`): 429, and how long to wait."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    # Back to the form that was posted (the learners' login or the admin's), with its `next`.
    context = {"minutes": minutes, "back_url": request.get_full_path()}
    response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and log the learner in, keeping the progress made so far."""
    next_url = safe_next_url(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:  # a sign-up with the same username or email address committed meanwhile
            form.add_error(None, "That username or email address was taken a moment ago. Choose another.")
            return render(request, "accounts/signup.html", {"form": form, "next": next_url})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url)
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


def _counts(request: HttpRequest) -> dict[str, int]:
    if request.learner is None:  # a request without any identity (no cookie could be set)
        return {
            "progress_rows": 0,
            "chat_sessions": 0,
            "chat_messages": 0,
            "question_answers": 0,
            "answer_drafts": 0,
            "roleplay_attempts": 0,
            "roleplay_messages": 0,
            "roleplay_feedback": 0,
            "accounts": 0,
        }
    return learner_data_counts(learner=request.learner)


@never_cache
@require_safe
def my_data(request: HttpRequest) -> HttpResponse:
    """What the site keeps about the learner, their conversations, and "Download my data" / "Delete my data"."""
    conversations = []
    if request.learner is not None:
        owner = {"user_id": request.learner.user_id, "session_token": request.learner.session_token}
        conversations = list(ChatSession.objects.for_conversation_list(**owner))
    titles = dict(
        ContentItem.objects.filter(pk__in={c.content_id for c in conversations if c.content_id}).values_list(
            "pk", "title"
        )
    )
    for conversation in conversations:
        conversation.title = titles.get(conversation.content_id, "")
    return render(request, "accounts/my_data.html", {"counts": _counts(request), "conversations": conversations})


@never_cache
@require_safe
def download_my_data(request: HttpRequest) -> HttpResponse:
    """Every progress row, conversation and answer of the learner, as one JSON file."""
    document = export_learner_data(learner=request.learner) if request.learner else {"progress": []}
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="my-courseplatform-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def delete_my_data(request: HttpRequest) -> HttpResponse:
    """Confirm, then delete all of the learner's data (and their account) in one transaction."""
    form = DeleteMyDataForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        fresh = uuid.uuid4()  # a fresh, empty anonymous identity; rate-limit counts follow it
        counts = erase_learner_data(learner=request.learner, fresh_token=fresh) if request.learner else _counts(request)
        if counts["accounts"]:
            logout(request)
        setattr(request, ROTATED_TOKEN_ATTR, fresh)
        messages.success(
            request,
            f"Deleted: {counts['progress_rows']} progress records, {counts['chat_sessions']} tutor conversations "
            f"and {counts['question_answers']} answers" + (", and your account." if counts["accounts"] else "."),
        )
        return redirect("learn:home")
    return render(request, "accounts/my_data_delete.html", {"counts": _counts(request), "form": form})
