"""Per-tool limits are held by one limiter per process, keyed by team and tool name.

Each batch runs on its own event loop in its own thread, as lab batches and runs do.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from tools_app import runtime
from tools_app.engine import (
    CallContext,
    ExecutionOptions,
    InMemoryLimiter,
    ToolCall,
    ToolSpec,
    execute_batch,
)
from tools_app.engine.limits import limit_key


class Blocking:
    """A tool whose calls record start and end, and end only when the test lets them."""

    def __init__(self, log: list[str], tag: str, gate: threading.Event | None = None) -> None:
        self.log, self.tag, self.gate = log, tag, gate
        self.running = threading.Event()

    async def invoke(self, arguments: dict, context: CallContext) -> str:
        self.log.append(f"{self.tag} start")
        self.running.set()
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 10)
        self.log.append(f"{self.tag} end")
        return "ok"


def batch_in_thread(team_id: int, implementation: Blocking) -> threading.Thread:
    spec = ToolSpec("get_weather", {"type": "object"}, implementation, concurrency_limit=1)

    def run() -> None:
        asyncio.run(
            execute_batch(
                [ToolCall("c1", "get_weather", "{}")],
                [spec],
                ExecutionOptions(limiter=runtime.tool_limiter(team_id)),
            )
        )

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_a_waiter(team_id: int) -> None:
    limiter = runtime.shared_limiter()
    assert isinstance(limiter, InMemoryLimiter)
    semaphore = limiter.semaphore(limit_key(f"team-{team_id}", "get_weather"), 1)
    parked = threading.Event()  # never set: its wait is this thread's pause between looks
    for _ in range(2000):
        if semaphore.waiting:
            return
        parked.wait(0.005)
    raise AssertionError("the second batch never waited for the limit")


@pytest.fixture(autouse=True)
def in_memory(settings):
    settings.REDIS_URL = ""
    runtime.reset_shared_limiter()


def test_two_batches_of_one_team_share_the_limit():
    log: list[str] = []
    gate = threading.Event()
    first = Blocking(log, "A", gate)
    a = batch_in_thread(1, first)
    assert first.running.wait(10)
    b = batch_in_thread(1, Blocking(log, "B"))
    wait_for_a_waiter(1)
    assert log == ["A start"]  # B is parked on the limit A holds
    gate.set()
    a.join(10)
    b.join(10)
    assert log == ["A start", "A end", "B start", "B end"]


def test_two_teams_same_named_tools_do_not_share():
    log: list[str] = []
    gate = threading.Event()
    first = Blocking(log, "team 1")
    first.gate = gate
    a = batch_in_thread(1, first)
    assert first.running.wait(10)
    b = batch_in_thread(2, Blocking(log, "team 2"))
    b.join(10)  # ends while team 1's call still holds its own permit
    gate.set()
    a.join(10)
    assert log == ["team 1 start", "team 2 start", "team 2 end", "team 1 end"]


def test_a_token_scope_is_its_own_limit():
    assert limit_key("team-1", "token-a/b", "get_weather") != limit_key(
        "team-1", "token-a", "b/get_weather"
    )


@pytest.mark.asyncio
async def test_a_cancelled_waiter_gives_its_place_to_the_next():
    limiter = InMemoryLimiter()
    spec = ToolSpec("t", {"type": "object"}, Blocking([], "x"), concurrency_limit=1)
    held = await limiter.acquire("t", spec)
    cancelled = asyncio.ensure_future(limiter.acquire("t", spec))
    later = asyncio.ensure_future(limiter.acquire("t", spec))
    await asyncio.sleep(0)
    cancelled.cancel()
    await held.release()
    permit = await asyncio.wait_for(later, 5)
    assert cancelled.cancelled()
    await permit.release()
    assert limiter.semaphore("t", 1).held == 0
