"""URL configuration: each app owns its URLs; this file only wires them together."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # Before the admin's own URLs, which would otherwise take /admin/dashboard/ for an app's index.
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("chat/", include("chat.urls")),
    path("voice/", include("voice.urls")),
    path("roleplay/", include("roleplay.urls")),
    path("", include("delivery.urls")),
    path("", include("ops.urls")),
    path("", include("progress.urls")),
    path("accounts/", include("accounts.urls")),
    path("search/", include("search.urls")),
    path("", include("learn.urls")),
]

handler400 = "ops.views.bad_request"
handler404 = "ops.views.page_not_found"
handler500 = "ops.views.server_error"
