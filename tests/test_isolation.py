"""A learner can never read or change another learner's progress, chats or answers.

Two victims (an anonymous token and an account) own a completed lens, credited time, a conversation and
an answer. Attackers try every endpoint: with a guessed token (header or cookie), with another account's
session, with another account's session plus the victim's token, and through the victims' object ids in
URLs. Each attempt must show them nothing of the victims' and leave the victims' rows exactly as they were.
Admin (and any staff page) is for staff only.
"""

import json
import uuid
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession
from chat.tests.fake_tutor import Stream
from tests.conftest import QUESTION_KEY, csrf_client, csrf_header
from tests.routes import routes

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Attacker:
    """A client and the headers every request of it carries (a token, a CSRF token)."""

    kind: str
    client: Client
    headers: dict = field(default_factory=dict)
    logged_in: bool = False

    def get(self, path: str, **extra):
        return self.client.get(path, **self.headers, **extra)

    def post(self, path: str, data=None, *, json_body: bool = False, **extra):
        if json_body:
            return self.client.post(path, json.dumps(data), content_type="application/json", **self.headers, **extra)
        return self.client.post(path, data or {}, **self.headers, **extra)


def make_attacker(kind: str, victims) -> Attacker:
    if kind == "guessed token header":
        return Attacker(kind, Client(), {"HTTP_X_SESSION_TOKEN": str(uuid.uuid4())})
    if kind == "guessed learner cookie":
        client = csrf_client()
        client.cookies[settings.PROGRESS_COOKIE_NAME] = str(uuid.uuid4())
        return Attacker(kind, client, csrf_header(client))
    if kind == "another account":
        client = csrf_client(UserFactory(username="attacker"))
        return Attacker(kind, client, csrf_header(client), logged_in=True)
    if kind == "another account with the victim's token":
        client = csrf_client(UserFactory(username="attacker"))
        headers = {**csrf_header(client), "HTTP_X_SESSION_TOKEN": str(victims[0].learner.session_token)}
        return Attacker(kind, client, headers, logged_in=True)
    raise ValueError(kind)


ATTACKERS = [
    "guessed token header",
    "guessed learner cookie",
    "another account",
    "another account with the victim's token",
]


@pytest.fixture(params=ATTACKERS)
def attacker(request, victims) -> Attacker:
    return make_attacker(request.param, victims)


@pytest.fixture
def snapshots(victims):
    """The victims' data before the attack; call it after to compare."""
    before = [victim.snapshot() for victim in victims]

    def unchanged() -> bool:
        return [victim.snapshot() for victim in victims] == before

    return unchanged


def shows_no_secret(response, victims) -> bool:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return not any(victim.secret.encode() in body for victim in victims)


# The progress API


def test_progress_reads_show_the_attacker_nothing_of_the_victims(attacker, course, victims):
    """Completed ids, module progress (with its chat) and course progress are the attacker's own: empty."""
    completed = attacker.get("/api/progress/completed")
    assert completed.status_code == 200 and completed.json() == {"content_ids": []}

    module = attacker.get(f"/api/modules/{course.module.slug}/progress").json()
    assert module["progress"]["completed"] == 0 and module["status"] == "not_started"
    assert not any(lens["completed"] or lens["timeSpentS"] for lens in module["lenses"])
    assert module["chatSession"] is None

    course_data = attacker.get(f"/api/courses/{course.course.slug}/progress").json()
    assert course_data["units"][0]["modules"][0]["progress"]["completed"] == 0


def test_progress_writes_never_touch_the_victims_rows(attacker, course, victims, snapshots):
    """Completing and heartbeating the victims' very items writes the attacker's own rows only."""
    for lens in course.lenses:
        body = {"content_id": str(lens.pk), "content_type": "lens", "time_spent_s": 999}
        assert attacker.post("/api/progress/complete", body, json_body=True).status_code == 200
        heartbeat = {"content_id": str(lens.pk), "time_delta_s": 100}
        assert attacker.post("/api/progress/time", heartbeat, json_body=True).status_code == 204
    assert snapshots()


