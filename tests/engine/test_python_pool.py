"""Python tools run in a pool of child processes: a hostile call is killed, its neighbours finish.

Each hostile tool (tests/support/hostile_tools.py) would hold the interpreter, spin or eat memory
for far longer than its timeout; the tests assert what came back and that the child that ran it
is gone, never how long anything took.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import socket

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    PythonImplementation,
    ToolFailure,
    execute_batch,
    execute_batch_sync,
)
from tools_app.engine.process_pool import PythonProcessPool

from .support import FunctionImpl, call, echo_spec

DEMO = "tools_app.demo_tools"
HOSTILE = "tests.support.hostile_tools"
ALLOWED = (DEMO, HOSTILE)


@pytest.fixture(scope="module")
def pool():
    pool = PythonProcessPool(workers=2, memory_mb=256)
    yield pool
    pool.close()


def tool(pool, target: str, name: str, timeout_s: float = 30.0):
    implementation = PythonImplementation.from_config(
        {"callable": target}, allowed_modules=ALLOWED, pool=pool
    )
    return echo_spec(name, implementation=implementation, timeout_s=timeout_s)


def healthy_batch(pool):
    calc = tool(pool, f"{DEMO}:calculate", "calc")
    calls = [call(f"ok{i}", "calc", {"expression": f"{i} * 7"}) for i in range(4)]
    return calls, [calc]


def exits(pid: int) -> bool:
    """Whether the process ends (now or within a while; a killed one ends at once)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], 20)
    finally:
        os.close(handle)
    return bool(readable)


def worker_pid(result) -> int:
    assert result.worker.startswith("python-")
    return int(result.worker.removeprefix("python-"))


@pytest.mark.parametrize(
    ("target", "arguments"),
    [
        (f"{HOSTILE}:hold_the_interpreter", {}),  # one C call of ~30 s: 7 ** 30_000_000
        (f"{HOSTILE}:spin", {}),  # while True: pass
    ],
)
@pytest.mark.parametrize("strategy", ["asyncio", "threads"])
def test_a_call_that_never_ends_is_killed_at_its_timeout(pool, target, arguments, strategy):
    calls, specs = healthy_batch(pool)
    specs.append(tool(pool, target, "hostile", timeout_s=1))
    calls.insert(1, call("bad", "hostile", arguments))
    results = execute_batch_sync(calls, specs, ExecutionOptions(strategy=strategy)).results
    hostile = results.pop(1)
    assert [r.result for r in results] == [0, 7, 14, 21]
    assert hostile.error.code is ErrorCode.TIMEOUT
    assert hostile.error.message == "the call did not finish within 1 s"
    killed = worker_pid(hostile)
    assert exits(killed)
    [after] = execute_batch_sync([call("again", "calc", {"expression": "1 + 1"})], specs).results
    assert after.result == 2
    assert worker_pid(after) != killed


def test_a_memory_bomb_is_an_execution_error_and_its_child_is_replaced(pool):
    calls, specs = healthy_batch(pool)
    specs.append(tool(pool, f"{HOSTILE}:eat_memory", "bomb"))
    calls.insert(2, call("bomb", "bomb", {}))
    results = execute_batch_sync(calls, specs).results
    bomb = results.pop(2)
    assert [r.result for r in results] == [0, 7, 14, 21]
    assert bomb.error.code is ErrorCode.EXECUTION_ERROR
    assert bomb.error.message.startswith("the tool ran out of memory (the limit is 256 MB)")
    assert bomb.error.details == {"memory_limit_mb": 256}
    replaced = worker_pid(bomb)
    assert exits(replaced)
    assert replaced not in pool.pids()


def test_the_engine_kills_the_child_when_fail_fast_cancels_its_call(pool):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    spinning: list[int] = []

    async def fail_once_the_spinner_runs(arguments, context):
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        connection, _ = await loop.sock_accept(listener)
        with connection:
            spinning.append(int(await loop.sock_recv(connection, 32)))
        raise ValueError("a neighbour failed")

    specs = [
        tool(pool, f"{HOSTILE}:spin", "spin", timeout_s=600),
        echo_spec("failing", implementation=FunctionImpl(fail_once_the_spinner_runs)),
    ]
    calls = [call("spin", "spin", {"signal_port": port}), call("failing", "failing")]
    with listener:
        spinner, failing = execute_batch_sync(
            calls, specs, ExecutionOptions(fail_fast=True)
        ).results
    assert failing.error.code is ErrorCode.EXECUTION_ERROR
    assert spinner.error.code is ErrorCode.CANCELLED
    [pid] = spinning
    assert exits(pid)


def test_the_error_model_is_the_same_as_in_process(pool):
    specs = [
        tool(pool, f"{DEMO}:calculate", "calc"),
        tool(pool, f"{HOSTILE}:fail_with", "fail"),
        tool(pool, f"{HOSTILE}:time_out", "slow"),
        tool(pool, f"{HOSTILE}:chatty", "chatty"),
        tool(pool, f"{HOSTILE}:returns_a_set", "set"),
        tool(pool, f"{HOSTILE}:async_double", "double"),
    ]
    calls = [
        call("c1", "calc", {"expression": "1 / 0"}),
        call("c2", "calc", {"expresion": "1"}),
        call("c3", "fail", {"code": "UPSTREAM_ERROR", "message": "bad gateway"}),
        call("c4", "slow", {}),
        call("c5", "chatty", {"word": "hi"}),
        call("c6", "set", {}),
        call("c7", "double", {"n": 21}),
    ]
    zero, typo, upstream, slow, chatty, as_set, double = execute_batch_sync(calls, specs).results
    assert zero.error.to_dict() == {
        "code": "EXECUTION_ERROR",
        "message": "ValueError: division by zero",
        "details": {"exception": "ValueError"},
    }
    assert typo.error.code is ErrorCode.EXECUTION_ERROR
    assert "unexpected keyword argument 'expresion'" in typo.error.message
    assert upstream.error.to_dict() == {
        "code": "UPSTREAM_ERROR",
        "message": "bad gateway",
        "details": {"from": "the tool"},
    }
    assert slow.error.code is ErrorCode.TIMEOUT
    assert slow.error.message == "timed out: TimeoutError: upstream took too long"
    assert chatty.result == "HI"
    assert as_set.result == [1, 2, 3]
    assert double.result == 42


def test_the_child_applies_the_allow_list_itself(pool):
    async def call_directly():
        return await pool.call(f"{HOSTILE}:chatty", allowed_modules=(DEMO,), arguments={})

    with pytest.raises(ToolFailure, match=r"'tests\.support\.hostile_tools' is not in the allowed"):
        asyncio.run(call_directly())


def _run_in_a_daemonic_process(results) -> None:
    # Celery's prefork workers and Daphne's test server are daemonic: multiprocessing refuses
    # to start children there, the pool's subprocesses do not
    assert multiprocessing.current_process().daemon
    pool = PythonProcessPool(workers=1, memory_mb=256)
    try:
        spec = tool(pool, f"{DEMO}:calculate", "calc")
        batch = asyncio.run(execute_batch([call("c1", "calc", {"expression": "6 * 7"})], [spec]))
        results.put(batch.results[0].content)
    finally:
        pool.close()


def test_the_pool_works_inside_a_daemonic_worker_process():
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_run_in_a_daemonic_process, args=(results,), daemon=True)
    process.start()
    content = results.get(timeout=60)
    process.join(timeout=60)
    assert content == '{"success": true, "result": 42}'
    assert process.exitcode == 0
