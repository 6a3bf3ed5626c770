"""Staff views of conversations and answers."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.models import ChatSession
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory
from content_loader.tests.factories import LensFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(admin)
    return client


def test_conversations_filter_by_learner_content_and_state(staff_client):
    """The list filters by account, content item and active/archived; the transcript is shown inline."""
    learner = UserFactory(username="ada")
    lens = LensFactory(title="Corrigibility")
    mine = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk)
    ChatMessageFactory(session=mine, text="A question about shutdown")
    ChatSessionFactory(archived_at="2026-01-01T00:00Z")
    changelist = reverse("admin:chat_chatsession_changelist")

    html = staff_client.get(changelist, {"state": "active", "content_id": str(lens.pk)}).content.decode()
    assert "ada" in html and "1 chat session" in html
    assert "Lens: Corrigibility" in html
    assert "1 chat session" in staff_client.get(changelist, {"state": "archived"}).content.decode()
    assert "1 chat session" in staff_client.get(changelist, {"user__id__exact": learner.pk}).content.decode()
    detail = staff_client.get(reverse("admin:chat_chatsession_change", args=[mine.pk])).content.decode()
    assert "A question about shutdown" in detail


def test_archive_action(staff_client):
    """Staff can archive selected conversations."""
    session = ChatSessionFactory()
    response = staff_client.post(
        reverse("admin:chat_chatsession_changelist"), {"action": "archive", "_selected_action": [session.pk]}
    )
    assert response.status_code == 302
    assert ChatSession.objects.get().archived_at is not None


def test_answers_are_listed_per_learner_and_question(staff_client):
    """Answers show learner, question and answer, and can be narrowed to one question."""
    QuestionAnswerFactory(text="Because goals", question_key="aaaaaaaaaaaaaaaa")
    QuestionAnswerFactory(text="Other answer", question_key="bbbbbbbbbbbbbbbb")
    html = staff_client.get(reverse("admin:chat_questionanswer_changelist"), {"q": "aaaaaaaaaaaaaaaa"}).content.decode()
    assert "Because goals" in html and "Other answer" not in html
