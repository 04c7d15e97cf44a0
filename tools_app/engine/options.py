"""How one batch runs: `ExecutionOptions`, the single bundle `execute_batch` takes.

Every knob of a batch lives here once — the strategy, the batch-wide ``max_concurrency`` and
``fail_fast``, the hooks (approver, guard, event subscriber), the shared machinery (limiter, thread
pool, validator cache) and the retry backoff — so callers build, store and forward one frozen
value instead of copying a dozen keyword arguments from layer to layer. Callers that add
their own settings (the studio's lab) subclass it.

This module must not import Django.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from .calls import ToolCall, ToolSpec
from .events import EventSubscriber
from .limits import Limiter
from .retry import RetryPolicy
from .validation import ValidatorCache

Strategy = Literal["sequential", "threads", "asyncio"]
STRATEGIES: tuple[Strategy, ...] = ("sequential", "threads", "asyncio")

Approver = Callable[[ToolCall, ToolSpec], bool | Awaitable[bool]]
"""Decides whether a call to a tool with ``requires_approval`` may run (True) or is DENIED."""

Guard = Callable[[ToolCall, ToolSpec, dict[str, Any]], str | Awaitable[str | None] | None]
"""Checks validated arguments before execution: None lets the call run, a reason DENIES it."""


@dataclass(frozen=True)
class ExecutionOptions:
    """How `execute_batch` runs a batch; the defaults run it on the asyncio strategy.

    `max_workers` sizes the thread pool (``threads`` strategy, or blocking code under the
    others; default ``min(len(calls), max_concurrency or 256)``); pass `executor` to reuse a
    pool across batches. `limiter` enforces per-tool limits (a fresh `InMemoryLimiter` per batch
    when None; share one to limit across batches). `retry_policy` sets the backoff (small bases
    in tests). `guard` checks validated arguments, `approver` decides calls to tools that
    require approval, `on_event` receives the batch's events.
    """

    strategy: Strategy = "asyncio"
    max_concurrency: int | None = None
    fail_fast: bool = False
    approver: Approver | None = None
    guard: Guard | None = None
    on_event: EventSubscriber | None = None
    limiter: Limiter | None = None
    retry_policy: RetryPolicy | None = None
    max_workers: int | None = None
    executor: concurrent.futures.ThreadPoolExecutor | None = None
    validator_cache: ValidatorCache | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if self.max_workers is not None and self.max_workers < 1:
            raise ValueError("max_workers must be >= 1")


DEFAULT_OPTIONS = ExecutionOptions()
