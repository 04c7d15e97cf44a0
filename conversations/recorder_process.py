"""Recording the proxy's exchanges in a process of its own, for the proxy's own server
(`manage.py serve_proxy`).

Parsing an answer and writing it (`proxy.record_all`) costs about a millisecond and a half of CPU
an exchange. In the process that answers, even off the response's path, that time is taken from
the next request (one interpreter, one GIL). Here the serving process only pickles the finished
exchange down a pipe (about ten microseconds) and a child process records it, batching what has
queued up, in the database the parent uses (the child is told the parent's database names, so a
test's database holds for it too).

The parent's side is all non-blocking on its event loop: what the pipe does not take at once
waits in a buffer the loop flushes when the pipe drains. The child acknowledges each batch it
has recorded, so the parent knows how many are waiting (`FCSTUDIO_PROXY_RECORD_QUEUE` bounds them:
beyond, an exchange is dropped and logged, never the response delayed) and `drain` can wait for
all of them. If the child dies, what it had not acknowledged is logged as lost and the next
exchange starts a new child. When the parent ends, the child reads the end of its pipe, records
what it still has and exits: it never outlives the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .proxy import Exchange, Grant

logger = logging.getLogger(__name__)

FRAME = struct.Struct("!I")
READ_SIZE = 256 * 1024
# What the child records in one transaction at most.
BATCH = 50
# A child that ends before it recorded anything (it may be failing to start at all) is not
# started again at once: the next waits a second, then twice as long each time, up to this.
MAX_BACKOFF_S = 60.0
CHILD = [sys.executable, "-m", "conversations.recorder_process"]
NICENESS = 10


class Dropped:
    """Says that a full queue dropped exchanges, at most once every `every` seconds and with
    how many since it last said so: a server that is already short of time does not also
    write a log line per request."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.count = 0
        self._unsaid = 0
        self._next = 0.0

    def one(self) -> None:
        self.count += 1
        self._unsaid += 1
        now = time.monotonic()
        if now >= self._next:
            logger.warning(
                "recording queue full (FCSTUDIO_PROXY_RECORD_QUEUE): %d exchange(s) not recorded",
                self._unsaid,
            )
            self._unsaid = 0
            self._next = now + self.every


