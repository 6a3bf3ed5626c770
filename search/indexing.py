"""Keeping the search index in line with the registry: the one writer of `LensDocument`.

`reindex()` compares each published lens's checksum with the one its document was written from, and
rewrites only the differences (documents of lenses that were retired or became drafts are deleted). It
runs after every sync; with nothing changed it reads two lists of ids and writes nothing.
"""

import logging

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Expression, F, JSONField
from django.db.models.expressions import RawSQL

from content_loader.models import ContentItem, ContentType
from search.documents import lens_text
from search.models import LensDocument

logger = logging.getLogger(__name__)
SEARCH_CONFIG = "english"  # stemming: "aligned" finds "alignment"
_BATCH = 200
# On PostgreSQL, only the parts of a body that `lens_text` reads leave the database (the rendered HTML of
# every segment, most of a body, stays there): the same object with the other keys left out, in order.
_SEARCHED_PARTS = """jsonb_build_object(
    'tldr', body -> 'tldr',
    'segments', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'type', s -> 'type', 'text', s -> 'text', 'transcript', s -> 'transcript',
            'article', jsonb_build_object('title', s -> 'article' -> 'title'),
            'video', jsonb_build_object('title', s -> 'video' -> 'title')
        ) ORDER BY n), '[]'::jsonb)
        FROM jsonb_array_elements(CASE jsonb_typeof(body -> 'segments') WHEN 'array' THEN body -> 'segments' END)
            WITH ORDINALITY AS segment(s, n)
    )
)"""


def search_vector() -> SearchVector:
    """The stored vector: the title weighs more than the text (SearchRank orders title matches first)."""
    return SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
        "text", weight="B", config=SEARCH_CONFIG
    )


@transaction.atomic
def reindex(*, rebuild: bool = False) -> dict[str, int]:
    """Write the documents of published lenses that changed, delete those of lenses gone; counts by kind.

    `rebuild` rewrites every document (after a change to what is indexed, search.documents).
    """
    want = dict(ContentItem.objects.published().filter(content_type=ContentType.LENS).values_list("pk", "checksum"))
    have = dict(LensDocument.objects.values_list("pk", "checksum"))
    gone = [pk for pk in have if pk not in want]
    stale = [pk for pk, checksum in want.items() if rebuild or have.get(pk) != checksum]
    if gone:
        LensDocument.objects.filter(pk__in=gone).delete()
    for start in range(0, len(stale), _BATCH):
        batch = stale[start : start + _BATCH]
        documents = [
            LensDocument(item_id=pk, checksum=checksum, title=title, text=lens_text(body or {}))
            for pk, title, checksum, body in ContentItem.objects.filter(pk__in=batch)
            .annotate(searched=_searched_parts())
            .values_list("pk", "title", "checksum", "searched")
        ]
        LensDocument.objects.bulk_create(
            documents,
            update_conflicts=True,
            unique_fields=["item"],
            update_fields=["checksum", "title", "text"],
        )
        if connection.vendor == "postgresql":
            LensDocument.objects.filter(pk__in=batch).update(vector=search_vector())
    return {"written": len(stale), "deleted": len(gone), "documents": len(want)}


def _searched_parts() -> Expression:
    """What `reindex` reads of each body: on PostgreSQL only the parts `lens_text` takes, else all of it."""
    if connection.vendor == "postgresql":
        return RawSQL(_SEARCHED_PARTS, [], output_field=JSONField())
    return F("body")


def on_content_synced(sender, *, report, **kwargs) -> None:
    """content_synced receiver: bring the index in line with what the sync committed."""
    counts = reindex()
    if counts["written"] or counts["deleted"]:
        logger.info("Search index: %(written)s lenses written, %(deleted)s removed", counts)