def test_claiming_a_guessed_token_moves_nothing_of_the_victims(attacker, victims, snapshots):
    """A claim naming a token the attacker made up is 401 without an account, else 200 with nothing moved.

    The token is a bearer secret: naming the victim's real token is only possible by holding it, which is
    being that learner already; a guessed one (122 random bits) is a token with nothing to claim.
    """
    body = {"session_token": str(uuid.uuid4())}
    response = attacker.post("/api/progress/claim", body, json_body=True)
    if attacker.logged_in:
        assert response.status_code == 200 and response.json()["progress_records_claimed"] == 0
    else:
        assert response.status_code == 401
    assert snapshots()


def test_a_token_claimed_by_one_account_cannot_be_claimed_by_another(victims):
    """Once an account claimed a token, another account naming it gets 409 and the first keeps everything."""
    token = str(victims[0].learner.session_token)
    owner = csrf_client(UserFactory(username="owner"))
    first = owner.post(
        "/api/progress/claim",
        json.dumps({"session_token": token}),
        content_type="application/json",
        **csrf_header(owner),
    )
    assert first.status_code == 200 and first.json()["progress_records_claimed"] >= 1
    owned = [ChatSession.objects.filter(user__username="owner").count(), owner.get("/api/progress/completed").json()]

    client = csrf_client(UserFactory(username="attacker"))
    body = json.dumps({"session_token": token})
    response = client.post("/api/progress/claim", body, content_type="application/json", **csrf_header(client))

    assert response.status_code == 409
    assert client.get("/api/progress/completed").json() == {"content_ids": []}
    assert [
        ChatSession.objects.filter(user__username="owner").count(),
        owner.get("/api/progress/completed").json(),
    ] == owned


# The chat URLs


def test_conversations_of_others_are_404_by_id(attacker, victims):
    """A victim's conversation id in the URL is a 404, as if it did not exist, for every attacker."""
    for victim in victims:
        response = attacker.get(reverse("chat:conversation", kwargs={"session_id": victim.chat_session.pk}))
        assert response.status_code == 404
        assert shows_no_secret(response, victims)
        htmx = attacker.get(
            reverse("chat:conversation", kwargs={"session_id": victim.chat_session.pk}), HTTP_HX_REQUEST="true"
        )
        assert htmx.status_code == 404


def test_the_lens_page_shows_only_the_attackers_own_chat_and_answer(attacker, course, victims):
    """The lens page's chat panel and question box hold nothing the victims wrote."""
    response = attacker.get(course.url("lens"))
    assert response.status_code == 200
    assert shows_no_secret(response, victims)


