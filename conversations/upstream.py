"""The recording proxy's upstream client: HTTP/1.1 on asyncio streams, with kept-alive
connections per upstream origin.

The proxy relays bytes: it wants a status, headers and the body as it arrives, nothing of a
general client (auth, cookies, redirects, decoding, default headers), and on a local upstream the
layers of httpx and httpcore cost more than the rest of the proxy together (about half a
millisecond a request, against a few hundredths for the bytes on a kept-alive socket). Messages
are framed by h11 (what httpcore uses): Content-Length, chunked and close-delimited bodies,
keep-alive and its end, all as the protocol says.

The outbound policy is the one of every other outbound request (`fcstudio.outbound`, checked by
`tools_app.engine.implementations.http`): each new connection resolves its host, is refused
(`OutboundRefused`) when any address is not permitted, and connects to exactly the address it
checked, with TLS verified against the name. A kept-alive connection was checked when it was
opened. Redirects are not followed: a 3xx goes back to the app as the upstream sent it.

Failures are httpx's exception types (`ConnectError`, `ConnectTimeout`, `ReadTimeout`,
`WriteTimeout`, `RemoteProtocolError`), so the proxy treats them as it treated the transport's.
A connection whose exchange did not end cleanly (an error, a timeout, a task cancelled because
the client left) is closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import h11
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
READ_SIZE = 64 * 1024


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.received = 0  # bytes read so far

    def usable(self) -> bool:
        """Idle and still open (an upstream that closed it while idle has fed its EOF)."""
        return not (self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        self.writer.close()


class UpstreamResponse:
    """An answer whose body is read as it arrives (`aiter_raw`); `aclose` ends it, giving the
    connection back for the next request when the exchange ended cleanly."""

    def __init__(
        self,
        client: UpstreamClient,
        origin: Origin,
        connection: _Connection,
        response: h11.Response,
        timeout: float,
    ) -> None:
        self.status_code = response.status_code
        # (name, value), names lower-cased as ASGI wants them.
        self.headers: list[tuple[bytes, bytes]] = list(response.headers)
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
        while True:
            event = await _next_event(connection, self._timeout)
            if type(event) is h11.Data:
                yield bytes(event.data)
            elif type(event) is h11.EndOfMessage:
                self._release()
                return
            else:  # ConnectionClosed before the end: h11 raises for a short body, this is a cut
                raise httpx.RemoteProtocolError("the upstream closed the connection mid-answer")

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self._client._slots.release()
        state = connection.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
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
    loop (asyncio streams belong to the loop that opened them)."""

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
        sent = [(b"host", url.netloc), *headers]
        if body or method == b"POST":
            sent.append((b"content-length", str(len(body)).encode()))
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("too many requests to upstreams under way") from None
        try:
            return await self._request(origin, method, url.raw_path, sent, body, timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _request(
        self,
        origin: Origin,
        method: bytes,
        target: bytes,
        sent: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: float,
    ) -> UpstreamResponse:
        reused = self._idle_connection(origin)
        if reused is not None:
            try:
                return await self._exchange(origin, reused, method, target, sent, body, timeout)
            except _Stale:
                pass  # closed by the upstream while idle: a new connection below
        connection = await self._connect(origin, timeout)
        try:
            return await self._exchange(origin, connection, method, target, sent, body, timeout)
        except _Stale:
            raise httpx.RemoteProtocolError("the upstream closed the connection") from None

    async def _exchange(
        self,
        origin: Origin,
        connection: _Connection,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: float,
    ) -> UpstreamResponse:
        try:
            state = connection.h11
            data = state.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                data += state.send(h11.Data(data=body))
            data += state.send(h11.EndOfMessage())
            connection.writer.write(data)
            try:
                async with asyncio.timeout(timeout):
                    await connection.writer.drain()
            except TimeoutError:
                raise httpx.WriteTimeout("the upstream did not take the request in time") from None
            except OSError as exc:
                raise _Stale from exc
            before = connection.received
            while True:
                try:
                    event = await _next_event(connection, timeout)
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    if connection.received == before:  # closed before a byte of an answer
                        raise _Stale from None
                    raise
                if type(event) is h11.Response:
                    return UpstreamResponse(self, origin, connection, event, timeout)
                if type(event) is h11.ConnectionClosed:
                    raise _Stale
                # An informational (1xx) answer: the real one follows.
        except h11.LocalProtocolError as exc:
            connection.close()
            raise httpx.LocalProtocolError(str(exc)) from None
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
            addresses = await permitted_addresses(self.policy, host, port)
        except ToolFailure as exc:
            raise httpx.ConnectError(exc.message) from None
        tls: dict[str, Any] = {}
        if scheme == "https":
            tls = {"ssl": self._ssl_context or shared_tls_context(), "server_hostname": host}
        for position, address in enumerate(addresses):
            try:
                async with asyncio.timeout(timeout):
                    reader, writer = await asyncio.open_connection(
                        str(address), port, limit=READ_SIZE, **tls
                    )
            except TimeoutError:
                raise httpx.ConnectTimeout(f"connecting to {host} timed out") from None
            except (OSError, ssl.SSLError) as exc:
                if position == len(addresses) - 1:
                    raise httpx.ConnectError(f"could not connect to {host}: {exc}") from None
                continue
            return _Connection(reader, writer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class _Stale(Exception):
    """The connection ended before any answer came back on it."""


def _origin(url: httpx.URL) -> Origin:
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise OutboundRefused(f"refused a {url.scheme or 'relative'} URL", host="", reason="scheme")
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.scheme, url.raw_host.decode("ascii"), port


async def _next_event(connection: _Connection, timeout: float) -> Any:
    state = connection.h11
    while True:
        try:
            event = state.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(f"the upstream broke the protocol: {exc}") from None
        if event is not h11.NEED_DATA:
            return event
        try:
            async with asyncio.timeout(timeout):
                data = await connection.reader.read(READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("the upstream did not answer in time") from None
        except OSError as exc:
            raise httpx.ReadError(f"reading from the upstream failed: {exc}") from None
        connection.received += len(data)
        state.receive_data(data)
