"""The recording proxy's upstream client: HTTP/1.1 on an asyncio protocol, with kept-alive
connections per upstream origin.

The proxy relays bytes: it wants a status, headers and the body as it arrives, nothing of a
general client (auth, cookies, redirects, decoding, default headers), and on a local upstream the
layers of httpx and httpcore cost more than the rest of the proxy together. Answers are parsed by
httptools (llhttp, in C, what uvicorn uses) fed straight from the protocol's `data_received`:
Content-Length, chunked and close-delimited bodies, informational (1xx) answers skipped,
keep-alive and its end, all as the protocol says. The request is written by hand in one write
(head and body together, on a socket with TCP_NODELAY), its header names and values checked so
that no line break gets through (`LocalProtocolError`). A wait for the upstream costs one timer,
not an `asyncio.timeout` context per read.

The outbound policy is the one of every other outbound request (`fcstudio.outbound`, checked by
`tools_app.engine.implementations.http`): each new connection resolves its host, is refused
(`OutboundRefused`) when any address is not permitted, and connects to exactly the address it
checked, with TLS verified against the name. A kept-alive connection was checked when it was
opened. Redirects are not followed: a 3xx goes back to the app as the upstream sent it.

Failures are httpx's exception types (`ConnectError`, `ConnectTimeout`, `ReadTimeout`,
`WriteTimeout`, `RemoteProtocolError`, `ReadError`), so the proxy treats them as it treated the
transport's. A connection whose exchange did not end cleanly (an error, a timeout, a task
cancelled because the client left, bytes beyond the answer) is closed, never reused. An answer
the consumer has not taken yet stops the reading once it passes `HIGH_WATER` bytes.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from functools import partial
from typing import Any, cast

import httptools
import httpx2 as httpx

from tools_app.engine import ToolFailure
from tools_app.engine.implementations.http import (
    HttpPolicy,
    OutboundRefused,
    permitted_addresses,
    shared_tls_context,
)

Origin = tuple[str, str, int]
# Idle connections kept per origin; more are closed when they finish.
MAX_IDLE_PER_ORIGIN = 32
# Requests under way at once (httpx's default limit); more wait for one to end, as long as
# their timeout allows.
MAX_CONNECTIONS = 100
# Body bytes received and not yet taken by the consumer: reading pauses above HIGH_WATER and
# resumes once they are down to LOW_WATER.
HIGH_WATER = 128 * 1024
LOW_WATER = 32 * 1024

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_FIELD_TEXT = rb"[^\x00-\x08\x0a-\x1f\x7f]*"  # no control character but the tab
# A request's head as written, but for its blank line; with the count of its line ends, one
# check that no name or value broke a line or the framing.
_HEAD = re.compile(
    _TOKEN + rb" [^\x00-\x20\x7f]+ HTTP/1\.1\r\n(?:" + _TOKEN + rb": " + _FIELD_TEXT + rb"\r\n)*"
).fullmatch
# Written here, from the URL and the body, whatever headers are given.
_FRAMING_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding"})
_ASKS_TO_CLOSE = re.compile(rb"^connection:[^\r\n]*\bclose\b", re.IGNORECASE | re.MULTILINE).search


class _Stale(Exception):
    """The connection ended before any answer came back on it."""


class _Refuse(Exception):
    """Stops the parser from a callback; the reason is in the connection's `error`."""


