"""The benchmark prices the Python process pool beside in-process execution, in one run."""

from __future__ import annotations

from tools_app.engine.bench import format_python, run_python_bench


def test_the_python_bench_reports_both_sides_and_their_ratio():
    report = run_python_bench(6, workers=1)
    for where in ("in_process", "pool"):
        for strategy in ("sequential", "asyncio"):
            assert report[f"{where}_{strategy}_us"] > 0
    assert report["pool_vs_in_process_sequential"] == (
        report["pool_sequential_us"] / report["in_process_sequential_us"]
    )
    line = format_python(report)
    assert line.startswith("python tool (tools_app.demo_tools:calculate, N=6): one at a time ")
    assert "in the process pool" in line and "1 workers" in line
