"""Chats, questions and tests in the module viewer: answers locked at completion, submitting a test,
feedback after the submission, and what a chat hides from the learner."""

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from chat.models import QuestionAnswer
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory
from chat.tests.fake_tutor import Stream
from content_loader.models import ModuleEntry
from content_loader.tests.factories import AssessmentFactory, LensFactory, ModuleFactory, make_course, make_module
from learn.tests.factories import body_of, chat_segment, question_segment, text_segment
from learners import Learner
from progress.models import UserContentProgress
from progress.services import complete_content, lock_learners

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
STREAM = {"Accept": "application/x-ndjson"}
WHY = "Why does recall beat rereading?"
PLAN = "Plan three sessions for next week."
EXAMPLE = "Give an example from your own studies."


@pytest.fixture
def course():
    """Module `practice`: a lens (text, chat, a question with feedback), a test of two questions asking for
    feedback, a lens, and a test without feedback; then module `next`."""
    module = ModuleFactory(slug="practice", title="Practice")
    lens = LensFactory(
        title="Recall",
        body=body_of(text_segment(0, "Recall is effortful."), chat_segment(1), question_segment(2, WHY, feedback=True)),
    )
    test = AssessmentFactory(
        title="Check yourself",
        body=body_of(question_segment(0, WHY, feedback=True, max_chars=50), question_segment(1, PLAN, feedback=True)),
    )
    after = LensFactory(title="After the test")
    quiz = AssessmentFactory(title="Quick quiz", body=body_of(question_segment(0, EXAMPLE)))
    for position, item in enumerate([lens, test, after, quiz]):
        ModuleEntry.objects.create(module=module, position=position, item=item)
    make_course(units=[[module, make_module(lenses=1, slug="next")]], slug="c")
    return SimpleNamespace(lens=lens, test=test, after=after, quiz=quiz)


def kwargs(item) -> dict:
    return {"course_slug": "c", "module_slug": "practice", "lens_id": item.pk}


def page_url(item) -> str:
    return reverse("learn:lens", kwargs=kwargs(item))


def question_url(name: str, item, prompt: str) -> str:
    key = question_segment(0, prompt)["key"]
    return reverse(f"learn:{name}", kwargs={**kwargs(item), "question_key": key})


def submit_url(item) -> str:
    return reverse("learn:submit-test", kwargs=kwargs(item))


def page(client, item) -> str:
    return client.get(page_url(item)).content.decode()


def answers(item) -> dict[str, str]:
    return dict(QuestionAnswer.objects.filter(content_id=item.pk).values_list("question_text", "text"))


def completed(item) -> list[tuple[str, bool]]:
    """(content type, completed) of the item's progress rows."""
    rows = UserContentProgress.objects.filter(content_id=item.pk).values_list("content_type", "completed_at")
    return [(content_type, completed_at is not None) for content_type, completed_at in rows]


@pytest.fixture
def learner(client):
    """An anonymous learner: the first page view gives the browser its learner cookie."""
    client.get("/")
    return client


# Lenses ----------------------------------------------------------------------------------------------


def test_a_lens_shows_its_chat_and_an_answer_box_posting_to_the_lens_own_urls(learner, course, tutor_server):
    """The lens's chat is the tutor's panel, and its question's box saves and asks feedback on learn's URLs,
    whose plain forms come back to the lens."""
    html = page(learner, course.lens)

    assert "Discuss with the tutor" in html and "The tutor is not available" not in html
    assert f'action="/chat/lens/{course.lens.pk}/chat/1/send/"' in html
    assert f'name="next" value="{page_url(course.lens)}#chat-{course.lens.pk}-1"' in html
    assert f'action="{question_url("answer", course.lens, WHY)}"' in html
    assert f'formaction="{question_url("feedback", course.lens, WHY)}"' in html
    assert "Mark complete" in html and "Submit test" not in html


