"""A roleplay in the module viewer, against the fake model server: the character's own prompt, streamed and
persisted replies, finishing, trying again, feedback on the transcript, limits, and the AI switched off."""

import json
import uuid
from types import SimpleNamespace

import pytest
from django.urls import reverse

from chat import replies
from chat.models import ChatMessage
from chat.tests.fake_tutor import Stream
from chat.tutor import TUTOR_ROLE
from content_loader.models import ModuleEntry
from content_loader.tests.factories import LensFactory, ModuleFactory, make_course
from learn.tests.factories import body_of, chat_segment, roleplay_segment, text_segment
from roleplay import services
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage
from roleplay.signals import roleplay_finished

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}
STREAM = {"Accept": "application/x-ndjson"}
LENS_TEXT = "The forgetting curve falls steeply in the first day."
TUTOR_INSTRUCTIONS = "Ask the learner about the forgetting curve."
CHARACTER = "You are Sam, a stubborn student who likes cramming."
SCENARIO = "Convince Sam to space out the revision."
OPENING = "Why would I start studying early?"


@pytest.fixture
def course():
    """Module `practice` with one lens: text, a tutor chat, then a roleplay with feedback."""
    module = ModuleFactory(slug="practice", title="Practice")
    segment = roleplay_segment(2, SCENARIO, instructions=CHARACTER, opening=OPENING, feedback=True)
    lens = LensFactory(
        title="Spacing",
        body=body_of(text_segment(0, LENS_TEXT), chat_segment(1, instructions=TUTOR_INSTRUCTIONS), segment),
    )
    ModuleEntry.objects.create(module=module, position=0, item=lens)
    make_course(units=[[module]], slug="c")
    return SimpleNamespace(lens=lens, roleplay_id=uuid.UUID(segment["id"]))


@pytest.fixture
def learner(client):
    client.get("/")
    return client


def page(client, course) -> str:
    url = reverse("learn:lens", kwargs={"course_slug": "c", "module_slug": "practice", "lens_id": course.lens.pk})
    return client.get(url).content.decode()


def rp_url(name: str, course, **extra) -> str:
    return reverse(f"roleplay:{name}", kwargs={"item_id": course.lens.pk, "roleplay_id": course.roleplay_id, **extra})


def events(response) -> list[dict]:
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines() if line]


def say(client, course, text: str) -> list[dict]:
    """Send a line with htmx and read the character's streamed reply."""
    sent = client.post(rp_url("send", course), {"text": text}, headers=HTMX)
    assert sent.status_code == 200, sent.content
    return events(client.post(rp_url("reply", course), headers=STREAM))


def test_the_character_gets_only_its_own_instructions_and_the_scenario(learner, course, tutor_server):
    """The model is asked with the character's system prompt (instructions, scenario, opening line), never
    the tutor's role, the chat's instructions or the lens text; the learner's line follows it."""
    tutor_server.script.append(Stream(["Fine, ", "convince ", "me."]))

    streamed = say(learner, course, "Spacing beats cramming.")

    assert "".join(e["text"] for e in streamed if e["event"] == "delta") == "Fine, convince me."
    assert streamed[-1]["event"] == "done" and "Character" in streamed[-1]["html"]
    [request] = tutor_server.requests
    system, *rest = request["messages"]
    assert system["role"] == "system"
    assert CHARACTER in system["content"] and SCENARIO in system["content"] and OPENING in system["content"]
    for foreign in (TUTOR_ROLE, TUTOR_INSTRUCTIONS, LENS_TEXT):
        assert foreign not in system["content"]
    assert rest == [{"role": "user", "content": "Spacing beats cramming."}]
    assert not ChatMessage.objects.exists()  # the lens's tutor chat is a separate conversation


def test_the_conversation_persists_across_reloads_with_the_opening_message_first(learner, course, tutor_server):
    """Before anything is said the page shows the briefing and the character's opening line; after a turn,
    a reload shows the whole transcript from the database, opening line first, and the next turn sends the
    history along."""
    before = page(learner, course)
    assert "Your scenario" in before and SCENARIO in before and OPENING in before
    assert "data-voice-input" in before and "Finish conversation" in before

    tutor_server.script.extend([Stream(["I never have time."]), Stream(["Hm, maybe."])])
    say(learner, course, "Ten minutes a day is enough.")
    reloaded = page(learner, course)

    assert (
        reloaded.index(OPENING) < reloaded.index("Ten minutes a day is enough.") < reloaded.index("I never have time.")
    )
    attempt = RoleplayAttempt.objects.get()
    assert [(m.role, m.text) for m in attempt.messages.all()] == [
        ("assistant", OPENING),
        ("user", "Ten minutes a day is enough."),
        ("assistant", "I never have time."),
    ]
    say(learner, course, "Then five.")
    assert [m["content"] for m in tutor_server.requests[1]["messages"][1:]] == [
        "Ten minutes a day is enough.",
        "I never have time.",
        "Then five.",
    ]


