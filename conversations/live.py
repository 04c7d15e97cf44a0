"""Broadcasting a conversation's progress to the browsers watching it.

The runner publishes typed events (a frozen dataclass per kind, below) to the channel-layer
group of the conversation; `encode` and `decode` are the one place they become channel messages
and back, and the websocket consumer turns each into HTML fragments (one handler per type).
A new kind is one class here and one handler there. Publishing never fails a run: a missing or
broken channel layer only means nobody watches live (the page still reloads from the database).

The live timeline is a subscriber: `Draft` follows the provider's stream (the answer being
written), `CallBars` the engine's events (one bar per call); both send throttled `Frames`.
While any call is unfinished, `CallBars` also sends a frame on its own clock (`TICK_S`), so
running bars and approval waits grow between events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from tools_app.engine import Event, EventKind, ToolCall

from .provider import Delta
from .view_models import LiveRow

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "conversation.event"
EVENT_KINDS: dict[str, type[LiveEvent]] = {}


def group_name(conversation_id: int) -> str:
    return f"conv-{conversation_id}"


def round_key(number: int) -> tuple[str, int]:
    """How the catch-up snapshot and a round's first event name the round they show."""
    return ("round", number)


def message_key(message_id: int) -> tuple[str, int]:
    return ("message", message_id)


