from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"

    def ready(self) -> None:
        from progress import signals  # noqa: F401  (connects the login receiver)
        from progress.queries import count_learners_with_progress

        try:
            from content_loader import impact
        except ImportError:  # the loader's dry-run report may not exist yet
            return
        impact.register_progress_counter(count_learners_with_progress)
