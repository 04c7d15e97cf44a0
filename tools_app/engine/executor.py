"""Running a batch of tool calls: `execute_batch` and its sync wrapper.

Owns the life of each call — tool lookup, argument parsing, ``$ref`` dependencies, schema
validation, the guard, approval, limits, timeout, retries — and the batch around them: the
strategy, ``max_concurrency``, ``fail_fast``, the event stream and the results in call order.
Every call gets exactly one `CallResult`; a failing call never sinks the batch.

Strategies decide where an implementation's work runs:

* ``asyncio`` (default): every call is a task on the running loop; async implementations are
  awaited there, blocking code (``context.run_sync``) goes to a bounded thread pool.
* ``threads``: every invocation runs in a worker of a bounded ThreadPoolExecutor (async
  implementations on a private event loop of that worker).
* ``sequential``: one call after another, in call order (dependencies first).

Timeouts really cancel async work: the coroutine sees ``CancelledError`` and its ``finally``
blocks run (also under ``threads``, through its worker's loop). Blocking code in a thread cannot
be killed: such a call is reported ``TIMEOUT`` and its thread is abandoned; it keeps its pool slot
until the function returns, and interpreter exit waits for it, so sync tools should bound their
own work.

Order of a call: tool lookup and argument parsing (all calls, before anything runs), ``$ref``
dependencies, schema validation, the tool's argument guards (``spec.guards``), the guard hook,
approval, then per attempt the tool's limiter permit
and a batch slot (``max_concurrency``), the timeout and the invocation. Waiting for a dependency,
an approval or a rate-limit token holds no batch slot. Sync approvers run in the batch's thread
pool. Without a `limiter` each batch gets a fresh `InMemoryLimiter`, so per-tool limits hold
within the batch; pass one shared limiter (per event loop) to limit across batches.

This module must not import Django.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import difflib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from . import untrusted
from .arguments import (
    REF_PREFIX,
    Reference,
    find_references,
    parse_arguments,
    resolve_pointer,
    split_pointer,
    substitute,
)
from .calls import BatchResult, CallResult, ToolCall, ToolSpec, json_safe
from .errors import ErrorCode, RateLimitExceeded, ToolError, ToolFailure
from .events import EventKind, EventStream
from .guards import GuardSet
from .implementations.base import CallContext
from .limits import InMemoryLimiter, Permit
from .options import DEFAULT_OPTIONS, ExecutionOptions
from .retry import RetryPolicy
from .validation import check_arguments, default_cache
from .workers import BatchWorkers

logger = logging.getLogger("fcstudio.engine")

DEFAULT_MAX_WORKERS = 256
MAX_LISTED_TOOLS = 100


async def execute_batch(
    calls: Sequence[ToolCall],
    specs: Mapping[str, ToolSpec] | Iterable[ToolSpec],
    options: ExecutionOptions = DEFAULT_OPTIONS,
) -> BatchResult:
    """Run `calls` against `specs` as `options` say; one result per call, in the calls' order."""
    return await _Batch(list(calls), _spec_map(specs), options).run()


