"""The mock implementation: templated responses, latency, simulated failures, config errors."""

from __future__ import annotations

import random

import pytest

from tools_app.engine import (
    CallContext,
    ErrorCode,
    ExecutionOptions,
    MockImplementation,
    ToolFailure,
    execute_batch_sync,
    implementation_from_config,
)
from tools_app.engine.implementations.mock import render_template

from .support import body, call, echo_spec

CONTEXT = CallContext("call_1", "get_weather")


@pytest.mark.asyncio
async def test_default_response_echoes_the_tool_and_arguments():
    result = await MockImplementation().invoke({"city": "Oslo"}, CONTEXT)
    assert result == {"ok": True, "tool": "get_weather", "arguments": {"city": "Oslo"}}


def test_templates_substitute_text_and_typed_values():
    template = {
        "summary": "Weather in {{ city }} for {{days}} days",
        "days": "{{ days }}",
        "first_stop": "{{ stops.0.name }}",
        "where": "{{ place.coords }}",
        "missing_typed": "{{ nope }}",
        "missing_text": "[{{ nope.deeper }}]",
        "list": ["{{ city }}", 3],
    }
    arguments = {
        "city": "Oslo",
        "days": 3,
        "stops": [{"name": "Bergen"}],
        "place": {"coords": [59.9, 10.7]},
    }
    assert render_template(template, arguments) == {
        "summary": "Weather in Oslo for 3 days",
        "days": 3,
        "first_stop": "Bergen",
        "where": [59.9, 10.7],
        "missing_typed": None,
        "missing_text": "[]",
        "list": ["Oslo", 3],
    }


def test_configured_mock_runs_through_the_engine():
    impl = implementation_from_config("mock", {"response": {"temp": "{{ t }}"}, "latency_ms": 1})
    [result] = execute_batch_sync(
        [call("c1", arguments={"t": 21})], [echo_spec(implementation=impl)]
    ).results
    assert body(result) == {"success": True, "result": {"temp": 21}}


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        ("EXECUTION_ERROR", False),
        ("TIMEOUT", True),
        ("UPSTREAM_ERROR", True),
        ("RATE_LIMITED", True),
    ],
)
@pytest.mark.asyncio
async def test_error_rate_one_always_fails_with_the_configured_kind(kind, retryable):
    impl = implementation_from_config("mock", {"error_rate": 1, "error_kind": kind})
    with pytest.raises(ToolFailure) as failure:
        await impl.invoke({}, CONTEXT)
    assert failure.value.code is ErrorCode(kind)
    assert failure.value.retryable is retryable


def test_seeded_randomness_is_reproducible():
    def outcomes(seed: int) -> list[str]:
        impl = MockImplementation(latency_ms=(0, 1), error_rate=0.5, rng=random.Random(seed))
        batch = execute_batch_sync(
            [call(f"c{i}") for i in range(20)],
            [echo_spec(implementation=impl)],
            ExecutionOptions(strategy="sequential"),
        )
        return [r.status for r in batch.results]

    first = outcomes(3)
    assert first == outcomes(3)
    assert {"ok", "error"} == set(first)


def test_seed_in_config():
    a = implementation_from_config("mock", {"latency_ms": [10, 20], "seed": 5})
    b = implementation_from_config("mock", {"latency_ms": [10, 20], "seed": 5})
    assert [a.latency_s() for _ in range(5)] == [b.latency_s() for _ in range(5)]
    assert all(0.010 <= a.latency_s() <= 0.020 for _ in range(20))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": [5, 1]}, "min <= max"),
        ({"latency_ms": [1, 2, 3]}, "latency_ms"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"error_rate": 2}, "error_rate"),
        ({"error_kind": "DENIED"}, "error_kind"),
        ({"response": {1, 2}}, "JSON data"),
        ({"respnse": {}}, "unknown keys: respnse"),
        ({"seed": "x"}, "seed"),
        ([], "must be an object"),
    ],
)
def test_bad_config_raises_a_clear_value_error(config, message):
    with pytest.raises(ValueError, match=message):
        implementation_from_config("mock", config)


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown implementation kind 'ftp'"):
        implementation_from_config("ftp", {})
