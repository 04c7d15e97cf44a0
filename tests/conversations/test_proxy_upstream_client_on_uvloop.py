"""The recording proxy's upstream client on a uvloop loop (the proxy is served under uvicorn
with uvloop): uvloop's transports (TCP and TLS) are its own classes, not asyncio's."""

from __future__ import annotations

import pytest
import uvloop

from conversations.upstream import UpstreamClient
from tests.conversations.test_proxy_upstream_client import (
    ANSWER,
    LOCAL,
    PLAIN,
    Upstream,
    _certificate,
    answering,
    fetch,
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"6\r\ndata: \r\n" + b"c\r\n" + ANSWER + b"\r\n0\r\n\r\n"
)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_requests_and_their_answers_go_through_on_one_kept_connection(tls):
    """Over https, the upstream's certificate is checked against its name."""
    server, trusting = _certificate() if tls else (None, None)

    async def main() -> tuple:
        async with Upstream(answering(PLAIN, CHUNKED), tls=server) as upstream:
            client = UpstreamClient(LOCAL, ssl_context=trusting)
            url = upstream.url(host="localhost" if tls else "127.0.0.1")
            first = await fetch(client, url)
            second = await fetch(client, url)
            await client.aclose()
        return first, second, upstream.connections

    loop = uvloop.new_event_loop()
    try:
        first, second, connections = loop.run_until_complete(main())
    finally:
        loop.close()
    assert first == (200, "application/json", ANSWER)
    assert second == (200, "", b"data: " + ANSWER)
    assert connections == 1
