"""Sign-up, the account page (change email; password change and reset are Django's own views, the reset
rate-limited), and a learner's own data (download it, delete it). Log-in and log-out are Django's own views.

Logging in (also right after sign-up) sends Django's `user_logged_in` signal, on which the progress
engine claims the anonymous learner's progress and leaves a receipt in `django.contrib.messages`; the
base template shows messages.

A login refused by the rate limit (django-axes) gets `locked_out`: the login page's layout, saying for how
long and what to do, with a 429 and `Retry-After`.

"My data" works for accounts and for anonymous learners alike (their data is their token's): the
download is one JSON file, and deleting asks for a confirmation, then removes it all in one transaction
(an account with the account, logging out), and gives the browser a fresh learner token.
"""

import hashlib
import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts import services
from accounts.forms import ChangeEmailForm, DeleteMyDataForm, SignUpForm
from chat.models import ChatSession
from content_loader.models import ContentItem
from ops import ratelimit
from ops.http import safe_next
from progress.middleware import ROTATED_TOKEN_ATTR
from progress.tooling.learner_data import erase_learner_data, export_learner_data, learner_data_counts


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
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = BaseUserManager.normalize_email(form.cleaned_data.get("email", ""))
        try:
            user = services.sign_up(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=email,
                login_url=request.build_absolute_uri(reverse("login")),
                reset_url=request.build_absolute_uri(reverse("password_reset")),
            )
        except IntegrityError:  # a sign-up with the same username committed meanwhile
            form.add_error("username", "That username was taken a moment ago. Choose another.")
            return render(request, "accounts/signup.html", {"form": form, "next": next_url})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # The same words whether or not the address was free (accounts.services.sign_up).
        sent = f" We sent a message to {email}." if email else ""
        messages.success(request, f"Welcome, {user.get_username()}: your account is ready.{sent}")
        return redirect(next_url)
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


class LogoutView(auth_views.LogoutView):
    """Django's log-out (POST only), saying that it happened."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out. Progress you make now is kept in this browser.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, rate-limited per client address and per email address, naming the site.

    The answer is the same whether or not an account has the address ("if an account exists…").
    """

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset_body.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"

    @property
    def extra_email_context(self) -> dict:
        return {"site_name": settings.SITE_NAME}

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        address = self.request.META.get("REMOTE_ADDR", "unknown")
        limits = {
            "limit": settings.PASSWORD_RESET_RATE_LIMIT,
            "window": settings.PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS,
        }
        try:
            ratelimit.take(scope="password-reset", identity=f"address {address}"[:100], **limits)
            digest = hashlib.sha256(email.encode()).hexdigest()[:32]  # the limit's record holds no address
            ratelimit.take(scope="password-reset", identity=f"email {digest}", **limits)
        except ratelimit.RateLimited as refusal:
            form.add_error(
                None,
                f"Too many reset requests: at most {refusal.limit} in {refusal.window_text}. "
                f"Try again in {refusal.wait}, or check your inbox (and spam folder) for the emails already sent.",
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed. You stay logged in on this device.")
        return response


@never_cache
@login_required
@require_safe
def account(request: HttpRequest) -> HttpResponse:
    """The account page: username and email, and links to change them, the password and one's data."""
    return render(request, "accounts/account.html")


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def change_email(request: HttpRequest) -> HttpResponse:
    """Change (or remove) the account's email address, confirmed with the password."""
    form = ChangeEmailForm(request.POST or None, user=request.user, initial={"email": request.user.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.change_email(user=request.user, email=form.cleaned_data["email"])
        except services.EmailInUse:  # another account took it a moment ago
            form.add_error("email", "An account already uses this email address. Use another address (or none).")
        else:
            email = form.cleaned_data["email"]
            messages.success(
                request, f"Your email address is now {email}." if email else "Your email address is removed."
            )
            return redirect("account")
    return render(request, "accounts/change_email.html", {"form": form})


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
        conversations = list(ChatSession.objects.for_conversation_list(request.learner))
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
