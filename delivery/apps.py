from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Content delivery"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the system checks)
