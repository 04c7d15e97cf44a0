"""Per-tool concurrency and rate limits behind one small seam, the `Limiter` protocol.

``permit = await limiter.acquire(tool_name, spec)`` waits until the call may run (or raises
`RateLimitExceeded` when the tool's rate limit rejects rather than waits); ``await
permit.release()`` gives the slot back.

A limit belongs to a tool *of someone*: two teams' ``get_weather`` must not share a bucket. The
shared limiters (`InMemoryLimiter` here, `RedisLimiter` in `redis_limits`) are therefore keyed
limiters, and a batch is handed a `ScopedLimiter`, ``shared.scoped("team-7")``, whose keys carry
the scope. `InMemoryLimiter` is safe to share between threads and event loops (Django runs each
lab batch on a fresh loop), so one instance per process holds limits across batches;
`RedisLimiter` holds them across processes and machines.

The batch-wide ``max_concurrency`` is not the limiter's business: it is a property of one batch
and lives in the executor.

This module must not import Django.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
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


@runtime_checkable
class KeyedLimiter(Protocol):
    """A limiter shared by many owners: `key` says whose limit (``team-7/get_weather``)."""

    async def acquire_key(self, key: str, tool_name: str, spec: ToolSpec) -> Permit: ...


def limit_key(*parts: str | int) -> str:
    """One key from scope parts; ``/`` and ``%`` inside a part are escaped, so keys never clash."""
    return "/".join(str(p).replace("%", "%25").replace("/", "%2F") for p in parts)


class ScopedLimiter:
    """The `Limiter` a batch is handed: a shared keyed limiter seen through one scope."""

    __slots__ = ("_limiter", "scope")

    def __init__(self, limiter: KeyedLimiter, scope: str) -> None:
        self._limiter = limiter
        self.scope = scope

    async def acquire(self, tool_name: str, spec: ToolSpec) -> Permit:
        return await self._limiter.acquire_key(limit_key(self.scope, tool_name), tool_name, spec)


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
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_take(self) -> float:
        """Take a token now and return 0, or take nothing and return the seconds to wait."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def reserve(self) -> float:
        """Take a token, possibly one not yet earned; return how long to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def refund(self) -> None:
        with self._lock:
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


class SharedSemaphore:
    """A counting semaphore usable from any thread and any event loop, served in arrival order.

    `asyncio.Semaphore` binds to the first loop that waits on it, and a process-wide limiter
    outlives loops. A waiter parks a future of its own loop; a release hands the slot to the
    first waiter through ``call_soon_threadsafe``. The limit is read at each acquire, so an
    edited limit applies to the next calls while the permits already held stay counted.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def acquire(self, limit: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if limit is not None:
                self.limit = limit
            if self.held < self.limit and not self._waiters:
                self.held += 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (loop, waiter)
            self._waiters.append(entry)
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                if entry in self._waiters:  # never granted
                    self._waiters.remove(entry)
                    raise
            self.release()  # granted as it was cancelled: pass the slot on
            raise

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def release(self) -> None:
        with self._lock:
            self.held -= 1
            self._grant()

    def _grant(self) -> None:
        while self._waiters and self.held < self.limit:
            loop, waiter = self._waiters.popleft()
            self.held += 1
            try:
                loop.call_soon_threadsafe(_resolve, waiter)
            except RuntimeError:  # its loop closed: nobody is waiting there any more
                self.held -= 1


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _SemaphorePermit:
    __slots__ = ("_released", "_semaphore")

    def __init__(self, semaphore: SharedSemaphore) -> None:
        self._semaphore = semaphore
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            self._semaphore.release()


class InMemoryLimiter:
    """Limits shared by every batch that is handed this instance, in any thread or event loop.

    Unscoped (``acquire``) keys are bare tool names; batches of different owners get
    ``scoped(...)`` views of one process-wide instance.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._semaphores: dict[str, SharedSemaphore] = {}
        self._buckets: dict[tuple[str, float], TokenBucket] = {}

    def scoped(self, *parts: str | int) -> ScopedLimiter:
        return ScopedLimiter(self, limit_key(*parts))

    def bucket(self, key: str, rate_per_s: float) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get((key, rate_per_s))
            if bucket is None:
                bucket = TokenBucket(rate_per_s, clock=self._clock)
                self._buckets[(key, rate_per_s)] = bucket
            return bucket

    def semaphore(self, key: str, limit: int) -> SharedSemaphore:
        with self._lock:
            semaphore = self._semaphores.get(key)
            if semaphore is None:
                semaphore = self._semaphores[key] = SharedSemaphore(limit)
            return semaphore

    async def acquire(self, tool_name: str, spec: ToolSpec) -> Permit:
        return await self.acquire_key(tool_name, tool_name, spec)

    async def acquire_key(self, key: str, tool_name: str, spec: ToolSpec) -> Permit:
        if spec.concurrency_limit is None and spec.rate_limit_per_s is None:
            return _NOTHING_HELD
        permit: Permit = _NOTHING_HELD
        if spec.concurrency_limit is not None:
            semaphore = self.semaphore(key, spec.concurrency_limit)
            await semaphore.acquire(spec.concurrency_limit)
            permit = _SemaphorePermit(semaphore)
        if spec.rate_limit_per_s is not None:
            bucket = self.bucket(key, spec.rate_limit_per_s)
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
