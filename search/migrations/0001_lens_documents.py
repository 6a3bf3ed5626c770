"""The search index table. Its GIN index is created on PostgreSQL only (SQLite has no GIN, and the
SQLite fallback search does not use the vector): the index is in the migration state everywhere, in the
database only where it works. Existing content is indexed at the next `sync_content` (or
`manage.py rebuild_search_index`)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

GIN = django.contrib.postgres.indexes.GinIndex(fields=["vector"], name="search_lens_vector_gin")


def add_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("search", "LensDocument"), GIN)


def remove_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("search", "LensDocument"), GIN)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("content_loader", "0003_entry_titles_are_fallbacks"),
    ]

    operations = [
        migrations.CreateModel(
            name="LensDocument",
            fields=[
                (
                    "item",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="content_loader.contentitem",
                    ),
                ),
                (
                    "checksum",
                    models.CharField(help_text="The item's checksum when this row was written.", max_length=64),
                ),
                ("title", models.CharField(max_length=500)),
                (
                    "text",
                    models.TextField(
                        help_text="Plain text of the lens: its tldr, text, article excerpts, video transcripts."
                    ),
                ),
                (
                    "vector",
                    django.contrib.postgres.search.SearchVectorField(
                        help_text="Title (weight A) and text (weight B); PostgreSQL only.", null=True
                    ),
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="lensdocument", index=GIN)],
            database_operations=[migrations.RunPython(add_gin, remove_gin)],
        ),
    ]
