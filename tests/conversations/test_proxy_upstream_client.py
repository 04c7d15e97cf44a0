"""The recording proxy's upstream client, against real local servers: answers framed every way
HTTP/1.1 allows, kept-alive connections reused (and replaced when the upstream closed them),
redirects handed back unfollowed, the outbound policy checked before any byte is sent, slow and
cut-off upstreams, a request cancelled mid-answer, and TLS checked against the host's name."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import tempfile
from collections.abc import Awaitable, Callable

import httpx2 as httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conversations.upstream import UpstreamClient
from tools_app.engine.implementations.http import HttpPolicy, OutboundRefused

pytestmark = pytest.mark.asyncio

LOCAL = HttpPolicy(allow_private=True)
PUBLIC_ONLY = HttpPolicy()
ANSWER = b'{"ok": true}'

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Upstream:
    """A local server running `handler` on each connection; counts the connections."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.closed = asyncio.Event()

    async def __aenter__(self) -> Upstream:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                self.closed.set()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    def url(self, host: str = "127.0.0.1", path: str = "/v1/chat/completions") -> httpx.URL:
        scheme = "https" if self.tls else "http"
        return httpx.URL(f"{scheme}://{host}:{self.port}{path}")


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


def answering(*responses: bytes, then_close: bool = False) -> Handler:
    """Answers each request on a connection with the next of `responses` (the last repeats)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = 0
        while True:
            await read_request(reader)
            writer.write(responses[min(index, len(responses) - 1)])
            await writer.drain()
            index += 1
            if then_close:
                return

    return handler


PLAIN = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n" + ANSWER


async def fetch(client: UpstreamClient, url: httpx.URL, timeout: float = 5.0) -> tuple:
    response = await client.request(
        b"POST", url, [(b"content-type", b"application/json")], b'{"a": 1}', timeout
    )
    try:
        pieces = [piece async for piece in response.aiter_raw()]
    finally:
        await response.aclose()
    return response.status_code, response.header(b"content-type"), b"".join(pieces)


async def test_a_content_length_answer_is_read_and_its_connection_kept_for_the_next():
    async with Upstream(answering(PLAIN)) as upstream:
        client = UpstreamClient(LOCAL)
        first = await fetch(client, upstream.url())
        second = await fetch(client, upstream.url())
        await client.aclose()
    assert first == second == (200, "application/json", ANSWER)
    assert upstream.connections == 1


async def test_a_chunked_answer_comes_piece_by_piece_and_whole():
    chunked = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b"6\r\ndata: \r\n" + b"c\r\n" + ANSWER + b"\r\n0\r\n\r\n"
    )
    async with Upstream(answering(chunked)) as upstream:
        client = UpstreamClient(LOCAL)
        status, kind, body = await fetch(client, upstream.url())
        again = await fetch(client, upstream.url())
        await client.aclose()
    assert (status, kind, body) == (200, "text/event-stream", b"data: " + ANSWER)
    assert again[2] == b"data: " + ANSWER and upstream.connections == 1


async def test_an_answer_ended_by_closing_the_connection_is_read_whole_and_not_reused():
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + ANSWER
    async with Upstream(answering(closing, then_close=True)) as upstream:
        client = UpstreamClient(LOCAL)
        first = await fetch(client, upstream.url())
        second = await fetch(client, upstream.url())
        await client.aclose()
    assert first[2] == second[2] == ANSWER
    assert upstream.connections == 2


async def test_an_error_status_comes_back_with_its_body():
    error = b'{"error": {"message": "quota"}}'
    status = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: %d\r\n\r\n%s" % (len(error), error)
    async with Upstream(answering(status)) as upstream:
        client = UpstreamClient(LOCAL)
        assert await fetch(client, upstream.url()) == (429, "", error)
        await client.aclose()


async def test_a_redirect_is_handed_back_not_followed():
    redirect = (
        b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n"
    )
    async with Upstream(answering(redirect)) as upstream:
        client = UpstreamClient(LOCAL)
        response = await client.request(b"GET", upstream.url(), [], b"", 5.0)
        await response.aclose()
        await client.aclose()
    assert response.status_code == 302
    assert response.header(b"location") == "http://169.254.169.254/"
    assert upstream.connections == 1


async def test_a_kept_alive_connection_the_upstream_closed_is_replaced():
    async with Upstream(answering(PLAIN, then_close=True)) as upstream:
        client = UpstreamClient(LOCAL)
        first = await fetch(client, upstream.url())  # kept alive: the answer did not say close
        await upstream.closed.wait()  # ...but the upstream hangs up after it
        second = await fetch(client, upstream.url())
        await client.aclose()
    assert first == second == (200, "application/json", ANSWER)
    assert upstream.connections == 2


async def test_the_policy_refuses_a_loopback_upstream_before_connecting():
    async with Upstream(answering(PLAIN)) as upstream:
        client = UpstreamClient(PUBLIC_ONLY)
        with pytest.raises(OutboundRefused) as refused:
            await fetch(client, upstream.url())
    assert refused.value.reason and upstream.connections == 0


async def test_an_upstream_that_is_down_is_a_connect_error():
    async with Upstream(answering(PLAIN)) as upstream:
        url = upstream.url()
    client = UpstreamClient(LOCAL)
    with pytest.raises(httpx.ConnectError):
        await fetch(client, url)


async def test_a_slow_upstream_times_out_and_its_connection_is_dropped():
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # never answers; returns when the client hangs up

    async with Upstream(slow) as upstream:
        client = UpstreamClient(LOCAL)
        with pytest.raises(httpx.ReadTimeout):
            await fetch(client, upstream.url(), timeout=0.05)
        await upstream.closed.wait()  # the client hung up
    assert upstream.connections == 1


async def test_an_answer_cut_off_mid_body_is_a_protocol_error():
    short = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + ANSWER
    async with Upstream(answering(short, then_close=True)) as upstream:
        client = UpstreamClient(LOCAL)
        with pytest.raises(httpx.RemoteProtocolError):
            await fetch(client, upstream.url())


async def test_a_request_cancelled_mid_answer_hangs_up_on_the_upstream():
    first_piece = asyncio.Event()

    async def streaming(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await reader.read()  # until the client hangs up

    async with Upstream(streaming) as upstream:
        client = UpstreamClient(LOCAL)

        async def relay() -> None:
            response = await client.request(b"POST", upstream.url(), [], b"{}", 5.0)
            try:
                async for _ in response.aiter_raw():
                    first_piece.set()
            finally:
                await response.aclose()

        task = asyncio.create_task(relay())
        await first_piece.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await upstream.closed.wait()
    assert upstream.connections == 1


def _certificate() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for "localhost", and a client context
    that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile() as cert_file, tempfile.NamedTemporaryFile() as key_file:
        cert_file.write(pem)
        key_file.write(key_pem)
        cert_file.flush()
        key_file.flush()
        server.load_cert_chain(cert_file.name, key_file.name)
    client = ssl.create_default_context(cadata=pem.decode())
    return server, client


async def test_an_https_upstream_is_reached_with_its_certificate_checked_against_the_name():
    server, trusting = _certificate()
    async with Upstream(answering(PLAIN), tls=server) as upstream:
        client = UpstreamClient(LOCAL, ssl_context=trusting)
        assert await fetch(client, upstream.url(host="localhost")) == (
            200,
            "application/json",
            ANSWER,
        )
        await client.aclose()
        stranger = UpstreamClient(LOCAL)  # the system's roots: a self-signed one is refused
        with pytest.raises(httpx.ConnectError):
            await fetch(stranger, upstream.url(host="localhost"))


async def test_requests_beyond_the_limit_wait_for_one_to_end_or_time_out():
    async with Upstream(answering(PLAIN)) as upstream:
        client = UpstreamClient(LOCAL, max_connections=1)
        held = await client.request(b"POST", upstream.url(), [], b"{}", 5.0)
        with pytest.raises(httpx.PoolTimeout):
            await fetch(client, upstream.url(), timeout=0.05)
        [piece async for piece in held.aiter_raw()]  # the first answer read: its slot is free
        await held.aclose()
        assert await fetch(client, upstream.url()) == (200, "application/json", ANSWER)
        await client.aclose()


def capturing(seen: list[bytes], response: bytes = PLAIN) -> Handler:
    """Answers every request with `response`, keeping each request's bytes in `seen`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            seen.append(head + body)
            writer.write(response)
            await writer.drain()

    return handler


