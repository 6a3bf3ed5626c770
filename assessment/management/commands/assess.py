"""`manage.py assess --since DATE [--question KEY] [--dry-run]`: score saved answers again."""

from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from assessment import services, subjects
from assessment.models import Assessment, AssessmentState


class Command(BaseCommand):
    help = (
        "Enqueue scoring of the current answers saved since DATE whose question has assessment-instructions "
        "and that have no score for the current prompt and rubric (e.g. after a rubric changed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD: answers saved on or after this day (UTC).")
        parser.add_argument("--question", help="Only answers to the question with this key.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be enqueued; enqueue nothing.")

    def handle(self, *args, since, question, dry_run, **options):
        from chat.models import QuestionAnswer

        try:
            day = datetime.strptime(since, "%Y-%m-%d").date()
        except ValueError:
            raise CommandError(f"--since {since!r} is not a date: write it as YYYY-MM-DD.") from None
        start = timezone.make_aware(datetime.combine(day, time.min), UTC)
        answers = QuestionAnswer.objects.current().filter(updated_at__gte=start).order_by("updated_at", "id")
        if question:
            answers = answers.filter(question_key=question)
        count = 0
        for answer in answers.iterator():
            material = subjects.material_for("answer", answer.pk)
            if material is None:
                continue
            version = services.prompt_version(
                material, services.learning_outcome_statement(material.learning_outcome_id)
            )
            done = Assessment.objects.filter(
                subject_kind="answer",
                subject_id=answer.pk,
                version=material.version,
                prompt_version=version,
                state__in=[AssessmentState.DONE, AssessmentState.QUEUED, AssessmentState.RUNNING],
            ).exists()
            if done:
                continue
            count += 1
            label = f"answer {answer.pk} to question {answer.question_key} (prompt {version})"
            if dry_run:
                self.stdout.write(f"would enqueue {label}")
            else:
                services.enqueue("answer", answer.pk, force=True)
                self.stdout.write(f"enqueued {label}")
        self.stdout.write(f"{count} to enqueue" + (" (dry run: nothing enqueued)" if dry_run else ""))
