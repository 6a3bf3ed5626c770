"""The chat and question views: HTMX fragments, the streamed reply, plain forms, refusals.

The page is the lens's standalone page, and answers and feedback are posted to its URLs (the learner pages
route answers themselves, deciding locking: a lens completed there locks them).
"""

import json
import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession, QuestionAnswer
from chat.tests.factories import QUESTION_KEY, ChatMessageFactory, ChatSessionFactory, chat_lens_body
from chat.tests.fake_tutor import Fail, Hang, Stream
from content_loader.tests.factories import LensFactory
from learn.links import standalone_lens_url

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/learn/some-lens/"}
STREAM = {"HTTP_ACCEPT": "application/x-ndjson"}


@pytest.fixture
def lens(db):
    return LensFactory(title="Corrigibility", body=chat_lens_body())


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def client(learner):
    client = Client()
    client.force_login(learner)
    return client


def url(name, lens, **kwargs):
    if name in {"answer", "feedback"}:
        return reverse(
            f"learn:standalone-{name}", kwargs={"lens_id": lens.pk, "question_key": kwargs.get("key", QUESTION_KEY)}
        )
    return reverse(f"chat:{name}", kwargs={"lens_id": lens.pk, "segment_index": kwargs.get("segment", 1)})


def events(response) -> list[dict]:
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines() if line]


# Sending and the streamed reply


