"""Jobs the tests enqueue (a module of their own, so that a worker in another process can import them)."""

import time
from pathlib import Path

from jobs.retry import job


class Permanent(Exception):
    pass


@job(attempts=3, backoff_seconds=5, max_backoff_seconds=60)
def always_fails(message: str) -> None:
    raise RuntimeError(message)


@job(attempts=3, backoff_seconds=5, give_up_on=(Permanent,))
def fails_for_good(message: str) -> None:
    raise Permanent(message)


@job(attempts=3)
def record_run(path: str, line: str) -> str:
    """Append `line` to the file at `path`: how the tests see which job ran, and how often."""
    with open(path, "a") as file:
        file.write(line + "\n")
    return line


@job(attempts=3, backoff_seconds=0)
def hangs_on_first_run(path: str) -> int:
    """Append a line per run; the first run then hangs (until its worker is killed), later runs return."""
    log = Path(path)
    with log.open("a") as file:
        file.write("run\n")
    runs = len(log.read_text().splitlines())
    if runs == 1:
        time.sleep(300)
    return runs