async def test_a_request_is_written_as_given_host_first_and_its_length_last():
    seen: list[bytes] = []
    async with Upstream(capturing(seen)) as upstream:
        client = UpstreamClient(LOCAL)
        await fetch(client, upstream.url())
        response = await client.request(
            b"GET", upstream.url(path="/v1/models?x=1"), [(b"X-Trace", b"a b")], b"", 5.0
        )
        await response.aclose()
        await client.aclose()
    host = b"127.0.0.1:%d" % upstream.port
    assert seen == [
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: " + host + b"\r\n"
        b"content-type: application/json\r\ncontent-length: 8\r\n\r\n" + b'{"a": 1}',
        b"GET /v1/models?x=1 HTTP/1.1\r\nhost: " + host + b"\r\nX-Trace: a b\r\n\r\n",
    ]


async def test_headers_given_for_host_length_or_framing_are_dropped_for_the_studio_s_own():
    seen: list[bytes] = []
    given = [
        (b"Host", b"evil.example"),
        (b"X-Trace", b"on"),
        (b"content-length", b"1"),
        (b"Transfer-Encoding", b"chunked"),
    ]
    async with Upstream(capturing(seen)) as upstream:
        client = UpstreamClient(LOCAL)
        response = await client.request(b"POST", upstream.url(), given, b"{}", 5.0)
        await response.aclose()
        await client.aclose()
    host = b"127.0.0.1:%d" % upstream.port
    assert seen == [
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: " + host + b"\r\n"
        b"X-Trace: on\r\ncontent-length: 2\r\n\r\n{}"
    ]


