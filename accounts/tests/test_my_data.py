"""My data: a learner downloads everything kept about them, and deletes it after confirming."""

import json
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.tests.factories import UserFactory
from chat.models import ChatSession
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory
from content_loader.tests.factories import ModuleFactory
from progress.models import LearnerDataAudit, UserContentProgress
from progress.tests.factories import ProgressFactory

pytestmark = pytest.mark.django_db


def anonymous_client(token: uuid.UUID, **kwargs) -> Client:
    client = Client(**kwargs)
    client.cookies[settings.PROGRESS_COOKIE_NAME] = str(token)
    return client


def fill(**owner) -> None:
    ProgressFactory(**owner)
    ChatMessageFactory(session=ChatSessionFactory(**owner), text="a message")
    QuestionAnswerFactory(**owner)


def test_the_page_counts_what_is_kept_and_links_both_actions():
    """The My data page lists the learner's rows, conversations and answers, with both actions."""
    token = uuid.uuid4()
    fill(session_token=token)
    html = anonymous_client(token).get("/accounts/my-data/").content.decode()
    assert "1 progress record " in html and "1 tutor conversation (1 message)" in html
    assert 'href="/accounts/my-data/download/"' in html and 'href="/accounts/my-data/delete/"' in html


def test_the_page_lists_every_conversation_including_module_ones(django_assert_max_num_queries):
    """Conversations about a lens or a whole module (imported from the old platform) are listed and
    readable; other learners' are not; the page's queries do not grow with the number of conversations."""
    user = UserFactory()
    module = ModuleFactory(title="Why we forget")
    legacy = ChatSessionFactory(session_token=None, user=user, content_id=module.pk, content_type="module")
    ChatMessageFactory(session=legacy, text="an old question")
    lens_chat = ChatSessionFactory(session_token=None, user=user, archived_at="2026-01-01T00:00Z")
    ChatSessionFactory(session_token=uuid.uuid4())  # someone else's
    client = Client()
    client.force_login(user)

    html = client.get("/accounts/my-data/").content.decode()
    assert "Your tutor conversations" in html
    assert f"/chat/conversations/{legacy.pk}/" in html and "Why we forget" in html
    assert f"/chat/conversations/{lens_chat.pk}/" in html
    assert html.count("/chat/conversations/") == 2
    assert "an old question" in client.get(f"/chat/conversations/{legacy.pk}/").content.decode()

    for _ in range(5):
        ChatSessionFactory(session_token=None, user=user, archived_at="2026-01-01T00:00Z")
    # 15: the counts include roleplay attempts, their messages and feedback (3 queries).
    with django_assert_max_num_queries(15) as captured:
        client.get("/accounts/my-data/")
    few = len(captured)
    for _ in range(10):
        ChatSessionFactory(session_token=None, user=user, content_id=ModuleFactory().pk, content_type="module")
    with django_assert_max_num_queries(few):
        client.get("/accounts/my-data/")


def test_my_progress_links_download_and_delete():
    """The My progress page offers "Download my data" and "Delete my data"."""
    html = Client().get("/my-progress/").content.decode()
    assert ">Download my data</a>" in html and ">Delete my data</a>" in html


def test_an_anonymous_learner_downloads_their_tokens_data_only():
    """The download is a JSON attachment with the token's data and nobody else's."""
    token = uuid.uuid4()
    ProgressFactory(session_token=token, content_title="mine")
    ProgressFactory(content_title="someone else's")
    response = anonymous_client(token).get("/accounts/my-data/download/")
    assert response["Content-Disposition"] == 'attachment; filename="my-courseplatform-data.json"'
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["learner"] == {"kind": "anonymous", "token": str(token)}
    assert [row["title"] for row in document["progress"]] == ["mine"]


def test_an_account_downloads_its_data(client):
    """A logged-in learner's download names the account and holds its rows."""
    user = UserFactory(username="ada")
    fill(user=user, session_token=None)
    client.force_login(user)
    document = json.loads(client.get("/accounts/my-data/download/").content)
    assert document["learner"]["username"] == "ada" and len(document["chat_sessions"]) == 1


def test_deleting_needs_the_confirmation_box():
    """Posting without ticking the box shows the error and deletes nothing."""
    token = uuid.uuid4()
    fill(session_token=token)
    client = anonymous_client(token)
    assert "Delete everything" in client.get("/accounts/my-data/delete/").content.decode()
    response = client.post("/accounts/my-data/delete/", {})
    assert response.status_code == 200 and "Tick the box" in response.content.decode()
    assert UserContentProgress.objects.filter(session_token=token).exists()


def test_an_anonymous_learner_deletes_their_tokens_data_and_gets_a_fresh_token():
    """Confirmed deletion removes the token's data only, and the browser gets a new empty token."""
    token = uuid.uuid4()
    fill(session_token=token)
    fill(session_token=uuid.uuid4())
    client = anonymous_client(token)
    response = client.post("/accounts/my-data/delete/", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not UserContentProgress.objects.filter(session_token=token).exists()
    assert not ChatSession.objects.filter(session_token=token).exists()
    assert UserContentProgress.objects.count() == 1 and ChatSession.objects.count() == 1
    assert response.cookies[settings.PROGRESS_COOKIE_NAME].value not in ("", str(token))
    assert "Deleted: 1 progress records" in client.get("/").content.decode()
    assert LearnerDataAudit.objects.get().actor_username == ""


def test_an_account_deletes_its_data_and_itself_and_is_logged_out(client):
    """The account, its rows, conversations and answers go; the learner is logged out; others stay."""
    user = UserFactory()
    fill(user=user, session_token=None)
    other = UserFactory()
    fill(user=other, session_token=None)
    client.force_login(user)
    response = client.post("/accounts/my-data/delete/", {"confirm": "on"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert UserContentProgress.objects.filter(user=other).count() == 1
    assert UserContentProgress.objects.count() == 1 and ChatSession.objects.count() == 1
    assert "Log in" in client.get("/").content.decode()


def test_deleting_requires_the_csrf_token():
    """A cross-site POST without the CSRF token is refused and deletes nothing."""
    token = uuid.uuid4()
    fill(session_token=token)
    client = anonymous_client(token, enforce_csrf_checks=True)
    assert client.post("/accounts/my-data/delete/", {"confirm": "on"}).status_code == 403
    assert UserContentProgress.objects.filter(session_token=token).exists()
