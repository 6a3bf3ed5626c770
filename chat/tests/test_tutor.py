"""The tutor against a real local server speaking the OpenAI streaming protocol (nothing mocked)."""

import uuid

import pytest
from django.db import connection, connections

from chat import tutor
from chat.models import ChatMessage, ChatSession
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, chat_lens_body
from chat.tests.fake_tutor import Fail, Hang, Stream

BODY = chat_lens_body(instructions="Ask about corrigibility.", text="Corrigibility means accepting correction.")


def conversation(text: str = "What is corrigibility?") -> ChatSession:
    session = ChatSessionFactory()
    ChatMessageFactory(session=session, text=text, lens_id=session.content_id)
    return ChatSession.objects.prefetch_related("messages").get(pk=session.pk)


def reply(session: ChatSession, body: dict = BODY) -> list:
    return list(tutor.stream_reply(session=session, lens_title="Corrigibility", body=body, segment_index=1))


# Prompts (pure)


def test_system_prompt_has_the_instructions_and_what_the_learner_has_seen():
    """The prompt combines the chat's instructions with the text, article and video before it, not after."""
    body = {
        "segments": [
            {"type": "text", "index": 0, "text": "Intro text."},
            {"type": "article", "index": 1, "text": "An excerpt.", "article": {"title": "Essay", "authors": ["A. B."]}},
            {"type": "video", "index": 2, "transcript": "Spoken words.", "video": {"title": "Talk"}},
            {"type": "chat", "index": 3, "instructions": "Quiz them.", "hide_previous_content_from_tutor": False},
            {"type": "text", "index": 4, "text": "Later text."},
        ]
    }
    prompt = tutor.system_prompt(lens_title="Lens", body=body, segment_index=3)
    assert "Quiz them." in prompt
    assert "Intro text." in prompt
    assert 'Excerpt from the article "Essay" by A. B.:\nAn excerpt.' in prompt
    assert 'Transcript of the video "Talk":\nSpoken words.' in prompt
    assert "Later text." not in prompt


def test_hide_previous_content_from_tutor_leaves_only_the_instructions():
    """With `hide_previous_content_from_tutor`, the tutor gets the instructions and none of the lens."""
    body = chat_lens_body(instructions="Be Socratic.", hide_from_tutor=True)
    prompt = tutor.system_prompt(lens_title="Lens", body=body, segment_index=1)
    assert "Be Socratic." in prompt
    assert "Corrigibility means" not in prompt


def test_history_joins_consecutive_messages_of_one_role_and_starts_with_the_learner():
    """Two learner messages in a row (two tabs) become one turn; a leading tutor message is dropped."""
    messages = [
        ChatMessage(role="assistant", text="Welcome"),
        ChatMessage(role="user", text="One"),
        ChatMessage(role="user", text="Two"),
        ChatMessage(role="assistant", text="Answer"),
    ]
    result = tutor.conversation_messages(system="S", messages=messages)
    assert result == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "One\n\nTwo"},
        {"role": "assistant", "content": "Answer"},
    ]


# Replies


@pytest.mark.django_db(transaction=True)
def test_a_streamed_reply_comes_in_pieces_and_is_saved(tutor_server):
    """The reply streams piece by piece, then is saved as the tutor's message; the server got the prompt."""
    tutor_server.script.append(Stream(["Corrigibility ", "is ", "accepting correction."]))
    session = conversation()

    pieces = reply(session)

    assert pieces[:3] == ["Corrigibility ", "is ", "accepting correction."]
    saved = pieces[-1]
    assert isinstance(saved, ChatMessage)
    assert (saved.role, saved.text, saved.lens_id) == (
        "assistant",
        "Corrigibility is accepting correction.",
        session.content_id,
    )
    request = tutor_server.requests[0]
    assert request["model"] == "fake-model" and request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert "Ask about corrigibility." in request["messages"][0]["content"]
    assert request["messages"][1:] == [{"role": "user", "content": "What is corrigibility?"}]
    assert tutor_server.headers[0]["authorization"] == "Bearer test-key"
    session.refresh_from_db()
    assert session.replying_since is None


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_tutor_thinks(tutor_server):
    """While the tutor is asked, the learner's message is committed and no connection is idle in a transaction."""
    seen = {}

    def look_at_the_database(body):
        # In the server's thread, with its own connection: what other sessions can see right now.
        try:
            seen["message_committed"] = ChatMessage.objects.filter(text="Is anyone there?").exists()
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
                )
                seen["idle_in_transaction"] = cursor.fetchone()[0]
        finally:
            connections["default"].close()

    tutor_server.on_request = look_at_the_database
    session = conversation("Is anyone there?")
    assert not connection.in_atomic_block

    reply(session)

    assert not tutor_server.errors
    assert seen == {"message_committed": True, "idle_in_transaction": 0}