@pytest.mark.parametrize(
    "header",
    [
        (b"x-injected", b"1\r\nx-evil: 2"),
        (b"x-injected", b"1\nx-evil: 2"),
        (b"x-injected", b"1\rx-evil: 2"),
        (b"x-injected", b"nul\x00"),
        (b"x-evil: 2\r\nx-injected", b"1"),
        (b"x injected", b"1"),
        (b"", b"1"),
    ],
)
async def test_a_header_that_would_break_the_framing_is_refused_before_connecting(header):
    async with Upstream(answering(PLAIN)) as upstream:
        client = UpstreamClient(LOCAL)
        with pytest.raises(httpx.LocalProtocolError):
            await client.request(b"POST", upstream.url(), [header], b"{}", 5.0)
        assert await fetch(client, upstream.url()) == (200, "application/json", ANSWER)
        await client.aclose()
    assert upstream.connections == 1  # the refused request opened none


async def test_a_chunked_answer_split_in_odd_places_is_de_chunked_exactly():
    chunked = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b"6;ext=1\r\ndata: \r\n" + b"C\r\n" + ANSWER + b"\r\n0\r\nx-trailer: t\r\n\r\n"
    )

    async def byte_by_byte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            for index in range(len(chunked)):
                writer.write(chunked[index : index + 1])
                await writer.drain()

    async with Upstream(byte_by_byte) as upstream:
        client = UpstreamClient(LOCAL)
        first = await fetch(client, upstream.url())
        second = await fetch(client, upstream.url())
        await client.aclose()
    assert first == second == (200, "text/event-stream", b"data: " + ANSWER)
    assert upstream.connections == 1


