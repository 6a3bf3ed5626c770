"""A test URLconf: the project's URLs plus a login view and small pages, until the real pages land."""

from django.contrib.auth.views import LoginView
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from content_loader.models import ContentItem
from progress.services import complete_content


def page(request):
    learner = request.learner
    return HttpResponse(f"<!doctype html><title>Page</title><p>{learner.session_token or learner.user_id}</p>")


def complete_page(request, item_id):
    """A page that records progress during the request (a no-JavaScript form post, say)."""
    item = ContentItem.objects.get(pk=item_id)
    complete_content(learner=request.learner, content_id=item.pk, content_type=item.content_type)
    return HttpResponse(status=302, headers={"Location": "/page/"})


def data(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("page/", page),
    path("complete/<uuid:item_id>/", complete_page),
    path("data.json", data),
    path("", include("courseplatform.urls")),
]