def test_a_reply_is_saved_even_when_the_learner_leaves_right_after_sending(learner, course, tutor_server):
    """The character is asked at send time; a learner who never opens the stream still finds the reply."""
    tutor_server.script.append(Stream(["Saved ", "anyway."], delay=0.1))
    learner.post(rp_url("send", course), {"text": "Bye"}, headers=HTMX)
    assert replies.wait_for_all(timeout=10)
    assert RoleplayMessage.objects.filter(role="assistant").last().text == "Saved anyway."
    assert "Saved anyway." in page(learner, course)


def test_a_reload_mid_reply_shows_the_character_still_replying(learner, course, tutor_server):
    """A reply being generated polls itself with htmx ("still replying…") and comes back complete."""
    tutor_server.script.append(Stream(["Slowly ", "thinking ", "it ", "over."], delay=0.3))
    learner.post(rp_url("send", course), {"text": "Take your time"}, headers=HTMX)
    reply = RoleplayMessage.objects.filter(state="generating").get()

    reloaded = page(learner, course)

    assert "The character is still replying…" in reloaded
    assert f'hx-get="{rp_url("reply-state", course, message_id=reply.pk)}"' in reloaded
    assert replies.wait_for_all(timeout=10)
    done = learner.get(rp_url("reply-state", course, message_id=reply.pk), headers=HTMX).content.decode()
    assert "Slowly thinking it over." in done and "hx-trigger" not in done


def test_a_failed_reply_keeps_the_line_and_can_be_asked_again(learner, course, tutor_server):
    """The model breaking off: the learner's line is kept, what arrived is kept, and asking again works."""
    tutor_server.script.extend([Stream(["Half ", "of it", " lost"], fail_after=2), Stream(["All of it."])])
    streamed = say(learner, course, "Tell me")
    assert streamed[-1]["event"] == "error" and "Ask the character again" in streamed[-1]["html"]

    retried = events(learner.post(rp_url("reply", course), headers=STREAM))

    assert retried[-1]["event"] == "done" and "All of it." in retried[-1]["html"]
    assert list(RoleplayMessage.objects.values_list("role", "state", "text")) == [
        ("assistant", "complete", OPENING),
        ("user", "complete", "Tell me"),
        ("assistant", "interrupted", "Half of it"),
        ("assistant", "complete", "All of it."),
    ]


def test_finishing_ends_the_conversation_and_sends_the_signal_on_commit(learner, course, tutor_server):
    """ "Finish conversation": no input any more, the transcript stays readable, sending is refused (409),
    and `roleplay_finished` is sent once with the attempt; assessment material is ready for it."""
    tutor_server.script.append(Stream(["OK, you win."]))
    say(learner, course, "Here is a plan: Monday, Wednesday, Saturday.")
    received = []

    def receiver(sender, attempt, **kwargs):
        received.append(attempt)

    roleplay_finished.connect(receiver)
    try:
        response = learner.post(rp_url("finish", course), headers=HTMX)
        learner.post(rp_url("finish", course), headers=HTMX)  # twice: nothing more is sent
    finally:
        roleplay_finished.disconnect(receiver)

    assert response.status_code == 200
    html = response.content.decode()
    assert "You finished this conversation" in html and "OK, you win." in html
    assert "<textarea" not in html and "Finish conversation</button>" not in html and "Try again" in html
    assert [a.pk for a in received] == [RoleplayAttempt.objects.get().pk]
    refused = learner.post(rp_url("send", course), {"text": "One more thing"}, headers=HTMX)
    assert refused.status_code == 409 and "finished" in refused.content.decode()
    assert not RoleplayMessage.objects.filter(text="One more thing").exists()
    material = services.assessment_material(received[0])
    assert material == {
        "segment_id": str(course.roleplay_id),
        "content_id": str(course.lens.pk),
        "attempt_id": received[0].pk,
        "scenario": SCENARIO,
        "transcript": (
            f"Character: {OPENING}\n\nLearner: Here is a plan: Monday, Wednesday, Saturday.\n\nCharacter: OK, you win."
        ),
        "rubric": "Did the learner answer Sam's objections?",
        "learning_outcome_id": None,
    }


def test_finishing_before_saying_anything_is_refused(learner, course, tutor_server):
    """Nothing said yet: nothing to finish (so a test cannot be passed with an empty conversation)."""
    response = learner.post(rp_url("finish", course), headers=HTMX)
    assert response.status_code == 400 and "Say something to the character" in response.content.decode()
    assert not RoleplayAttempt.objects.finished().exists()