class RecorderProcess:
    """The sink for one event loop's exchanges: a child process fed through a pipe."""

    def __init__(self, size: int) -> None:
        self.size = size  # exchanges sent and not yet acknowledged, at most
        self._dropped = Dropped()
        self.lost = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._send_fd = -1
        self._ack_fd = -1
        self._pending = bytearray()  # frames the pipe has not taken yet
        self._acks = bytearray()
        self._waiting = 0  # sent (or pending) and not acknowledged
        self._idle = asyncio.Event()  # nothing waiting; one for the recorder's whole life
        self._idle.set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._grants: dict[int, Grant] = {}  # what the child was sent, by token
        self._backoff = 0.0  # after a child ended early: how long before the next one
        self._not_before = 0.0
        self._acknowledged = False  # by the current child, ever

    def submit(self, exchange: Exchange) -> None:
        if self._waiting >= self.size:
            self._dropped.one()
            return
        if self._process is None and not self._started():
            self.lost += 1
            return
        frames = b""
        grant = exchange.grant
        if self._grants.get(grant.token_id) is not grant:  # new, or changed since it was sent
            self._grants[grant.token_id] = grant
            frames += _frame(("grant", grant))
        frames += _frame(("exchange", _fields(exchange)))
        self._waiting += 1
        self._idle.clear()
        self._send(frames)  # if the child is gone, this exchange is counted lost with the rest

    @property
    def dropped(self) -> int:
        return self._dropped.count

    async def drain(self) -> None:
        """Wait until every exchange submitted so far is recorded (or lost with its child)."""
        await self._idle.wait()

    def close(self, timeout: float = 30.0) -> None:
        """End the child once it has recorded what it was sent, waiting at most `timeout` s
        (blocking: the loop may be gone). What it did not acknowledge is logged as lost."""
        process = self._process
        if process is None:
            return
        self._stop_watching()
        deadline = time.monotonic() + timeout
        try:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self._send_fd], [], left)[1]:
                    break
                try:
                    del self._pending[: os.write(self._send_fd, self._pending)]
                except BlockingIOError:
                    continue
        except OSError:
            pass  # the child is gone: what it missed is counted below
        os.close(self._send_fd)  # the child reads the end, records what it has and exits
        try:
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([self._ack_fd], [], [], left)[0]:
                    break
                try:
                    data = os.read(self._ack_fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if not data:
                    break
                self._count_acks(data)
        except OSError:
            pass
        os.close(self._ack_fd)
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("the recording process did not finish in %g s: stopped", timeout)
            process.kill()
            process.wait()
        self._forget()

    # -- the parent's side of the pipes ----------------------------------------------------

    def _started(self) -> bool:
        """Start a child unless one ended early a moment ago (then wait, doubling)."""
        now = time.monotonic()
        if now < self._not_before:
            return False
        try:
            self._start()
        except OSError:
            logger.exception("the recording process could not start")
            self._back_off(now)
            return False
        return True

    def _start(self) -> None:
        from django.conf import settings
        from django.db import connections

        loop = asyncio.get_running_loop()
        request_read, request_write = os.pipe()
        ack_read, ack_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [*CHILD, str(request_read), str(ack_write)],
                pass_fds=(request_read, ack_write),
                cwd=settings.BASE_DIR,  # `-m` finds the project's packages from here
                stdin=subprocess.DEVNULL,
                close_fds=True,
                # Not in the server's process group: a Ctrl-C stops the server, whose end of
                # the pipe then closes, and the child finishes what it has before it exits.
                start_new_session=True,
            )
        except OSError:
            for fd in (request_read, request_write, ack_read, ack_write):
                os.close(fd)
            raise
        os.close(request_read)
        os.close(ack_write)
        os.set_blocking(request_write, False)
        os.set_blocking(ack_read, False)
        self._send_fd, self._ack_fd = request_write, ack_read
        self._loop = loop
        self._acknowledged = False
        loop.add_reader(ack_read, self._read_acks)
        names = {alias: connections[alias].settings_dict["NAME"] for alias in connections}
        self._send(_frame({"databases": names}))

    def _send(self, frames: bytes) -> None:
        if self._pending:
            self._pending += frames
            return
        try:
            written = os.write(self._send_fd, frames)
        except BlockingIOError:
            written = 0
        except OSError:  # the child is gone: its reader end closed
            self._child_ended()
            return
        if written < len(frames):
            self._pending += frames[written:]
            assert self._loop is not None
            self._loop.add_writer(self._send_fd, self._flush)

    def _flush(self) -> None:
        try:
            written = os.write(self._send_fd, self._pending)
        except BlockingIOError:
            return
        except OSError:
            self._child_ended()
            return
        del self._pending[:written]
        if not self._pending:
            assert self._loop is not None
            self._loop.remove_writer(self._send_fd)

    def _read_acks(self) -> None:
        try:
            data = os.read(self._ack_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._child_ended()
            return
        self._count_acks(data)

    def _count_acks(self, data: bytes) -> None:
        self._acks += data
        while len(self._acks) >= FRAME.size:
            (count,) = FRAME.unpack_from(self._acks)
            del self._acks[: FRAME.size]
            self._waiting = max(self._waiting - count, 0)
            self._acknowledged = True
            self._backoff = 0.0  # a child that records is a healthy one
        if not self._waiting:
            self._idle.set()

    def _child_ended(self) -> None:
        """The child went away unasked: what it had not acknowledged is lost."""
        process = self._process
        if process is None:
            return
        self._stop_watching()
        for fd in (self._send_fd, self._ack_fd):
            os.close(fd)
        process.wait()
        logger.error("the recording process exited (%s)", process.returncode)
        if not self._acknowledged:
            self._back_off(time.monotonic())
        self._forget()

    def _forget(self) -> None:
        self.lost += self._waiting
        if self._waiting:
            logger.error("%d proxied exchanges were not recorded", self._waiting)
        self._process = None
        self._send_fd = self._ack_fd = -1
        self._pending.clear()
        self._acks.clear()
        self._grants = {}
        self._waiting = 0
        self._idle.set()

    def _back_off(self, now: float) -> None:
        self._backoff = min(max(self._backoff * 2, 1.0), MAX_BACKOFF_S)
        self._not_before = now + self._backoff
        logger.error(
            "the recording process failed early: exchanges are not recorded for %g s",
            self._backoff,
        )

    def _stop_watching(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._ack_fd)
            self._loop.remove_writer(self._send_fd)


# -- what goes down the pipe -----------------------------------------------------------------
# A grant once per child (and again when it changed), then each exchange as a tuple of plain
# values naming its grant by token: pickling the whole exchange, grant and aware datetime
# included, cost about four times as much, all of it in the serving process.

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


def _fields(exchange: Exchange) -> tuple[Any, ...]:
    return (
        exchange.grant.token_id,
        exchange.sent or exchange.request,  # the bytes, parsed again by the child
        exchange.stream,
        exchange.status,
        (exchange.started_at - EPOCH) // timedelta(microseconds=1),
        exchange.duration_ms,
        exchange.first_chunk_ms,
        exchange.body,
        exchange.conversation_key,
        exchange.failure,
    )


def _exchange(fields: tuple[Any, ...], grants: dict[int, Grant]) -> Exchange:
    from .proxy import Exchange

    token_id, request, stream, status, started_us, duration, first, body, key, failure = fields
    return Exchange(
        grant=grants[token_id],
        request=json.loads(request) if isinstance(request, bytes) else request,
        stream=stream,
        status=status,
        started_at=EPOCH + timedelta(microseconds=started_us),
        duration_ms=duration,
        first_chunk_ms=first,
        body=body,
        conversation_key=key,
        failure=failure,
        sent=request if isinstance(request, bytes) else b"",
    )


# -- the child -------------------------------------------------------------------------------


def _frames(fd: int) -> Iterator[list[bytes]]:
    """The frames read from `fd`, as lists of what has arrived together (at most BATCH), until
    the pipe's end."""
    buffer = bytearray()
    ended = False
    while not ended:
        data = os.read(fd, READ_SIZE)
        ended = not data
        buffer += data
        batch: list[bytes] = []
        while len(buffer) >= FRAME.size:
            (length,) = FRAME.unpack_from(buffer)
            if len(buffer) < FRAME.size + length:
                break
            batch.append(bytes(buffer[FRAME.size : FRAME.size + length]))
            del buffer[: FRAME.size + length]
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def main(request_fd: int, ack_fd: int) -> None:
    """Record what comes down `request_fd` (the parent's settings first, then exchanges) and
    acknowledge each batch on `ack_fd`, until the parent closes its end."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fcstudio.settings")
    # Background work: when the CPU is short, the server answering requests goes first.
    os.nice(NICENESS)
    frames = _frames(request_fd)
    first = next(frames, [])
    if not first:
        return
    config: dict[str, Any] = pickle.loads(first[0])
    django.setup()
    from django.db import close_old_connections, connections

    for alias, name in config["databases"].items():
        connections[alias].settings_dict["NAME"] = name
    from .proxy import record_all

    grants: dict[int, Grant] = {}

    def record(batch: list[bytes]) -> None:
        exchanges = []
        for frame in batch:
            kind, value = pickle.loads(frame)
            if kind == "grant":
                grants[value.token_id] = value
            else:
                exchanges.append(_exchange(value, grants))
        if not exchanges:
            return
        close_old_connections()  # as around a request: a broken or too old one is replaced
        try:
            record_all(exchanges)
        except Exception:  # the batch's transaction itself failed (the database went away)
            logger.exception("%d proxied exchanges could not be recorded", len(exchanges))
        finally:
            close_old_connections()
        os.write(ack_fd, FRAME.pack(len(exchanges)))

    if first[1:]:
        record(first[1:])
    for batch in frames:
        record(batch)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
