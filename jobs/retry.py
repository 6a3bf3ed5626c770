"""The one way to define a background job: `@job(...)`, a Django task with a retry policy.

    from jobs.retry import job

    @job(attempts=5, backoff_seconds=30)
    def assess_answer(answer_id: int) -> None:
        ...

    assess_answer.enqueue(answer_id)     # Django's Tasks API (the django-tasks backport)

Arguments must be JSON (ids, not model instances): the job may run on another machine, later. A job must
be safe to run twice (idempotent): a worker killed mid-way means it runs again from the start.

When the function raises, the worker (`manage.py worker`) runs it again after `backoff_seconds`, then
twice that, four times that... (capped at `max_backoff_seconds`), until `attempts` runs have been made;
then the job is marked FAILED with its error and traceback (admin: Background jobs). An exception listed
in `give_up_on` fails the job at once: retrying cannot help (a ref that does not exist). A worker that
dies mid-job also uses up an attempt, so a job that kills its worker every time ends up FAILED too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django_tasks import task
from django_tasks.base import Task

DEFAULT_QUEUE = "default"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 10.0
    max_backoff_seconds: float = 600.0
    give_up_on: tuple[type[BaseException], ...] = ()

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait before the run after failed run number `attempt` (1 for the first run)."""
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether a job whose run number `attempt` raised `error` should run again."""
        return attempt < self.attempts and not isinstance(error, self.give_up_on)


# task module path -> its policy; filled when the module defining the job is imported (as the worker
# does when it loads the job's function), so a policy always travels with its code.
_policies: dict[str, RetryPolicy] = {}
DEFAULT_POLICY = RetryPolicy(attempts=1)  # a task defined with plain @task: one run, no retry


def job(
    *,
    attempts: int = 3,
    backoff_seconds: float = 10.0,
    max_backoff_seconds: float = 600.0,
    give_up_on: tuple[type[BaseException], ...] = (),
    queue_name: str = DEFAULT_QUEUE,
    priority: int = 0,
) -> Callable[[Callable[..., Any]], Task]:
    """Make `function` a background job run by `manage.py worker`, retried as described above."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    policy = RetryPolicy(attempts, backoff_seconds, max_backoff_seconds, tuple(give_up_on))

    def decorate(function: Callable[..., Any]) -> Task:
        defined = task(queue_name=queue_name, priority=priority)(function)
        _policies[defined.module_path] = policy
        return defined

    return decorate


def policy_for(task_path: str) -> RetryPolicy:
    """The retry policy of the job at `task_path` (its module must have been imported)."""
    return _policies.get(task_path, DEFAULT_POLICY)
