"""Course runs: a cohort's dates for a course, which staff set in the admin.

A course file names its meetings in order; a run gives them dates. The overview shows the dates of the
course's current run: the latest one that has started and whose last meeting is today or later.
"""

from datetime import date

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Max, Q

from content_loader.models import ContentItem, ContentType


class CourseRunQuerySet(models.QuerySet):
    def current(self, *, course_id, today: date) -> "CourseRunQuerySet":
        """The course's current run (at most one): started by `today`, its last meeting today or later."""
        return (
            self.filter(course_id=course_id, starts_on__lte=today)
            .annotate(last_meeting=Max("meetings__date"))
            .filter(last_meeting__gte=today)
            .order_by("-starts_on", "-pk")[:1]
        )


class CourseRun(models.Model):
    course = models.ForeignKey(
        ContentItem,
        on_delete=models.PROTECT,
        related_name="runs",
        limit_choices_to={"content_type": ContentType.COURSE},
        help_text="The course (by its permanent UUID) this run gives dates to.",
    )
    name = models.CharField(max_length=200, help_text='What learners call this run, e.g. "Spring 2027 cohort".')
    starts_on = models.DateField(help_text="The first day of the run.")

    objects = CourseRunQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.starts_on:%Y-%m-%d})"


class MeetingDateQuerySet(models.QuerySet):
    def for_course_overview(self, *, course_id, today: date) -> dict[int, "MeetingDate"]:
        """The current run's meeting dates by meeting number (1 query; empty when no run is current)."""
        run = CourseRun.objects.current(course_id=course_id, today=today).values("pk")
        return {meeting.number: meeting for meeting in self.filter(run__in=run).select_related("run")}


class MeetingDate(models.Model):
    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="meetings")
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Which meeting of the course, in the course's order: 1 is the first meeting.",
    )
    date = models.DateField()

    objects = MeetingDateQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="learn_meeting_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="learn_meeting_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Meeting {self.number}: {self.date:%Y-%m-%d}"
