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
import logging
import os
import pickle
import struct
import subprocess
import sys
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


class RecorderProcess:
    """The sink for one event loop's exchanges: a child process fed through a pipe."""

    def __init__(self, size: int) -> None:
        self.size = size  # exchanges sent and not yet acknowledged, at most
        self.dropped = 0
        self.lost = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._send_fd = -1
        self._ack_fd = -1
        self._pending = bytearray()  # frames the pipe has not taken yet
        self._acks = bytearray()
        self._waiting = 0  # sent (or pending) and not acknowledged
        self._idle: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._grants: dict[int, Grant] = {}  # what the child was sent, by token

    def submit(self, exchange: Exchange) -> None:
        if self._waiting >= self.size:
            self.dropped += 1
            logger.warning("recording queue full: an exchange was not recorded")
            return
        if self._process is None:
            try:
                self._start()
            except OSError:
                self.dropped += 1
                logger.exception("the recording process could not start: an exchange was lost")
                return
        grant = exchange.grant
        if self._grants.get(grant.token_id) is not grant:  # new, or changed since it was sent
            self._grants[grant.token_id] = grant
            self._send(_frame(("grant", grant)))
        self._waiting += 1
        assert self._idle is not None
        self._idle.clear()
        self._send(_frame(("exchange", _fields(exchange))))

    async def drain(self) -> None:
        """Wait until every exchange submitted so far is recorded (or lost with its child)."""
        if self._idle is not None:
            await self._idle.wait()

    def close(self, timeout: float = 30.0) -> None:
        """End the child after it has recorded what it was sent (the loop may be gone: what
        the pipe had not taken yet is written blocking)."""
        process = self._process
        if process is None:
            return
        self._stop_watching()
        try:
            if self._pending:
                os.set_blocking(self._send_fd, True)
                os.write(self._send_fd, bytes(self._pending))
        except OSError:
            pass
        finally:
            self._pending.clear()
            os.close(self._send_fd)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("the recording process did not finish in %g s: stopped", timeout)
            process.kill()
            process.wait()
        os.close(self._ack_fd)
        self._process = None

    # -- the parent's side of the pipes ----------------------------------------------------

    def _start(self) -> None:
        from django.conf import settings
        from django.db import connections

        loop = asyncio.get_running_loop()
        request_read, request_write = os.pipe()
        ack_read, ack_write = os.pipe()
        command = [sys.executable, "-m", "conversations.recorder_process"]
        self._process = subprocess.Popen(
            [*command, str(request_read), str(ack_write)],
            pass_fds=(request_read, ack_write),
            cwd=settings.BASE_DIR,  # `-m` finds the project's packages from here
            stdin=subprocess.DEVNULL,
            close_fds=True,
            # Not in the server's process group: a Ctrl-C stops the server, whose end of the
            # pipe then closes, and the child finishes what it has before it exits.
            start_new_session=True,
        )
        os.close(request_read)
        os.close(ack_write)
        os.set_blocking(request_write, False)
        os.set_blocking(ack_read, False)
        self._send_fd, self._ack_fd = request_write, ack_read
        self._loop = loop
        self._idle = asyncio.Event()
        self._waiting = 0
        self._grants = {}
        loop.add_reader(ack_read, self._read_acks)
        names = {alias: connections[alias].settings_dict["NAME"] for alias in connections}
        self._send(_frame({"databases": names}))

    def _send(self, frame: bytes) -> None:
        if self._pending:
            self._pending += frame
            return
        try:
            written = os.write(self._send_fd, frame)
        except BlockingIOError:
            written = 0
        except OSError:  # the child is gone: its reader end closed
            self._child_ended()
            return
        if written < len(frame):
            self._pending += frame[written:]
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
        self._acks += data
        while len(self._acks) >= FRAME.size:
            (count,) = FRAME.unpack_from(self._acks)
            del self._acks[: FRAME.size]
            self._waiting -= count
        if self._waiting <= 0 and self._idle is not None:
            self._waiting = 0
            self._idle.set()

    def _child_ended(self) -> None:
        process = self._process
        if process is None:
            return
        self._stop_watching()
        if self._waiting:
            self.lost += self._waiting
            logger.error(
                "the recording process exited (%s): %d exchanges were not recorded",
                process.poll(),
                self._waiting,
            )
        for fd in (self._send_fd, self._ack_fd):
            os.close(fd)
        process.wait()
        self._process = None
        self._pending.clear()
        self._acks.clear()
        self._waiting = 0
        if self._idle is not None:
            self._idle.set()

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
        exchange.request,
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
        request=request,
        stream=stream,
        status=status,
        started_at=EPOCH + timedelta(microseconds=started_us),
        duration_ms=duration,
        first_chunk_ms=first,
        body=body,
        conversation_key=key,
        failure=failure,
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
    frames = _frames(request_fd)
    first = next(frames, [])
    if not first:
        return
    config: dict[str, Any] = pickle.loads(first[0])
    django.setup()
    from django.db import connections

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
        try:
            record_all(exchanges)
        except Exception:  # the batch's transaction itself failed (the database went away)
            logger.exception("%d proxied exchanges could not be recorded", len(exchanges))
        os.write(ack_fd, FRAME.pack(len(exchanges)))

    if first[1:]:
        record(first[1:])
    for batch in frames:
        record(batch)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
