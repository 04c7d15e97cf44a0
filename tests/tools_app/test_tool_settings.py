"""One definition of a tool's execution settings, read back from any snapshot ever written."""

from __future__ import annotations

import json

import pytest

from tools_app import catalog as catalog_ops
from tools_app.forms import ToolForm
from tools_app.models import Catalog, Tool
from tools_app.runtime import spec_for
from tools_app.tool_settings import DEFAULTS, ToolSettings, import_problem, rules

SET = ToolSettings(
    timeout_s=12.5,
    retries=3,
    requires_approval=True,
    concurrency_limit=4,
    rate_limit_per_s=0.5,
    rate_limit_mode="reject",
)


def test_settings_round_trip_through_a_snapshot():
    snapshot = SET.to_snapshot()
    assert list(snapshot) == [
        "timeout_s",
        "retries",
        "requires_approval",
        "concurrency_limit",
        "rate_limit_per_s",
        "rate_limit_mode",
    ]
    assert ToolSettings.from_snapshot(json.loads(json.dumps(snapshot))) == SET


def test_a_snapshot_written_before_a_setting_existed_reads_the_default():
    assert ToolSettings.from_snapshot({"name": "old", "timeout_s": 5}) == ToolSettings(timeout_s=5)
    assert ToolSettings.from_snapshot({}) == ToolSettings()


@pytest.mark.parametrize(
    "garbage",
    [
        {"timeout_s": "fast"},
        {"timeout_s": None},
        {"timeout_s": float("nan")},
        {"retries": 1.5},
        {"retries": True},
        {"requires_approval": "yes"},
        {"concurrency_limit": "3"},
        {"concurrency_limit": 2.5},
        {"rate_limit_per_s": float("inf")},
        {"rate_limit_per_s": [1]},
        {"rate_limit_mode": "drop"},
        {"rate_limit_mode": None},
    ],
)
def test_garbage_values_fall_back_to_the_defaults(garbage):
    assert ToolSettings.from_snapshot(garbage) == ToolSettings()


def test_a_snapshot_that_is_not_an_object_gives_the_defaults():
    assert ToolSettings.from_snapshot(["timeout_s", 3]) == ToolSettings()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ({"timeout_s": 90_000}, {"timeout_s": 3600.0}),
        ({"timeout_s": 0}, {"timeout_s": 0.01}),
        ({"retries": 50}, {"retries": 10}),
        ({"retries": -2}, {"retries": 0}),
        ({"concurrency_limit": 0}, {"concurrency_limit": None}),
        ({"concurrency_limit": 5000}, {"concurrency_limit": 1000}),
        ({"rate_limit_per_s": -1}, {"rate_limit_per_s": None}),
        ({"rate_limit_per_s": 1e9}, {"rate_limit_per_s": 10_000.0}),
    ],
)
def test_values_out_of_bounds_are_brought_within_them(stored, read):
    assert ToolSettings.from_snapshot(stored) == ToolSettings(**read)


def test_every_setting_has_a_model_column_with_its_default():
    for name, rule in rules().items():
        column = Tool._meta.get_field(name)
        assert column.null == rule.optional, name
        assert column.get_default() == DEFAULTS[name], name


def test_every_setting_has_an_editor_field_with_its_bounds():
    for name, rule in rules().items():
        field = ToolForm.base_fields[name]
        assert field.required == (not rule.optional and rule.kind is not bool and not rule.choices)
        if rule.max_value is not None:
            assert field.max_value == rule.max_value, name


def test_a_tool_snapshot_carries_the_settings_the_engine_runs_with(tool):
    SET.apply_to(tool)
    catalog_ops.save_tool(tool, message="settings")
    version = tool.versions.first()
    spec = spec_for(version)
    assert ToolSettings.of(spec) == SET
    assert ToolSettings.from_snapshot(version.snapshot) == SET


def test_import_refuses_settings_it_cannot_read_in_any_version(tool, team):
    bundle = catalog_ops.export_bundle(tool.catalog)
    bundle["tools"][0]["versions"][0]["snapshot"]["requires_approval"] = "yes"
    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    assert report.rejected[0].reason == "Version 1: `requires_approval` must be true or false."
    assert not copy.tools.exists()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"timeout_s": "30"}, "`timeout_s` must be a number."),
        ({"retries": 1.5}, "`retries` must be a number."),
        ({"concurrency_limit": 0}, "`concurrency_limit` must be a whole number of at least 1"),
        ({"rate_limit_per_s": 0}, "`rate_limit_per_s` must be a positive number, or null."),
        ({"rate_limit_mode": "drop"}, "`rate_limit_mode` must be `wait` or `reject`."),
        ({"concurrency_limit": None, "rate_limit_per_s": None}, ""),
        ({}, ""),
    ],
)
def test_import_problems_name_the_setting(entry, problem):
    assert import_problem(entry).startswith(problem)
    if not problem:
        assert import_problem(entry) == ""
