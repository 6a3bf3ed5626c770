"""The roleplay's URLs: one roleplay segment (by its `id::`) of one lens or test."""

from django.urls import path

from roleplay import views

app_name = "roleplay"
ROLEPLAY = "<uuid:item_id>/<uuid:roleplay_id>/"

urlpatterns = [
    path(ROLEPLAY + "send/", views.send, name="send"),
    path(ROLEPLAY + "reply/", views.reply, name="reply"),
    path(ROLEPLAY + "reply/<int:message_id>/", views.reply_state, name="reply-state"),
    path(ROLEPLAY + "speech/<int:message_id>/", views.speech, name="speech"),
    path(ROLEPLAY + "finish/", views.finish, name="finish"),
    path(ROLEPLAY + "restart/", views.restart, name="restart"),
    path(ROLEPLAY + "feedback/", views.feedback, name="feedback"),
    path(ROLEPLAY + "feedback/<int:feedback_id>/", views.feedback_state, name="feedback-state"),
]
