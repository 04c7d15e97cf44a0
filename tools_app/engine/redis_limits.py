"""`RedisLimiter`: per-tool limits that hold across every worker process and machine.

The same `KeyedLimiter` seam as `InMemoryLimiter`, on one Redis server, each decision one Lua
script (atomic, and timed by the server's clock so machines' clocks never disagree):

- concurrency: a sorted set per key whose members are the permits held, scored by the time
  their lease runs out. A permit is granted when fewer than the limit are unexpired. A thread
  renews the leases of this process's permits every third of the lease, so a worker that is
  SIGKILLed stops renewing and its permits come back one lease later.
- rate: a token bucket (a hash of tokens and last refill) per key with the engine's two modes:
  ``wait`` reserves a future token and sleeps until it is earned (a cancelled waiter gives it
  back); ``reject`` takes a token now or raises `RateLimitExceeded`.

Waiting for a concurrency slot polls (from a few ms, backing off to `max_poll_s`), so waiters
in different processes are not served strictly in arrival order.

The client is a synchronous ``redis.Redis`` (thread-safe, its pool shared by every event loop
of the process); calls go through ``asyncio.to_thread``. Whoever builds the limiter passes the
client in: this module must not import Django.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from typing import Any

import redis

from .calls import ToolSpec
from .errors import RateLimitExceeded
from .limits import Permit, ScopedLimiter, limit_key

logger = logging.getLogger(__name__)

# KEYS[1] permits; ARGV: limit, lease ms, member. 1 = granted, else -(ms until the next expiry).
_ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local lease = tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  return 1
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return -math.max(1, tonumber(first[2]) - now)
"""

# KEYS: permit sets; ARGV: lease ms, then one member per key. Renews only members still held.
_RENEW = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease * 2)
end
return #KEYS
"""

# KEYS[1] bucket; ARGV: rate per s, capacity, mode ("take" | "reserve" | "refund").
# Returns the seconds to wait as a string (Lua numbers would reach Python as integers).
_BUCKET = """
local t = redis.call('TIME')
local now = t[1] + t[2] / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if ARGV[3] == 'refund' then
  tokens = math.min(capacity, tokens + 1)
elseif ARGV[3] == 'take' then
  if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
else
  tokens = tokens - 1
  if tokens < 0 then wait = -tokens / rate end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class _Held:
    """This process's permits, renewed by one daemon thread while any is held."""

    def __init__(self, limiter: RedisLimiter) -> None:
        self._limiter = limiter
        self._permits: dict[str, str] = {}  # member -> key
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def add(self, key: str, member: str) -> None:
        with self._lock:
            self._permits[member] = key
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._renew_forever, name="fcstudio-limit-leases", daemon=True
                )
                self._thread.start()

    def discard(self, member: str) -> None:
        with self._lock:
            self._permits.pop(member, None)

    def _renew_forever(self) -> None:
        interval = self._limiter.lease_s / 3
        while True:
            with self._lock:
                self._wake.wait(interval)
                if not self._permits:
                    self._thread = None
                    return
                held = list(self._permits.items())
            try:
                self._limiter.renew(held)
            except redis.RedisError:
                logger.warning("could not renew %d limiter permits", len(held), exc_info=True)


class _RedisPermit:
    __slots__ = ("_key", "_limiter", "_member", "_released")

    def __init__(self, limiter: RedisLimiter, key: str, member: str) -> None:
        self._limiter = limiter
        self._key = key
        self._member = member
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            await asyncio.to_thread(self._limiter.give_back, self._key, self._member)


class _Nothing:
    async def release(self) -> None:
        return None


class RedisLimiter:
    """Limits held in Redis under `prefix`; `lease_s` bounds how long a dead worker's permit
    stays counted."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "fcstudio:limits",
        lease_s: float = 30.0,
        min_poll_s: float = 0.005,
        max_poll_s: float = 0.1,
    ) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.client = client
        self.prefix = prefix
        self.lease_s = lease_s
        self.min_poll_s = min_poll_s
        self.max_poll_s = max_poll_s
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._bucket = client.register_script(_BUCKET)
        self._held = _Held(self)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisLimiter:
        return cls(redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30), **options)

    def scoped(self, *parts: str | int) -> ScopedLimiter:
        return ScopedLimiter(self, limit_key(*parts))

    async def acquire(self, tool_name: str, spec: ToolSpec) -> Permit:
        return await self.acquire_key(tool_name, tool_name, spec)

    async def acquire_key(self, key: str, tool_name: str, spec: ToolSpec) -> Permit:
        if spec.concurrency_limit is None and spec.rate_limit_per_s is None:
            return _Nothing()
        permit: Permit = _Nothing()
        if spec.concurrency_limit is not None:
            permit = await self._take_permit(f"{self.prefix}:permits:{key}", spec.concurrency_limit)
        if spec.rate_limit_per_s is not None:
            try:
                await self._take_token(f"{self.prefix}:rate:{key}", tool_name, spec)
            except BaseException:
                await permit.release()
                raise
        return permit

    async def _take_permit(self, key: str, limit: int) -> Permit:
        member = uuid.uuid4().hex
        lease_ms = max(1, round(self.lease_s * 1000))
        poll = self.min_poll_s
        while True:
            granted = await asyncio.to_thread(self._try_permit, key, limit, lease_ms, member)
            if granted:
                return _RedisPermit(self, key, member)
            await asyncio.sleep(poll * random.uniform(0.5, 1.0))
            poll = min(poll * 2, self.max_poll_s)

    def _try_permit(self, key: str, limit: int, lease_ms: int, member: str) -> bool:
        # Registered for renewal first: a lease granted just as this thread is interrupted
        # must not outlive it unrenewed nor be renewed after it is given back.
        self._held.add(key, member)
        try:
            granted = int(self._acquire(keys=[key], args=[limit, lease_ms, member])) == 1
        except BaseException:
            self.give_back(key, member)
            raise
        if not granted:
            self._held.discard(member)
        return granted

    async def _take_token(self, key: str, tool_name: str, spec: ToolSpec) -> None:
        rate = float(spec.rate_limit_per_s or 0)
        capacity = max(1.0, rate)
        if spec.rate_limit_mode == "reject":
            wait = await asyncio.to_thread(self._bucket_op, key, rate, capacity, "take")
            if wait > 0:
                raise RateLimitExceeded(tool_name, rate, wait)
            return
        wait = await asyncio.to_thread(self._bucket_op, key, rate, capacity, "reserve")
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                await asyncio.to_thread(self._bucket_op, key, rate, capacity, "refund")
                raise

    def _bucket_op(self, key: str, rate: float, capacity: float, op: str) -> float:
        return float(self._bucket(keys=[key], args=[repr(rate), repr(capacity), op]))

    def give_back(self, key: str, member: str) -> None:
        self._held.discard(member)
        self.client.zrem(key, member)

    def renew(self, held: list[tuple[str, str]]) -> None:
        """Extend the leases of `held` (member, key) pairs that Redis still counts."""
        if held:
            keys = [key for _, key in held]
            members = [member for member, _ in held]
            self._renew(keys=keys, args=[max(1, round(self.lease_s * 1000)), *members])
