"""On PostgreSQL, a write to a course run or its meeting dates gives the content version a new number, as a
write to content does (content_loader migration 0004): the course overview keeps the current run's dates per
content version (learn.fragments.meeting_dates)."""

from django.db import migrations

TABLES = ["learn_courserun", "learn_meetingdate"]
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for event, rows in EVENTS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_version_{event} AFTER {event.upper()} ON {table}"
                f" REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION content_loader_new_version()"
            )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for event in EVENTS:
            schema_editor.execute(f"DROP TRIGGER {table}_version_{event} ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("learn", "0001_course_runs"),
        ("content_loader", "0004_content_version"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
