"""The child side of the Python tool process pool: ``python -m tools_app.engine.python_child MB``.

``python -m tools_app.engine.python_child MB PARENT_PID``: ends itself when PARENT_PID is gone.
Reads one JSON request per line (``{"target", "allowed", "arguments"}``), imports the callable
with the same `resolve_callable` checks as in-process execution, calls it with the arguments as
keyword arguments (awaiting async functions on a fresh event loop), and writes one JSON reply
per line: ``{"ok": true, "value", "notes"}`` or ``{"ok": false, "failure": {...}}`` with the
error-model code the engine would have given the exception in-process. Its address space is
capped with ``RLIMIT_AS``; a call that runs out of memory is answered ``{"memory": true}`` and
the child exits, so that the pool replaces it.

The protocol uses private copies of stdin and stdout: a tool's ``print`` goes to stderr and its
``input()`` reads an empty stdin. This module must not import Django.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from .calls import json_safe
from .errors import ErrorCode, ToolFailure
from .executor import _classify
from .implementations.python import resolve_callable

MAX_REPLY_BYTES = 16 * 1024 * 1024


def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space; allocations beyond it raise MemoryError."""
    if memory_mb <= 0:
        return
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _failure(failure: ToolFailure) -> dict[str, Any]:
    return {
        "ok": False,
        "failure": {
            "code": failure.code.value,
            "message": failure.message,
            "details": failure.details,
            "retryable": failure.retryable,
            "retry_after": failure.retry_after,
        },
    }


class Child:
    def __init__(self) -> None:
        self._functions: dict[tuple[str, tuple[str, ...]], Callable[..., Any]] = {}

    def function(self, target: str, allowed: tuple[str, ...]) -> Callable[..., Any]:
        key = (target, allowed)
        function = self._functions.get(key)
        if function is None:
            function = self._functions[key] = resolve_callable(target, allowed)
        return function

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            function = self.function(str(request["target"]), tuple(request["allowed"]))
        except ValueError as exc:
            return _failure(
                ToolFailure(ErrorCode.EXECUTION_ERROR, f"the tool's callable cannot be used: {exc}")
            )
        try:
            value = function(**request["arguments"])
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value))
        except ToolFailure as exc:
            return _failure(exc)
        except MemoryError:
            raise
        except Exception as exc:
            return _failure(_classify(exc))
        safe, notes = json_safe(value)
        return {"ok": True, "value": safe, "notes": notes}


def _refusal(message: str) -> bytes:
    return json.dumps(_failure(ToolFailure(ErrorCode.EXECUTION_ERROR, message))).encode()


def _encode(reply: dict[str, Any]) -> bytes:
    try:
        data = json.dumps(reply, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:  # e.g. an int too long to write out
        data = _refusal(f"the result cannot be sent as JSON: {exc}")
    if len(data) > MAX_REPLY_BYTES:
        data = _refusal(f"the result is larger than {MAX_REPLY_BYTES // (1024 * 1024)} MiB")
    return data + b"\n"


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    child = Child()
    for line in requests:
        try:
            reply = child.answer(json.loads(line))
            data = _encode(reply)
        except MemoryError:
            replies.write(b'{"ok":false,"memory":true}\n')
            replies.flush()
            os._exit(3)  # the heap may be in any state: let the pool start a fresh child
        replies.write(data)
        replies.flush()


def exit_with_parent(parent: int, every_s: float = 0.5) -> threading.Thread:
    """End this child when the process that started it is gone, even in the middle of a call
    (an orphaned ``while True`` tool would otherwise run for ever). A thread, not
    PR_SET_PDEATHSIG: that signal follows the parent *thread* that spawned the child, and the
    pool's threads come and go."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    watcher = threading.Thread(target=watch, name="parent-watch", daemon=True)
    watcher.start()
    return watcher


def main(argv: list[str]) -> None:
    # The parent names itself: it may already be gone by the time this line runs.
    exit_with_parent(int(argv[1]) if len(argv) > 1 else os.getppid())
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    limit_memory(int(argv[0]) if argv else 0)
    serve(requests, replies)


if __name__ == "__main__":
    main(sys.argv[1:])