class _Connection(asyncio.Protocol):
    """One connection to an upstream, and the state of the exchange under way on it.

    Between exchanges it has no parser: a byte the upstream sends then is not an answer to
    anything, and the connection is closed."""

    transport: asyncio.Transport
    headers: list[tuple[bytes, bytes]]
    error: Exception | None
    pieces: deque[bytes]

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.closed = False  # the upstream ended it, it broke, or it was closed here
        self.parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0  # when bytes last came, while a read waits
        self._paused_reading = False
        self._paused_writing = False
        self._socket: Any = None  # set where TCP_QUICKACK exists (Linux)
        self._reset(False, False)

    # -- the exchange, as the client sees it

    def begin(self, head_only: bool, close_after: bool) -> None:
        """Ready for the answer to a request about to be written."""
        self._reset(head_only, close_after)
        self.parser = httptools.HttpResponseParser(self)
        if self.closed:  # ended before the request went out
            self.error = httpx.RemoteProtocolError("the upstream closed the connection")

    def _reset(self, head_only: bool, close_after: bool) -> None:
        self.head_only = head_only  # a HEAD request: its answer has no body
        self.close_after = close_after  # the request said `Connection: close`
        self.received = 0
        self.status_code = 0
        self.headers = []
        self.head = False  # the final (non-1xx) head has been parsed
        self.complete = False  # ...and the whole answer
        self.reusable = False
        self.beyond = False  # bytes came after the answer's end
        self.error = None
        self.pieces = deque()
        self.buffered = 0
        self._informational = False
        self._framed = False  # a Content-Length or Transfer-Encoding says where the body ends

    def take(self) -> bytes:
        """The oldest body piece received, resuming the reading once the consumer caught up."""
        piece = self.pieces.popleft()
        self.buffered -= len(piece)
        if self._paused_reading and self.buffered <= LOW_WATER and not self.closed:
            self._paused_reading = False
            self.transport.resume_reading()
        return piece

    async def wait(self, timeout: float) -> None:
        """Until the upstream sends something of use, or `timeout` passes without a byte."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        self._last = loop.time()
        self._timer = loop.call_at(self._last + timeout, self._read_timed_out, timeout)
        try:
            await waiter
        finally:
            self._waiter = None
            self._timer.cancel()
            self._timer = None

    async def drain(self, timeout: float) -> None:
        """Until the transport has taken the request (raises _Stale when the connection ended)."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, self._write_timed_out)
        try:
            while self._paused_writing and not self.closed:
                await waiter
                waiter = self._waiter = loop.create_future()
        finally:
            self._waiter = None
            timer.cancel()
        if self.closed and self.received == 0:
            raise _Stale

    def release(self) -> bool:
        """Ends the exchange; True when the connection can carry the next one."""
        self.parser = None
        self.pieces.clear()
        return self.reusable and not self.beyond and not self.closed

    def usable(self) -> bool:
        """Idle and still open (an upstream that closed it while idle has been seen doing so)."""
        return not (self.closed or self.transport.is_closing())

    def close(self) -> None:
        self.closed = True
        self.parser = None
        self.transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _read_timed_out(self, timeout: float) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        due = self._last + timeout
        if due > self._loop.time():  # bytes came meanwhile: the wait starts again from them
            self._timer = self._loop.call_at(due, self._read_timed_out, timeout)
        else:
            waiter.set_exception(httpx.ReadTimeout("the upstream did not answer in time"))

    def _write_timed_out(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            message = "the upstream did not take the request in time"
            waiter.set_exception(httpx.WriteTimeout(message))

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if _QUICKACK is not None:
                self._socket = sock

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # nothing asked: the connection is out of step
            self.close()
            return
        self.received += len(data)
        if self._timer is not None:
            self._last = self._loop.time()
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the upstream switched protocols"))
        except httptools.HttpParserCallbackError as exc:
            if self.error is None and not self.beyond:  # not one of ours (_Refuse)
                self._fail(httpx.RemoteProtocolError(f"the upstream broke the protocol: {exc}"))
            self._wake()
        except httptools.HttpParserError as exc:
            if self.complete:
                self.beyond = True
            else:
                self._fail(httpx.RemoteProtocolError(f"the upstream broke the protocol: {exc}"))
        if self.error is not None or self.beyond:
            self.closed = True
            self.transport.close()
        elif not self.complete and self._socket is not None:
            # More of the answer is due: acknowledge what came at once. An upstream that writes
            # its head and its body apart without TCP_NODELAY (Python's http.server does) holds
            # the body back until this acknowledgement, which Linux otherwise delays ~40 ms.
            self._socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)
        self._paused_writing = False
        self._wake()

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._wake()

    def _ended(self, exc: Exception | None) -> None:
        self.closed = True
        if self.parser is None or self.complete or self.error is not None:
            return
        if exc is not None:
            self._fail(httpx.ReadError(f"reading from the upstream failed: {exc}"))
        elif self.head and not self._framed:  # a body delimited by the end of the connection
            self.complete = True
            self._wake()
        else:
            self._fail(httpx.RemoteProtocolError("the upstream closed the connection mid-answer"))

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:
            self.beyond = True
            raise _Refuse
        self.headers = []
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head:  # a chunked body's trailer: not relayed
            return
        name = name.lower()
        if name == b"content-length":
            self._framed = True
        elif name == b"transfer-encoding":
            if value.strip().lower() != b"chunked":
                self.error = httpx.RemoteProtocolError(
                    "the upstream broke the protocol: only chunked transfer coding is supported"
                )
                raise _Refuse
            self._framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        status = self.parser.get_status_code()
        if status < 200:
            self._informational = True  # the real answer follows
            return
        self.status_code = status
        self.head = True
        if self.head_only:
            self._done()
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:  # a HEAD's answer has no body
            self.beyond = True
            raise _Refuse
        self.pieces.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if not self.complete:
            self._done()
            self._wake()

    def _done(self) -> None:
        assert self.parser is not None
        self.complete = True
        if self.head_only:
            keep_alive = not any(
                name == b"connection" and b"close" in value.lower() for name, value in self.headers
            )
        else:
            keep_alive = self.parser.should_keep_alive()
        self.reusable = (
            keep_alive and not self.close_after and self.parser.get_http_version() == "1.1"
        )


