from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("lens/<uuid:lens_id>/", views.lens_page, name="lens"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/send/", views.send, name="send"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/reply/", views.reply, name="reply"),
    path("lens/<uuid:lens_id>/chat/<int:segment_index>/new/", views.new_conversation, name="new"),
    path("conversations/<int:session_id>/", views.conversation, name="conversation"),
    path("items/<uuid:item_id>/questions/<slug:question_key>/answer/", views.answer, name="answer"),
    path("items/<uuid:item_id>/questions/<slug:question_key>/feedback/", views.feedback, name="feedback"),
]
