"""Drive an ASGI app as a server would, one request, seeing every message it sends in order;
the client may leave (`http.disconnect`) when the test says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AsgiCall:
    method: str
    path: str
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: Sequence[bytes] = (b"",)  # the request body's parts, as separate messages
    sent: list[dict[str, Any]] = field(default_factory=list)
    leave: asyncio.Event = field(default_factory=asyncio.Event)  # set: the client disconnects
    on_send: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None

    async def run(self, app: Callable[..., Awaitable[None]]) -> AsgiCall:
        parts = list(self.body)

        async def receive() -> dict[str, Any]:
            if parts:
                part = parts.pop(0)
                return {"type": "http.request", "body": part, "more_body": bool(parts)}
            await self.leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            self.sent.append(message)
            if self.on_send is not None:
                outcome = self.on_send(message)
                if outcome is not None:
                    await outcome

        scope = {
            "type": "http",
            "method": self.method,
            "path": self.path,
            "headers": list(self.headers),
            "query_string": b"",
        }
        await app(scope, receive, send)
        return self

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def body_parts(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"]

    @property
    def json(self) -> Any:
        return json.loads(b"".join(self.body_parts))

    @property
    def finished(self) -> bool:
        """The response was closed cleanly (a last body message without more_body)."""
        bodies = [m for m in self.sent if m["type"] == "http.response.body"]
        return bool(bodies) and not bodies[-1].get("more_body", False)
