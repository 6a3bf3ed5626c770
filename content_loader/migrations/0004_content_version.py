"""The content version row and, on PostgreSQL, the triggers that give it a new number whenever a statement
writes a row of a content table (content_loader.kept reads it)."""

from django.db import migrations, models

TABLES = [
    "content_loader_contentitem",
    "content_loader_courseentry",
    "content_loader_moduleentry",
    "content_loader_replacedid",
    "content_loader_slugalias",
]
# Statement-level triggers with transition tables: a statement that writes no row (a sync that changes
# nothing) leaves the version as it is; one that writes a thousand rows moves it once.
FUNCTION = """
CREATE FUNCTION content_loader_new_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        INSERT INTO content_loader_contentversion (id, version) VALUES (1, nextval('content_loader_version_seq'))
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    RETURN NULL;
END
$$
"""
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE SEQUENCE content_loader_version_seq")
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        for event, rows in EVENTS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_version_{event} AFTER {event.upper()} ON {table}"
                f" REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION content_loader_new_version()"
            )
    schema_editor.execute("INSERT INTO content_loader_contentversion (id, version) VALUES (1, nextval('content_loader_version_seq'))")


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for event in EVENTS:
            schema_editor.execute(f"DROP TRIGGER {table}_version_{event} ON {table}")
    schema_editor.execute("DROP FUNCTION content_loader_new_version()")
    schema_editor.execute("DROP SEQUENCE content_loader_version_seq")


class Migration(migrations.Migration):
    dependencies = [
        ("content_loader", "0003_entry_titles_are_fallbacks"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContentVersion",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
