"""run_batch: pinned versions, one record per call with its timings, the error model stored."""

from __future__ import annotations

import json

import pytest

from conversations.execution import MAX_RESULT_CHARS, BatchOptions, run_batch
from conversations.models import Batch, BatchStatus
from tools_app import catalog as catalog_ops
from tools_app.engine import ToolCall
from tools_app.models import Tool


def calls(*entries: tuple[str, str]) -> list[ToolCall]:
    return [
        ToolCall(id=f"call_{i}", name=name, arguments=args)
        for i, (name, args) in enumerate(entries)
    ]


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_every_call_is_recorded_in_order_with_timings(people, team, tool, strategy):
    batch = run_batch(
        team=team,
        tools=[tool],
        calls=calls(("get_weather", '{"city": "Oslo"}'), ("get_weather", '{"city": "Rome"}')),
        options=BatchOptions(strategy=strategy),
        user=people.editor,
    )
    batch.refresh_from_db()
    assert (batch.status, batch.strategy, batch.created_by) == (
        BatchStatus.FINISHED,
        strategy,
        people.editor,
    )
    assert batch.wall_ms > 0 and batch.sum_call_ms > 0 and batch.speedup > 0
    first, second = batch.executions.all()
    assert [first.tool_call_id, second.tool_call_id] == ["call_0", "call_1"]
    assert first.status == "ok" and first.attempts == 1
    assert first.parsed_arguments == {"city": "Oslo"}
    assert first.tool_version == tool.versions.get()
    assert json.loads(first.content)["success"] is True
    assert 0 <= first.queued_ms <= first.started_ms <= first.finished_ms


def test_errors_are_stored_with_the_codes_the_model_sees(people, team, tool):
    batch = run_batch(
        team=team,
        tools=[tool],
        calls=calls(
            ("get_weather", '{"city": '),
            ("get_weather", '{"unit": "kelvin"}'),
            ("no_such_tool", "{}"),
        ),
    )
    codes = [e.error_code for e in batch.executions.all()]
    assert codes == ["INVALID_JSON", "VALIDATION_ERROR", "FUNCTION_NOT_FOUND"]
    invalid = batch.executions.first()
    assert invalid.status == "error" and invalid.started_ms is None
    assert json.loads(invalid.content)["error"]["code"] == "INVALID_JSON"


def test_the_pinned_version_runs_not_the_working_copy(people, team, tool):
    tool.implementation_config = {"response": {"from": "v2"}, "latency_ms": 1}
    catalog_ops.save_tool(tool, message="v2")
    tool.implementation_config = {"response": {"from": "unsaved"}, "latency_ms": 1}
    batch = run_batch(team=team, tools=[tool], calls=calls(("get_weather", '{"city": "x"}')))
    execution = batch.executions.get()
    assert execution.result == {"from": "v2"}
    assert execution.tool_version.number == 2


def test_a_misconfigured_tool_fails_its_calls_not_the_batch(people, team, catalog):
    broken = Tool(
        catalog=catalog,
        name="broken",
        parameters={"type": "object"},
        implementation_kind="python",
        implementation_config={"callable": "os:system"},
    )
    catalog_ops.save_tool(broken)
    batch = run_batch(team=team, tools=[broken], calls=calls(("broken", "{}")))
    execution = batch.executions.get()
    assert execution.error_code == "EXECUTION_ERROR"
    assert "misconfigured" in execution.error_message
    assert batch.status == BatchStatus.FINISHED


def test_huge_results_are_truncated_for_storage_and_flagged(people, team, catalog):
    big = Tool(
        catalog=catalog,
        name="big",
        parameters={"type": "object"},
        implementation_config={
            "response": {"blob": "x" * (MAX_RESULT_CHARS + 10)},
            "latency_ms": 0,
        },
    )
    catalog_ops.save_tool(big)
    execution = run_batch(team=team, tools=[big], calls=calls(("big", "{}"))).executions.get()
    assert execution.result_truncated is True
    assert len(execution.result["truncated"]) == MAX_RESULT_CHARS


def test_fail_fast_cancels_the_rest(people, team, tool, catalog):
    slow = Tool(
        catalog=catalog,
        name="slow",
        parameters={"type": "object"},
        implementation_config={"latency_ms": 5000},
    )
    catalog_ops.save_tool(slow)
    batch = run_batch(
        team=team,
        tools=[tool, slow],
        calls=calls(("get_weather", "{oops"), ("slow", "{}")),
        options=BatchOptions(fail_fast=True),
    )
    assert [e.error_code for e in batch.executions.all()] == ["INVALID_JSON", "CANCELLED"]
    assert Batch.objects.count() == 1
