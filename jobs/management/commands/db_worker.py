"""`manage.py db_worker` is `manage.py worker` here: django-tasks-db's plain worker keeps no heartbeat, so
the jobs it ran would look abandoned to the other workers and be run twice."""

from jobs.management.commands.worker import Command  # noqa: F401
