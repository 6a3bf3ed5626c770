from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.core.signals import got_request_exception

        from ops.middleware import remember_database_error

        # Errors raised in other middleware never reach a middleware's process_exception; this signal
        # is the one place where Django shows them.
        got_request_exception.connect(remember_database_error, dispatch_uid="ops.remember_database_error")
