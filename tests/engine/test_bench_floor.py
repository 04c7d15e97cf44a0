"""The benchmark prints the engine's per-call cost beside the gather floor, and wave floors."""

from __future__ import annotations

from tools_app.engine.bench import (
    OVERHEAD_ROWS,
    format_overhead,
    format_table,
    run_bench,
    run_overhead_bench,
    wave_floor_s,
)


def test_overhead_rows_sit_beside_the_gather_floor_with_ratios():
    report = run_overhead_bench(20)
    names = [name for name, _ in OVERHEAD_ROWS]
    assert list(report["rows_us"]) == names
    assert all(report["rows_us"][name] > 0 for name in names)
    assert report["vs_gather_validated"]["gather_validated"] == 1.0
    text = format_overhead(report)
    for _, label in OVERHEAD_ROWS:
        assert label in text


def test_a_pool_of_256_threads_runs_1024_calls_in_four_waves():
    assert wave_floor_s(1024, 0.1) == 0.4
    assert wave_floor_s(3, 0.1) == 0.1


def test_latency_rows_compare_threads_and_sync_tools_with_their_floor():
    report = run_bench(3, 1)
    assert report["wave_floor_s"] == 0.001
    assert report["sync_s"] > 0 and report["sync_vs_floor"] > 0
    assert report["threads_vs_floor"] > 0
    assert "xfloor" in format_table([report])
