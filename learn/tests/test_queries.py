"""Every learner page uses a number of queries that does not grow with modules, lenses or completions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from content_loader import kept
from content_loader.models import CourseEntry, ModuleEntry
from content_loader.tests.factories import make_course, make_module

pytestmark = pytest.mark.django_db


def queries(client, method: str, url: str, *, warm: bool = False, **kwargs) -> int:
    """The request's queries the first time after a sync (learn.fragments keeps nothing yet), or `warm`:
    once what the pages keep per content version is kept."""
    if warm:
        getattr(client, method)(url, **kwargs)
    else:
        kept.memo.clear()
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code in {200, 302}, response
    return len(captured)


def lens_ids(module) -> list:
    return list(ModuleEntry.objects.filter(module=module).order_by("position").values_list("item_id", flat=True))


def page_counts(client, course, module) -> dict[str, int]:
    """Queries per page for the current state of `course`; `module`'s last lens is left incomplete."""
    kwargs = {"course_slug": course.slug, "module_slug": module.slug}
    last = lens_ids(module)[-1]
    lens = reverse("learn:lens", kwargs={**kwargs, "lens_id": last})
    return {
        "home": queries(client, "get", reverse("learn:home")),
        "overview": queries(client, "get", reverse("learn:course", args=[course.slug])),
        "module start": queries(client, "get", reverse("learn:module", kwargs=kwargs)),
        "lens": queries(client, "get", lens),
        "lens (htmx)": queries(client, "get", lens, headers={"HX-Request": "true"}),
        "my progress": queries(client, "get", reverse("learn:my-progress")),
    }


def complete(client, course, module, lens_id) -> None:
    url = reverse(
        "learn:complete-lens", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id}
    )
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 200


def grow(course, module, *, modules: int, lenses: int) -> list:
    """Add `modules` modules of `lenses` lenses to the course, and `lenses` more lenses to `module`."""
    last = CourseEntry.objects.filter(course=course).order_by("-position").first().position
    added = []
    for number in range(modules):
        extra = make_module(lenses=lenses, optional=1, slug=f"{course.slug}-extra-{number}")
        CourseEntry.objects.create(course=course, position=last + 1 + number, kind="module", module=extra)
        added.append(extra)
    start = ModuleEntry.objects.filter(module=module).order_by("-position").first().position
    existing = ModuleEntry.objects.filter(module__in=added).values_list("item", flat=True)[:lenses]
    for offset, item in enumerate(existing, start=1):
        ModuleEntry.objects.create(module=module, position=start + offset, item_id=item)
    return added


def test_page_queries_do_not_grow_with_modules_lenses_or_completions(client):
    """Growing the course from 1 module of 3 lenses to 13 modules of 20 lenses, with half of it
    completed, leaves each page's query count unchanged."""
    module = make_module(lenses=3, slug="small")
    course = make_course(units=[[module]], slug="growing")
    client.get("/")
    complete(client, course, module, lens_ids(module)[0])
    small = page_counts(client, course, module)

    added = grow(course, module, modules=12, lenses=20)
    for extra in added[:6]:
        for lens_id in lens_ids(extra)[:10]:
            complete(client, course, extra, lens_id)
    for lens_id in lens_ids(module)[:-1]:
        complete(client, course, module, lens_id)
    large = page_counts(client, course, module)

    assert large == small


def test_completion_queries_do_not_grow(client):
    """Marking a lens complete (HTMX) costs the same number of queries in a small and a large module."""
    small_module = make_module(lenses=3, slug="s")
    large_module = make_module(lenses=40, slug="l")
    course = make_course(units=[[small_module, large_module]], slug="c")
    client.get("/")
    complete(client, course, small_module, lens_ids(small_module)[0])
    for lens_id in lens_ids(large_module)[:20]:
        complete(client, course, large_module, lens_id)

    def completion(module) -> int:
        url = reverse(
            "learn:complete-lens",
            kwargs={"course_slug": "c", "module_slug": module.slug, "lens_id": lens_ids(module)[-2]},
        )
        return queries(client, "post", url, headers={"HX-Request": "true"})

    assert completion(large_module) == completion(small_module)


