"""URL configuration: each app owns its URLs; this file only wires them together."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # First: the API's heartbeats and completions are most of the traffic, and its paths (all under api/)
    # meet no other app's, so resolving them need not try every other pattern first.
    path("", include("progress.urls")),
    # Before the admin's own URLs, which would otherwise take /admin/dashboard/ for an app's index.
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("chat/", include("chat.urls")),
    path("voice/", include("voice.urls")),
    path("roleplay/", include("roleplay.urls")),
    path("", include("delivery.urls")),
    path("", include("ops.urls")),
    path("accounts/", include("accounts.urls")),
    path("search/", include("search.urls")),
    path("", include("learn.urls")),
]

handler400 = "ops.views.bad_request"
handler404 = "ops.views.page_not_found"
handler500 = "ops.views.server_error"
