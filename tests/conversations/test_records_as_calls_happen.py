"""Each call's record is written as it happens, not when the batch ends: running with its start
time, its attempts on a retry, and its result as soon as it finished. A tool of the batch
reads the records from inside the run."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync, sync_to_async

from conversations import recording
from conversations.models import Batch, ToolExecution
from tools_app.engine import (
    CallContext,
    ErrorCode,
    ExecutionOptions,
    RetryPolicy,
    ToolCall,
    ToolFailure,
    ToolSpec,
    execute_batch,
)

OBJECT = {"type": "object"}
NO_WAIT = RetryPolicy(base_delay_s=0.001, max_delay_s=0.001)


class Function:
    def __init__(self, function: Any) -> None:
        self.function = function

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        return await self.function(arguments, context)


def records(batch: Batch) -> dict[str, Any]:
    return {
        "batch": Batch.objects.get(pk=batch.pk).status,
        "calls": [
            {
                "id": e.tool_call_id,
                "status": e.status,
                "code": e.error_code,
                "result": e.result,
                "attempts": e.attempts,
                "retries": len(e.retry_marks_ms),
                "started": e.started_ms is not None,
                "finished": e.finished_ms is not None,
            }
            for e in ToolExecution.objects.filter(batch=batch).order_by("position")
        ],
    }


class RecordedBatch:
    """A batch run the way the runner and the lab run theirs: the recorder subscribed."""

    def __init__(self, team: Any, calls: list[ToolCall], specs: list[ToolSpec]) -> None:
        self.calls = calls
        self.specs = {spec.name: spec for spec in specs}
        self.batch, _ = recording.open_batch(
            team=team, versions=[], calls=calls, strategy="sequential"
        )
        self.recorder = recording.ExecutionRecorder(self.batch, calls, self.specs)
        self.seen: list[dict[str, Any]] = []

    async def look(self) -> None:
        """What the database holds now, once the changes noted so far are written."""
        await self.recorder.settle()
        self.seen.append(await sync_to_async(records)(self.batch))

    def run(self) -> None:
        async def go() -> None:
            outcome = await execute_batch(
                self.calls,
                self.specs,
                ExecutionOptions(
                    strategy="sequential", on_event=self.recorder.on_event, retry_policy=NO_WAIT
                ),
            )
            await self.recorder.settle()
            await sync_to_async(self.recorder.finish)(outcome)

        async_to_sync(go)()


def test_a_finished_call_is_recorded_while_the_next_one_runs(team):
    run: RecordedBatch

    async def weather(arguments: dict[str, Any], context: CallContext) -> Any:
        return {"city": "Oslo", "temp_c": 3}

    async def probe(arguments: dict[str, Any], context: CallContext) -> Any:
        await run.look()
        return "looked"

    run = RecordedBatch(
        team,
        [ToolCall("call_weather", "weather", "{}"), ToolCall("call_probe", "probe", "{}")],
        [
            ToolSpec("weather", OBJECT, Function(weather)),
            ToolSpec("probe", OBJECT, Function(probe)),
        ],
    )
    run.run()

    (during,) = run.seen
    assert during == {
        "batch": "running",
        "calls": [
            {
                "id": "call_weather",
                "status": "ok",
                "code": "",
                "result": {"city": "Oslo", "temp_c": 3},
                "attempts": 1,
                "retries": 0,
                "started": True,
                "finished": True,
            },
            {
                "id": "call_probe",
                "status": "running",
                "code": "",
                "result": None,
                "attempts": 1,
                "retries": 0,
                "started": True,
                "finished": False,
            },
        ],
    }
    after = records(run.batch)
    assert after["batch"] == "finished"
    assert [(c["status"], c["result"]) for c in after["calls"]] == [
        ("ok", {"city": "Oslo", "temp_c": 3}),
        ("ok", "looked"),
    ]


def test_a_retried_call_shows_its_attempts_while_it_is_retried(team):
    run: RecordedBatch

    async def flaky(arguments: dict[str, Any], context: CallContext) -> Any:
        if context.attempt == 1:
            raise ToolFailure(ErrorCode.UPSTREAM_ERROR, "503 from upstream", retryable=True)
        await run.look()
        return "second time lucky"

    run = RecordedBatch(
        team,
        [ToolCall("call_flaky", "flaky", "{}")],
        [ToolSpec("flaky", OBJECT, Function(flaky), retries=2)],
    )
    run.run()

    (during,) = run.seen
    assert during["calls"] == [
        {
            "id": "call_flaky",
            "status": "running",
            "code": "",
            "result": None,
            "attempts": 2,
            "retries": 1,
            "started": True,
            "finished": False,
        }
    ]
    (after,) = records(run.batch)["calls"]
    assert (after["status"], after["attempts"], after["retries"]) == ("ok", 2, 1)


def test_an_error_is_recorded_with_its_code_before_the_batch_ends(team):
    run: RecordedBatch

    async def probe(arguments: dict[str, Any], context: CallContext) -> Any:
        await run.look()
        return "looked"

    run = RecordedBatch(
        team,
        [ToolCall("call_bad", "probe", '{"city": '), ToolCall("call_probe", "probe", "{}")],
        [ToolSpec("probe", OBJECT, Function(probe))],
    )
    run.run()

    (during,) = run.seen
    assert during["calls"][0] == {
        "id": "call_bad",
        "status": "error",
        "code": "INVALID_JSON",
        "result": None,
        "attempts": 0,
        "retries": 0,
        "started": False,
        "finished": True,
    }
