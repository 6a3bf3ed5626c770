"""The tutor against a real local server speaking the OpenAI streaming protocol (nothing mocked)."""

import uuid

import pytest
from django.db import connection, connections

from chat import replies, tutor
from chat.models import ChatMessage, ChatSession, FeedbackRequest, ReplyState
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, chat_lens_body
from chat.tests.fake_tutor import Fail, Hang, Stream

BODY = chat_lens_body(instructions="Ask about corrigibility.", text="Corrigibility means accepting correction.")


def conversation(text: str = "What is corrigibility?") -> ChatSession:
    session = ChatSessionFactory()
    ChatMessageFactory(session=session, text=text, lens_id=session.content_id)
    return ChatSession.objects.prefetch_related("messages").get(pk=session.pk)


def reply(session: ChatSession, body: dict = BODY) -> ChatMessage:
    """Ask the tutor for the reply and wait until it was generated (in the background) and saved."""
    row = tutor.ask_for_reply(session=session, lens_title="Corrigibility", body=body, segment_index=1)
    return replies.wait_for(model=ChatMessage, pk=row.pk)


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
def test_a_reply_is_generated_in_pieces_and_saved(tutor_server):
    """The reply is written into its row as it streams, then saved complete; the server got the prompt."""
    tutor_server.script.append(Stream(["Corrigibility ", "is ", "accepting correction."]))
    session = conversation()

    saved = reply(session)

    assert (saved.role, saved.text, saved.state, saved.lens_id) == (
        "assistant",
        "Corrigibility is accepting correction.",
        ReplyState.COMPLETE,
        session.content_id,
    )
    request = tutor_server.requests[0]
    assert request["model"] == "fake-model" and request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert "Ask about corrigibility." in request["messages"][0]["content"]
    assert request["messages"][1:] == [{"role": "user", "content": "What is corrigibility?"}]
    assert tutor_server.headers[0]["authorization"] == "Bearer test-key"
    assert saved.lease_until is None


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
    """When the tutor says nothing for TUTOR_TIMEOUT_SECONDS, the reply is interrupted saying so; nothing lost."""
    settings.TUTOR_TIMEOUT_SECONDS = 1
    tutor_server.script.append(Hang(seconds=3))
    session = conversation()

    saved = reply(session)

    assert (saved.state, saved.text) == (ReplyState.INTERRUPTED, "")
    assert "took too long" in saved.problem
    assert session.messages.get(role="user").text == "What is corrigibility?"


@pytest.mark.django_db(transaction=True)
def test_a_reply_that_never_ends_is_cut_at_the_reply_deadline(tutor_server, settings):
    """A reply still streaming after TUTOR_MAX_REPLY_SECONDS is cut (a thread is never held forever); what
    arrived is kept, marked interrupted."""
    settings.TUTOR_MAX_REPLY_SECONDS = 1
    tutor_server.script.append(Stream(["slow "] * 10, delay=0.3))
    saved = reply(conversation())
    assert saved.state == ReplyState.INTERRUPTED and "too long to finish" in saved.problem
    assert saved.text.startswith("slow ")


@pytest.mark.django_db(transaction=True)
def test_a_tutor_failing_half_way_keeps_what_arrived_and_try_again_answers_anew(tutor_server):
    """The model server drops the connection after two pieces: they are kept (interrupted, with why);
    asking again gets a complete reply to the same message, sent without the cut-off reply."""
    tutor_server.script.extend([Stream(["Half ", "a ", "reply"], fail_after=2), Stream(["A whole reply."])])
    session = conversation()

    cut = reply(session)

    assert (cut.state, cut.text) == (ReplyState.INTERRUPTED, "Half a ")
    assert cut.problem == tutor.BROKE_OFF_MESSAGE
    assert tutor.pending_message(ChatSession.objects.prefetch_related("messages").get(pk=session.pk)) is not None

    again = reply(ChatSession.objects.prefetch_related("messages").get(pk=session.pk))

    assert (again.state, again.text) == (ReplyState.COMPLETE, "A whole reply.")
    assert list(session.messages.values_list("role", "state")) == [
        ("user", "complete"),
        ("assistant", "interrupted"),
        ("assistant", "complete"),
    ]
    assert tutor_server.requests[0]["messages"] == tutor_server.requests[1]["messages"]


@pytest.mark.django_db(transaction=True)
def test_an_http_500_says_so_and_try_again_works(tutor_server):
    """A 500 from the tutor is a clear error; asking again answers the same saved message, saved once."""
    tutor_server.script.extend([Fail(500), Stream(["Second time lucky."])])
    session = conversation()

    assert "HTTP 500" in reply(session).problem
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
    saved = reply(conversation())
    assert replies.wait_for_all(timeout=10)
    assert "could not be reached" in saved.problem


@pytest.mark.django_db
def test_not_configured(no_tutor):
    """Without a tutor configured, asking for a reply says the tutor is not available."""
    assert not tutor.is_configured()
    with pytest.raises(tutor.TutorNotConfigured, match="not available on this server"):
        reply(conversation())


@pytest.mark.django_db(transaction=True)
def test_nothing_to_answer_and_a_reply_in_progress(tutor_server):
    """The tutor only answers an unanswered learner message; while a reply is generated, asking again
    follows that reply instead of asking the tutor twice."""
    session = conversation()
    ChatMessageFactory(session=session, role="assistant", text="Done.")
    session = ChatSession.objects.prefetch_related("messages").get(pk=session.pk)
    with pytest.raises(tutor.NothingToAnswer):
        reply(session)

    tutor_server.script.append(Stream(["Slow ", "but ", "sure."], delay=0.3))
    busy = conversation()
    first = tutor.ask_for_reply(session=busy, lens_title="L", body=BODY, segment_index=1)
    busy = ChatSession.objects.prefetch_related("messages").get(pk=busy.pk)
    second = tutor.ask_for_reply(session=busy, lens_title="L", body=BODY, segment_index=1)
    assert second.pk == first.pk
    assert replies.wait_for(model=ChatMessage, pk=first.pk).text == "Slow but sure."
    assert len(tutor_server.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_feedback_uses_the_assessment_instructions_and_is_saved(tutor_server):
    """Feedback on an answer is asked with the question's assessment instructions and saved on the answer."""
    from chat.tests.factories import QuestionAnswerFactory, shared_question

    tutor_server.script.append(Stream(["Good: ", "you named instrumental goals."]))
    answer = QuestionAnswerFactory(text="It needs to stay on to reach its goal.", content_id=uuid.uuid4())
    row = tutor.ask_for_feedback(answer=answer, question=shared_question())
    assert replies.wait_for(model=FeedbackRequest, pk=row.pk).state == ReplyState.COMPLETE

    answer.refresh_from_db()
    assert answer.feedback == "Good: you named instrumental goals."
    assert answer.feedback_is_current
    system, user = tutor_server.requests[0]["messages"]
    assert "Look for instrumental convergence." in system["content"]
    assert "It needs to stay on to reach its goal." in user["content"]
