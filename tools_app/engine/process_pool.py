"""A warm pool of child processes that run Python tools, killed and replaced when they misbehave.

One long C operation (``10 ** 10 ** 8``) holds the GIL, so a tool running in the process that
serves pages and drives runs stalls all of it, and a timeout that abandons a thread cannot stop
it. `PythonProcessPool` runs each call in one of ``workers`` children (`python_child`), started
once with `subprocess` — not `multiprocessing`, which refuses to start children from daemonic
processes such as Celery's prefork workers or Daphne's test server. When the engine cancels a
call (its timeout, fail-fast, a cancelled run) the child running it is killed at once and a fresh
one started; a call that exceeds the memory cap (``RLIMIT_AS`` in the child) fails with
EXECUTION_ERROR and its child is replaced too.

Each child is served by one daemon thread of the pool that writes a request line and blocks on
the reply, so awaiting a call costs the caller's event loop nothing and works from any loop or
thread. Calls beyond ``workers`` wait for a free child; that wait counts towards the timeout.
This module must not import Django.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Collection
from typing import IO, Any

from .errors import ErrorCode, ToolFailure

DEFAULT_WORKERS = 2
DEFAULT_MEMORY_MB = 512


class _Job:
    def __init__(self, request: bytes, on_start: Callable[[str], None] | None) -> None:
        self.request = request
        self.on_start = on_start
        self.future: concurrent.futures.Future[tuple[Any, str]] = concurrent.futures.Future()
        self.lock = threading.Lock()
        self.cancelled = False
        self.killed = False
        self.process: subprocess.Popen[bytes] | None = None

    def cancel(self) -> None:
        """Give up the call; kill the child if it is already running it."""
        self.future.cancel()
        with self.lock:
            self.cancelled = True
            if self.process is not None:
                _kill(self.process)
                self.killed = True


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it already died
        process.kill()


def _child_environment() -> dict[str, str]:
    """The parent's environment, with its import path, so the child imports the same modules."""
    env = dict(os.environ)
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths: list[str] = []
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        if os.path.isdir(path) and not any(path.startswith(p + os.sep) for p in prefixes):
            paths.append(path)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["MALLOC_ARENA_MAX"] = "2"  # per-thread malloc arenas would eat the address-space cap
    return env


class _Slot(threading.Thread):
    """One child process and the thread that talks to it."""

    def __init__(self, pool: PythonProcessPool, index: int) -> None:
        super().__init__(name=f"fcstudio-python-pool-{index}", daemon=True)
        self.pool = pool
        self.process: subprocess.Popen[bytes] | None = None
        self.start_child()

    def start_child(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools_app.engine.python_child",
                str(self.pool.memory_mb),
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.pool.environment,
            close_fds=True,
        )

    def replace_child(self) -> None:
        if self.process is not None:
            _kill(self.process)
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
        if not self.pool.closed:
            self.start_child()

    def run(self) -> None:
        while True:
            job = self.pool.jobs.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                outcome = self.serve(job)
            except BaseException as exc:  # the caller must hear of anything, even our bugs
                job.future.set_exception(exc)
            else:
                job.future.set_result(outcome)

    def serve(self, job: _Job) -> tuple[Any, str]:
        process = self.process
        if process is None or process.poll() is not None:
            self.replace_child()
            process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        with job.lock:
            if job.cancelled:
                raise asyncio.CancelledError()
            job.process = process
        worker = f"python-{process.pid}"
        if job.on_start is not None:
            job.on_start(worker)
        try:
            line = self._exchange(process.stdin, process.stdout, job.request)
        finally:
            with job.lock:
                job.process = None
                killed = job.killed
        if killed or not line:
            self.replace_child()
            if killed:
                raise asyncio.CancelledError()
            raise self._died(process)
        reply = json.loads(line)
        if reply.get("ok"):
            return reply.get("value"), worker
        if reply.get("memory"):
            self.replace_child()
            raise ToolFailure(
                ErrorCode.EXECUTION_ERROR,
                f"the tool ran out of memory (the limit is {self.pool.memory_mb} MB); "
                "its worker process was replaced",
                {"memory_limit_mb": self.pool.memory_mb},
            )
        failure = reply["failure"]
        raise ToolFailure(
            ErrorCode(failure["code"]),
            failure["message"],
            failure.get("details") or {},
            retryable=bool(failure.get("retryable")),
            retry_after=failure.get("retry_after"),
        )

    @staticmethod
    def _exchange(requests: IO[bytes], replies: IO[bytes], request: bytes) -> bytes:
        try:
            requests.write(request)
            requests.flush()
        except (BrokenPipeError, ValueError):
            return b""
        return replies.readline()

    def _died(self, process: subprocess.Popen[bytes]) -> ToolFailure:
        code = process.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else "exited"
        return ToolFailure(
            ErrorCode.EXECUTION_ERROR,
            f"the tool's worker process {how} before answering (it may have exceeded the "
            f"memory limit of {self.pool.memory_mb} MB); it was replaced",
            {"exit_code": code},
        )


class PythonProcessPool:
    """``workers`` warm child processes running Python tools, each call killable."""

    def __init__(self, workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        if workers < 1:
            raise ValueError("a Python process pool needs at least one worker")
        self.workers = workers
        self.memory_mb = memory_mb
        self.closed = False
        self.pid = os.getpid()
        self.environment = _child_environment()
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._slots = [_Slot(self, index) for index in range(workers)]
        for slot in self._slots:
            slot.start()

    async def call(
        self,
        target: str,
        allowed_modules: Collection[str],
        arguments: dict[str, Any],
        *,
        on_start: Callable[[str], None] | None = None,
    ) -> tuple[Any, str]:
        """Run ``target(**arguments)`` in a child; return its JSON-safe result and the worker.

        `on_start` hears the worker's name (``python-<pid>``) when a child takes the call, from
        the pool's thread. Raises `ToolFailure` with the error-model code the engine gives the
        same failure in-process. Cancelling the await kills the child if it is running the call.
        """
        if self.closed:
            raise RuntimeError("the Python process pool is closed")
        request = {"target": target, "allowed": sorted(allowed_modules), "arguments": arguments}
        job = _Job(json.dumps(request, separators=(",", ":")).encode() + b"\n", on_start)
        self.jobs.put(job)
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.cancel()
            raise

    def pids(self) -> list[int]:
        """The children's process ids (for tests and diagnostics)."""
        return [slot.process.pid for slot in self._slots if slot.process is not None]

    def close(self) -> None:
        """Kill the children; calls still queued are left unanswered."""
        if self.closed:
            return
        self.closed = True
        for _ in self._slots:
            self.jobs.put(None)
        for slot in self._slots:
            if slot.process is not None:
                _kill(slot.process)


_shared: dict[tuple[int, int, int], PythonProcessPool] = {}
_shared_lock = threading.Lock()


def shared_pool(
    workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB
) -> PythonProcessPool:
    """The process-wide pool of this size (one per process: a forked child gets its own)."""
    key = (os.getpid(), workers, memory_mb)
    with _shared_lock:
        pool = _shared.get(key)
        if pool is None:
            pool = _shared[key] = PythonProcessPool(workers, memory_mb)
            atexit.register(pool.close)
    return pool