def test_try_again_archives_the_attempt_and_starts_fresh_with_the_opening_message(learner, course, tutor_server):
    """ "Try again": the attempt is under "Past attempts" (readable), the new one starts at the opening line."""
    tutor_server.script.extend([Stream(["First go."]), Stream(["Second go."])])
    say(learner, course, "Attempt one.")
    learner.post(rp_url("finish", course), headers=HTMX)

    fresh = learner.post(rp_url("restart", course), headers=HTMX).content.decode()

    assert "Past attempts (1)" in fresh and "Attempt one." in fresh and "First go." in fresh
    assert "<textarea" in fresh and OPENING in fresh
    say(learner, course, "Attempt two.")
    first, second = RoleplayAttempt.objects.order_by("started_at")
    assert first.archived_at is not None and first.is_finished
    assert second.archived_at is None and not second.is_finished
    assert [m.text for m in second.messages.all()] == [OPENING, "Attempt two.", "Second go."]
    assert [m["content"] for m in tutor_server.requests[1]["messages"][1:]] == ["Attempt two."]


def test_feedback_on_the_finished_transcript_is_streamed_and_kept(learner, course, tutor_server):
    """After finishing, the tutor (not the character) gives feedback on the transcript; refused before."""
    tutor_server.script.extend([Stream(["Show me."]), Stream(["Good ", "plan."])])
    say(learner, course, "Three short sessions.")
    early = learner.post(rp_url("feedback", course), headers=STREAM)
    assert early.status_code == 409 and "Finish the conversation first" in early.content.decode()
    learner.post(rp_url("finish", course), headers=HTMX)
    assert "Get feedback from the tutor" in page(learner, course)

    streamed = events(learner.post(rp_url("feedback", course), headers=STREAM))

    assert streamed[-1]["event"] == "done" and "Good plan." in streamed[-1]["html"]
    system, user = tutor_server.requests[-1]["messages"]
    assert "tutor" in system["content"] and CHARACTER not in system["content"]
    assert "Did the learner answer Sam's objections?" in system["content"]
    assert "Learner: Three short sessions." in user["content"] and "Character: Show me." in user["content"]
    assert RoleplayFeedback.objects.get().text == "Good plan."
    reloaded = page(learner, course)
    assert "Good plan." in reloaded and "Get feedback from the tutor" not in reloaded


def test_limits_of_the_chat_apply(learner, course, tutor_server, settings):
    """A line over CHAT_MAX_MESSAGE_CHARS is refused (400) and not saved; past the rate limit, 429."""
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    too_long = learner.post(rp_url("send", course), {"text": "x" * 21}, headers=HTMX)
    assert too_long.status_code == 400 and "the limit is 20" in too_long.content.decode()
    assert not RoleplayMessage.objects.filter(role="user").exists()

    settings.CHAT_RATE_LIMIT_MESSAGES = 1
    say(learner, course, "One.")
    limited = learner.post(rp_url("send", course), {"text": "Two."}, headers=HTMX)
    assert limited.status_code == 429 and limited.has_header("Retry-After")
    assert len(tutor_server.requests) == 1


def test_without_a_model_the_roleplay_says_the_ai_is_off(learner, course, no_tutor):
    """No TUTOR_BASE_URL: the briefing and opening line show, with "the AI is off" and nothing to send."""
    html = page(learner, course)
    assert "The AI is off on this site" in html and SCENARIO in html and OPENING in html
    assert 'name="text" rows="3" required data-voice-input' not in html and "Finish conversation</button>" not in html
    refused = learner.post(rp_url("send", course), {"text": "Hello"}, headers=HTMX)
    assert refused.status_code == 503 and not RoleplayAttempt.objects.exists()


def test_another_learner_cannot_read_a_reply_in_progress(learner, course, tutor_server, client_factory=None):
    """Reply and feedback polling URLs answer 404 for someone else's rows."""
    tutor_server.script.append(Stream(["Mine."]))
    say(learner, course, "Private.")
    reply = RoleplayMessage.objects.filter(role="assistant").last()
    from django.test import Client

    other = Client()
    other.get("/")
    assert other.get(rp_url("reply-state", course, message_id=reply.pk), headers=HTMX).status_code == 404
    assert other.post(rp_url("finish", course), headers=HTMX).status_code == 400


def test_a_roleplay_that_left_the_lens_is_404(learner, course, tutor_server):
    """A stale page posting to a roleplay the author removed gets a clear 404, nothing saved."""
    course.lens.body = body_of(text_segment(0, LENS_TEXT))
    course.lens.save()
    response = learner.post(rp_url("send", course), {"text": "Hi"}, headers=HTMX)
    assert response.status_code == 404 and not RoleplayAttempt.objects.exists()
