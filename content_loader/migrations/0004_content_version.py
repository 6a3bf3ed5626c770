"""The content version row and, on PostgreSQL, the triggers that give it a new number whenever a statement
writes a row of a content table (content_loader.kept reads it)."""

from django.db import migrations, models

from content_loader.migrations import _version_triggers

TABLES = [
    "content_loader_contentitem",
    "content_loader_courseentry",
    "content_loader_moduleentry",
    "content_loader_replacedid",
    "content_loader_slugalias",
]
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


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE SEQUENCE content_loader_version_seq")
    schema_editor.execute(FUNCTION)
    _version_triggers.create(schema_editor, TABLES)
    schema_editor.execute(
        "INSERT INTO content_loader_contentversion (id, version) VALUES (1, nextval('content_loader_version_seq'))"
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _version_triggers.drop(schema_editor, TABLES)
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