@dataclass(frozen=True)
class LiveEvent:
    """One thing a watching page is told. `kind` names it on the wire; `items` names the fields
    that hold tuples of dataclasses (rebuilt by `decode`)."""

    kind: ClassVar[str] = ""
    items: ClassVar[Mapping[str, type]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EVENT_KINDS[cls.kind] = cls

    @property
    def shown_key(self) -> tuple[str, int] | None:
        """What this event appends that the catch-up snapshot may already show (else None)."""
        return None


@dataclass(frozen=True)
class StatusChanged(LiveEvent):
    kind: ClassVar[str] = "status"
    status: str
    failure: str = ""


@dataclass(frozen=True)
class RoundStarted(LiveEvent):
    """A round of calls without a model call of its own (written by hand, or resumed)."""

    kind: ClassVar[str] = "round_started"
    round: int

    @property
    def shown_key(self) -> tuple[str, int]:
        return round_key(self.round)


@dataclass(frozen=True)
class ModelStarted(LiveEvent):
    kind: ClassVar[str] = "model_started"
    round: int
    model_call_id: int

    @property
    def shown_key(self) -> tuple[str, int]:
        return round_key(self.round)


@dataclass(frozen=True)
class MessageAdded(LiveEvent):
    kind: ClassVar[str] = "message"
    message_id: int

    @property
    def shown_key(self) -> tuple[str, int]:
        return message_key(self.message_id)


@dataclass(frozen=True)
class DraftCall:
    index: int
    name: str
    arguments: str


@dataclass(frozen=True)
class DraftDelta(LiveEvent):
    """The assistant turn as written so far: its text and every parallel call by index."""

    kind: ClassVar[str] = "delta"
    items: ClassVar[Mapping[str, type]] = {"calls": DraftCall}
    round: int
    text: str
    calls: tuple[DraftCall, ...] = ()


@dataclass(frozen=True)
class ModelFinished(LiveEvent):
    kind: ClassVar[str] = "model_finished"
    round: int


@dataclass(frozen=True)
class RoundCalls(LiveEvent):
    """The bars of a running batch, one per call, as they stand at `now_ms`."""

    kind: ClassVar[str] = "calls"
    items: ClassVar[Mapping[str, type]] = {"calls": LiveRow}
    round: int
    batch_id: int
    now_ms: float
    calls: tuple[LiveRow, ...]
    lead_ms: float | None = None


@dataclass(frozen=True)
class ApprovalAsked(LiveEvent):
    kind: ClassVar[str] = "approval"
    batch_id: int
    call_id: str


@dataclass(frozen=True)
class CallDecided(LiveEvent):
    """A person approved or denied a call: its row loses the buttons on every page."""

    kind: ClassVar[str] = "decided"
    batch_id: int
    execution_id: int


@dataclass(frozen=True)
class BatchFinished(LiveEvent):
    """A batch ended (or was closed outside its worker): its calls are redrawn."""

    kind: ClassVar[str] = "batch_finished"
    batch_id: int
    round: int | None = None


def encode(event: LiveEvent) -> dict[str, Any]:
    """The channel-layer message for an event (plain data: msgpack for Redis, deep-copied in
    memory)."""
    return {"type": MESSAGE_TYPE, "sent_at": time.time(), "kind": event.kind, **asdict(event)}


def decode(message: Mapping[str, Any]) -> LiveEvent | None:
    """The event a channel message carries; None for a kind this process does not know."""
    cls = EVENT_KINDS.get(message.get("kind", ""))
    if cls is None:
        return None
    values = {f.name: message[f.name] for f in dataclasses.fields(cls) if f.name in message}
    for name, item in cls.items.items():
        if name in values:
            values[name] = tuple(item(**entry) for entry in values[name])
    return cls(**values)


async def publish(conversation_id: int, event: LiveEvent) -> None:
    """Send the event to the pages watching the conversation.

    With Redis, every publish of a process shares one bounded pool per event loop and waits for a
    connection when all are busy (fcstudio.channel_layer), so a burst of runs is slowed, not
    dropped. A frame that still cannot be sent (Redis down, the wait timed out) is logged and
    skipped; it is not lost for good: the record is in the database, every frame redraws the
    whole picture it carries, so the page catches up on its next frame (or on reconnecting,
    from the database snapshot).
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = encode(event)
    try:
        await layer.group_send(group_name(conversation_id), message)
    except Exception:  # a live view is best effort; the record is in the database
        logger.warning(
            "could not publish %s for conversation %s",
            event.kind,
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

    def __init__(
        self,
        conversation_id: int,
        interval: float = FRAME_INTERVAL_S,
        keep: Callable[[LiveEvent], Awaitable[None]] | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.interval = interval
        self.keep = keep
        self.loop = asyncio.get_running_loop()
        self.last_sent = float("-inf")
        self.latest: Callable[[], LiveEvent] | None = None
        self.trailing: asyncio.Task[None] | None = None
        self.discards = 0  # a frame being kept when the picture is discarded is not sent

    async def offer(self, picture: Callable[[], LiveEvent]) -> None:
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

    def discard(self) -> None:
        """Drop the pending frame: the picture it would show is gone (a stopped draft)."""
        if self.trailing is not None:
            self.trailing.cancel()
            self.trailing = None
        self.latest = None
        self.discards += 1

    async def _send(self, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
            self.trailing = None
        if self.latest is None:
            return
        self.last_sent = self.loop.time()
        event = self.latest()
        discards = self.discards
        # Kept before it is sent: a socket that joins the group after this frame went out
        # reads it from the store instead.
        if self.keep is not None:
            await self.keep(event)
        if discards != self.discards:
            return  # discarded while it was kept (a stop): it would land after what replaced it
        await publish(self.conversation_id, event)


class Draft:
    """The assistant turn being written, as the provider streams it: its text and every
    parallel call by index, sent as throttled frames."""

    def __init__(self, conversation_id: int, round_number: int) -> None:
        self.round = round_number
        self.text = ""
        self.calls: dict[int, DraftCall] = {}
        self.conversation_id = conversation_id
        self.frames = Frames(conversation_id, keep=self._keep)

    async def _keep(self, event: LiveEvent) -> None:
        if isinstance(event, DraftDelta):
            await keep_draft(self.conversation_id, event)

    def picture(self) -> DraftDelta:
        calls = tuple(self.calls[index] for index in sorted(self.calls))
        return DraftDelta(round=self.round, text=self.text, calls=calls)

    async def on_delta(self, delta: Delta) -> None:
        if delta.kind == "text":
            self.text = delta.accumulated
        else:
            self.calls[delta.index] = DraftCall(delta.index, delta.call_name, delta.accumulated)
        await self.frames.offer(self.picture)

    async def flush(self) -> None:
        await self.frames.flush()

    async def forget(self) -> None:
        """The turn is recorded (or failed): from now on a joining page reads the record."""
        await forget_draft(self.conversation_id)

    async def discard(self) -> None:
        self.frames.discard()
        await forget_draft(self.conversation_id)


# The draft of each conversation's current round, as last sent, for a socket that joins mid-stream.
#
# The draft accumulates in the runner's process, and the socket asking may live in another. It is
# kept where the live frames already travel: with Redis, a key beside the channel layer's (one
# SET per frame, at most 1/FRAME_INTERVAL_S a second, expiring on its own if the runner dies);
# with the in-memory layer (embedded mode), the runner and every socket share this one process,
# so a dict is the shared place. A DB field would cost a SQL write per frame on the database
# every page reads; asking the runner would need a channel of its own that inline and Celery
# runners do not have. The snapshot shows a kept draft only while the database still has its
# model call running, so a stale entry never resurrects a finished turn.
DRAFT_TTL_S = 120
_local_drafts: dict[int, str] = {}


def _draft_key(layer: RedisChannelLayer, conversation_id: int) -> str:
    return f"{layer.prefix}fcstudio-draft:{conversation_id}"


def _redis_layer() -> RedisChannelLayer | None:
    layer = get_channel_layer()
    return layer if isinstance(layer, RedisChannelLayer) else None


async def keep_draft(conversation_id: int, draft: DraftDelta) -> None:
    data = json.dumps(encode(draft))
    layer = _redis_layer()
    if layer is None:
        _local_drafts[conversation_id] = data
        return
    key = _draft_key(layer, conversation_id)
    try:
        await layer.connection(layer.consistent_hash(key)).set(key, data, ex=DRAFT_TTL_S)
    except Exception:  # best effort, as publishing: the next frame redraws the whole draft
        logger.warning("could not keep the draft of %s", conversation_id, exc_info=True)


async def forget_draft(conversation_id: int) -> None:
    layer = _redis_layer()
    if layer is None:
        _local_drafts.pop(conversation_id, None)
        return
    key = _draft_key(layer, conversation_id)
    try:
        await layer.connection(layer.consistent_hash(key)).delete(key)
    except Exception:  # it expires on its own, and the snapshot checks the record first
        logger.warning("could not forget the draft of %s", conversation_id, exc_info=True)


async def kept_draft(conversation_id: int) -> DraftDelta | None:
    """The draft last sent for the conversation's current round, if one is being written."""
    layer = _redis_layer()
    if layer is None:
        data: str | bytes | None = _local_drafts.get(conversation_id)
    else:
        key = _draft_key(layer, conversation_id)
        try:
            data = await layer.connection(layer.consistent_hash(key)).get(key)
        except Exception:  # the socket still gets the next frame
            logger.warning("could not read the draft of %s", conversation_id, exc_info=True)
            return None
    if data is None:
        return None
    event = decode(json.loads(data))
    return event if isinstance(event, DraftDelta) else None


# While a batch has calls under way, a frame at least this often: running bars and open waits
# for approval grow to "now" and the axis with them, between the engine's events.
TICK_S = 0.5


class CallBars:
    """The live gantt of one batch: a subscriber to the engine's events that keeps one bar per
    call and sends the whole picture as throttled frames, stamped with the batch's clock.

    Calls that run (or wait for a person) for long send no events meanwhile, so while any call
    is unfinished a frame also goes out every `tick` seconds: the server draws the chart to
    "now" as it draws every frame, with no second drawing of it in the browser.
    """

    def __init__(
        self,
        conversation_id: int,
        round_number: int,
        batch_id: int,
        calls: list[ToolCall],
        lead_ms: float | None,
        tick: float = TICK_S,
    ) -> None:
        self.round = round_number
        self.batch_id = batch_id
        self.lead_ms = lead_ms
        self.bars = {call.id: LiveRow(tool_name=call.name, tool_call_id=call.id) for call in calls}
        self.order = [call.id for call in calls]
        self.latest_ms = 0.0
        self.frames = Frames(conversation_id)
        self.tick = tick
        # perf_counter() at the batch's start (the engine's clock), learnt from its first event.
        self.origin: float | None = None
        self.ticker: asyncio.Task[None] | None = None

    def now_ms(self) -> float:
        if self.origin is None:
            return self.latest_ms
        return max(self.latest_ms, round((time.perf_counter() - self.origin) * 1000, 3))

    def picture(self) -> RoundCalls:
        # Copies: the bars change on, the frame shows them as they stand now.
        rows = tuple(
            replace(bar, retry_marks_ms=list(bar.retry_marks_ms))
            for bar in (self.bars[call_id] for call_id in self.order)
        )
        return RoundCalls(
            round=self.round,
            batch_id=self.batch_id,
            now_ms=self.now_ms(),
            calls=rows,
            lead_ms=self.lead_ms,
        )

    async def on_event(self, event: Event) -> None:
        if self.origin is None:
            self.origin = time.perf_counter() - event.t
            self.ticker = asyncio.create_task(self._keep_time())
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
            bar.approval_asked_ms = ms
        elif event.kind == EventKind.CALL_APPROVAL_DECIDED:
            bar.status = "queued"
            bar.approval_decided_ms = ms
        elif event.kind == EventKind.CALL_FINISHED:
            bar.status = event.data.get("status", "ok")
            error = event.data.get("error") or {}
            bar.error_code = error.get("code", "")
            bar.finished_ms = ms
        else:
            return
        self.latest_ms = ms
        await self.frames.offer(self.picture)

    async def _keep_time(self) -> None:
        while any(bar.finished_ms is None for bar in self.bars.values()):
            await asyncio.sleep(self.tick)
            await self.frames.offer(self.picture)

    def stop(self) -> None:
        """No more frames of passing time (the batch ended, or was cancelled)."""
        if self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None

    async def flush(self) -> None:
        self.stop()
        await self.frames.flush()
