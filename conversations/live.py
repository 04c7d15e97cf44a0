"""Broadcasting a conversation's progress to the browsers watching it.

The runner publishes small JSON events to the channel-layer group of the conversation; the
websocket consumer turns each into HTML fragments. Publishing never fails a run: a missing or
broken channel layer only means nobody watches live (the page still reloads from the database).

The live timeline is a subscriber: `Draft` follows the provider's stream (the answer being
written), `CallBars` the engine's events (one bar per call); both send throttled `Frames`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from channels.layers import get_channel_layer

from tools_app.engine import Event, EventKind, ToolCall

from .provider import Delta
from .view_models import LiveRow

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


class Draft:
    """The assistant turn being written, as the provider streams it: its text and every
    parallel call by index, sent as throttled frames."""

    def __init__(self, conversation_id: int, round_number: int) -> None:
        self.round = round_number
        self.text = ""
        self.calls: dict[int, dict[str, Any]] = {}
        self.frames = Frames(conversation_id)

    def picture(self) -> dict[str, Any]:
        calls = [self.calls[index] for index in sorted(self.calls)]
        return {"kind": "delta", "round": self.round, "text": self.text, "calls": calls}

    async def on_delta(self, delta: Delta) -> None:
        if delta.kind == "text":
            self.text = delta.accumulated
        else:
            self.calls[delta.index] = {
                "index": delta.index,
                "name": delta.call_name,
                "arguments": delta.accumulated,
            }
        await self.frames.offer(self.picture)

    async def flush(self) -> None:
        await self.frames.flush()


class CallBars:
    """The live gantt of one batch: a subscriber to the engine's events that keeps one bar per
    call and sends the whole picture as throttled frames."""

    def __init__(
        self,
        conversation_id: int,
        round_number: int,
        batch_id: int,
        calls: list[ToolCall],
        lead_ms: float | None,
    ) -> None:
        self.round = round_number
        self.batch_id = batch_id
        self.lead_ms = lead_ms
        self.bars = {call.id: LiveRow(tool_name=call.name, tool_call_id=call.id) for call in calls}
        self.order = [call.id for call in calls]
        self.latest_ms = 0.0
        self.frames = Frames(conversation_id)

    def picture(self) -> dict[str, Any]:
        return {
            "kind": "calls",
            "round": self.round,
            "batch_id": self.batch_id,
            "now_ms": self.latest_ms,
            "lead_ms": self.lead_ms,
            "calls": [asdict(self.bars[call_id]) for call_id in self.order],
        }

    async def on_event(self, event: Event) -> None:
        bar = self.bars.get(event.call_id or "")
        if bar is None:
            return
        ms = round(event.t * 1000, 3)
        if event.kind == EventKind.CALL_QUEUED:
            bar.queued_ms = ms
        elif event.kind == EventKind.CALL_STARTED:
            bar.status = "running"
            bar.attempts += 1
            if bar.started_ms is None:
                bar.started_ms = ms
        elif event.kind == EventKind.CALL_RETRYING:
            bar.retry_marks_ms.append(ms)
        elif event.kind == EventKind.CALL_AWAITING_APPROVAL:
            bar.status = "waiting"
        elif event.kind == EventKind.CALL_FINISHED:
            bar.status = event.data.get("status", "ok")
            error = event.data.get("error") or {}
            bar.error_code = error.get("code", "")
            bar.finished_ms = ms
        else:
            return
        self.latest_ms = ms
        await self.frames.offer(self.picture)

    async def flush(self) -> None:
        await self.frames.flush()