def execute_batch_sync(
    calls: Sequence[ToolCall],
    specs: Mapping[str, ToolSpec] | Iterable[ToolSpec],
    options: ExecutionOptions = DEFAULT_OPTIONS,
) -> BatchResult:
    """`execute_batch` for sync code (management commands, Celery tasks, sync views).

    Called from a thread that already runs an event loop, the batch runs on a fresh loop in a
    helper thread rather than failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(execute_batch(calls, specs, options))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fcstudio-batch") as pool:
        return pool.submit(asyncio.run, execute_batch(calls, specs, options)).result()


def _spec_map(specs: Mapping[str, ToolSpec] | Iterable[ToolSpec]) -> dict[str, ToolSpec]:
    if isinstance(specs, Mapping):
        return dict(specs)
    return {spec.name: spec for spec in specs}


@dataclass
class _Prepared:
    """What is known about a call before anything runs."""

    call: ToolCall
    spec: ToolSpec | None = None
    arguments: dict[str, Any] | None = None
    references: list[Reference] = field(default_factory=list)
    depends_on: list[int] = field(default_factory=list)
    error: ToolError | None = None


class _Unlimited:
    async def release(self) -> None:
        return None


_NOTHING_HELD: Permit = _Unlimited()


class _Batch:
    def __init__(
        self, calls: list[ToolCall], specs: dict[str, ToolSpec], options: ExecutionOptions
    ) -> None:
        self.calls = calls
        self.specs = specs
        self.options = options
        self.strategy = options.strategy
        self.fail_fast = options.fail_fast
        self.approver = options.approver
        self.guard = options.guard
        # A batch's own limiter only holds what specs ask for: calls of unlimited tools skip it.
        self._own_limiter = options.limiter is None
        self.limiter = options.limiter if options.limiter is not None else InMemoryLimiter()
        self.retry_policy = options.retry_policy or RetryPolicy()
        self.validator_cache = options.validator_cache or default_cache
        self.results: list[CallResult | None] = [None] * len(calls)
        self.aborted_by: str | None = None
        self._pool = options.executor
        self._own_pool = options.executor is None
        self._pool_size = options.max_workers or max(
            1, min(len(calls), options.max_concurrency or DEFAULT_MAX_WORKERS)
        )
        self._pool_lock = threading.Lock()
        self._batch_workers: BatchWorkers | None = None
        max_concurrency = options.max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._done: list[asyncio.Future[CallResult]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._positions: dict[str, list[int]] = {}
        self._validators: dict[int, Any] = {}  # per batch: no cache-key hashing per call

    # --- the batch ----------------------------------------------------------------------

    async def run(self) -> BatchResult:
        loop = asyncio.get_running_loop()
        wall0 = datetime.now(UTC)
        t0 = time.perf_counter()
        self.events = EventStream(
            self.options.on_event, t0=t0, wall0=wall0, clock=time.perf_counter
        )
        self._done = [loop.create_future() for _ in self.calls]
        try:
            self.events.emit(
                EventKind.BATCH_STARTED,
                None,
                {
                    "strategy": self.strategy,
                    "calls": len(self.calls),
                    "max_concurrency": self.options.max_concurrency,
                    "fail_fast": self.fail_fast,
                },
                t=0.0,
            )
            prepared = self._prepare_all()
            queued_at = self.events.now()
            if self.events.active:
                for index, call in enumerate(self.calls):
                    self.events.emit(
                        EventKind.CALL_QUEUED,
                        call.id,
                        {"name": call.name, "index": index},
                        t=queued_at,
                    )
            if self.strategy == "sequential":
                await self._run_sequentially(prepared, queued_at)
            else:
                self._tasks = [
                    loop.create_task(self._call_task(index, item, queued_at))
                    for index, item in enumerate(prepared)
                ]
                outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
                for index, outcome in enumerate(outcomes):
                    # a task cancelled by fail_fast before it ever ran never reached its handler
                    if self.results[index] is None and isinstance(outcome, BaseException):
                        self._record(index, self._unfinished(prepared[index], queued_at, outcome))
            wall_s = self.events.now()
            finished = datetime.now(UTC)
            results = [result for result in self.results if result is not None]
            assert len(results) == len(self.calls), "every call must have exactly one result"
            sum_call_s = sum(result.duration_s for result in results)
            self.events.emit(
                EventKind.BATCH_FINISHED,
                None,
                {
                    "wall_s": wall_s,
                    "sum_call_s": sum_call_s,
                    "ok": sum(1 for result in results if result.ok),
                    "errors": sum(1 for result in results if not result.ok),
                },
                t=wall_s,
            )
            await self.events.drain()
        except BaseException:
            for task in self._tasks:
                task.cancel()
            self.events.cancel()
            raise
        finally:
            if self._own_pool and self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        return BatchResult(
            results=results,
            started_at=wall0,
            finished_at=finished,
            wall_s=wall_s,
            sum_call_s=sum_call_s,
            speedup=sum_call_s / wall_s if wall_s > 0 else 0.0,
            strategy=self.strategy,
        )

    async def _run_sequentially(self, prepared: list[_Prepared], queued_at: float) -> None:
        for index in _dependency_order(prepared):
            if self.aborted_by is not None:
                self._record(index, self._cancelled(prepared[index], queued_at))
                continue
            await self._call_task(index, prepared[index], queued_at)

    async def _call_task(self, index: int, item: _Prepared, queued_at: float) -> None:
        try:
            result = await self._process(index, item, queued_at)
        except asyncio.CancelledError:
            if self.aborted_by is None:
                raise
            result = self._cancelled(item, queued_at)
        except Exception as exc:  # a bug of ours must still give the model one result
            logger.exception("engine failure on call %s", item.call.id)
            result = self._failed(
                item,
                queued_at,
                ToolError(
                    ErrorCode.EXECUTION_ERROR, f"internal engine error: {type(exc).__name__}"
                ),
            )
        self._record(index, result)

    def _record(self, index: int, result: CallResult) -> None:
        # Every result passes here: the one place a tool's error text (str(exc) of whatever it
        # raised) is made storable and sendable. Successful values were cleaned by json_safe.
        error = result.error
        if error is not None and not untrusted.is_clean_json([error.message, error.details]):
            result.error = ToolError(
                error.code,
                untrusted.clean_text(error.message),
                untrusted.clean_json(json_safe(error.details)[0]),
            )
        self.results[index] = result
        future = self._done[index]
        if not future.done():
            future.set_result(result)
        self.events.emit(
            EventKind.CALL_FINISHED,
            result.call_id,
            {
                "name": result.name,
                "status": result.status,
                "attempts": result.attempts,
                "duration_s": result.duration_s,
                "worker": result.worker,
                "error": result.error.to_dict() if result.error else None,
                "content": result.content,
            }
            if self.events.active
            else None,
            t=result.finished_at,
        )
        if result.error is not None and self.fail_fast and self.aborted_by is None:
            self.aborted_by = result.call_id
            for task in self._tasks:
                if not task.done() and task is not asyncio.current_task():
                    task.cancel()

    # --- before anything runs -----------------------------------------------------------

    def _prepare_all(self) -> list[_Prepared]:
        prepared = [self._prepare(call) for call in self.calls]
        positions = self._positions
        for index, call in enumerate(self.calls):
            positions.setdefault(call.id, []).append(index)
        for index, item in enumerate(prepared):
            if item.error is None and item.references:
                item.error = self._link(index, item, positions)
        linked = any(item.depends_on for item in prepared)
        for cycle in _cycles(prepared) if linked else []:
            ids = [prepared[i].call.id for i in cycle]
            path = " → ".join([*ids, ids[0]])
            for i in cycle:
                prepared[i].error = ToolError(
                    ErrorCode.VALIDATION_ERROR,
                    f"circular dependency between calls: {path}",
                    {"cycle": ids},
                )
        return prepared

    def _prepare(self, call: ToolCall) -> _Prepared:
        item = _Prepared(call)
        spec = self.specs.get(call.name) if isinstance(call.name, str) else None
        if spec is None:
            item.error = self._not_found(call.name)
            return item
        item.spec = spec
        arguments, error = parse_arguments(call.arguments)
        if error is not None:
            item.error = error
            return item
        item.arguments = arguments
        raw = call.arguments
        # cheap pre-check; "\u" because JSON may spell "$ref:" with escapes
        if not isinstance(raw, str) or REF_PREFIX in raw or "\\u" in raw:
            item.references = find_references(arguments)
        return item

    def _not_found(self, name: Any) -> ToolError:
        names = sorted(self.specs)
        closest = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        details: dict[str, Any] = {
            "available": names[:MAX_LISTED_TOOLS],
            "closest": closest[0] if closest else None,
        }
        if len(names) > MAX_LISTED_TOOLS:
            details["more_available"] = len(names) - MAX_LISTED_TOOLS
        return ToolError(ErrorCode.FUNCTION_NOT_FOUND, f"no tool named {name!r}{hint}", details)

    def _link(
        self, index: int, item: _Prepared, positions: dict[str, list[int]]
    ) -> ToolError | None:
        depends_on: set[int] = set()
        for ref in item.references:
            where = ref.location_pointer or "(root)"
            targets = positions.get(ref.call_id, [])
            problem = None
            if not targets:
                problem = f"refers to unknown call {ref.call_id!r}"
            elif len(targets) > 1:
                problem = f"refers to call id {ref.call_id!r}, which appears more than once"
            elif targets[0] == index:
                problem = f"refers to its own call {ref.call_id!r} (circular dependency)"
            else:
                try:
                    split_pointer(ref.pointer)
                except ValueError as exc:
                    problem = str(exc)
            if problem is not None:
                return ToolError(
                    ErrorCode.VALIDATION_ERROR,
                    f"argument {where} {problem}",
                    {"errors": [{"pointer": ref.location_pointer, "message": problem}]},
                )
            depends_on.add(targets[0])
        item.depends_on = sorted(depends_on)
        return None

    # --- one call -----------------------------------------------------------------------

    async def _process(self, index: int, item: _Prepared, queued_at: float) -> CallResult:
        if item.error is not None:
            return self._failed(item, queued_at, item.error, arguments=item.arguments)
        spec = item.spec
        arguments = item.arguments
        assert spec is not None and arguments is not None
        if item.depends_on:
            arguments, error = await self._resolve_dependencies(item, arguments)
            if error is not None:
                return self._failed(item, queued_at, error, arguments=arguments)
        # Validation runs on the event loop, outside the call's timeout: asyncio.timeout cannot
        # interrupt synchronous work anyway, and a thread per validation would cost more than
        # the whole per-call budget. It is safe because it is bounded: patterns are matched by
        # RE2 in linear time (patterns.py), so the cost grows with argument and schema size only.
        error = self._validate(spec, arguments)
        if error is None and spec.guards is not None:
            error = self._check_spec_guards(item.call, spec.guards, arguments)
        if error is None and self.guard is not None:
            error = await self._check_guard(item.call, spec, arguments)
        if error is None and spec.requires_approval:
            error = await self._ask_approval(item.call, spec, arguments)
        if error is not None:
            return self._failed(item, queued_at, error, arguments=arguments)
        return await self._execute(item, spec, arguments, queued_at)

    async def _resolve_dependencies(
        self, item: _Prepared, arguments: dict[str, Any]
    ) -> tuple[dict[str, Any], ToolError | None]:
        pending = [self._done[i] for i in item.depends_on if not self._done[i].done()]
        if pending:
            # asyncio.wait, not await: cancelling this call must not cancel the dependency.
            await asyncio.wait(pending)
        replacements: dict[tuple[str | int, ...], Any] = {}
        for ref in item.references:
            dependency = self._done[self._positions[ref.call_id][0]].result()
            where = ref.location_pointer or "(root)"
            if dependency.error is not None:
                return arguments, ToolError(
                    ErrorCode.VALIDATION_ERROR,
                    f"argument {where} depends on call {ref.call_id!r}, which failed with "
                    f"{dependency.error.code.value}",
                    {"dependency": ref.call_id, "dependency_code": dependency.error.code.value},
                )
            try:
                value = resolve_pointer(dependency.result, ref.pointer)
            except LookupError as exc:
                return arguments, ToolError(
                    ErrorCode.VALIDATION_ERROR,
                    f"argument {where}: pointer {ref.pointer!r} selects nothing in the result "
                    f"of call {ref.call_id!r} ({exc})",
                    {"dependency": ref.call_id, "pointer": ref.pointer},
                )
            replacements[ref.location] = copy.deepcopy(value)
        substituted = substitute(arguments, replacements)
        if not isinstance(substituted, dict):
            return arguments, ToolError(
                ErrorCode.VALIDATION_ERROR, "arguments must be a JSON object after substitution"
            )
        return substituted, None

    def _validate(self, spec: ToolSpec, arguments: dict[str, Any]) -> ToolError | None:
        entry = self._validators.get(id(spec))
        if entry is None:
            entry = self._validators[id(spec)] = self.validator_cache.get(spec)
        return check_arguments(entry, arguments)

    def _check_spec_guards(
        self, call: ToolCall, guards: GuardSet, arguments: dict[str, Any]
    ) -> ToolError | None:
        try:
            violation = guards.check(arguments)
        except Exception as exc:  # a broken guard fails closed
            logger.exception("argument guards failed on call %s", call.id)
            return ToolError(
                ErrorCode.DENIED,
                f"refused: the argument guards failed ({type(exc).__name__})",
                {"guard": "error"},
            )
        return None if violation is None else violation.to_error()

    async def _check_guard(
        self, call: ToolCall, spec: ToolSpec, arguments: dict[str, Any]
    ) -> ToolError | None:
        assert self.guard is not None
        try:
            reason = self.guard(call, spec, arguments)
            if inspect.isawaitable(reason):
                reason = await reason
        except Exception as exc:  # a broken guard fails closed
            logger.exception("guard failed on call %s", call.id)
            return ToolError(
                ErrorCode.DENIED,
                f"refused: the guard failed ({type(exc).__name__})",
                {"guard": "error"},
            )
        if reason is None:
            return None
        return ToolError(ErrorCode.DENIED, f"refused by guard: {reason}", {"reason": str(reason)})

    async def _ask_approval(
        self, call: ToolCall, spec: ToolSpec, arguments: dict[str, Any]
    ) -> ToolError | None:
        if self.approver is None:
            return ToolError(
                ErrorCode.DENIED,
                f"tool {spec.name!r} requires approval and nobody is there to approve it",
                {"reason": "no approver"},
            )
        self.events.emit(
            EventKind.CALL_AWAITING_APPROVAL, call.id, {"name": spec.name, "arguments": arguments}
        )
        try:
            if inspect.iscoroutinefunction(self.approver):
                decision = await self.approver(call, spec)
            else:
                # the batch's pool, not the loop's default one: asyncio.run() would wait for an
                # abandoned approval at shutdown
                decision = await asyncio.get_running_loop().run_in_executor(
                    self._pool_executor(), self.approver, call, spec
                )
                if inspect.isawaitable(decision):
                    decision = await decision
        except Exception as exc:
            logger.exception("approver failed on call %s", call.id)
            self.events.emit(EventKind.CALL_APPROVAL_DECIDED, call.id, {"approved": False})
            return ToolError(
                ErrorCode.DENIED,
                f"not approved: the approver failed ({type(exc).__name__})",
                {"reason": "approver error"},
            )
        # The wait ends here: it is a person's time, not the tool's (shown apart on a chart).
        self.events.emit(EventKind.CALL_APPROVAL_DECIDED, call.id, {"approved": decision is True})
        if decision is True:
            return None
        return ToolError(ErrorCode.DENIED, "the call was not approved", {"reason": "not approved"})

    async def _execute(
        self, item: _Prepared, spec: ToolSpec, arguments: dict[str, Any], queued_at: float
    ) -> CallResult:
        call = item.call
        loop = asyncio.get_running_loop()
        first_start: float | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                permit = (
                    _NOTHING_HELD
                    if self._own_limiter
                    and spec.concurrency_limit is None
                    and spec.rate_limit_per_s is None
                    else await self.limiter.acquire(spec.name, spec)
                )
            except RateLimitExceeded as exc:
                error = ToolError(
                    ErrorCode.RATE_LIMITED,
                    str(exc),
                    {
                        "rate_limit_per_s": exc.rate_per_s,
                        "retry_after_s": round(exc.retry_after, 3),
                    },
                )
                return self._failed(item, queued_at, error, arguments, attempt - 1, first_start)
            context = CallContext(call.id, spec.name, attempt)
            failure: ToolFailure | None = None
            slots = self._slots
            try:
                if slots is not None:
                    await slots.acquire()
                try:
                    started = self.events.now()
                    if first_start is None:
                        first_start = started
                    if self.events.active:
                        self.events.emit(
                            EventKind.CALL_STARTED,
                            call.id,
                            {"name": spec.name, "attempt": attempt},
                            t=started,
                        )
                    deadline: asyncio.Timeout | None = None
                    try:
                        if self.strategy == "threads":
                            async with asyncio.timeout(spec.timeout_s) as deadline:
                                value = await self._invoke_in_thread(spec, arguments, context)
                        else:
                            # The first step runs eagerly: a call that finishes without ever
                            # suspending needs no timer, and one that suspends gets the rest
                            # of its time budget (synchronous work cannot be interrupted).
                            ends_at = loop.time() + spec.timeout_s
                            context.run_sync = partial(self._run_sync, context)
                            coro = spec.implementation.invoke(arguments, context)
                            try:
                                pending = coro.send(None)
                            except StopIteration as stop:
                                value = stop.value
                            else:
                                async with asyncio.timeout_at(ends_at) as deadline:
                                    value = await _Resume(coro, pending)
                    except TimeoutError as exc:
                        if deadline is not None and deadline.expired():
                            failure = ToolFailure(
                                ErrorCode.TIMEOUT,
                                f"the call did not finish within {spec.timeout_s:g} s",
                                {"timeout_s": spec.timeout_s},
                                retryable=True,
                            )
                        else:
                            failure = _classify(exc)
                    except ToolFailure as exc:
                        failure = exc
                    except Exception as exc:
                        failure = _classify(exc)
                finally:
                    if slots is not None:
                        slots.release()
            finally:
                await permit.release()
            if failure is None:
                return self._succeeded(
                    item, spec, queued_at, value, arguments, attempt, first_start, context
                )
            if failure.retryable and attempt <= spec.retries:
                delay = self.retry_policy.delay(attempt, failure.retry_after)
                if delay is not None:
                    self.events.emit(
                        EventKind.CALL_RETRYING,
                        call.id,
                        {
                            "name": spec.name,
                            "attempt": attempt + 1,
                            "delay_s": delay,
                            "error": {
                                "code": failure.code.value,
                                "message": untrusted.clean_text(failure.message),
                            },
                        },
                    )
                    await asyncio.sleep(delay)
                    continue
            return self._failed(
                item, queued_at, failure.to_error(), arguments, attempt, first_start, context.worker
            )

    def _pool_executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self._pool_size, thread_name_prefix=f"fcstudio-{self.strategy}"
                    )
        return self._pool

    def _workers(self) -> BatchWorkers:
        if self._batch_workers is None:
            self._batch_workers = BatchWorkers(
                asyncio.get_running_loop(),
                self._pool_executor,
                # an outside pool bounds its threads itself
                self._pool_size if self._own_pool else max(1, len(self.calls)),
                invocations=self.strategy == "threads",
            )
        return self._batch_workers

    async def _run_sync(
        self, context: CallContext, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Any:
        return await self._workers().run_sync(context, function, *args, **kwargs)

    async def _invoke_in_thread(
        self, spec: ToolSpec, arguments: dict[str, Any], context: CallContext
    ) -> Any:
        context.run_sync = _inline
        return await self._workers().invoke(spec, arguments, context)

    # --- results ------------------------------------------------------------------------

    def _succeeded(
        self,
        item: _Prepared,
        spec: ToolSpec,
        queued_at: float,
        value: Any,
        arguments: dict[str, Any],
        attempts: int,
        started_at: float | None,
        context: CallContext,
    ) -> CallResult:
        safe: Any
        notes: list[str]
        if spec.raw_result and isinstance(value, str):
            safe, notes = untrusted.clean_text(value), []
        else:
            safe, notes = json_safe(value)
        return CallResult(
            call_id=item.call.id,
            name=item.call.name,
            status="ok",
            result=safe,
            attempts=attempts,
            queued_at=queued_at,
            started_at=started_at,
            finished_at=self.events.now(),
            parsed_arguments=arguments,
            worker=context.worker or self._default_worker(),
            raw_result=spec.raw_result,
            notes=notes,
        )

    def _default_worker(self) -> str:
        return "event-loop"

    def _failed(
        self,
        item: _Prepared,
        queued_at: float,
        error: ToolError,
        arguments: dict[str, Any] | None = None,
        attempts: int = 0,
        started_at: float | None = None,
        worker: str | None = None,
    ) -> CallResult:
        return CallResult(
            call_id=item.call.id,
            name=item.call.name,
            status="error",
            error=error,
            attempts=attempts,
            queued_at=queued_at,
            started_at=started_at,
            finished_at=self.events.now(),
            parsed_arguments=arguments,
            worker=worker if worker else (self._default_worker() if attempts else None),
        )

    def _unfinished(self, item: _Prepared, queued_at: float, outcome: BaseException) -> CallResult:
        if isinstance(outcome, asyncio.CancelledError) and self.aborted_by is not None:
            return self._cancelled(item, queued_at)
        logger.error("call %s ended without a result: %r", item.call.id, outcome)
        error = ToolError(
            ErrorCode.EXECUTION_ERROR, f"internal engine error: {type(outcome).__name__}"
        )
        return self._failed(item, queued_at, error, arguments=item.arguments)

    def _cancelled(self, item: _Prepared, queued_at: float) -> CallResult:
        error = ToolError(
            ErrorCode.CANCELLED,
            f"cancelled because call {self.aborted_by!r} failed (fail_fast)",
            {"after": self.aborted_by},
        )
        return self._failed(item, queued_at, error, arguments=item.arguments)


async def _inline(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class _Resume:
    """Awaits the rest of a coroutine whose first step already ran and yielded `pending`.

    The same delegation as ``yield from``, only entered after the first step: values sent in
    and exceptions thrown in (cancellation) go to the coroutine, its yields go to the task.
    """

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        self._pending = None
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                pending = coro.send(sent)
            except StopIteration as stop:
                return stop.value


def _classify(exc: BaseException) -> ToolFailure:
    """The error-model code for an exception an implementation let escape."""
    if isinstance(exc, TimeoutError):
        return ToolFailure(ErrorCode.TIMEOUT, f"timed out: {_describe(exc)}", retryable=True)
    if isinstance(exc, ConnectionError):
        return ToolFailure(
            ErrorCode.UPSTREAM_ERROR, f"connection failed: {_describe(exc)}", retryable=True
        )
    return ToolFailure(
        ErrorCode.EXECUTION_ERROR,
        _describe(exc),
        {"exception": type(exc).__name__},
    )


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = ""
    name = type(exc).__name__
    text = text if len(text) <= 500 else text[:499] + "…"
    return f"{name}: {text}" if text else name


def _dependency_order(prepared: list[_Prepared]) -> list[int]:
    """Call order, except that a call comes after the calls it depends on."""
    order: list[int] = []
    placed: set[int] = set()
    visiting: set[int] = set()

    def place(index: int) -> None:
        stack = [(index, iter(prepared[index].depends_on))]
        visiting.add(index)
        while stack:
            node, pending = stack[-1]
            for dep in pending:
                if dep not in placed and dep not in visiting:
                    visiting.add(dep)
                    stack.append((dep, iter(prepared[dep].depends_on)))
                    break
            else:
                stack.pop()
                visiting.discard(node)
                placed.add(node)
                order.append(node)

    for index in range(len(prepared)):
        if index not in placed:
            place(index)
    return order


def _cycles(prepared: list[_Prepared]) -> list[list[int]]:
    """Strongly connected components with more than one call (Tarjan, iterative)."""
    counter = 0
    indexes: dict[int, int] = {}
    lowlink: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[list[int]] = []
    for root in range(len(prepared)):
        if root in indexes:
            continue
        work = [(root, iter(prepared[root].depends_on))]
        indexes[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for dep in edges:
                if dep not in indexes:
                    indexes[dep] = lowlink[dep] = counter
                    counter += 1
                    stack.append(dep)
                    on_stack.add(dep)
                    work.append((dep, iter(prepared[dep].depends_on)))
                    advanced = True
                    break
                if dep in on_stack:
                    lowlink[node] = min(lowlink[node], indexes[dep])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == indexes[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