@pytest.mark.django_db
def test_calling_the_tutor_inside_a_transaction_is_refused(tutor_server):
    """The tutor refuses to be asked inside a transaction (here, the test's own), before any request."""
    with pytest.raises(RuntimeError, match="transaction"):
        list(tutor.stream_completion([{"role": "user", "content": "hi"}]))
    assert tutor_server.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_timeout_says_so_and_keeps_the_learners_message(tutor_server, settings):
    """When the tutor says nothing for TUTOR_TIMEOUT_SECONDS, a clear error comes and nothing is lost or added."""
    settings.TUTOR_TIMEOUT_SECONDS = 1
    tutor_server.script.append(Hang(seconds=3))
    session = conversation()

    with pytest.raises(tutor.TutorTimedOut, match="took too long"):
        reply(session)

    assert list(session.messages.values_list("role", "text")) == [("user", "What is corrigibility?")]
    session.refresh_from_db()
    assert session.replying_since is None  # "Try again" may ask again


@pytest.mark.django_db(transaction=True)
def test_a_reply_that_never_ends_is_cut_at_the_reply_deadline(tutor_server, settings):
    """A reply still streaming after TUTOR_MAX_REPLY_SECONDS is abandoned (a worker is never held forever)."""
    settings.TUTOR_MAX_REPLY_SECONDS = 1
    tutor_server.script.append(Stream(["slow "] * 10, delay=0.3))
    session = conversation()
    with pytest.raises(tutor.TutorTimedOut, match="too long to finish"):
        reply(session)
    assert session.messages.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_http_500_says_so_and_try_again_works(tutor_server):
    """A 500 from the tutor is a clear error; asking again answers the same saved message, saved once."""
    tutor_server.script.extend([Fail(500), Stream(["Second time lucky."])])
    session = conversation()

    with pytest.raises(tutor.TutorFailed, match="HTTP 500"):
        reply(session)
    session = ChatSession.objects.prefetch_related("messages").get(pk=session.pk)
    reply(session)

    assert list(session.messages.values_list("role", "text")) == [
        ("user", "What is corrigibility?"),
        ("assistant", "Second time lucky."),
    ]
    assert tutor_server.requests[0]["messages"] == tutor_server.requests[1]["messages"]


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_server_says_so(settings):
    """A tutor URL where nothing listens gives a clear error."""
    settings.TUTOR_BASE_URL = "http://127.0.0.1:9/v1"
    settings.TUTOR_MODEL = "fake-model"
    with pytest.raises(tutor.TutorFailed, match="could not be reached"):
        reply(conversation())


@pytest.mark.django_db
def test_not_configured(no_tutor):
    """Without a tutor configured, asking for a reply says the tutor is not available."""
    assert not tutor.is_configured()
    with pytest.raises(tutor.TutorNotConfigured, match="not available on this server"):
        reply(conversation())


@pytest.mark.django_db(transaction=True)
def test_nothing_to_answer_and_a_reply_in_progress_are_refused(tutor_server):
    """The tutor only answers an unanswered learner message, and only one request at a time does."""
    session = conversation()
    ChatMessageFactory(session=session, role="assistant", text="Done.")
    session = ChatSession.objects.prefetch_related("messages").get(pk=session.pk)
    with pytest.raises(tutor.NothingToAnswer):
        reply(session)

    busy = conversation()
    ChatSession.objects.filter(pk=busy.pk).update(replying_since="2999-01-01T00:00Z")
    with pytest.raises(tutor.AlreadyReplying):
        reply(busy)
    assert tutor_server.requests == []


@pytest.mark.django_db(transaction=True)
def test_feedback_uses_the_assessment_instructions_and_is_saved(tutor_server):
    """Feedback on an answer is asked with the question's assessment instructions and saved on the answer."""
    from chat.tests.factories import QuestionAnswerFactory, question_segment

    tutor_server.script.append(Stream(["Good: ", "you named instrumental goals."]))
    answer = QuestionAnswerFactory(text="It needs to stay on to reach its goal.", content_id=uuid.uuid4())
    pieces = list(tutor.stream_feedback(answer=answer, question=question_segment()))

    assert pieces[-1].feedback == "Good: you named instrumental goals."
    assert pieces[-1].feedback_is_current
    system, user = tutor_server.requests[0]["messages"]
    assert "Look for instrumental convergence." in system["content"]
    assert "It needs to stay on to reach its goal." in user["content"]
