"""Per-tool concurrency and rate limits behind one small seam, the `Limiter` protocol.

``permit = await limiter.acquire(tool_name, spec)`` waits until the call may run (or raises
`RateLimitExceeded` when the tool's rate limit rejects rather than waits); ``await
permit.release()`` gives the slot back. `InMemoryLimiter` serves one process and one event loop;
a Redis-backed limiter for workers spread over processes only has to honour the same two calls.

The batch-wide ``max_concurrency`` is not the limiter's business: it is a property of one batch
and lives in the executor.

This module must not import Django.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from .calls import ToolSpec
from .errors import RateLimitExceeded


@runtime_checkable
class Permit(Protocol):
    async def release(self) -> None: ...


@runtime_checkable
class Limiter(Protocol):
    async def acquire(self, tool_name: str, spec: ToolSpec) -> Permit:
        """Wait until the call may run; raise `RateLimitExceeded` to refuse it."""
        ...


class TokenBucket:
    """Calls per second with a burst of ``max(1, rate)``.

    Waiting callers reserve a future token (so they are served in arrival order without
    polling); a cancelled waiter gives its reservation back.
    """

    def __init__(
        self,
        rate_per_s: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = float(rate_per_s)
        self.capacity = float(capacity if capacity is not None else max(1.0, self.rate))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_take(self) -> float:
        """Take a token now and return 0, or take nothing and return the seconds to wait."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def reserve(self) -> float:
        """Take a token, possibly one not yet earned; return how long to wait before using it."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def refund(self) -> None:
        self._tokens = min(self.capacity, self._tokens + 1.0)

    async def take(self) -> None:
        delay = self.reserve()
        if delay > 0:
            try:
                await self._sleep(delay)
            except asyncio.CancelledError:
                self.refund()
                raise


class _Released:
    async def release(self) -> None:
        return None


_NOTHING_HELD = _Released()


class _SemaphorePermit:
    __slots__ = ("_released", "_semaphore")

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            self._semaphore.release()


class InMemoryLimiter:
    """Limits shared by every batch that is handed this instance (on one event loop)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._semaphores: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._buckets: dict[tuple[str, float], TokenBucket] = {}

    def bucket(self, tool_name: str, rate_per_s: float) -> TokenBucket:
        key = (tool_name, rate_per_s)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate_per_s, clock=self._clock)
        return bucket

    async def acquire(self, tool_name: str, spec: ToolSpec) -> Permit:
        if spec.concurrency_limit is None and spec.rate_limit_per_s is None:
            return _NOTHING_HELD
        permit: Permit = _NOTHING_HELD
        if spec.concurrency_limit is not None:
            key = (tool_name, spec.concurrency_limit)
            semaphore = self._semaphores.get(key)
            if semaphore is None:
                semaphore = self._semaphores[key] = asyncio.Semaphore(spec.concurrency_limit)
            await semaphore.acquire()
            permit = _SemaphorePermit(semaphore)
        if spec.rate_limit_per_s is not None:
            bucket = self.bucket(tool_name, spec.rate_limit_per_s)
            try:
                if spec.rate_limit_mode == "reject":
                    wait = bucket.try_take()
                    if wait > 0:
                        raise RateLimitExceeded(tool_name, spec.rate_limit_per_s, wait)
                else:
                    await bucket.take()
            except BaseException:
                await permit.release()
                raise
        return permit