@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_chat_message_comes_back_to_the_lens_with_the_reply(learner, course, tutor_server):
    """A plain chat form on the module viewer waits for the tutor's reply and returns to the lens, which
    shows the conversation (the module viewer is the chat's `next`; chat has no page of its own)."""
    html = page(learner, course.lens)
    next_url = re.search(r'name="next" value="([^"]+)"', html).group(1)
    tutor_server.script.append(Stream(["Try ", "recalling first."]))

    response = learner.post(f"/chat/lens/{course.lens.pk}/chat/1/send/", {"text": "How?", "next": next_url})

    assert response.status_code == 303 and response["Location"] == f"{page_url(course.lens)}#chat-{course.lens.pk}-1"
    html = page(learner, course.lens)
    assert "How?" in html and "Try recalling first." in html


def test_an_answer_is_saved_and_locked_once_the_lens_is_completed(learner, course):
    """Answers save through the lens's URL (HTMX gets the box, a plain form a redirect back); after "Mark
    complete" a new answer is refused with 409, the saved one is kept, and the page shows it read-only."""
    saved = learner.post(question_url("answer", course.lens, WHY), {"text": "Effort strengthens."}, headers=HTMX)
    assert saved.status_code == 200 and "Saved." in saved.content.decode()
    plain = learner.post(question_url("answer", course.lens, WHY), {"text": "Effort strengthens memory."})
    assert plain.status_code == 303 and plain["Location"] == page_url(course.lens)
    assert answers(course.lens) == {WHY: "Effort strengthens memory."}

    learner.post(reverse("learn:complete-lens", kwargs=kwargs(course.lens)), headers=HTMX)

    refused = learner.post(question_url("answer", course.lens, WHY), {"text": "Changed later"}, headers=HTMX)
    assert refused.status_code == 409 and "can no longer be changed" in refused.content.decode()
    assert answers(course.lens) == {WHY: "Effort strengthens memory."}
    html = page(learner, course.lens)
    box = html[html.index('class="question-box') :]
    assert re.search(r"<textarea[^>]*readonly[^>]*>Effort strengthens memory\.</textarea>", box)
    assert "Save answer" not in box and "this answer can no longer be changed" in box


@pytest.mark.django_db(transaction=True)
def test_an_answer_racing_mark_complete_never_lands_after_it(learner, course):
    """Saving an answer waits while a completion of the learner holds their lock; once that completion of
    the lens commits, the waiting save sees it and is refused, so the completed lens keeps its answer."""
    learner.post(question_url("answer", course.lens, WHY), {"text": "Before completing"})
    me = Learner(session_token=uuid.UUID(learner.cookies[settings.PROGRESS_COOKIE_NAME].value))
    holding, release = threading.Event(), threading.Event()

    def complete_in_another_tab():
        try:
            with transaction.atomic():
                lock_learners(me)
                holding.set()
                release.wait(10)
                complete_content(learner=me, content_id=course.lens.pk, content_type="lens", module_slug="practice")
        finally:
            connection.close()

    def save_answer():
        try:
            return learner.post(question_url("answer", course.lens, WHY), {"text": "Changed meanwhile"}, headers=HTMX)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        completing = pool.submit(complete_in_another_tab)
        assert holding.wait(10)
        saving = pool.submit(save_answer)
        time.sleep(0.5)
        waited = not saving.done()
        release.set()
        completing.result(timeout=10)
        response = saving.result(timeout=10)

    assert waited, "the answer was saved while a completion held the learner's lock"
    assert response.status_code == 409
    assert answers(course.lens) == {WHY: "Before completing"}


def test_the_chat_app_offers_no_way_around_the_lock(learner, course):
    """The chat app's own answer and feedback addresses do not exist, so a completed lens's answer stays."""
    learner.post(question_url("answer", course.lens, WHY), {"text": "Mine"})
    learner.post(reverse("learn:complete-lens", kwargs=kwargs(course.lens)))
    key = question_segment(0, WHY)["key"]
    for action in ("answer", "feedback"):
        response = learner.post(f"/chat/items/{course.lens.pk}/questions/{key}/{action}/", {"text": "Changed"})
        assert response.status_code == 404
    assert answers(course.lens) == {WHY: "Mine"}


