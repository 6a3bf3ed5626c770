from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        import logging

        from django.core.signals import got_request_exception

        import ops.lookups  # noqa: F401  (registers UUIDField's `__any_of`)
        from ops.middleware import remember_database_error

        # Errors raised in other middleware never reach a middleware's process_exception; this signal
        # is the one place where Django shows them.
        got_request_exception.connect(remember_database_error, dispatch_uid="ops.remember_database_error")

        # The JSON log lines (ops.logs) carry no file or line of the logging call, so logging need not find
        # it: the optimisation the logging HOWTO documents, about 2% of a heartbeat's time (the request log).
        logging._srcfile = None
