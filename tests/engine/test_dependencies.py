"""``$ref`` dependencies between calls of a batch: chains, fan-in, pointers, cycles, failures."""

from __future__ import annotations

import asyncio

import pytest

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch, execute_batch_sync

from .support import FunctionImpl, Recorder, call, echo_spec


def adder() -> FunctionImpl:
    async def add(arguments, context):
        value = sum(arguments.get("terms", [])) + arguments.get("a", 0) + 1
        return {"value": value, "tag": ["x", "y"]}

    return FunctionImpl(add)


ADD_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"type": "integer"},
        "terms": {"type": "array", "items": {"type": "integer"}},
    },
    "additionalProperties": False,
}


def add_spec(impl: FunctionImpl | None = None):
    return echo_spec("add", ADD_SCHEMA, implementation=impl or adder())


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_a_chain_runs_in_dependency_order_and_results_stay_in_call_order(strategy):
    calls = [
        call("c3", "add", {"a": "$ref:c2#/value"}),
        call("c2", "add", {"a": "$ref:c1#/value"}),
        call("c1", "add", {"a": 1}),
    ]
    results = execute_batch_sync(calls, [add_spec()], ExecutionOptions(strategy=strategy)).results
    assert [r.call_id for r in results] == ["c3", "c2", "c1"]
    assert [r.result["value"] for r in results] == [4, 3, 2]
    assert results[0].parsed_arguments == {"a": 3}
    assert results[0].started_at >= results[1].finished_at >= results[2].finished_at


def test_fan_in_substitutes_nested_references_and_pointers():
    calls = [
        call("c1", "add", {"a": 1}),
        call("c2", "add", {"a": 10}),
        call("c3", "add", {"terms": ["$ref:c1#/value", "$ref:c2#/value", 100]}),
    ]
    results = execute_batch_sync(calls, [add_spec()]).results
    assert results[2].result["value"] == 114
    assert results[2].parsed_arguments == {"terms": [2, 11, 100]}


def test_a_reference_without_pointer_receives_the_whole_result():
    impl = FunctionImpl(lambda arguments, context: asyncio.sleep(0, result=arguments))
    specs = [add_spec(), echo_spec("show", implementation=impl)]
    results = execute_batch_sync(
        [call("c1", "add", {"a": 1}), call("c2", "show", {"got": {"deep": "$ref:c1"}})], specs
    ).results
    assert results[1].result == {"got": {"deep": {"value": 2, "tag": ["x", "y"]}}}


def test_pointer_tokens_follow_rfc_6901():
    async def result(arguments, context):
        return {"a/b": [{"m~n": "found"}]}

    specs = [echo_spec("src", implementation=FunctionImpl(result)), echo_spec()]
    results = execute_batch_sync(
        [call("c1", "src"), call("c2", "echo", {"x": "$ref:c1#/a~1b/0/m~0n"})], specs
    ).results
    assert results[1].parsed_arguments == {"x": "found"}


def test_substituted_values_are_validated():
    specs = [add_spec(), echo_spec("needs_int", {"properties": {"n": {"type": "integer"}}})]
    results = execute_batch_sync(
        [call("c1", "add", {"a": 1}), call("c2", "needs_int", {"n": "$ref:c1#/tag/0"})], specs
    ).results
    assert results[1].error.code is ErrorCode.VALIDATION_ERROR
    assert results[1].error.details["errors"][0]["pointer"] == "/n"


def test_a_pointer_that_selects_nothing_is_a_validation_error():
    results = execute_batch_sync(
        [call("c1", "add", {"a": 1}), call("c2", "add", {"a": "$ref:c1#/nope"})], [add_spec()]
    ).results
    assert results[1].error.code is ErrorCode.VALIDATION_ERROR
    assert "'/nope' selects nothing" in results[1].error.message
    assert results[1].error.details == {"dependency": "c1", "pointer": "/nope"}


@pytest.mark.parametrize("pointer", ["nope", "/a~2"])
def test_a_malformed_pointer_is_a_validation_error(pointer):
    results = execute_batch_sync(
        [call("c1", "add", {"a": 1}), call("c2", "add", {"a": f"$ref:c1#{pointer}"})], [add_spec()]
    ).results
    assert results[1].error.code is ErrorCode.VALIDATION_ERROR
    assert "pointer" in results[1].error.message


