from django.urls import path

from progress.api import views

app_name = "progress"
urlpatterns = [
    path("api/openapi.json", views.openapi_document, name="openapi"),
    path("api/progress/complete", views.complete, name="complete"),
    path("api/progress/time", views.heartbeat, name="time"),
    path("api/progress/claim", views.claim, name="claim"),
    path("api/progress/completed", views.completed, name="completed"),
    # Submodule slugs contain a "/" (parent-slug/sub-slug).
    path("api/modules/<path:slug>/progress", views.module, name="module"),
    path("api/courses/<path:slug>/progress", views.course, name="course"),
]
