"""On PostgreSQL, a write to a course run or its meeting dates gives the content version a new number, as a
write to content does (content_loader migration 0004): the course overview keeps the current run's dates per
content version (learn.fragments.meeting_dates)."""

from django.db import migrations

from content_loader.migrations import _version_triggers

TABLES = ["learn_courserun", "learn_meetingdate"]


def create_triggers(apps, schema_editor):
    _version_triggers.create(schema_editor, TABLES)


def drop_triggers(apps, schema_editor):
    _version_triggers.drop(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("learn", "0001_course_runs"),
        ("content_loader", "0004_content_version"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
