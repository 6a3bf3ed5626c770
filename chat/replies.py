"""Model replies that survive the learner leaving: generated into a database row, followed by whoever asks.

Once the tutor has been asked, its stream is read to the end whatever the browser does. The reply is a row
of a `GeneratedText` model (a tutor `ChatMessage`, a `FeedbackRequest`, a roleplay turn), created by the
caller in the `generating` state with a lease (`lease_fields()`). `start()` then reads the model's stream
on a background thread of this process and writes the growing text into that row in pieces (at most every
`FLUSH_SECONDS`), each write extending the lease; at the end the row is `complete`, or `interrupted` with
the text that arrived and the reason. No transaction is open while the model answers: every write is one
autocommitted UPDATE.

Readers never depend on the generator's process: `follow()` tails the row from the database (woken at
once by a generator in the same process, else polling every `POLL_SECONDS`), so an HTTP response on any
server, a reload, or a returning learner's page sees the same reply. A row still `generating` after its
lease ran out belongs to a generator that died (its server stopped or was killed): `expire_dead()` marks
it interrupted, keeping its text, and the caller may ask again.

To reuse it (e.g. for roleplay), give the model `GeneratedText`'s fields (subclass it), create the row
with `**lease_fields()` (a partial unique constraint on `state='generating'` keeps one generator per
conversation), call `start(row=..., stream=..., on_complete=...)` with a callable that streams the model's pieces (e.g.
`lambda: tutor.stream_completion(messages)`), and answer requests with `follow()`. An exception the stream
raises with a `message` attribute (a `TutorError`) is what the learner is told; any other is logged.
"""

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.models import GeneratedText, ReplyState

logger = logging.getLogger(__name__)

# How often a generator writes the text so far (pieces arriving meanwhile are written together).
FLUSH_SECONDS = 0.1
# How often a follower in another process looks at the row.
POLL_SECONDS = 0.25
# Added to the tutor's read timeout: a live generator writes (or fails) within this of its last write.
LEASE_SLACK_SECONDS = 10
DEAD_GENERATOR_PROBLEM = "The reply was cut off: the server writing it stopped. Try again."
EMPTY_REPLY_PROBLEM = "The tutor sent an empty reply. Try again."

_changed = threading.Condition()  # the set of generating threads changed (running(), wait_for_all())
_threads: set[threading.Thread] = set()


@dataclass
class _Watch:
    """The followers of one row in this process: a write wakes these only, not every follower.

    With one condition for all rows, each write (up to 10 a second per reply) woke every thread tailing
    any reply, and 100 followers per process spent the cores waking up (bench/tutor_bench.py).
    """

    followers: int = 0
    version: int = 0
    changed: threading.Condition = field(default_factory=lambda: threading.Condition(_watch_lock))
    # The events of followers on an event loop (afollow), set from the generator's thread.
    awaiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)


_watch_lock = threading.Lock()
_watches: dict[tuple[str, int], _Watch] = {}


def generator_name() -> str:
    """Who is generating: host, process and thread (shown in admin, and matched by every write)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:200]


def lease_expiry() -> datetime:
    """When a lease taken or renewed now runs out."""
    return timezone.now() + timedelta(seconds=settings.TUTOR_TIMEOUT_SECONDS + LEASE_SLACK_SECONDS)


def lease_fields(generator: str = "") -> dict:
    """The fields of a row created to be generated into (by `start`, which renews the lease as it writes)."""
    return {"text": "", "state": ReplyState.GENERATING, "generator": generator, "lease_until": lease_expiry()}


def dead(queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` still marked generating whose lease ran out: their generator died."""
    return queryset.filter(state=ReplyState.GENERATING).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    )


def expire_dead(queryset: QuerySet) -> int:
    """Mark the rows whose generator died as interrupted, keeping their text (one UPDATE); returns how many."""
    return dead(queryset).update(state=ReplyState.INTERRUPTED, problem=DEAD_GENERATOR_PROBLEM, lease_until=None)


def _key(row_or_model, pk: int) -> tuple[str, int]:
    return row_or_model._meta.label, pk


def _notify(model, pk: int) -> None:
    with _watch_lock:
        watch = _watches.get(_key(model, pk))
        if watch is not None:
            watch.version += 1
            watch.changed.notify_all()
            for loop, event in watch.awaiting:
                loop.call_soon_threadsafe(event.set)


@contextlib.contextmanager
def _watching(key: tuple[str, int]) -> Iterator[_Watch]:
    with _watch_lock:
        watch = _watches.setdefault(key, _Watch())
        watch.followers += 1
    try:
        yield watch
    finally:
        with _watch_lock:
            watch.followers -= 1
            if not watch.followers:
                del _watches[key]


