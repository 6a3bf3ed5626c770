"""The search index: one row per published lens, with its words in a stored tsvector (PostgreSQL).

`search.indexing` is the only writer, after each content sync (content_loader.signals.content_synced). The
GIN index on `vector` exists on PostgreSQL only (migration 0001); on SQLite `vector` stays empty and
search falls back to `icontains` over `title` and `text` (search.queries).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from content_loader.models import ContentItem


class LensDocument(models.Model):
    item = models.OneToOneField(ContentItem, primary_key=True, on_delete=models.CASCADE, related_name="+")
    checksum = models.CharField(max_length=64, help_text="The item's checksum when this row was written.")
    title = models.CharField(max_length=500)
    text = models.TextField(help_text="Plain text of the lens: its tldr, text, article excerpts, video transcripts.")
    vector = SearchVectorField(null=True, help_text="Title (weight A) and text (weight B); PostgreSQL only.")

    class Meta:
        indexes = [GinIndex(fields=["vector"], name="search_lens_vector_gin")]

    def __str__(self) -> str:
        return self.title
