"""Fixtures of the project-wide tests: learners with their own progress, chats and answers."""

import uuid
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession, QuestionAnswer
from chat.tests.factories import (
    QUESTION_KEY,
    ChatMessageFactory,
    ChatSessionFactory,
    QuestionAnswerFactory,
    chat_lens_body,
)
from content_loader.models import ModuleEntry
from content_loader.tests.factories import LensFactory, ModuleFactory, make_course
from learners import Learner
from progress.models import UserContentProgress
from progress.services import complete_content, record_heartbeat


@dataclass
class Course:
    course: object
    module: object
    lenses: list  # the first has a chat segment (index 1) and a question (QUESTION_KEY)

    def url(self, name: str, lens=None, **kwargs) -> str:
        """A learner page URL (`learn:<name>`) of a lens of this course: the viewer, its answer and feedback."""
        slugs = {"course_slug": self.course.slug, "module_slug": self.module.slug}
        return reverse(f"learn:{name}", kwargs={**slugs, "lens_id": (lens or self.lenses[0]).pk, **kwargs})


@pytest.fixture
def course(db) -> Course:
    """A course with one module of three lenses; the first lens has a chat and a question."""
    module = ModuleFactory(slug="isolation-module")
    lenses = [LensFactory(title="Chat lens", body=chat_lens_body()), LensFactory(), LensFactory()]
    for position, lens in enumerate(lenses):
        ModuleEntry.objects.create(module=module, position=position, item=lens)
    return Course(make_course(units=[[module]], slug="isolation-course"), module, lenses)


@dataclass
class Owner:
    """A learner with some of everything: a completed lens, time on another, a conversation, an answer."""

    learner: Learner
    user: object | None
    secret: str  # text only this learner wrote
    chat_session: ChatSession
    answer: QuestionAnswer

    @property
    def owner(self) -> dict:
        return {"user_id": self.learner.user_id, "session_token": self.learner.session_token}

    def snapshot(self) -> dict:
        """Everything this learner owns, as plain values: compared before and after an attempt."""
        return {
            "progress": sorted(
                UserContentProgress.objects.owned_by(self.learner).values_list(
                    "content_id", "completed_at", "time_to_complete_s", "total_time_spent_s", "last_heartbeat_at"
                )
            ),
            "chats": sorted(ChatSession.objects.owned_by(self.learner).values_list("id", "archived_at", "content_id")),
            "messages": sorted(
                ChatMessage.objects.filter(session__in=ChatSession.objects.owned_by(self.learner)).values_list(
                    "id", "text"
                )
            ),
            "answers": sorted(
                QuestionAnswer.objects.owned_by(self.learner).values_list(
                    "id", "text", "superseded_at", "feedback_requested_at"
                )
            ),
        }


def make_owner(course: Course, *, user=None, token: uuid.UUID | None = None, name: str) -> Owner:
    learner = Learner(user_id=user.pk) if user else Learner(session_token=token)
    secret = f"secret-of-{name}-{uuid.uuid4().hex[:8]}"
    owner = {"user_id": learner.user_id, "session_token": learner.session_token}
    chat_lens = course.lenses[0]
    complete_content(learner=learner, content_id=chat_lens.pk, content_type="lens")
    record_heartbeat(learner=learner, content_id=course.lenses[1].pk, time_delta_s=40)
    session = ChatSessionFactory(**owner, content_id=chat_lens.pk, content_type="lens")
    ChatMessageFactory(session=session, text=f"{secret} asks about the chat lens")
    answer = QuestionAnswerFactory(
        **owner,
        content_id=chat_lens.pk,
        content_type="lens",
        question_key=QUESTION_KEY,
        question_text="Why?",
        text=f"{secret} answers the question",
    )
    return Owner(learner, user, secret, session, answer)


@pytest.fixture
def victims(course) -> list[Owner]:
    """Two learners whose data attackers go after: an anonymous token and an account."""
    return [
        make_owner(course, token=uuid.uuid4(), name="anonymous-victim"),
        make_owner(course, user=UserFactory(username="victim"), name="account-victim"),
    ]


def csrf_client(user=None) -> Client:
    """A browser-like client (CSRF enforced), logged in as `user` when given, holding a CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/admin/login/")  # sets the csrftoken cookie
    return client


def csrf_header(client: Client) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
