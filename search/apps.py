from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"

    def ready(self) -> None:
        from content_loader.signals import content_synced
        from search import indexing

        # The registry changed: bring the search index of published lenses in line (after the commit).
        content_synced.connect(indexing.on_content_synced, dispatch_uid="search-index")
