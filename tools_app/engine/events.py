"""The engine's event stream: what happened to a batch and its calls, and when.

Persistence (ToolExecution rows), the live timeline (channel layer) and the audit trail all
subscribe through one `on_event` callable. Events carry `t`, seconds since the batch started
(``time.perf_counter``, monotonic), and `wall`, the matching wall-clock time for records.

Subscribers may be sync or async. Sync ones are called inline and should be quick; async ones
are fed in order by one dispatcher task, so a slow subscriber delays neither the calls nor the
other events, and the batch returns only after its last event was delivered. A subscriber that
raises is logged and otherwise ignored: it never breaks the batch.

This module must not import Django.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

logger = logging.getLogger("fcstudio.engine")


class EventKind(StrEnum):
    BATCH_STARTED = "batch_started"
    CALL_QUEUED = "call_queued"
    CALL_AWAITING_APPROVAL = "call_awaiting_approval"
    CALL_APPROVAL_DECIDED = "call_approval_decided"
    CALL_STARTED = "call_started"
    CALL_RETRYING = "call_retrying"
    CALL_FINISHED = "call_finished"
    BATCH_FINISHED = "batch_finished"

    def __str__(self) -> str:
        return self.value


class Event:
    """One thing that happened to a batch or a call, `t` seconds after the batch started.

    Built for every step of every call, so it is cheap: slots, and `wall` computed on demand
    from the batch's wall-clock start unless given.
    """

    __slots__ = ("_origin", "_wall", "call_id", "data", "kind", "t")

    def __init__(
        self,
        kind: EventKind,
        call_id: str | None,
        t: float,
        data: dict[str, Any] | None = None,
        wall: datetime | None = None,
        *,
        origin: datetime | None = None,
    ) -> None:
        self.kind = kind
        self.call_id = call_id
        self.t = t
        self.data = {} if data is None else data
        self._wall = wall
        self._origin = origin

    @property
    def wall(self) -> datetime | None:
        """The wall-clock time of the event (for records)."""
        if self._wall is None and self._origin is not None:
            self._wall = self._origin + timedelta(seconds=self.t)
        return self._wall

    def __repr__(self) -> str:
        return f"Event({self.kind.value}, {self.call_id!r}, t={self.t:.6f}, data={self.data!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.kind, self.call_id, self.t, self.data, self.wall) == (
            other.kind,
            other.call_id,
            other.t,
            other.data,
            other.wall,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable data, like the dataclass it was

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for channel layers and logs)."""
        wall = self.wall
        return {
            "kind": self.kind.value,
            "call_id": self.call_id,
            "t": self.t,
            "wall": wall.isoformat() if wall else None,
            "data": self.data,
        }


EventSubscriber = Callable[[Event], Any] | Callable[[Event], Awaitable[Any]]


def _is_async_callable(subscriber: Any) -> bool:
    if inspect.iscoroutinefunction(subscriber):
        return True
    call = getattr(subscriber, "__call__", None)  # noqa: B004 - objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


class EventStream:
    """Stamps and delivers one batch's events."""

    def __init__(
        self,
        subscriber: EventSubscriber | None,
        *,
        t0: float,
        wall0: datetime,
        clock: Callable[[], float],
    ) -> None:
        self._subscriber = subscriber
        self._t0 = t0
        self._wall0 = wall0
        self._clock = clock
        self._is_async = subscriber is not None and _is_async_callable(subscriber)
        self._queue: asyncio.Queue[Event | _Pending | None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._subscriber is not None

    def now(self) -> float:
        return self._clock() - self._t0

    def emit(
        self,
        kind: EventKind,
        call_id: str | None,
        data: dict[str, Any] | None = None,
        *,
        t: float | None = None,
    ) -> None:
        if self._subscriber is None:
            return
        at = self.now() if t is None else t
        event = Event(kind, call_id, at, data, origin=self._wall0)
        if self._is_async:
            if self._queue is None:
                self._queue = asyncio.Queue()
                self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
            self._queue.put_nowait(event)
            return
        try:
            result = self._subscriber(event)
        except Exception:
            logger.exception("event subscriber failed on %s", kind.value)
            return
        if inspect.isawaitable(result):  # a sync callable that returned an awaitable
            self._is_async = True
            self._queue = asyncio.Queue()
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
            self._queue.put_nowait(_Pending(result))

    async def _dispatch(self) -> None:
        assert self._queue is not None and self._subscriber is not None
        while True:
            event = await self._queue.get()
            if event is None:
                return
            try:
                if isinstance(event, _Pending):
                    await event.awaitable
                else:
                    result = self._subscriber(event)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                logger.exception("event subscriber failed on %s", getattr(event, "kind", "?"))

    def cancel(self) -> None:
        """Stop delivering (the batch itself was cancelled)."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()

    async def drain(self) -> None:
        """Wait until every emitted event has been delivered."""
        if self._queue is not None and self._dispatcher is not None:
            self._queue.put_nowait(None)
            await self._dispatcher


class _Pending:
    """An awaitable already produced by a subscriber, waiting its turn in the dispatcher."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self.awaitable = awaitable