class UpstreamResponse:
    """An answer whose body is read as it arrives (`aiter_raw`); `aclose` ends it, giving the
    connection back for the next request when the exchange ended cleanly."""

    def __init__(
        self,
        client: UpstreamClient,
        origin: Origin,
        connection: _Connection,
        timeout: float,
    ) -> None:
        self.status_code = connection.status_code
        # (name, value), names lower-cased as ASGI wants them.
        self.headers: list[tuple[bytes, bytes]] = connection.headers
        self._client = client
        self._origin = origin
        self._connection: _Connection | None = connection
        self._timeout = timeout

    def header(self, name: bytes) -> str:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return ""

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        pieces = connection.pieces
        while True:
            if pieces:
                yield connection.take()
            elif connection.complete:
                self._release()
                return
            elif connection.error is not None:
                raise connection.error
            else:
                await connection.wait(self._timeout)

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self._client._slots.release()
        if connection.release():
            self._client._keep(self._origin, connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        """Close the connection unless the body was read to its end (then it was kept)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._client._slots.release()
            connection.close()


class UpstreamClient:
    """Requests to upstreams under one outbound policy, reusing their connections. One per event
    loop (a connection belongs to the loop that opened it)."""

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.policy = policy
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        # One a request holds from its start until its answer is read or closed.
        self._slots = asyncio.Semaphore(max_connections)

    async def request(
        self,
        method: bytes,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: float,
    ) -> UpstreamResponse:
        """Send one request and read the answer's head; raises OutboundRefused or httpx's
        errors. A kept-alive connection the upstream had closed meanwhile is retried once on a
        new one when nothing of an answer came back on it."""
        origin = _origin(url)
        data, close_after = _request_bytes(method, url, headers, body)
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("too many requests to upstreams under way") from None
        else:
            await self._slots.acquire()  # free: returns at once
        try:
            return await self._request(origin, data, method == b"HEAD", close_after, timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _request(
        self, origin: Origin, data: bytes, head_only: bool, close_after: bool, timeout: float
    ) -> UpstreamResponse:
        reused = self._idle_connection(origin)
        if reused is not None:
            try:
                return await self._exchange(origin, reused, data, head_only, close_after, timeout)
            except _Stale:
                pass  # closed by the upstream while idle: a new connection below
        connection = await self._connect(origin, timeout)
        try:
            return await self._exchange(origin, connection, data, head_only, close_after, timeout)
        except _Stale:
            raise httpx.RemoteProtocolError("the upstream closed the connection") from None

    async def _exchange(
        self,
        origin: Origin,
        connection: _Connection,
        data: bytes,
        head_only: bool,
        close_after: bool,
        timeout: float,
    ) -> UpstreamResponse:
        try:
            connection.begin(head_only, close_after)
            connection.transport.write(data)
            if connection._paused_writing:
                await connection.drain(timeout)
            while not connection.head:
                error = connection.error
                if error is not None:
                    if connection.received == 0:  # closed before a byte of an answer
                        raise _Stale
                    raise error
                await connection.wait(timeout)
            return UpstreamResponse(self, origin, connection, timeout)
        except BaseException:
            connection.close()
            raise

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _keep(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < MAX_IDLE_PER_ORIGIN and connection.usable():
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        """A new connection, to an address the policy permits (every address the host resolves
        to is checked first), with TLS checked against the host's name."""
        scheme, host, port = origin
        try:
            async with asyncio.timeout(timeout):  # a resolver that hangs is a slow connect
                addresses = await permitted_addresses(self.policy, host, port)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"resolving {host} timed out") from None
        except ToolFailure as exc:
            raise httpx.ConnectError(exc.message) from None
        tls: dict[str, Any] = {}
        if scheme == "https":
            tls = {"ssl": self._ssl_context or shared_tls_context(), "server_hostname": host}
        loop = asyncio.get_running_loop()
        for position, address in enumerate(addresses):
            try:
                async with asyncio.timeout(timeout):
                    _, connection = await loop.create_connection(
                        partial(_Connection, loop), str(address), port, **tls
                    )
            except TimeoutError:
                raise httpx.ConnectTimeout(f"connecting to {host} timed out") from None
            except (OSError, ssl.SSLError) as exc:
                if position == len(addresses) - 1:
                    raise httpx.ConnectError(f"could not connect to {host}: {exc}") from None
                continue
            return connection
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def _origin(url: httpx.URL) -> Origin:
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise OutboundRefused(f"refused a {url.scheme or 'relative'} URL", host="", reason="scheme")
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.scheme, url.raw_host.decode("ascii"), port


