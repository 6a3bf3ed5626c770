"""Sign-up. Log-in and log-out are Django's own views (see urls.py).

Logging in (also right after sign-up) sends Django's `user_logged_in` signal, on which the progress
engine claims the anonymous learner's progress and leaves a receipt in `django.contrib.messages`; the
base template shows messages.
"""

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.forms import SignUpForm


def safe_next_url(request: HttpRequest, fallback: str = "/") -> str:
    """The `next` parameter when it points at this site, else `fallback` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and log the learner in, keeping the progress made so far."""
    next_url = safe_next_url(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url)
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})
