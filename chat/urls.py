"""The tutor chat's URLs. Answers and feedback are routed by the learner pages, which decide locking."""

from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/send/", views.send, name="send"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/reply/", views.reply, name="reply"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/reply/<int:message_id>/", views.reply_state, name="reply-state"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/new/", views.new_conversation, name="new"),
    path("feedback/<int:request_id>/", views.feedback_state, name="feedback-state"),
    path("conversations/<int:session_id>/", views.conversation, name="conversation"),
]
