"""The contract between the engine and a tool implementation.

An implementation is anything with ``async def invoke(arguments, context) -> result``. The
`CallContext` tells it which call and attempt it serves, and lends it `run_sync`, which runs
blocking code where the batch's strategy says (a bounded thread pool, or inline when the call
already runs in a worker thread). Implementations never import Django.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

SyncRunner = Callable[..., Awaitable[Any]]
"""``await run_sync(function, *args, **kwargs)``: run blocking code off the event loop."""


async def _to_thread(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


@dataclass
class CallContext:
    """What an implementation may know about the call it serves."""

    call_id: str
    tool_name: str
    attempt: int = 1
    run_sync: SyncRunner = field(default=_to_thread, repr=False)
    worker: str | None = None

    def note_worker(self) -> None:
        """Record the thread the implementation's work ran on (shown in `CallResult.worker`)."""
        self.worker = threading.current_thread().name


class ConfigError(ValueError):
    """A config an implementation refuses; `key` names the config key at fault (``""``: all).

    The same check runs when a tool is saved (an editor maps `key` to its field) and when it
    runs, so the two cannot disagree. Messages never quote a header value.
    """

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@runtime_checkable
class Implementation(Protocol):
    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any: ...
