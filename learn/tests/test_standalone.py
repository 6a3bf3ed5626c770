"""Standalone lens pages, skipped text loaded on demand, and drafts: 404 for learners, previewed by staff."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat.models import QuestionAnswer
from content_loader.models import ModuleEntry
from content_loader.tests.factories import AssessmentFactory, LensFactory, ModuleFactory, make_course, make_module
from learn.links import standalone_lens_url
from learn.segments import SKIPPED_INLINE_LIMIT
from learn.tests.factories import body_of, chat_segment, question_segment, text_segment
from progress.models import UserContentProgress

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WHY = "Why does spacing help?"


@pytest.fixture
def learner(client):
    client.get("/")
    return client


@pytest.fixture
def lens():
    """A lens with text, a chat and a question, placed in module `spacing` of course `memory`."""
    lens = LensFactory(
        title="Spaced repetition, explained",
        body={**body_of(text_segment(0, "Space it out."), chat_segment(1), question_segment(2, WHY)), "tldr": "Why."},
    )
    module = ModuleFactory(slug="spacing", title="Spacing")
    ModuleEntry.objects.create(module=module, position=0, item=lens)
    make_course(units=[[module]], slug="memory", title="Memory")
    return lens


def module_url(lens) -> str:
    return reverse("learn:lens", kwargs={"course_slug": "memory", "module_slug": "spacing", "lens_id": lens.pk})


def complete_url(lens) -> str:
    return reverse("learn:standalone-complete", args=[lens.pk])


def test_every_lens_has_its_own_page_on_its_uuid_with_a_readable_slug(learner, lens):
    """The page lives at /lenses/<uuid>/<slug>/; the bare UUID and an outdated slug redirect there."""
    url = standalone_lens_url(lens.pk, lens.title)
    assert url == f"/lenses/{lens.pk}/spaced-repetition-explained/"
    response = learner.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Spaced repetition, explained" in html and "Space it out." in html
    assert "Why." in html  # the tldr
    assert f'data-content-id="{lens.pk}"' in html  # time is tracked for the lens
    assert 'href="/courses/memory/modules/spacing/"' in html  # where it is placed
    for other in (f"/lenses/{lens.pk}/", f"/lenses/{lens.pk}/its-old-title/"):
        moved = learner.get(other)
        assert moved.status_code == 302 and moved["Location"] == url


def test_a_lens_titled_like_a_route_of_its_page_still_has_a_page(learner):
    """A lens titled "Complete" gets a slug that is not the completion route."""
    lens = LensFactory(title="Complete")
    url = standalone_lens_url(lens.pk, lens.title)
    assert url.endswith("/complete-lens/") and learner.get(url).status_code == 200


@pytest.mark.parametrize("kind", ["unknown", "retired", "test"])
def test_no_standalone_page_for_what_is_not_a_current_lens(learner, kind):
    """An unknown UUID, a retired lens and a test (tests live in their modules) get a 404 that says so."""
    target = {
        "unknown": lambda: uuid.uuid4(),
        "retired": lambda: LensFactory(retired_at=timezone.now()).pk,
        "test": lambda: AssessmentFactory().pk,
    }[kind]()
    response = learner.get(f"/lenses/{target}/a-title/")
    assert response.status_code == 404 and "There is no lens at this address" in response.content.decode()


def test_completing_a_lens_anywhere_completes_it_everywhere(learner, lens):
    """Marked complete on its own page, the lens is completed in its module (one progress row, by UUID),
    and the other way round for another lens."""
    response = learner.post(complete_url(lens), headers=HTMX)
    assert response.status_code == 200 and "Completed" in response.content.decode()
    assert list(UserContentProgress.objects.filter(content_type="lens").values_list("content_id", flat=True)) == [
        lens.pk
    ]
    assert "Mark complete" not in learner.get(module_url(lens)).content.decode()

    other = LensFactory(title="Interleaving")
    ModuleEntry.objects.create(module=ModuleEntry.objects.get(item=lens).module, position=1, item=other)
    kwargs = {"course_slug": "memory", "module_slug": "spacing", "lens_id": other.pk}
    learner.post(reverse("learn:complete-lens", kwargs=kwargs), headers=HTMX)
    html = learner.get(standalone_lens_url(other.pk, other.title)).content.decode()
    assert "Mark complete" not in html and "Completed" in html


def test_without_javascript_mark_complete_returns_to_the_page(learner, lens):
    """A plain form post completes the lens and redirects back to its page."""
    response = learner.post(complete_url(lens))
    assert response.status_code == 302 and response["Location"] == standalone_lens_url(lens.pk, lens.title)
    assert UserContentProgress.objects.get(content_id=lens.pk).completed_at is not None


def test_questions_are_answered_on_the_standalone_page_and_locked_once_completed(learner, lens):
    """The answer box posts to the page's own URL; once the lens is completed, a new answer is refused (409)."""
    key = question_segment(0, WHY)["key"]
    answer_url = reverse("learn:standalone-answer", kwargs={"lens_id": lens.pk, "question_key": key})
    html = learner.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert f'action="{answer_url}"' in html and f'action="/chat/lens/{lens.pk}/chat/1/send/"' in html
    saved = learner.post(answer_url, {"text": "Forgetting makes recall work."}, headers=HTMX)
    assert saved.status_code == 200
    learner.post(complete_url(lens), headers=HTMX)
    refused = learner.post(answer_url, {"text": "Changed"}, headers=HTMX)
    assert refused.status_code == 409
    assert list(QuestionAnswer.objects.values_list("text", flat=True)) == ["Forgetting makes recall work."]