@pytest.mark.django_db(transaction=True)
def test_htmx_send_saves_the_message_and_the_stream_shows_then_saves_the_reply(client, lens, learner, tutor_server):
    """Send returns the message and a reply placeholder; the reply URL streams pieces, then the saved reply."""
    tutor_server.script.append(Stream(["Good ", "question", "."]))

    response = client.post(url("send", lens), {"text": "What is corrigibility?"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "What is corrigibility?" in html
    assert f'data-chat-reply="{url("reply", lens)}"' in html
    assert ChatMessage.objects.filter(role="user").get().text == "What is corrigibility?"

    # The tutor was asked at once; the reply URL follows that reply (it does not ask a second time).
    response = client.post(url("reply", lens), **STREAM)

    assert response["Content-Type"] == "application/x-ndjson"
    streamed = events(response)
    assert streamed[0]["event"] == "started" and "/reply/" in streamed[0]["poll"]
    assert "".join(e["text"] for e in streamed if e["event"] == "delta") == "Good question."
    assert streamed[-1]["event"] == "done" and "Good question." in streamed[-1]["html"]
    assert len(tutor_server.requests) == 1
    assert list(ChatMessage.objects.values_list("role", "text")) == [
        ("user", "What is corrigibility?"),
        ("assistant", "Good question."),
    ]
    session = ChatSession.objects.get()
    assert (session.user_id, session.content_id, session.content_type) == (learner.pk, lens.pk, "lens")


@pytest.mark.django_db(transaction=True)
def test_a_plain_form_send_waits_for_the_reply_and_redirects_back(client, lens, tutor_server):
    """Without JavaScript, sending saves both messages and redirects to the page the form came from."""
    response = client.post(url("send", lens), {"text": "Hi", "next": "/learn/some-lens/#chat"})
    assert response.status_code == 303 and response["Location"] == "/learn/some-lens/#chat"
    assert list(ChatMessage.objects.values_list("role", flat=True)) == ["user", "assistant"]


@pytest.mark.django_db(transaction=True)
def test_a_plain_form_never_redirects_off_site(client, lens, tutor_server):
    """A `next` pointing at another site is ignored: the redirect goes to the site's home page."""
    response = client.post(url("send", lens), {"text": "Hi", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.django_db(transaction=True)
def test_a_failed_reply_shows_try_again_which_answers_the_saved_message(client, lens, tutor_server):
    """A tutor error streams a clear message with "Try again"; trying again replies without re-saving."""
    tutor_server.script.extend([Fail(500), Stream(["Here I am."])])
    client.post(url("send", lens), {"text": "Hello?"}, **HTMX)

    failed = events(client.post(url("reply", lens), **STREAM))
    assert failed[-1]["event"] == "error"
    assert "HTTP 500" in failed[-1]["html"] and "Try again" in failed[-1]["html"]
    assert f'action="{url("reply", lens)}"' in failed[-1]["html"]
    assert failed[-1]["message_html"] == ""  # nothing arrived: only the notice

    page = client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert "The tutor server had a problem (HTTP 500). Try again." in page and "Try again</button>" in page

    retried = events(client.post(url("reply", lens), **STREAM))
    assert retried[-1]["event"] == "done"
    assert list(ChatMessage.objects.values_list("role", "text")) == [("user", "Hello?"), ("assistant", "Here I am.")]


@pytest.mark.django_db(transaction=True)
def test_a_timeout_without_javascript_shows_a_page_with_try_again(client, lens, tutor_server, settings):
    """A plain form whose reply times out gets a 504 page saying the message is saved, with "Try again"."""
    settings.TUTOR_TIMEOUT_SECONDS = 1
    tutor_server.script.append(Hang(seconds=3))
    response = client.post(url("send", lens), {"text": "Hello?"})
    assert response.status_code == 504
    html = response.content.decode()
    assert "Your message is saved." in html and "took too long" in html and "Try again" in html
    assert ChatMessage.objects.filter(role="user").get().text == "Hello?"
    assert ChatMessage.objects.get(role="assistant").state == "interrupted"


@pytest.mark.django_db(transaction=True)
def test_reply_with_nothing_waiting_is_a_conflict(client, learner, lens, tutor_server):
    """Asking for a reply when the last message is already answered is refused with 409, not a 500."""
    session = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk)
    ChatMessageFactory(session=session, role="user", text="Hello?")
    ChatMessageFactory(session=session, role="assistant", text="Hello!")
    response = client.post(url("reply", lens), **STREAM)
    assert response.status_code == 409
    assert response["X-Chat-Refusal"] == "1"
    assert tutor_server.requests == []


# Refusals


@pytest.mark.django_db
def test_not_configured_shows_the_message_and_disables_the_input(client, lens, learner, no_tutor, rf):
    """Without a tutor the chat says so, its input is disabled, and sending answers 503."""
    # The lens page shows no empty chat then (one "tutor is turned off" notice): the panel as a view builds it.
    from django.template.loader import render_to_string

    from chat.panels import build_chat_panel

    request = rf.get("/")
    request.user, request.learner = learner, SimpleNamespace(user_id=learner.pk, session_token=None)
    panel = build_chat_panel(request, lens=lens, segment=lens.body["segments"][1])
    page = render_to_string("chat/lens_chat.html", {"chat": panel}, request=request)
    assert "The tutor is not available on this server" in page
    assert 'name="text" rows="3" required' in page and "disabled" in page.split('name="text" rows="3"')[1][:300]

    response = client.post(url("send", lens), {"text": "Hi"}, **HTMX)
    assert response.status_code == 503
    assert "not available" in response.content.decode()
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_too_long_a_message_is_refused_with_a_message_in_the_status_line(client, lens, tutor_server, settings):
    """Over CHAT_MAX_MESSAGE_CHARS: 400, the message retargeted at the chat's status line, nothing saved."""
    settings.CHAT_MAX_MESSAGE_CHARS = 5
    response = client.post(url("send", lens), {"text": "Too long"}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#chat-{lens.pk}-1-status"
    assert "the limit is 5" in response.content.decode()
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_the_rate_limit_answers_429_with_retry_after(client, lens, tutor_server, settings):
    """Past the rate limit: 429, Retry-After, and a message saying how long to wait; a plain form gets a page."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 1
    client.post(url("send", lens), {"text": "One"}, **HTMX)
    response = client.post(url("send", lens), {"text": "Two"}, **HTMX)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Please wait" in response.content.decode()

    page = client.post(url("send", lens), {"text": "Three, kept for you"})
    assert page.status_code == 429
    assert "Three, kept for you" in page.content.decode()  # nothing typed is lost
    assert list(ChatMessage.objects.filter(role="user").values_list("text", flat=True)) == ["One"]


@pytest.mark.django_db
def test_csrf_is_enforced(learner, lens, tutor_server):
    """A POST without the CSRF token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post(url("send", lens), {"text": "Hi"}).status_code == 403
    assert client.post(url("answer", lens), {"text": "Hi"}).status_code == 403
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_an_unknown_learner_is_refused(rf, lens, tutor_server):
    """A request that reaches the chat with no learner at all (no account, no token) is refused with a 403."""
    from django.contrib.auth.models import AnonymousUser

    from chat import views

    request = rf.post(url("send", lens), {"text": "Hi"})
    request.user = AnonymousUser()
    request.learner = None
    request.htmx = False
    request._dont_enforce_csrf_checks = True
    with pytest.raises(PermissionDenied):
        views.send(request, lens_id=lens.pk, segment_index=1)
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_learner_chats_by_token(lens, tutor_server):
    """An anonymous learner identified by a session token gets a conversation of their own."""
    token = uuid.uuid4()
    client = Client(HTTP_X_SESSION_TOKEN=str(token))
    client.post(url("send", lens), {"text": "Hi"})
    assert ChatSession.objects.get().session_token == token


@pytest.mark.django_db
def test_a_segment_that_is_not_a_chat_is_404(client, lens, tutor_server):
    """A stale segment index (content changed) answers 404, not a 500."""
    assert client.post(url("send", lens, segment=0), {"text": "Hi"}).status_code == 404
    assert client.post(url("send", lens, segment=99), {"text": "Hi"}).status_code == 404


@pytest.mark.django_db
def test_views_are_restricted_by_method(client, lens):
    """Writes answer GET with 405."""
    assert client.get(url("send", lens)).status_code == 405
    assert client.get(url("reply", lens)).status_code == 405


# New conversation and past conversations


@pytest.mark.django_db
def test_new_conversation_archives_and_lists_the_old_one_readable(client, lens, learner, tutor_server):
    """After "Start a new conversation" the panel is empty and "Past conversations" opens the old transcript."""
    old = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk)
    ChatMessageFactory(session=old, text="An old question")

    response = client.post(url("new", lens), **HTMX)

    html = response.content.decode()
    assert "An old question" not in html.split("Past conversations")[0]
    assert "Past conversations (1)" in html
    transcript = client.get(reverse("chat:conversation", kwargs={"session_id": old.pk}), **HTMX)
    assert "An old question" in transcript.content.decode()
    assert client.get(reverse("chat:conversation", kwargs={"session_id": old.pk})).status_code == 200


@pytest.mark.django_db
def test_a_past_conversation_page_links_back_to_the_page_it_came_from(client, learner, lens):
    """Without JavaScript a past conversation opens as a page whose "Back" link is the `next` it was given
    (on this site only)."""
    old = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk, archived_at="2026-01-01T00:00Z")
    url = reverse("chat:conversation", kwargs={"session_id": old.pk})
    assert (
        'href="/courses/c/modules/m/lenses/x/"'
        in client.get(url + "?next=/courses/c/modules/m/lenses/x/").content.decode()
    )
    assert "evil.example" not in client.get(url + "?next=https://evil.example/").content.decode()


@pytest.mark.django_db
def test_someone_elses_conversation_is_404(client):
    """A learner cannot read another learner's conversation."""
    other = ChatSessionFactory()
    assert client.get(reverse("chat:conversation", kwargs={"session_id": other.pk})).status_code == 404


@pytest.mark.django_db
def test_the_chat_panel_takes_a_fixed_number_of_queries(client, lens, learner, tutor_server):
    """The panel's queries do not grow with the number of messages or past conversations."""

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(standalone_lens_url(lens.pk, lens.title)).status_code == 200
        return len(captured)

    active = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk)
    ChatMessageFactory(session=active)
    first = queries_for_page()
    for _ in range(3):
        past = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk, archived_at="2026-01-01T00:00Z")
        ChatMessageFactory.create_batch(3, session=past)
    ChatMessageFactory.create_batch(5, session=active)
    assert queries_for_page() == first


