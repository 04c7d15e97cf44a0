"""Broadcasting a conversation's progress to the browsers watching it.

The runner publishes small JSON events to the channel-layer group of the conversation; the
websocket consumer turns each into HTML fragments. Publishing never fails a run: a missing or
broken channel layer only means nobody watches live (the page still reloads from the database).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(conversation_id: int) -> str:
    return f"conv-{conversation_id}"


async def publish(conversation_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "conversation.event", "sent_at": time.time(), **event}
    try:
        await layer.group_send(group_name(conversation_id), message)
    except Exception:  # a live view is best effort; the record is in the database
        logger.warning(
            "could not publish %s for conversation %s",
            event.get("kind"),
            conversation_id,
            exc_info=True,
        )


FRAME_INTERVAL_S = 0.02


class Frames:
    """Publishes a changing picture at most once per interval, the latest state winning.

    A streamed answer with many parallel calls makes hundreds of fragments, and a big batch
    hundreds of engine events; each frame redraws the whole picture, so sending every one would
    leave a watching page far behind. The first change goes out at once, later ones are folded
    into one trailing frame; `flush` sends whatever is pending before the picture is replaced.
    """

    def __init__(self, conversation_id: int, interval: float = FRAME_INTERVAL_S) -> None:
        self.conversation_id = conversation_id
        self.interval = interval
        self.loop = asyncio.get_running_loop()
        self.last_sent = float("-inf")
        self.latest: Callable[[], dict[str, Any]] | None = None
        self.trailing: asyncio.Task[None] | None = None

    async def offer(self, picture: Callable[[], dict[str, Any]]) -> None:
        self.latest = picture
        if self.trailing is not None:
            return
        wait = self.interval - (self.loop.time() - self.last_sent)
        if wait <= 0:
            await self._send()
        else:
            self.trailing = asyncio.create_task(self._send(after=wait))

    async def flush(self) -> None:
        if self.trailing is not None:
            await self.trailing

    async def _send(self, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
            self.trailing = None
        if self.latest is None:
            return
        self.last_sent = self.loop.time()
        await publish(self.conversation_id, self.latest())
