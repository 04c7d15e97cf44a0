"""Python tools that misbehave, for the tests of the process pool (allow this module to use them).

Each may first tell a test it has started, by connecting to ``127.0.0.1:<signal_port>`` and
sending its process id, so a test can order its steps after "the hostile call is running"
without sleeping.
"""

from __future__ import annotations

import os
import socket

from tools_app.engine import ErrorCode, ToolFailure

# 7 ** 30_000_000 is one C call of about 30 s here, holding the interpreter throughout
LONG_EXPONENT = 30_000_000


def _signal(port: int | None) -> None:
    if port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(str(os.getpid()).encode())


def hold_the_interpreter(exponent: int = LONG_EXPONENT, signal_port: int | None = None) -> int:
    _signal(signal_port)
    return 7**exponent % 10


def spin(signal_port: int | None = None) -> None:
    _signal(signal_port)
    while True:
        pass


def eat_memory(step_mb: int = 64, limit_mb: int = 2048) -> int:
    """Allocate `step_mb` at a time, up to `limit_mb` (only a memory cap stops it earlier)."""
    chunks = []
    for _ in range(limit_mb // step_mb):
        chunks.append(bytearray(step_mb * 1024 * 1024))
    return len(chunks)


def chatty(word: str) -> str:
    print("a tool printing to stdout must not break the pool's protocol")
    return word.upper()


def fail_with(code: str, message: str) -> None:
    raise ToolFailure(ErrorCode(code), message, {"from": "the tool"})


def time_out() -> None:
    raise TimeoutError("upstream took too long")


def returns_a_set() -> set[int]:
    return {3, 1, 2}


async def async_double(n: int) -> int:
    return 2 * n


class NotAFunction:
    """A class in an allowed module: not a tool."""