def test_chat_writes_go_to_the_attackers_own_conversation(attacker, course, victims, snapshots, tutor_server):
    """Sending, the streamed reply, starting a new conversation, answering and asking for feedback on the
    victims' lens write to the attacker's own rows; the victims' conversations and answers are untouched,
    and nothing the victims wrote reaches the attacker's pages or the tutor."""
    lens = course.lenses[0]
    chat_url = {"lens_id": lens.pk, "segment_index": 1}
    tutor_server.script.extend([Stream(["Fine."]), Stream(["Good answer."])])

    sent = attacker.post(reverse("chat:send", kwargs=chat_url), {"text": "hello"}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 200 and shows_no_secret(sent, victims)
    reply = attacker.post(reverse("chat:reply", kwargs=chat_url), HTTP_ACCEPT="application/x-ndjson")
    assert reply.status_code == 200 and shows_no_secret(reply, victims)
    answered = attacker.post(
        course.url("answer", lens, question_key=QUESTION_KEY), {"text": "mine"}, HTTP_HX_REQUEST="true"
    )
    assert answered.status_code == 200 and shows_no_secret(answered, victims)
    feedback = attacker.post(
        course.url("feedback", lens, question_key=QUESTION_KEY), HTTP_ACCEPT="application/x-ndjson"
    )
    assert feedback.status_code == 200 and shows_no_secret(feedback, victims)
    new = attacker.post(reverse("chat:new", kwargs=chat_url), HTTP_HX_REQUEST="true")
    assert new.status_code == 200 and shows_no_secret(new, victims)

    assert snapshots()
    sent_to_tutor = json.dumps(tutor_server.requests)
    assert not any(victim.secret in sent_to_tutor for victim in victims)
    # The attacker's own conversation got the message, the victims' did not.
    assert (
        ChatMessage.objects.filter(text="hello")
        .exclude(session__in=[victim.chat_session for victim in victims])
        .exists()
    )
    assert ChatSession.objects.filter(pk__in=[v.chat_session.pk for v in victims], archived_at=None).count() == 2


# The learner pages


def learner_pages(course) -> list[str]:
    return [
        reverse("learn:home"),
        reverse("learn:my-progress"),
        reverse("my-data"),
        reverse("my-data-download"),
        reverse("learn:course", kwargs={"course_slug": course.course.slug}),
        course.url("lens"),
    ]


def test_learner_pages_show_the_attacker_nothing_of_the_victims(attacker, course, victims):
    """Home, My progress, My data (the page and the download), the course overview and the module viewer
    (with its chat and question) show the attacker's own (empty) progress: none of the victims' text, no
    completed lens."""
    for path in learner_pages(course):
        response = attacker.get(path)
        assert response.status_code == 200, path
        assert shows_no_secret(response, victims), path
    module = attacker.get(learner_pages(course)[-1])
    assert module.context["progress"].completed == 0


def test_completing_a_victims_lens_on_the_page_writes_the_attackers_row(attacker, course, victims, snapshots):
    """The page's "Mark complete" on the victims' lens completes it for the attacker only."""
    for lens in course.lenses:
        response = attacker.post(course.url("complete-lens", lens))
        assert response.status_code in {200, 302, 303}
    assert snapshots()


# Admin and staff pages


def staff_routes(course, victims) -> list[str]:
    """Every URL under /admin/ (and any staff or dashboard URL), with the victims' object ids in them."""
    samples = {"object_id": victims[1].answer.pk, "app_label": "progress", "content_type_id": 1, "id": 1}
    paths = []
    for route in routes():
        if route.route.startswith("admin/") or "staff" in route.route or "dashboard" in route.route:
            path = route.path(samples)
            if path is not None and path not in {"/admin/login/", "/admin/logout/", "/admin/jsi18n/"}:
                paths.append(path)
    return paths


def test_admin_urls_cover_the_models_with_learner_data(course, victims):
    """The walk below does reach the admin of progress rows, conversations and answers."""
    paths = staff_routes(course, victims)
    for model in admin.site._registry:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert changelist in paths


@pytest.mark.parametrize("who", ["anonymous", "learner", "learner with a token"])
def test_admin_and_staff_pages_are_for_staff_only(who, course, victims, snapshots):
    """Every admin URL (lists, object pages by id, history, delete, add) sends a non-staff visitor to the
    login page or refuses: GET shows nothing and POST changes nothing."""
    client = csrf_client(UserFactory(username="learner") if who != "anonymous" else None)
    extra = {"HTTP_X_SESSION_TOKEN": str(victims[0].learner.session_token)} if who == "learner with a token" else {}
    for path in staff_routes(course, victims):
        for method in ("get", "post"):
            response = getattr(client, method)(path, **extra, **csrf_header(client))
            assert response.status_code in {302, 403, 404}, (method, path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/admin/login/"), (path, response["Location"])
            assert shows_no_secret(response, victims)
    assert snapshots()


def test_staff_see_the_admin(course, victims):
    """The control: a staff superuser gets the same admin pages."""
    client = csrf_client(UserFactory(username="staff", is_staff=True, is_superuser=True))
    assert client.get("/admin/progress/usercontentprogress/").status_code == 200
    assert client.get(f"/admin/chat/questionanswer/{victims[1].answer.pk}/change/").status_code == 200
