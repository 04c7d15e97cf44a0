"""A worker process runs many runs on one event loop, at most FCSTUDIO_WORKER_MAX_RUNS at once;
the others wait for a slot (conversations.worker_loop)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from conversations import worker_loop


class Runs:
    """Stand-in runs that say when they start and end only when the test lets them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.loops: set[asyncio.AbstractEventLoop] = set()
        self.finish = threading.Event()

    async def run(self, number: int) -> int:
        with self.lock:
            self.started.append(number)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.loops.add(asyncio.get_running_loop())
        while not self.finish.is_set():
            await asyncio.sleep(0.01)
        with self.lock:
            self.running -= 1
        return number


def wait_until(condition, what: str) -> None:
    pause = threading.Event()
    for _ in range(3000):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_runs_share_one_loop_and_wait_for_a_slot_beyond_the_limit(settings) -> None:
    settings.FCSTUDIO_WORKER_MAX_RUNS = 2
    runs = Runs()
    with ThreadPoolExecutor(max_workers=3) as tasks:
        results = [tasks.submit(worker_loop.run, runs.run(number)) for number in range(3)]
        wait_until(lambda: len(runs.started) == 2, "two runs to start")
        assert runs.running == 2  # the third waits for a slot...
        runs.finish.set()  # ...and starts once one ends
        assert sorted(future.result(timeout=30) for future in results) == [0, 1, 2]
    assert runs.most_at_once == 2
    assert runs.loops == {worker_loop.loop()}


def test_a_failed_run_gives_its_slot_back(settings) -> None:
    settings.FCSTUDIO_WORKER_MAX_RUNS = 1

    async def fails() -> None:
        raise ValueError("the run broke")

    async def succeeds() -> str:
        return "finished"

    for _ in range(2):
        try:
            worker_loop.run(fails())
        except ValueError as exc:
            assert str(exc) == "the run broke"
    assert worker_loop.run(succeeds()) == "finished"
