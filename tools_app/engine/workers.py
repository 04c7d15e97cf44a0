"""A batch's work on pool threads: one queue per batch, drained by a few pool threads, results
handed back to the event loop in bunches.

`BatchWorkers` carries blocking code (``context.run_sync`` under the asyncio strategy) and the
threads strategy's invocations. Per call it costs an append to the batch's queue and, when the
call finishes, an append to the finished queue; the loop is woken once per bunch of finished
calls, not once per call, and a pool task (a drainer) runs calls one after another until the
queue is empty instead of one pool task per call. The threads strategy's invocations run
inside their drainer's task on the worker thread's loop, one at a time, not in a task each.

A drainer is started only when no started drainer is free to take the next call: when a call
is queued and every drainer is busy, and when a drainer takes a call and more are waiting while
every other drainer is busy. Blocking calls thus get a thread each, up to `bound` (the batch's
pool size), as with one pool task per call, while calls that finish at once are run by the few
threads that are already there.

The rest is as with one pool task per call: a call cancelled before a thread took it never
runs; a cancelled async invocation sees ``CancelledError`` on its worker's loop; blocking code
cannot be interrupted, so its thread is abandoned and keeps running (and holds its drainer)
until the function returns.

This module must not import Django.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from .calls import ToolSpec
from .implementations.base import CallContext

FAN_OUT = 2
"""Drainers a drainer starts when it takes a call while every other one is busy and more
calls wait: 2 doubles the threads each round, so N blocking calls get their threads in about
log2(N) thread starts one after another rather than N."""


class _Job:
    """One call's work, its outcome, and the loop-side future that waits for it."""

    __slots__ = ("cancelled", "error", "future", "value")

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future
        self.cancelled = False
        self.value: Any = None
        self.error: BaseException | None = None