@pytest.mark.django_db(transaction=True)
def test_feedback_on_a_completed_lens_uses_the_saved_answer(learner, course, tutor_server):
    """After completion "Get feedback" still works, on the answer as saved (posted text is ignored)."""
    learner.post(question_url("answer", course.lens, WHY), {"text": "Saved answer"})
    learner.post(reverse("learn:complete-lens", kwargs=kwargs(course.lens)))
    tutor_server.script.append(Stream(["Good ", "point."]))

    response = learner.post(question_url("feedback", course.lens, WHY), {"text": "Sneaky edit"}, headers=STREAM)

    events = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert events[-1]["event"] == "done" and "Good point." in events[-1]["html"]
    assert "My answer:\nSaved answer" in tutor_server.requests[0]["messages"][1]["content"]
    assert list(QuestionAnswer.objects.values_list("text", "feedback")) == [("Saved answer", "Good point.")]


def test_answer_views_refuse_what_is_not_in_the_module(learner, course):
    """A question of a lens outside the module, or an unknown question, is 404; GET is 405."""
    stranger = LensFactory(body=body_of(question_segment(0, WHY)))
    url = reverse(
        "learn:answer",
        kwargs={**kwargs(stranger), "question_key": question_segment(0, WHY)["key"]},
    )
    assert learner.post(url, {"text": "x"}).status_code == 404
    unknown = reverse("learn:answer", kwargs={**kwargs(course.lens), "question_key": "f" * 16})
    assert learner.post(unknown, {"text": "x"}).status_code == 404
    assert learner.get(question_url("answer", course.lens, WHY)).status_code == 405
    assert not QuestionAnswer.objects.exists()


# Tests -----------------------------------------------------------------------------------------------


def test_a_test_has_submit_instead_of_mark_complete_and_no_feedback_before_it(learner, course, tutor_server):
    """A test's page offers "Submit test" (not "Mark complete"), no "Get feedback" until it is submitted,
    and refuses "Mark complete" and feedback requests made anyway."""
    html = page(learner, course.test)

    assert "Submit test" in html and "Mark complete" not in html
    assert f'action="{submit_url(course.test)}"' in html
    assert re.search(r"<noscript>[^<]*<p[^>]*>Save each answer with its \"Save answer\" button first", html)
    assert "Get feedback" not in html
    assert learner.post(reverse("learn:complete-lens", kwargs=kwargs(course.test))).status_code == 403
    assert learner.post(question_url("feedback", course.test, WHY), {"text": "x"}, headers=STREAM).status_code == 403
    assert completed(course.test) == [] and tutor_server.requests == []


def test_submitting_with_unanswered_questions_is_refused_naming_them(learner, course):
    """Without every answer the submission is refused, naming the unanswered question; answers sent along
    are saved all the same. HTMX gets the message in place of the button; a plain form gets it on the page."""
    learner.post(question_url("answer", course.test, WHY), {"text": "Effort."})

    response = learner.post(submit_url(course.test), headers=HTMX)

    assert response["HX-Retarget"] == "#complete" and response["HX-Reswap"] == "outerHTML"
    message = response.content.decode()
    assert "Answer every question before submitting the test. Not answered yet: question 2 (“Plan three" in message
    assert "question 1" not in message and "Submit test" in message
    assert completed(course.test) == []

    plain = learner.post(submit_url(course.test), {f"answer-{question_segment(0, PLAN)['key']}": "   "})
    assert plain.status_code == 302 and plain["Location"] == page_url(course.test) + "#complete"
    assert "Not answered yet: question 2" in page(learner, course.test)
    assert "Not answered yet" not in page(learner, course.test)  # said once
    assert completed(course.test) == []
    assert answers(course.test) == {WHY: "Effort.", PLAN: "   "}


def test_an_answer_too_long_is_refused_at_submission(learner, course):
    """An answer sent along that breaks the question's `max-chars` refuses the submission with the limit."""
    key = question_segment(0, WHY)["key"]
    response = learner.post(submit_url(course.test), {f"answer-{key}": "x" * 51}, headers=HTMX)
    assert "this question allows 50" in response.content.decode()
    assert completed(course.test) == [] and answers(course.test) == {}