@dataclass
class _Generation:
    model: type[GeneratedText]
    pk: int
    stream: Callable[[], Iterable[str]]
    on_complete: Callable[[GeneratedText], None] | None
    on_interrupted: Callable[[GeneratedText], None] | None

    def run(self) -> None:
        me = generator_name()
        rows = self.model._default_manager.filter(pk=self.pk, state=ReplyState.GENERATING)
        try:
            if not rows.update(generator=me, lease_until=lease_expiry()):
                return  # archived, deleted or taken over before we began
            mine = rows.filter(generator=me)
            text, last_write = "", 0.0
            try:
                for piece in self.stream():
                    text += piece
                    if time.monotonic() - last_write >= FLUSH_SECONDS:
                        if not mine.update(text=text, lease_until=lease_expiry()):
                            return  # the row is gone or another took it over: stop asking the model
                        last_write = time.monotonic()
                        _notify(self.model, self.pk)
                if not text.strip():
                    raise EmptyReply(EMPTY_REPLY_PROBLEM)
                self._end(mine, self.on_complete, text=text.strip(), state=ReplyState.COMPLETE, problem="")
            except Exception as error:
                problem = getattr(error, "message", None)
                if not isinstance(problem, str):
                    logger.exception("Generating %s %s failed", self.model._meta.label, self.pk)
                    problem = "The reply failed because of an error on this server. Try again."
                self._end(mine, self.on_interrupted, text=text, state=ReplyState.INTERRUPTED, problem=problem)
        finally:
            _notify(self.model, self.pk)
            connections.close_all()  # this thread's own connection

    def _end(self, mine: QuerySet, hook: Callable[[GeneratedText], None] | None, **fields) -> None:
        """The last write, and the hook's writes with it in one short transaction (readers see both at once)."""
        try:
            with transaction.atomic():
                if mine.update(**fields, lease_until=None) and hook is not None:
                    hook(self.model._default_manager.get(pk=self.pk))
        except Exception:
            logger.exception("Saving the end of %s %s failed", self.model._meta.label, self.pk)
            if hook is not None:  # keep the text at least, without what the hook would have written
                mine.update(**fields, lease_until=None)


class EmptyReply(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def start(
    *,
    row: GeneratedText,
    stream: Callable[[], Iterable[str]],
    on_complete: Callable[[GeneratedText], None] | None = None,
    on_interrupted: Callable[[GeneratedText], None] | None = None,
) -> None:
    """Generate the pieces `stream()` yields into `row` (created `generating`) on a background thread.

    Returns at once. The thread reads the stream to its end whatever happens to the request that started
    it, and calls `on_complete` (or `on_interrupted`) with the saved row. The thread is not a daemon: a
    server shutting down gracefully lets running replies finish (bounded by TUTOR_MAX_REPLY_SECONDS).
    """
    generation = _Generation(type(row), row.pk, stream, on_complete, on_interrupted)
    thread = threading.Thread(target=_run, args=(generation,), name=f"reply-{row._meta.label}-{row.pk}")
    with _changed:
        _threads.add(thread)
    thread.start()


def _run(generation: _Generation) -> None:
    try:
        close_old_connections()
        generation.run()
    finally:
        with _changed:
            _threads.discard(threading.current_thread())
            _changed.notify_all()


def running() -> int:
    """How many replies this process is generating right now."""
    with _changed:
        return len(_threads)


def wait_for_all(timeout: float) -> bool:
    """Wait until this process generates nothing (tests, shutdown); False when `timeout` passed first."""
    deadline = time.monotonic() + timeout
    with _changed:
        while _threads:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _changed.wait(left)
    return True


@dataclass(frozen=True)
class Event:
    """What a follower sees: `delta` (new text), then `complete` or `interrupted` with the saved row."""

    kind: str
    text: str = ""
    row: GeneratedText | None = None


def follow(*, model: type[GeneratedText], pk: int, timeout: float | None = None) -> Iterator[Event]:
    """Tail a generated row from the database: its text as it grows, then how it ended.

    Works wherever the generator runs (this process wakes us at once; another server is polled). A row
    whose generator died is marked interrupted here. Ends with `interrupted` when the row is gone, and
    stops (no final event) after `timeout` seconds, when given.
    """
    sent = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    rows = model._default_manager.filter(pk=pk)
    with _watching(_key(model, pk)) as watch:
        while True:
            with _watch_lock:
                version = watch.version
            row = rows.first()
            if row is None:
                yield Event("interrupted")
                return
            if row.state == ReplyState.GENERATING and not row.is_generating:
                expire_dead(rows)
                continue
            if len(row.text) > sent:
                yield Event("delta", row.text[sent:])
                sent = len(row.text)
            if row.state != ReplyState.GENERATING:
                yield Event(row.state, row=row)
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            with _watch_lock:
                if watch.version == version:
                    watch.changed.wait(POLL_SECONDS)


async def afollow(*, model: type[GeneratedText], pk: int) -> AsyncIterator[Event]:
    """`follow()` for an ASGI server: the same events, awaited on the event loop instead of holding a thread.

    Under ASGI Django consumes a synchronous streaming iterator whole, in the one thread its synchronous
    views share, before sending any of it: a reply followed that way would arrive at its end and stop
    every other request of the process meanwhile (bench/tutor_bench.py). Each read is one short query.
    """
    sent = 0
    rows = model._default_manager.filter(pk=pk)
    woken = asyncio.Event()
    me = (asyncio.get_running_loop(), woken)
    with _watching(_key(model, pk)) as watch:
        with _watch_lock:
            watch.awaiting.append(me)
        try:
            while True:
                woken.clear()  # before the read: a write after it wakes the wait below
                row = await rows.afirst()
                if row is None:
                    yield Event("interrupted")
                    return
                if row.state == ReplyState.GENERATING and not row.is_generating:
                    await sync_to_async(expire_dead)(rows)
                    continue
                if len(row.text) > sent:
                    yield Event("delta", row.text[sent:])
                    sent = len(row.text)
                if row.state != ReplyState.GENERATING:
                    yield Event(row.state, row=row)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), POLL_SECONDS)
        finally:
            with _watch_lock:
                watch.awaiting.remove(me)


def wait_for(*, model: type[GeneratedText], pk: int) -> GeneratedText | None:
    """The row once its generation ended (None when it is gone): for requests that wait for the whole reply."""
    final = None
    for event in follow(model=model, pk=pk):
        if event.kind != "delta":
            final = event.row
    return final
