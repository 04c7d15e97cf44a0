"""Per-tool limits: set in the editor, frozen in versions and bundles, enforced by the engine."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from conversations.execution import run_batch
from tools_app import catalog as catalog_ops
from tools_app.engine import ToolCall
from tools_app.models import Catalog, Tool
from tools_app.runtime import spec_for

EDIT = "/t/acme/c/travel/tools/get_weather/"


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": json.dumps({"type": "object", "properties": {}}),
        "implementation_kind": "mock",
        "mock_latency_ms": "10",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "0",
    }
    data.update(overrides)
    return data


def with_limits(tool: Tool, **limits: object) -> Tool:
    for key, value in limits.items():
        setattr(tool, key, value)
    catalog_ops.save_tool(tool, message="limits")
    return tool


def test_the_editor_saves_limits_into_the_version(people, tool):
    data = form_data(concurrency_limit="2", rate_limit_per_s="0.5", rate_limit_mode="reject")
    assert people.client_for("editor").post(EDIT, data).status_code == 302
    tool.refresh_from_db()
    assert (tool.concurrency_limit, tool.rate_limit_per_s, tool.rate_limit_mode) == (
        2,
        0.5,
        "reject",
    )
    snapshot = tool.versions.first().snapshot
    assert [key for key in snapshot if "limit" in key] == [
        "concurrency_limit",
        "rate_limit_per_s",
        "rate_limit_mode",
    ]
    assert (snapshot["concurrency_limit"], snapshot["rate_limit_per_s"]) == (2, 0.5)
    page = people.client_for("viewer").get(EDIT).content.decode()
    assert 'name="concurrency_limit" value="2"' in page
    assert 'name="rate_limit_per_s" value="0.5"' in page
    assert '<option value="reject" selected>Reject with RATE_LIMITED</option>' in page


def test_empty_limits_mean_unlimited(people, tool):
    data = form_data(concurrency_limit="", rate_limit_per_s="", rate_limit_mode="")
    assert people.client_for("editor").post(EDIT, data).status_code == 302
    tool.refresh_from_db()
    assert (tool.concurrency_limit, tool.rate_limit_per_s, tool.rate_limit_mode) == (
        None,
        None,
        "wait",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"concurrency_limit": "0"}, "At least 1 call at a time"),
        ({"concurrency_limit": "-3"}, "At least 1 call at a time"),
        ({"concurrency_limit": "1.5"}, "Enter a whole number."),
        ({"rate_limit_per_s": "0"}, "At least 0.01 calls per second"),
        ({"rate_limit_per_s": "-1"}, "At least 0.01 calls per second"),
        ({"rate_limit_per_s": "inf"}, "Enter a number."),
        ({"rate_limit_mode": "drop"}, "Select a valid choice."),
    ],
)
def test_bad_limits_are_refused(people, tool, overrides, message):
    response = people.client_for("editor").post(EDIT, form_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    tool.refresh_from_db()
    assert tool.version == 1


def test_spec_for_passes_the_limits_to_the_engine(tool):
    with_limits(tool, concurrency_limit=3, rate_limit_per_s=2.5, rate_limit_mode="reject")
    spec = spec_for(tool.versions.first())
    assert (spec.concurrency_limit, spec.rate_limit_per_s, spec.rate_limit_mode) == (
        3,
        2.5,
        "reject",
    )
    plain = spec_for(tool.versions.last())
    assert (plain.concurrency_limit, plain.rate_limit_per_s, plain.rate_limit_mode) == (
        None,
        None,
        "wait",
    )


def test_a_version_saved_before_limits_existed_is_not_a_change(tool):
    version = tool.versions.get()
    for key in ("concurrency_limit", "rate_limit_per_s", "rate_limit_mode"):
        version.snapshot.pop(key)
    version.save()
    assert catalog_ops.save_tool(tool) is None
    spec = spec_for(version)
    assert (spec.concurrency_limit, spec.rate_limit_per_s, spec.rate_limit_mode) == (
        None,
        None,
        "wait",
    )


def test_limits_travel_in_bundles(tool, team):
    with_limits(tool, concurrency_limit=1, rate_limit_per_s=4.0, rate_limit_mode="reject")
    bundle = catalog_ops.export_bundle(tool.catalog)
    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    catalog_ops.import_text(copy, json.dumps(bundle))
    copied = copy.tools.get()
    assert (copied.concurrency_limit, copied.rate_limit_per_s, copied.rate_limit_mode) == (
        1,
        4.0,
        "reject",
    )
    assert catalog_ops.export_bundle(copy)["tools"] == bundle["tools"]
    bundle["tools"][0]["concurrency_limit"] = 0
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    assert report.rejected[0].reason.startswith("`concurrency_limit` must be a whole number")


def _executions(team, tool: Tool, count: int):
    batch = run_batch(
        team=team,
        tools=[tool],
        calls=[
            ToolCall(id=f"call_{i}", name="get_weather", arguments='{"city": "Oslo"}')
            for i in range(count)
        ],
    )
    return sorted(batch.executions.all(), key=lambda e: (e.started_ms is None, e.started_ms))


def test_a_concurrency_limit_of_one_runs_calls_one_after_another(team, tool):
    tool.implementation_config = {"latency_ms": 40}
    with_limits(tool, concurrency_limit=1)
    executions = _executions(team, tool, 4)
    assert [e.status for e in executions] == ["ok"] * 4
    for previous, current in pairwise(executions):
        assert current.started_ms >= previous.finished_ms


def test_without_a_limit_the_same_calls_overlap(team, tool):
    tool.implementation_config = {"latency_ms": 40}
    catalog_ops.save_tool(tool)
    executions = _executions(team, tool, 4)
    assert [e.status for e in executions] == ["ok"] * 4
    assert any(
        current.started_ms < previous.finished_ms for previous, current in pairwise(executions)
    )


def test_a_rejecting_rate_limit_answers_rate_limited(team, tool):
    with_limits(tool, rate_limit_per_s=1.0, rate_limit_mode="reject")
    batch = run_batch(
        team=team,
        tools=[tool],
        calls=[
            ToolCall(id=f"call_{i}", name="get_weather", arguments='{"city": "Oslo"}')
            for i in range(3)
        ],
    )
    codes = [e.error_code for e in batch.executions.all()]
    assert "RATE_LIMITED" in codes
    assert "" in codes  # the bucket's one token lets the first call through
    limited = next(e for e in batch.executions.all() if e.error_code == "RATE_LIMITED")
    assert json.loads(limited.content)["error"]["code"] == "RATE_LIMITED"
