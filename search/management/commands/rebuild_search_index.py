from django.core.management.base import BaseCommand

from search.indexing import reindex


class Command(BaseCommand):
    help = "Rewrite the search index of published lenses (sync_content keeps it up to date by itself)."

    def handle(self, *args, **options) -> None:
        counts = reindex(rebuild=True)
        self.stdout.write(f"Search index: {counts['written']} lenses written, {counts['deleted']} removed.")