async def test_informational_answers_before_the_answer_are_skipped():
    early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
    async with Upstream(answering(early + PLAIN)) as upstream:
        client = UpstreamClient(LOCAL)
        response = await client.request(b"POST", upstream.url(), [], b"{}", 5.0)
        body = b"".join([piece async for piece in response.aiter_raw()])
        await response.aclose()
        again = await fetch(client, upstream.url())
        await client.aclose()
    assert response.status_code == 200 and body == ANSWER
    assert response.headers == [(b"content-type", b"application/json"), (b"content-length", b"12")]
    assert again == (200, "application/json", ANSWER) and upstream.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 12\r\n\r\n" + ANSWER,
        b"HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\n" + ANSWER,
        PLAIN + b"HTTP/1.1 200 OK\r\n",  # bytes beyond the answer
    ],
)
async def test_a_connection_the_answer_does_not_leave_reusable_is_not_reused(answer):
    async with Upstream(answering(answer)) as upstream:  # the upstream itself keeps it open
        client = UpstreamClient(LOCAL)
        first = await fetch(client, upstream.url())
        second = await fetch(client, upstream.url())
        await client.aclose()
    assert first[2] == second[2] == ANSWER
    assert upstream.connections == 2


async def test_a_request_that_says_connection_close_does_not_reuse_its_connection():
    async with Upstream(answering(PLAIN)) as upstream:
        client = UpstreamClient(LOCAL)
        for _ in range(2):
            response = await client.request(
                b"POST", upstream.url(), [(b"connection", b"close")], b"{}", 5.0
            )
            assert b"".join([piece async for piece in response.aiter_raw()]) == ANSWER
            await response.aclose()
        await client.aclose()
    assert upstream.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: twelve\r\n\r\n" + ANSWER,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n" + ANSWER + b"\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n" + ANSWER,
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
    ],
)
async def test_an_upstream_that_breaks_the_protocol_is_a_protocol_error(answer):
    async with Upstream(answering(answer)) as upstream:
        client = UpstreamClient(LOCAL)
        with pytest.raises(httpx.RemoteProtocolError):
            await fetch(client, upstream.url())
        await upstream.closed.wait()  # the broken connection was hung up
        await client.aclose()


async def test_an_answer_the_consumer_has_not_taken_stops_the_reading():
    from conversations import upstream as module

    size = 32 * 1024 * 1024  # more than the sockets' buffers hold
    big = bytes(range(256)) * (size // 256)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head + big)
        await writer.drain()
        await reader.read()

    async with Upstream(flood) as upstream:
        client = UpstreamClient(LOCAL)
        response = await client.request(b"GET", upstream.url(), [], b"", 5.0)
        connection = response._connection
        assert connection is not None
        paused = asyncio.Event()
        pause = connection.transport.pause_reading

        def pause_reading() -> None:
            paused.set()
            pause()

        connection.transport.pause_reading = pause_reading  # type: ignore[method-assign]
        if not connection._paused_reading:  # it may have paused with the head's first read
            await asyncio.wait_for(paused.wait(), 10)
        assert connection._paused_reading
        # At most one read's worth beyond the high-water mark is held.
        assert connection.buffered <= module.HIGH_WATER + 1024 * 1024
        received = bytearray()
        async for piece in response.aiter_raw():
            received += piece
        await response.aclose()
        await client.aclose()
    assert received == big


async def test_a_resolver_that_hangs_is_a_connect_timeout(monkeypatch):
    from conversations import upstream as module

    async def hanging(policy, host, port):
        await asyncio.Event().wait()

    monkeypatch.setattr(module, "permitted_addresses", hanging)
    client = UpstreamClient(LOCAL)
    with pytest.raises(httpx.ConnectTimeout, match=r"resolving model\.example timed out"):
        await fetch(client, httpx.URL("http://model.example/v1/chat/completions"), timeout=0.2)
    await client.aclose()
