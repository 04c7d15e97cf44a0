"""The benchmark runs and reports every figure (no speed is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools_app.engine.bench import format_table, parse_calls, run_bench, run_overhead_bench

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "ideal_s",
    "asyncio_s",
    "threads_s",
    "sequential_s",
    "baseline_s",
    "overhead_ms_per_call",
    "speedup_vs_sequential",
}


def test_run_bench_reports_all_figures():
    report = run_bench(3, 1)
    assert set(report) >= KEYS
    for key in KEYS - {"overhead_ms_per_call"}:
        assert report[key] > 0, key
    assert isinstance(report["overhead_ms_per_call"], float)
    assert report["sequential_sampled"] is False
    assert "asyncio_s" in format_table([report]).replace("asyncio s", "asyncio_s")


def test_overhead_bench_counts_calls_per_second():
    report = run_overhead_bench(20)
    assert report["calls_per_s"] > 0
    assert report["events"] == 2 + 3 * 20


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, [1, 8, 64, 256, 1024]),
        (["1,8", "64"], [1, 8, 64]),
        (["5"], [5]),
        ([" 2 , 3 "], [2, 3]),
    ],
)
def test_calls_option_parsing(values, expected):
    assert parse_calls(values) == expected


@pytest.mark.parametrize("bad", [["0"], ["x"], ["-1"]])
def test_calls_option_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        parse_calls(bad)


def test_module_runs_without_django_and_prints_json_lines():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools_app.engine.bench",
            "--calls",
            "2",
            "--latency-ms",
            "1",
            "--json",
            "--overhead-calls",
            "10",
            "--python-calls",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["n_calls"] == 2
    assert set(lines[0]) >= KEYS
    assert "overhead" in lines[1]
    assert lines[2]["python"]["n_calls"] == 4


def test_guard_bench_reports_guards_alone_by_kind_and_calls_with_and_without():
    from tools_app.engine.bench import format_guards, run_guard_bench

    report = run_guard_bench(20)
    assert report["guarded_properties"] == 5
    assert set(report["guard_us_by_kind"]) == {"path", "shell", "sql", "url", "pattern"}
    for key in ("guards_us_per_call", "call_us_with_guards", "call_us_without_guards"):
        assert report[key] > 0, key
    assert format_guards(report).startswith("guards: ")
