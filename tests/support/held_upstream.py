"""An upstream that streams one chunk and then holds the rest until told, on the test's own
event loop: to see that the proxy relays a chunk before the next exists, and that it hangs up
on the upstream when its client leaves."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Self


def sse(payload: dict) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def chunk(content: str | None = None, finish_reason: str | None = None) -> dict:
    delta = {"role": "assistant", "content": content} if content is not None else {}
    return {
        "id": "chatcmpl-held",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


class HeldUpstream:
    def __init__(self) -> None:
        self.release = asyncio.Event()  # set by the test: send the rest
        self.hung_up = asyncio.Event()  # set here: the proxy closed the connection early
        self.requests = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.release.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.requests += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            + sse(chunk("Hel"))
        )
        await writer.drain()
        release = asyncio.ensure_future(self.release.wait())
        closed = asyncio.ensure_future(reader.read())  # b"" once the proxy hangs up
        await asyncio.wait((release, closed), return_when=asyncio.FIRST_COMPLETED)
        if closed.done():
            self.hung_up.set()
        else:
            closed.cancel()
            writer.write(sse(chunk("lo")) + sse(chunk(finish_reason="stop")) + b"data: [DONE]\n\n")
            await writer.drain()
        writer.close()