# Questions


@pytest.mark.django_db
def test_saving_an_answer_with_htmx_returns_the_box(client, lens, learner):
    """Saving answers with the question's box showing the saved text."""
    response = client.post(url("answer", lens), {"text": "It wants to reach its goal."}, **HTMX)
    assert response.status_code == 200
    assert "It wants to reach its goal." in response.content.decode() and "Saved." in response.content.decode()
    answer = QuestionAnswer.objects.get()
    assert (answer.user_id, answer.content_id, answer.question_key) == (learner.pk, lens.pk, QUESTION_KEY)


@pytest.mark.django_db
def test_an_answer_over_max_chars_is_refused(client, lens):
    """An answer longer than `max-chars` is refused with 400 and a message; a plain form gets a page keeping it."""
    response = client.post(url("answer", lens), {"text": "x" * 201}, **HTMX)
    assert response.status_code == 400 and "this question allows 200" in response.content.decode()
    page = client.post(url("answer", lens), {"text": "y" * 201})
    assert page.status_code == 400 and "y" * 201 in page.content.decode()
    assert not QuestionAnswer.objects.exists()


@pytest.mark.django_db
def test_the_chat_app_routes_no_unlocked_answer_or_feedback_url(client, lens, tutor_server):
    """Answers and feedback cannot be posted to the chat app's own URLs (they would bypass locking)."""
    for action in ("answer", "feedback"):
        assert (
            client.post(f"/chat/items/{lens.pk}/questions/{QUESTION_KEY}/{action}/", {"text": "late"}).status_code
            == 404
        )
    assert not QuestionAnswer.objects.exists()
    assert tutor_server.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_locked_answer_is_refused_and_feedback_uses_the_saved_answer(client, lens, learner, tutor_server):
    """With `locked`, saving answers 409 and keeps the answer; feedback ignores the posted text, uses the saved one."""
    from chat.tests.factories import QuestionAnswerFactory

    QuestionAnswerFactory(session_token=None, user=learner, content_id=lens.pk, question_key=QUESTION_KEY, text="Final")
    client.post(reverse("learn:standalone-complete", args=[lens.pk]))  # completed: its answers are locked
    refused = client.post(url("answer", lens), {"text": "Changed"}, **HTMX)
    assert refused.status_code == 409 and "can no longer be changed" in refused.content.decode()
    tutor_server.script.append(Stream(["Fine."]))
    streamed = events(client.post(url("feedback", lens), {"text": "Changed"}, **STREAM))
    assert streamed[-1]["event"] == "done"
    assert "My answer:\nFinal" in tutor_server.requests[0]["messages"][1]["content"]
    assert list(QuestionAnswer.objects.values_list("text", "feedback")) == [("Final", "Fine.")]
    page = client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert "readonly" in page.split('name="text" rows="5"')[1][:400] and "Save answer" not in page


