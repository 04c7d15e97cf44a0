"""Strategies: sequential, threads and asyncio give the same results, in call order."""

from __future__ import annotations

import pytest

from tools_app.engine import (
    STRATEGIES,
    ExecutionOptions,
    MockImplementation,
    execute_batch,
    execute_batch_sync,
    implementation_from_config,
)

from .support import call, echo_spec

DEMO = ("tools_app.demo_tools",)


def mixed_batch():
    calculate = implementation_from_config(
        "python", {"callable": "tools_app.demo_tools:calculate"}, allowed_modules=DEMO
    )
    sleep = implementation_from_config(
        "python", {"callable": "tools_app.demo_tools:sleep"}, allowed_modules=DEMO
    )
    specs = [
        echo_spec("calc", {"type": "object", "required": ["expression"]}, implementation=calculate),
        echo_spec("nap", implementation=sleep),
        echo_spec(
            "weather",
            {"type": "object", "properties": {"city": {"type": "string"}}},
            implementation=MockImplementation(
                {"city": "{{ city }}", "temp": 20}, latency_ms=[1, 3]
            ),
        ),
    ]
    calls = [
        call("c0", "weather", {"city": "Oslo"}),
        call("c1", "calc", {"expression": "2 ** 8"}),
        call("c2", "calc", {"expression": "1/0"}),
        call("c3", "calc", {}),
        call("c4", "nope", {}),
        call("c5", "weather", "{not json"),
        call("c6", "nap", {"ms": 2}),
        call("c7", "calc", {"expression": "$ref:c8#/city"}),
        call("c8", "weather", {"city": "3 * 3"}),
        call("c9", "weather", {"city": 5}),
    ]
    return calls, specs


def outcome(batch):
    return [
        (r.call_id, r.status, r.result, r.error, r.content, r.attempts, r.parsed_arguments)
        for r in batch.results
    ]


def test_all_strategies_agree_on_every_result():
    calls, specs = mixed_batch()
    outcomes = {
        s: outcome(execute_batch_sync(calls, specs, ExecutionOptions(strategy=s)))
        for s in STRATEGIES
    }
    assert outcomes["sequential"] == outcomes["threads"] == outcomes["asyncio"]
    statuses = [status for _, status, *_ in outcomes["asyncio"]]
    assert statuses == ["ok", "ok", "error", "error", "error", "error", "ok", "ok", "ok", "error"]
    assert [call_id for call_id, *_ in outcomes["asyncio"]] == [f"c{i}" for i in range(10)]
    assert outcomes["asyncio"][7][2] == 9  # the calculation of the referenced city


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("max_concurrency", [None, 1, 3])
def test_results_are_in_call_order_whatever_finishes_first(strategy, max_concurrency):
    latencies = [9, 1, 5, 0, 3, 7]
    specs = [
        echo_spec(f"t{i}", implementation=MockImplementation({"i": i}, latency_ms=ms))
        for i, ms in enumerate(latencies)
    ]
    calls = [call(f"c{i}", f"t{i}") for i in range(len(latencies))]
    batch = execute_batch_sync(
        calls, specs, ExecutionOptions(strategy=strategy, max_concurrency=max_concurrency)
    )
    assert [r.result["i"] for r in batch.results] == list(range(len(latencies)))
    assert batch.strategy == strategy


def test_workers_show_where_the_work_ran():
    calls, specs = mixed_batch()
    threads = execute_batch_sync(calls[:2], specs, ExecutionOptions(strategy="threads")).results
    assert threads[0].worker.startswith("fcstudio-threads_")  # mock in a worker thread
    assert threads[1].worker.startswith("python-")  # python tool in a child process
    on_loop = execute_batch_sync(calls[:2], specs, ExecutionOptions(strategy="asyncio")).results
    assert on_loop[0].worker == "event-loop"  # async mock awaited on the loop
    assert on_loop[1].worker.startswith("python-")


def test_unknown_strategy_and_bad_limits_are_refused():
    with pytest.raises(ValueError, match="unknown strategy 'greenlets'"):
        execute_batch_sync([], [], ExecutionOptions(strategy="greenlets"))
    with pytest.raises(ValueError, match="max_concurrency"):
        execute_batch_sync([], [], ExecutionOptions(max_concurrency=0))


def test_an_empty_batch():
    batch = execute_batch_sync([], [])
    assert batch.results == [] and batch.sum_call_s == 0


@pytest.mark.asyncio
async def test_the_sync_wrapper_works_inside_a_running_loop():
    batch = execute_batch_sync([call("c1")], [echo_spec()])
    assert batch.results[0].ok
    batch = await execute_batch([call("c1")], [echo_spec()])
    assert batch.results[0].ok


def test_specs_may_be_given_as_a_mapping():
    batch = execute_batch_sync([call("c1", "alias")], {"alias": echo_spec("echo")})
    assert batch.results[0].ok


def test_an_external_pool_is_reused_and_left_open():
    import concurrent.futures

    calls, specs = mixed_batch()
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="shared") as pool:
        for _ in range(2):
            batch = execute_batch_sync(
                calls[:2], specs, ExecutionOptions(strategy="threads", executor=pool)
            )
            mock, python = batch.results
            assert mock.worker.startswith("shared_")
            assert python.worker.startswith("python-")  # python tools run in child processes