def test_chats_and_questions_cost_the_same_few_queries_however_many(client):
    """A lens's chats load the learner's conversation once (3 queries) and its questions their answers and
    drafts once (2 queries): a lens with two chats, five answered questions and a long conversation with
    past ones costs the same as a lens with one chat (one message) and one question, 5 queries more than a
    lens with neither."""
    from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory
    from content_loader.tests.factories import LensFactory
    from learn.tests.factories import body_of, chat_segment, question_segment, text_segment

    module = make_module(lenses=1, slug="m")
    course = make_course(units=[[module]], slug="q")
    plain = lens_ids(module)[0]
    small = LensFactory(body=body_of(text_segment(0, "Read."), chat_segment(1), question_segment(2, "Why?")))
    questions = [question_segment(i, f"Question {i}?", feedback=True) for i in range(1, 6)]
    large = LensFactory(body=body_of(chat_segment(0), *questions, chat_segment(6, hide_from_user=True)))
    for position, item in enumerate([small, large], start=1):
        ModuleEntry.objects.create(module=module, position=position, item=item)

    client.get("/")
    token = client.cookies["learner_token"].value
    ChatMessageFactory(session=ChatSessionFactory(session_token=token, content_id=small.pk))
    session = ChatSessionFactory(session_token=token, content_id=large.pk)
    ChatMessageFactory.create_batch(6, session=session)
    for _ in range(2):
        past = ChatSessionFactory(session_token=token, content_id=large.pk, archived_at="2026-01-01T00:00Z")
        ChatMessageFactory.create_batch(2, session=past)
    for question in questions:
        QuestionAnswerFactory(session_token=token, content_id=large.pk, question_key=question["key"])

    def lens_queries(lens_id) -> int:
        url = reverse("learn:lens", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id})
        return queries(client, "get", url)

    assert lens_queries(large.pk) == lens_queries(small.pk) == lens_queries(plain) + 5


def test_home_and_my_progress_queries_do_not_grow_with_courses(client):
    """Home and My progress show every course: one course or five, the same number of queries."""
    client.get("/")

    def counts() -> dict[str, int]:
        return {
            "home": queries(client, "get", reverse("learn:home")),
            "my progress": queries(client, "get", reverse("learn:my-progress")),
        }

    def add_course(number: int) -> None:
        module = make_module(lenses=3, slug=f"module-{number}")
        course = make_course(units=[[module]], slug=f"course-{number}")
        complete(client, course, module, lens_ids(module)[0])

    add_course(0)
    one = counts()
    for number in range(1, 5):
        add_course(number)
    five = counts()

    assert five == one
    assert "course-4" in client.get(reverse("learn:home")).content.decode()


# Pinned numbers. Why each page costs what it does (anonymous learner, so no session-user query):
# session read, the claimed-token check, the course (and module) lookups, then `progress.queries`' reads
# (3 for a course: entries, steps, progress rows; 2 for a module); the overview adds one query for the
# current run's meeting dates; "Mark complete" adds the completion's own statements and the module's
# progress after it, and the completion that finishes a module the course's progress (3) for the dialog's
# "Course completed".
PINNED = {
    "home": 6,
    "overview": 7,  # 6 before course runs: +1 for the current run's meeting dates
    "module start": 6,
    "lens": 7,
    "lens (htmx)": 7,
    "my progress": 6,
}


def test_page_query_counts_are_pinned(client):
    """Each learner page costs a fixed, known number of queries (a change here must say why)."""
    module = make_module(lenses=3, slug="pinned")
    course = make_course(units=[[module]], slug="pinned-course")
    client.get("/")
    complete(client, course, module, lens_ids(module)[0])
    assert page_counts(client, course, module) == PINNED


def test_pages_shown_again_before_a_sync_cost_fewer_queries(client):
    """The overview and the module viewer, shown again with the content unchanged, read the course's
    structure, the module's steps, the lens body and its links' targets from learn.fragments, the overview
    the current run's meeting dates and the viewer its module's course entry too: only the course (with the
    content version), the learner's rows and what is theirs on the page."""
    module = make_module(lenses=3, slug="pinned")
    course = make_course(units=[[module]], slug="pinned-course")
    client.get("/")
    complete(client, course, module, lens_ids(module)[0])
    kwargs = {"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_ids(module)[-1]}
    overview, lens = reverse("learn:course", args=[course.slug]), reverse("learn:lens", kwargs=kwargs)
    assert queries(client, "get", overview, warm=True) == PINNED["overview"] - 3
    assert queries(client, "get", lens, warm=True) == PINNED["lens"] - 3


def test_completion_query_counts_are_pinned(client):
    """ "Mark complete": a fixed number of queries for a lens, more (the course's progress, for the dialog)
    for the one that finishes a module, and the completion page a fixed number too."""
    module = make_module(lenses=2, slug="pinned")
    course = make_course(units=[[module]], slug="pinned-course")
    client.get("/")
    first, last = lens_ids(module)

    def completion(lens_id) -> int:
        url = reverse(
            "learn:complete-lens",
            kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id},
        )
        return queries(client, "post", url, headers={"HX-Request": "true"})

    counts = {
        "lens": completion(first),
        "module and course": completion(last),
        "completion page": queries(client, "get", reverse("learn:course-completion", args=[course.slug])),
    }
    # The completion page: session, claimed tokens, the course, then its progress (3).
    assert counts == {"lens": 14, "module and course": 16, "completion page": 6}