@pytest.mark.django_db
def test_a_wrapping_view_can_lock_answers(rf, learner, lens):
    """The learner pages can wrap the answer view with `locked=True`: the answer is then refused with 409."""
    from learn.views import questions

    request = rf.post("/", {"text": "late"})
    request.user = learner
    request.learner = SimpleNamespace(user_id=learner.pk, session_token=None)  # as the progress middleware sets
    request.htmx = False
    request._dont_enforce_csrf_checks = True
    response = questions.answer(
        request, item_id=lens.pk, question_key=QUESTION_KEY, locked=True, back_url="/", feedback_url=""
    )
    assert response.status_code == 409
    assert not QuestionAnswer.objects.exists()


@pytest.mark.django_db
def test_a_learner_object_from_the_progress_middleware_is_used(rf, lens):
    """`request.learner` (duck-typed) decides who is answering when present."""
    from types import SimpleNamespace

    from learn.views import questions

    token = uuid.uuid4()
    request = rf.post("/", {"text": "mine"})
    request.learner = SimpleNamespace(user_id=None, session_token=token)
    request.htmx = False
    request._dont_enforce_csrf_checks = True
    questions.answer(request, item_id=lens.pk, question_key=QUESTION_KEY, locked=False, back_url="/", feedback_url="")
    assert QuestionAnswer.objects.get().session_token == token


@pytest.mark.django_db(transaction=True)
def test_get_feedback_saves_the_answer_and_streams_feedback(client, lens, tutor_server):
    """ "Get feedback" saves the answer, streams the tutor's feedback, and saves it on the answer."""
    tutor_server.script.append(Stream(["Nice ", "point."]))
    response = client.post(url("feedback", lens), {"text": "It must stay on to reach its goal."}, **STREAM)
    streamed = events(response)
    assert "".join(e["text"] for e in streamed if e["event"] == "delta") == "Nice point."
    assert streamed[-1]["event"] == "done" and "Nice point." in streamed[-1]["html"]
    answer = QuestionAnswer.objects.get()
    assert (answer.text, answer.feedback) == ("It must stay on to reach its goal.", "Nice point.")
    assert "Look for instrumental convergence." in tutor_server.requests[0]["messages"][0]["content"]

    page = client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert "Tutor feedback" in page and "Nice point." in page


@pytest.mark.django_db
def test_feedback_needs_an_answer_and_a_tutor(client, lens, settings, no_tutor):
    """Without a tutor, feedback answers 503; the "Get feedback" button is not shown."""
    assert client.post(url("feedback", lens), {"text": "x"}, **STREAM).status_code == 503
    page = client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert "Get feedback" not in page


@pytest.mark.django_db
def test_feedback_on_an_empty_answer_is_refused(client, lens, tutor_server):
    """Asking for feedback before writing anything says to write an answer first."""
    response = client.post(url("feedback", lens), {"text": "  "}, **STREAM)
    assert response.status_code == 400 and "Write an answer first" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_try_again_without_javascript_replies_and_redirects(client, lens, learner, tutor_server):
    """The plain "Try again" form waits for the reply to the saved message, then redirects back."""
    session = ChatSessionFactory(session_token=None, user=learner, content_id=lens.pk)
    ChatMessageFactory(session=session, text="Still there?")
    response = client.post(url("reply", lens), {"next": "/learn/x/"})
    assert response.status_code == 303 and response["Location"] == "/learn/x/"
    assert list(session.messages.values_list("role", flat=True)) == ["user", "assistant"]


@pytest.mark.django_db
def test_an_answer_superseded_at_login_is_shown_under_the_question(client, lens, learner):
    """After a claim kept the account's answer, the earlier anonymous answer is still readable on the page."""
    from chat.tests.factories import QuestionAnswerFactory

    QuestionAnswerFactory(session_token=None, user=learner, content_id=lens.pk, question_key=QUESTION_KEY, text="Kept")
    QuestionAnswerFactory(
        session_token=None,
        user=learner,
        content_id=lens.pk,
        question_key=QUESTION_KEY,
        text="From my phone",
        superseded_at="2026-01-01T00:00Z",
    )
    page = client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert ">Kept</textarea>" in page
    assert "from before you logged in" in page and "From my phone" in page