class _SyncJob(_Job):
    __slots__ = ("args", "context", "function", "kwargs")

    def __init__(
        self,
        future: asyncio.Future[Any],
        context: CallContext,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__(future)
        self.context = context
        self.function = function
        self.args = args
        self.kwargs = kwargs


class _AsyncJob(_Job):
    __slots__ = ("arguments", "context", "loop", "spec", "task")

    def __init__(
        self,
        future: asyncio.Future[Any],
        spec: ToolSpec,
        arguments: dict[str, Any],
        context: CallContext,
    ) -> None:
        super().__init__(future)
        self.spec = spec
        self.arguments = arguments
        self.context = context
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None


class BatchWorkers:
    """Runs one batch's calls on threads of `pool()`, at most `bound` of them at once.

    `run_sync` takes blocking functions, `invoke` async invocations (run on the worker thread's
    own event loop, see `worker_loop`); `invocations` says which of the two the batch sends.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: Callable[[], concurrent.futures.Executor],
        bound: int,
        *,
        invocations: bool,
    ) -> None:
        self._loop = loop
        self._invocations = invocations
        self._pool = pool
        self._bound = max(1, bound)
        self._lock = threading.Lock()
        self._queued: collections.deque[_Job] = collections.deque()
        self._drainers = 0  # started and not yet returned
        self._free = 0  # of those, the ones not running a call
        self._finished: collections.deque[_Job] = collections.deque()
        self._delivery_due = False

    async def run_sync(
        self, context: CallContext, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Any:
        job = _SyncJob(self._loop.create_future(), context, function, args, kwargs)
        return await self._submit(job)

    async def invoke(self, spec: ToolSpec, arguments: dict[str, Any], context: CallContext) -> Any:
        return await self._submit(_AsyncJob(self._loop.create_future(), spec, arguments, context))

    async def _submit(self, job: _Job) -> Any:
        with self._lock:
            self._queued.append(job)
            start = self._free == 0 and self._drainers < self._bound
            if start:
                self._drainers += 1
                self._free += 1
        if start:
            try:
                self._start_drainer()
            except RuntimeError:  # a pool shut down before the call: the call's error, as
                with self._lock:  # submitting its work would have been
                    self._stop_drainer()
                    self._queued.remove(job)
                raise
        try:
            return await job.future
        except asyncio.CancelledError:
            self._cancel(job)
            raise

    def _cancel(self, job: _Job) -> None:
        with self._lock:
            job.cancelled = True
            if isinstance(job, _AsyncJob) and job.loop is not None:
                job.loop.call_soon_threadsafe(self._cancel_on_worker, job)

    def _start_drainer(self) -> None:
        self._pool().submit(self._drain_invocations if self._invocations else self._drain)

    def _stop_drainer(self, count: int = 1) -> None:
        self._drainers -= count
        self._free -= count

    def _next(self) -> _Job | None:
        """The next call for a drainer, or None when the queue is empty (the drainer ends)."""
        while True:
            with self._lock:
                if not self._queued:
                    self._stop_drainer()
                    return None
                job = self._queued.popleft()
                if job.cancelled:
                    continue
                self._free -= 1
                start = 0
                if self._free == 0:
                    start = min(len(self._queued), self._bound - self._drainers, FAN_OUT)
                    self._drainers += start
                    self._free += start
            for _ in range(start):
                try:
                    self._start_drainer()
                except RuntimeError:  # the pool is shut down: the batch is over
                    with self._lock:
                        self._stop_drainer()
            return job

    def _drain(self) -> None:
        worker = threading.current_thread().name
        while (job := self._next()) is not None:
            assert isinstance(job, _SyncJob)
            job.context.worker = worker
            try:
                job.value = job.function(*job.args, **job.kwargs)
            except BaseException as exc:  # delivered to the awaiting call, as a pool would
                job.error = exc
            self._finish(job)

    def _drain_invocations(self) -> None:
        worker_loop().run_until_complete(self._drain_on_loop())

    async def _drain_on_loop(self) -> None:
        # Each invocation runs inside this drainer's task rather than in a task of its own (a
        # task costs two turns of the loop, more than the call itself): in a context of its
        # own, with the drainer's task as its current task, which no other call shares
        # meanwhile, so that cancelling it reaches only this call and asyncio.timeout() works.
        loop = asyncio.get_running_loop()
        drainer = asyncio.current_task()
        assert drainer is not None
        worker = threading.current_thread().name
        while (job := self._next()) is not None:
            assert isinstance(job, _AsyncJob)
            job.context.worker = worker
            with self._lock:
                if job.cancelled:
                    job.error = asyncio.CancelledError()
                else:
                    job.loop = loop
                    job.task = drainer
            if job.task is not None:
                try:
                    invocation = job.spec.implementation.invoke(job.arguments, job.context)
                    job.value = await _InContext(contextvars.copy_context(), invocation)
                except BaseException as exc:  # the call's error, or its cancellation
                    job.error = exc
                with self._lock:
                    job.loop = job.task = None
                while drainer.uncancel() > 0:  # a cancellation of this call ends with it
                    pass
            self._finish(job)

    @staticmethod
    def _cancel_on_worker(job: _AsyncJob) -> None:
        """Cancels `job` if its drainer still runs it (called on the drainer's loop)."""
        task = job.task
        if task is not None:
            task.cancel()

    def _finish(self, job: _Job) -> None:
        with self._lock:
            self._finished.append(job)
            self._free += 1
            wake = not self._delivery_due
            self._delivery_due = True
        if wake:
            # a closed loop: an abandoned call ended after its batch, nobody waits for it
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            self._delivery_due = False
            finished = list(self._finished)
            self._finished.clear()
        for job in finished:
            future = job.future
            if future.done():
                continue
            error = job.error
            if error is None:
                future.set_result(job.value)
            elif isinstance(error, StopIteration):  # a future refuses it; say what it was
                future.set_exception(RuntimeError(f"{type(error).__name__} raised by the tool"))
            else:
                future.set_exception(error)
            job.error = job.value = None


class _InContext:
    """Awaits `coro` with every step of it run in `context` (as a task of its own would)."""

    __slots__ = ("_context", "_coro")

    def __init__(self, context: contextvars.Context, coro: Coroutine[Any, Any, Any]) -> None:
        self._context = context
        self._coro = coro

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, run = self._coro, self._context.run
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                pending = run(coro.send, sent) if thrown is None else run(coro.throw, thrown)
            except StopIteration as stop:
                return stop.value
            sent, thrown = None, None
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                thrown = exc


class _OwnedLoop:
    """A worker thread's event loop, closed when the thread ends (its thread-local dies)."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_running():
            self.loop.close()


class _WorkerLoops(threading.local):
    owned: _OwnedLoop | None = None


_worker_loops = _WorkerLoops()


def worker_loop() -> asyncio.AbstractEventLoop:
    """This worker thread's event loop: made once per thread, not once per call (a loop costs
    a selector and a socket pair, more than the call itself)."""
    owned = _worker_loops.owned
    if owned is None or owned.loop.is_closed():
        owned = _worker_loops.owned = _OwnedLoop()
    return owned.loop
