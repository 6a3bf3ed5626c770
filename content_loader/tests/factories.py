"""Factories for registry rows, so that other apps can build courses without a vault."""

import uuid

import factory
from django.utils import timezone

from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry


def text_body(text: str = "Some text.") -> dict:
    """A lens body with one Text segment."""
    return {
        "tldr": "",
        "segments": [
            {"type": "text", "index": 0, "line": 5, "optional": False, "html": f"<p>{text}</p>", "text": text}
        ],
    }


class ContentItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentItem

    id = factory.LazyFunction(uuid.uuid4)
    content_type = ContentType.LENS
    title = factory.Sequence(lambda n: f"Item {n}")
    slug = ""
    source_path = factory.LazyAttribute(lambda o: f"Lenses/{o.title}.md")
    checksum = factory.LazyFunction(lambda: uuid.uuid4().hex * 2)
    body = factory.LazyFunction(text_body)
    estimated_seconds = 90
    first_synced_at = factory.LazyFunction(timezone.now)
    last_synced_at = factory.LazyFunction(timezone.now)


class LensFactory(ContentItemFactory):
    content_type = ContentType.LENS


class AssessmentFactory(ContentItemFactory):
    content_type = ContentType.TEST
    body = factory.LazyFunction(lambda: {"segments": []})


class ModuleFactory(ContentItemFactory):
    content_type = ContentType.MODULE
    slug = factory.Sequence(lambda n: f"module-{n}")
    source_path = factory.LazyAttribute(lambda o: f"modules/{o.slug}.md")
    body = factory.LazyFunction(dict)
    estimated_seconds = 0


class CourseFactory(ContentItemFactory):
    content_type = ContentType.COURSE
    slug = factory.Sequence(lambda n: f"course-{n}")
    source_path = factory.LazyAttribute(lambda o: f"courses/{o.slug}.md")
    body = factory.LazyFunction(dict)
    estimated_seconds = 0


class LearningOutcomeFactory(ContentItemFactory):
    content_type = ContentType.LEARNING_OUTCOME
    body = factory.LazyFunction(dict)


def make_module(*, lenses: int = 3, optional: int = 0, slug: str | None = None, **kwargs) -> ContentItem:
    """A module with `lenses` required lenses followed by `optional` optional ones."""
    module = ModuleFactory(**({"slug": slug} if slug else {}), **kwargs)
    for position in range(lenses + optional):
        ModuleEntry.objects.create(
            module=module,
            position=position,
            item=LensFactory(title=f"{module.slug} lens {position + 1}"),
            optional=position >= lenses,
        )
    return module


def make_course(*, units: list[list[ContentItem]], slug: str | None = None, **kwargs) -> ContentItem:
    """A course whose units hold the given modules; each unit is followed by a meeting."""
    course = CourseFactory(**({"slug": slug} if slug else {}), **kwargs)
    position = 0
    for number, modules in enumerate(units, start=1):
        for module in modules:
            CourseEntry.objects.create(course=course, position=position, kind=CourseEntry.Kind.MODULE, module=module)
            position += 1
        CourseEntry.objects.create(
            course=course, position=position, kind=CourseEntry.Kind.MEETING, title=f"Meeting {number}"
        )
        position += 1
    return course