def test_submitting_completes_the_test_shows_it_read_only_and_asks_for_feedback(learner, course, tutor_server):
    """With every answer (typed ones sent along), the test is completed as content type `test`; HTMX gets
    the test back read-only with each question's feedback asked for at once, and "Continue" to the next
    lens. Afterwards its answers no longer change."""
    learner.post(question_url("answer", course.test, WHY), {"text": "Effort."})
    plan_key = question_segment(0, PLAN)["key"]

    response = learner.post(submit_url(course.test), {f"answer-{plan_key}": "Mon, Wed, Sun."}, headers=HTMX)

    assert completed(course.test) == [("test", True)]
    assert answers(course.test) == {WHY: "Effort.", PLAN: "Mon, Wed, Sun."}
    html = response.content.decode()
    assert '<div id="viewer"' in html  # the whole viewer is swapped
    assert "Test submitted" in html and "Submit test" not in html
    assert html.count("data-chat-feedback-autostart") == 2
    assert html.count("readonly") == 2 and "Save answer" not in html
    assert "The tutor's feedback on your answers appears under each question." in html
    assert re.search(rf'href="{page_url(course.after)}" hx-get="{page_url(course.after)}"[^>]*>Continue</a>', html)
    assert "load delay" not in html  # no moving on before the feedback is read
    assert "Progress: 1/4 required lenses" in html

    refused = learner.post(question_url("answer", course.test, WHY), {"text": "Changed"}, headers=HTMX)
    assert refused.status_code == 409 and answers(course.test)[WHY] == "Effort."
    again = page(learner, course.test)
    assert "data-chat-feedback-autostart" not in again and again.count("Get feedback") == 2
    assert "Test submitted" in again and ">Continue</a>" in again


@pytest.mark.django_db(transaction=True)
def test_feedback_after_submission_is_streamed_and_kept(learner, course, tutor_server):
    """Once the test is submitted, each question's feedback streams from the tutor and is saved."""
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": f"Answer to {prompt}"})
    learner.post(submit_url(course.test), headers=HTMX)
    tutor_server.script.extend([Stream(["Clear."]), Stream(["Good ", "plan."])])

    for prompt in (WHY, PLAN):
        response = learner.post(question_url("feedback", course.test, prompt), headers=STREAM)
        assert response.status_code == 200
        b"".join(response.streaming_content)

    assert dict(QuestionAnswer.objects.values_list("question_text", "feedback")) == {WHY: "Clear.", PLAN: "Good plan."}
    html = page(learner, course.test)
    assert "Clear." in html and "Good plan." in html


def test_without_a_tutor_the_submission_says_there_is_no_feedback(learner, course, no_tutor):
    """With no tutor configured, the submitted test says its answers get no feedback, and offers Continue."""
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "An answer"})
    html = learner.post(submit_url(course.test), headers=HTMX).content.decode()
    assert "The tutor is not available on this server, so your answers get no feedback." in html
    assert "data-chat-feedback-autostart" not in html and "Get feedback" not in html
    assert ">Continue</a>" in html
    assert completed(course.test) == [("test", True)]


def test_without_javascript_a_submission_lands_on_the_read_only_test(learner, course, tutor_server):
    """A plain submission redirects to the test, now read-only, with "Get feedback" per question and Continue."""
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "An answer"})
    response = learner.post(submit_url(course.test))
    assert response.status_code == 302 and response["Location"] == page_url(course.test) + "#complete"
    html = page(learner, course.test)
    assert "Test submitted" in html and html.count("Get feedback") == 2 and ">Continue</a>" in html


def test_a_test_without_feedback_moves_on_like_mark_complete(learner, course):
    """A test whose questions ask for no feedback moves on at once; finishing the module opens the dialog."""
    for item in (course.lens, course.after):
        learner.post(reverse("learn:complete-lens", kwargs=kwargs(item)))
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "An answer"})
    learner.post(submit_url(course.test))
    learner.post(question_url("answer", course.quiz, EXAMPLE), {"text": "Flashcards."})

    html = learner.post(submit_url(course.quiz), headers=HTMX).content.decode()

    assert "Test submitted" in html and "Module completed" in html and "data-modal" in html
    assert completed(course.quiz) == [("test", True)]


def test_without_javascript_a_test_finishing_the_module_lands_on_the_dialog(learner, course):
    """A plain submission that finishes the module redirects to the test, where the dialog opens once."""
    for item in (course.lens, course.after):
        learner.post(reverse("learn:complete-lens", kwargs=kwargs(item)))
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "An answer"})
    learner.post(submit_url(course.test))
    learner.post(question_url("answer", course.quiz, EXAMPLE), {"text": "Flashcards."})

    response = learner.post(submit_url(course.quiz))

    assert response.status_code == 302 and response["Location"] == page_url(course.quiz)
    assert "Module completed" in page(learner, course.quiz)
    again = page(learner, course.quiz)
    assert "Module completed" not in again
    next_module = reverse("learn:module", kwargs={"course_slug": "c", "module_slug": "next"})
    assert re.search(rf'href="{next_module}"[^>]*>Continue</a>', again)  # nothing left here: the next module