def _request_bytes(
    method: bytes, url: httpx.URL, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[bytes, bool]:
    """The request as written: its line, Host first, the headers as given (but any Host,
    Content-Length or Transfer-Encoding among them), a Content-Length
    when there is a body or the method is POST, then the body; and whether it asks the upstream
    to close the connection after. Raises LocalProtocolError for a method, target, name or value
    that would break the framing (a line break, a control character, a name not a token)."""
    target = url.raw_path
    parts = [method, b" ", target, b" HTTP/1.1\r\nhost: ", url.netloc, b"\r\n"]
    headers = [header for header in headers if header[0].lower() not in _FRAMING_HEADERS]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    lines = 2 + len(headers)
    if body or method == b"POST":
        parts += (b"content-length: ", str(len(body)).encode(), b"\r\n")
        lines += 1
    head = b"".join(parts)
    if head.count(b"\n") != lines or not _HEAD(head):
        raise httpx.LocalProtocolError(_head_problem(method, target, headers))
    return b"".join((head, b"\r\n", body)), _ASKS_TO_CLOSE(head) is not None


def _head_problem(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> str:
    if not re.fullmatch(_TOKEN, method):
        return f"Illegal method {method!r}"
    if not re.fullmatch(rb"[^\x00-\x20\x7f]+", target):
        return f"Illegal target characters in {target!r}"
    for name, value in headers:
        if not re.fullmatch(_TOKEN, name):
            return f"Illegal header name {name!r}"
        if not re.fullmatch(_FIELD_TEXT, value):
            return f"Illegal header value {value!r}"
    return "Illegal host"
