from django.urls import path

from . import views

urlpatterns = [
    path("hooks/content", views.content_webhook, name="content-webhook"),
]