def test_continue_after_the_feedback_opens_the_module_dialog(learner, course, tutor_server):
    """When a test with feedback finishes the module, "Continue" leads to the "Module completed" dialog."""
    for item in (course.lens, course.after):
        learner.post(reverse("learn:complete-lens", kwargs=kwargs(item)))
    learner.post(question_url("answer", course.quiz, EXAMPLE), {"text": "Flashcards."})
    learner.post(submit_url(course.quiz))
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "An answer"})

    html = learner.post(submit_url(course.test), headers=HTMX).content.decode()

    assert "Module completed" not in html
    assert re.search(rf'href="{page_url(course.test)}"[^>]*>Continue</a>', html)
    assert "Module completed" in page(learner, course.test)
    assert "Module completed" not in page(learner, course.test)


def test_submitting_again_changes_nothing(learner, course):
    """A second submission of a completed test keeps its answers and its completion time."""
    for prompt in (WHY, PLAN):
        learner.post(question_url("answer", course.test, prompt), {"text": "First"})
    learner.post(submit_url(course.test))
    first = UserContentProgress.objects.get(content_id=course.test.pk).completed_at
    key = question_segment(0, WHY)["key"]
    learner.post(submit_url(course.test), {f"answer-{key}": "Second"}, headers=HTMX)
    assert answers(course.test) == {WHY: "First", PLAN: "First"}
    assert UserContentProgress.objects.get(content_id=course.test.pk).completed_at == first


def test_a_lens_is_not_submitted(learner, course):
    """Only tests are submitted."""
    assert learner.post(submit_url(course.lens)).status_code == 404


# What a chat hides -------------------------------------------------------------------------------------


@pytest.fixture
def hiding_lens(course):
    """A lens: text, a chat, text, article-like text, then a chat that hides what came before it."""
    lens = LensFactory(
        title="From memory",
        body=body_of(
            text_segment(0, "Opening words."),
            chat_segment(1),
            text_segment(2, "The reading."),
            text_segment(3, "More of the reading."),
            chat_segment(4, hide_from_user=True),
            text_segment(5, "A closing note."),
        ),
    )
    module = ModuleEntry.objects.filter(module__slug="practice").first().module
    ModuleEntry.objects.create(module=module, position=9, item=lens, optional=True)
    return lens


def test_a_chat_hiding_previous_content_folds_it_once_the_discussion_starts(learner, hiding_lens, tutor_server):
    """Before the learner writes, the segments since the previous chat are shown (open) with a note saying
    they will be put away; once the conversation has a message they are folded (still openable)."""
    html = page(learner, hiding_lens)
    assert len(re.findall(r"data-chat-fold[ >]", html)) == 1
    fold = html[html.index('<details class="segment-fold') :]
    assert fold.startswith('<details class="segment-fold" data-chat-fold open>')
    assert fold.index("The reading.") < fold.index("More of the reading.") < fold.index("</details>")
    assert html.index("Opening words.") < html.index('<details class="segment-fold')  # before the previous chat
    assert html.index("</details>", html.index("More of the reading.")) < html.index("A closing note.")
    assert "you discuss it from memory (you can open it again)" in html

    token = learner.cookies["learner_token"].value
    session = ChatSessionFactory(session_token=token, content_id=hiding_lens.pk)
    ChatMessageFactory(session=session, text="Here is what I remember.")

    html = page(learner, hiding_lens)
    assert '<details class="segment-fold segment-fold--folded" data-chat-fold>' in html
    assert "Show the part of the lens before the discussion" in html
    assert "you can open it again)" not in html  # the note is gone once folded
    assert "The reading." in html  # folded, not removed


def test_a_chat_without_the_flag_folds_nothing(learner, course):
    """An ordinary chat leaves the lens as it is."""
    assert "data-chat-fold" not in page(learner, course.lens)
