"""Roleplay attempts for tests; segments come from learn.tests.factories.roleplay_segment."""

import uuid

import factory

from roleplay.models import RoleplayAttempt, RoleplayMessage


class RoleplayAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleplayAttempt

    session_token = factory.LazyFunction(uuid.uuid4)
    roleplay_id = factory.LazyFunction(uuid.uuid4)
    content_id = factory.LazyFunction(uuid.uuid4)
    content_type = "lens"
    scenario = "Convince Sam."


class RoleplayMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleplayMessage

    attempt = factory.SubFactory(RoleplayAttemptFactory)
    role = RoleplayMessage.Role.USER
    text = "Hello Sam."
