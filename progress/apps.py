from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"

    def ready(self) -> None:
        from content_loader import impact
        from progress import signals  # noqa: F401  (connects the login receiver)
        from progress.queries import count_learners_with_progress

        impact.register_progress_counter(count_learners_with_progress)