def page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_standalone_page_query_count_is_pinned(learner, lens):
    """The page costs the same queries however many modules place the lens (links: test_links.py)."""
    url = standalone_lens_url(lens.pk, lens.title)
    first = page_queries(learner, url)
    for number in range(8):
        module = make_module(lenses=1, slug=f"more-{number}")
        ModuleEntry.objects.create(module=module, position=1, item=lens)
        make_course(units=[[module]], slug=f"course-{number}")
    # whether the token is claimed, the lens, its progress row, the conversation (2), the answers, their
    # drafts, where it is placed
    assert page_queries(learner, url) == first == 8


# Skipped text --------------------------------------------------------------------------------------------


def article_lens(before: str, after: str):
    return LensFactory(
        title="Excerpted",
        body=body_of(
            {
                "type": "article",
                "index": 0,
                "line": 5,
                "optional": False,
                "article": {
                    "title": "Long read",
                    "authors": ["A. Writer"],
                    "source_url": "",
                    "published": "",
                    "path": "",
                },
                "before_html": before,
                "excerpt_html": "<p>The excerpt.</p>",
                "after_html": after,
                "text": "The excerpt.",
                "word_count": 2,
            }
        ),
    )


def test_long_skipped_text_is_not_in_the_page_but_loads_when_opened(learner):
    """Short skipped text ships in the page; long skipped text is fetched by htmx when its <details>
    opens (and is a page of its own without JavaScript)."""
    long_text = "<p>" + "word " * (SKIPPED_INLINE_LIMIT // 4) + "THE-END</p>"
    lens = article_lens("<p>Short opening.</p>", long_text)
    html = learner.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    url = reverse("learn:skipped-text", kwargs={"lens_id": lens.pk, "index": 0, "part": "after"})
    assert "Short opening." in html and "THE-END" not in html
    assert f'hx-get="{url}"' in html and 'hx-trigger="toggle once"' in html
    fragment = learner.get(url, headers=HTMX)
    assert fragment.status_code == 200 and "THE-END" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    page = learner.get(url).content.decode()
    assert "<html" in page and "THE-END" in page and "Text after the excerpt" in page


@pytest.mark.parametrize("part, index", [("before", 0), ("middle", 0), ("after", 3)])
def test_asking_for_skipped_text_that_does_not_exist_is_a_404(learner, part, index):
    """No text skipped before, an unknown part, an unknown segment: 404."""
    lens = article_lens("", "<p>After.</p>")
    response = learner.get(f"/lenses/{lens.pk}/segments/{index}/skipped-{part}/")
    assert response.status_code == 404


# Drafts ----------------------------------------------------------------------------------------------------


@pytest.fixture
def draft_course():
    """A draft course `wip` whose module `drafting` holds a draft lens; plus a draft lens of its own."""
    module = ModuleFactory(slug="drafting", title="Drafting", is_draft=True)
    lens = LensFactory(title="Half written", is_draft=True, body=body_of(text_segment(0, "Not ready.")))
    ModuleEntry.objects.create(module=module, position=0, item=lens)
    course = make_course(units=[[module]], slug="wip", title="Work in progress", is_draft=True)
    return course, module, lens


def draft_urls(draft_course) -> list[str]:
    _, _, lens = draft_course
    kwargs = {"course_slug": "wip", "module_slug": "drafting"}
    return [
        reverse("learn:course", args=["wip"]),
        reverse("learn:module", kwargs=kwargs),
        reverse("learn:lens", kwargs={**kwargs, "lens_id": lens.pk}),
        standalone_lens_url(lens.pk, lens.title),
    ]


def test_drafts_are_never_listed_or_served_to_learners(learner, draft_course):
    """A learner gets a 404 for a draft course, module and lens, can't complete it, and the home page and
    My progress do not list it."""
    for url in draft_urls(draft_course):
        assert learner.get(url).status_code == 404, url
    _, _, lens = draft_course
    assert learner.post(complete_url(lens), headers=HTMX).status_code == 404
    assert "Work in progress" not in learner.get("/").content.decode()
    assert not UserContentProgress.objects.exists()


def test_staff_without_the_permission_do_not_see_drafts(client, draft_course):
    """Being staff is not enough: previewing drafts takes `content_loader.preview_drafts`."""
    user = get_user_model().objects.create_user("editor", password="a-long-password-1", is_staff=True)
    client.force_login(user)
    assert all(client.get(url).status_code == 404 for url in draft_urls(draft_course))
    user.user_permissions.add(Permission.objects.get(codename="preview_drafts"))
    client.force_login(get_user_model().objects.get(pk=user.pk))  # fresh permission cache
    assert all(client.get(url, follow=True).status_code == 200 for url in draft_urls(draft_course))


def test_staff_preview_drafts_at_the_same_urls_with_a_draft_banner(admin_client, draft_course):
    """A superuser sees the draft course (listed), its module and lens, each page under a "Draft" banner."""
    home = admin_client.get("/").content.decode()
    assert "Work in progress" in home and 'class="tag tag--draft">Draft</span>' in home
    for url in draft_urls(draft_course):
        response = admin_client.get(url, follow=True)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert 'class="draft-banner"' in html and "<strong>Draft</strong>" in html, url
    published = make_module(lenses=1, slug="done")
    make_course(units=[[published]], slug="done-course")
    assert 'class="draft-banner"' not in admin_client.get("/courses/done-course/").content.decode()


def urls_under_a_draft_lens(lens, *, message_id: int) -> list[tuple[str, str]]:
    """(method, URL) of everything a learner could reach under a lens: chat, answers, feedback, pages."""
    key = question_segment(2, WHY)["key"]
    placed = {"course_slug": "wip", "module_slug": "drafting", "lens_id": lens.pk}
    chat = {"lens_id": lens.pk, "segment_index": 1}
    return [
        ("post", reverse("chat:send", kwargs=chat)),
        ("post", reverse("chat:reply", kwargs=chat)),
        ("get", reverse("chat:reply-state", kwargs={**chat, "message_id": message_id})),
        ("post", reverse("chat:new", kwargs=chat)),
        ("post", reverse("learn:answer", kwargs={**placed, "question_key": key})),
        ("post", reverse("learn:feedback", kwargs={**placed, "question_key": key})),
        ("post", reverse("learn:complete-lens", kwargs=placed)),
        ("post", reverse("learn:standalone-answer", args=[lens.pk, key])),
        ("post", reverse("learn:standalone-feedback", args=[lens.pk, key])),
        ("post", reverse("learn:standalone-complete", args=[lens.pk])),
        ("get", reverse("learn:skipped-text", args=[lens.pk, 0, "after"])),
        ("get", standalone_lens_url(lens.pk, lens.title)),
    ]


@pytest.fixture
def draft_chat_lens(draft_course):
    """The draft course's lens, with an article excerpt (long text skipped after it), a chat and a question
    asking for feedback."""
    _, _, lens = draft_course
    long_text = "<p>" + "word " * (SKIPPED_INLINE_LIMIT // 4) + "</p>"
    [article] = article_lens("", long_text).body["segments"]
    lens.body = body_of(article, chat_segment(1), question_segment(2, WHY, feedback=True))
    lens.save()
    return lens


def test_every_url_under_a_draft_lens_is_a_404_for_a_learner_and_writes_nothing(learner, draft_chat_lens):
    """Chat send, reply, reply state and new conversation, answers, feedback, completion, skipped text and
    the standalone page: a learner gets a 404 for each (even for their own reply), and nothing is saved."""
    from django.conf import settings

    from chat.models import ChatMessage, ChatSession
    from chat.tests.factories import ChatMessageFactory, ChatSessionFactory

    token = uuid.UUID(learner.cookies[settings.PROGRESS_COOKIE_NAME].value)
    session = ChatSessionFactory(session_token=token, content_id=draft_chat_lens.pk)
    reply = ChatMessageFactory(session=session, role=ChatMessage.Role.ASSISTANT, text="Earlier.")
    sessions, messages = ChatSession.objects.count(), ChatMessage.objects.count()
    for method, url in urls_under_a_draft_lens(draft_chat_lens, message_id=reply.pk):
        response = getattr(learner, method)(url, {"text": "Hello", "answer": "Because."}, headers=HTMX)
        assert response.status_code == 404, (method, url, response.status_code)
    assert (ChatSession.objects.count(), ChatMessage.objects.count()) == (sessions, messages)
    assert not QuestionAnswer.objects.exists() and not UserContentProgress.objects.exists()


def test_staff_who_preview_drafts_may_use_every_url_under_a_draft_lens(admin_client, draft_chat_lens):
    """The same URLs answer a superuser (the tutor is not configured here, so a chat message is a 503 with
    its message saved, never a 404)."""
    from chat.models import ChatMessage, ChatSession
    from chat.tests.factories import ChatMessageFactory, ChatSessionFactory

    admin = get_user_model().objects.get(username="admin")
    session = ChatSessionFactory(session_token=None, user=admin, content_id=draft_chat_lens.pk)
    reply = ChatMessageFactory(session=session, role=ChatMessage.Role.ASSISTANT, text="Earlier.")
    for method, url in urls_under_a_draft_lens(draft_chat_lens, message_id=reply.pk):
        response = getattr(admin_client, method)(url, {"text": "Hello", "answer": "Because."}, headers=HTMX)
        assert response.status_code != 404, (method, url, response.status_code)
        assert response.status_code < 500 or response.status_code == 503, (method, url, response.status_code)
    assert QuestionAnswer.objects.filter(content_id=draft_chat_lens.pk).exists()
    assert ChatSession.objects.filter(user=admin).exists()


def test_a_module_no_course_places_is_not_offered_as_a_place_of_the_lens(learner, lens):
    """ "Part of" names only modules reached through a course: never a "None:" link to a course that is not."""
    ModuleEntry.objects.create(module=ModuleFactory(slug="loose", title="Loose"), position=0, item=lens)
    html = learner.get(standalone_lens_url(lens.pk, lens.title)).content.decode()
    assert "Memory: Spacing" in html and "None" not in html and "Loose" not in html