def test_a_cycle_fails_every_call_in_it_with_a_clear_message():
    impl = adder()
    calls = [
        call("c1", "add", {"a": "$ref:c2#/value"}),
        call("c2", "add", {"a": "$ref:c3#/value"}),
        call("c3", "add", {"a": "$ref:c1#/value"}),
        call("c4", "add", {"a": 4}),
    ]
    results = execute_batch_sync(calls, [add_spec(impl)]).results
    for result in results[:3]:
        assert result.error.code is ErrorCode.VALIDATION_ERROR
        assert "circular dependency" in result.error.message
        assert result.error.details["cycle"] == ["c1", "c2", "c3"]
    assert results[3].ok
    assert len(impl.invocations) == 1


def test_a_self_reference_is_a_cycle():
    [result] = execute_batch_sync(
        [call("c1", "add", {"a": "$ref:c1#/value"})], [add_spec()]
    ).results
    assert result.error.code is ErrorCode.VALIDATION_ERROR
    assert "its own call 'c1'" in result.error.message
    assert result.error.details["errors"][0]["pointer"] == "/a"


def test_an_unknown_id_is_a_validation_error():
    [result] = execute_batch_sync([call("c1", "add", {"a": "$ref:c9"})], [add_spec()]).results
    assert result.error.code is ErrorCode.VALIDATION_ERROR
    assert "unknown call 'c9'" in result.error.message


def test_a_failed_dependency_fails_the_dependent_without_running_it():
    impl = adder()
    calls = [call("c1", "add", {"a": "not a number"}), call("c2", "add", {"a": "$ref:c1#/value"})]
    results = execute_batch_sync(calls, [add_spec(impl)]).results
    assert results[1].error.code is ErrorCode.VALIDATION_ERROR
    assert results[1].error.details == {"dependency": "c1", "dependency_code": "VALIDATION_ERROR"}
    assert "depends on call 'c1', which failed" in results[1].error.message
    assert impl.invocations == []
    assert results[1].started_at is None


def test_a_call_depending_on_a_cycle_fails_through_its_dependency():
    calls = [
        call("c1", "add", {"a": "$ref:c2#/value"}),
        call("c2", "add", {"a": "$ref:c1#/value"}),
        call("c3", "add", {"a": "$ref:c1#/value"}),
    ]
    results = execute_batch_sync(calls, [add_spec()]).results
    assert results[2].error.details == {"dependency": "c1", "dependency_code": "VALIDATION_ERROR"}


@pytest.mark.asyncio
async def test_independent_calls_do_not_wait_for_dependencies():
    independent_done = asyncio.Event()

    async def slow_source(arguments, context):
        # finishes only once the independent call has finished: if the engine held independent
        # calls back behind this one, the wait would time out and the call would fail
        await asyncio.wait_for(independent_done.wait(), 5)
        return {"value": 1}

    async def quick(arguments, context):
        independent_done.set()
        return "quick"

    specs = [
        echo_spec("source", implementation=FunctionImpl(slow_source)),
        add_spec(),
        echo_spec("quick", implementation=FunctionImpl(quick)),
    ]
    recorder = Recorder()
    batch = await execute_batch(
        [
            call("c1", "source"),
            call("c2", "add", {"a": "$ref:c1#/value"}),
            call("c3", "quick"),
        ],
        specs,
        ExecutionOptions(on_event=recorder),
    )
    assert [r.status for r in batch.results] == ["ok", "ok", "ok"]
    finished = [e.call_id for e in recorder.of("call_finished")]
    assert finished == ["c3", "c1", "c2"]


def test_duplicate_ids_cannot_be_referenced():
    calls = [
        call("dup", "add", {"a": 1}),
        call("dup", "add", {"a": 2}),
        call("c3", "add", {"a": "$ref:dup"}),
    ]
    results = execute_batch_sync(calls, [add_spec()]).results
    assert [r.status for r in results] == ["ok", "ok", "error"]
    assert "appears more than once" in results[2].error.message


def test_a_reference_spelled_with_json_escapes_is_still_a_reference():
    raw = '{"a": "\\u0024ref:c1#/value"}'
    results = execute_batch_sync(
        [call("c1", "add", {"a": 1}), call("c2", "add", raw)], [add_spec()]
    ).results
    assert results[1].parsed_arguments == {"a": 2}
