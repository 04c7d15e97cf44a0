"""Calls that failed without running (refused, denied, unknown function) get the "failed at once"
mark; a call that ran, however briefly, is a bar of at least MIN_RUN_WIDTH."""

from __future__ import annotations

from conversations.charts import MIN_RUN_WIDTH
from conversations.timeline import batch_gantt
from tests.conversations.test_timeline import Row


def refused(code: str = "VALIDATION_ERROR", at: float = 0.4) -> Row:
    return Row(status="error", error_code=code, started_ms=None, finished_ms=at)


def test_a_call_refused_before_running_gets_a_mark_where_it_ended():
    ran, bad = batch_gantt(
        [Row(started_ms=0, finished_ms=100), refused(at=50)], width=1000, label_width=200
    ).bars
    assert ran.mark_x is None
    assert bad.run_width == 0
    assert bad.mark_x == 594.0
    assert bad.title == "get_weather (call_1): VALIDATION_ERROR, never ran"


def test_a_zero_ms_success_is_a_minimum_width_bar_not_the_failed_at_once_mark():
    instant, visible = batch_gantt(
        [Row(started_ms=10, finished_ms=10), Row(started_ms=0, finished_ms=100)]
    ).bars
    assert instant.run_width == MIN_RUN_WIDTH and instant.mark_x is None
    assert visible.run_width > MIN_RUN_WIDTH and visible.mark_x is None


def test_calls_still_queued_or_running_get_no_mark():
    queued, running = batch_gantt(
        [
            Row(status="queued", started_ms=None, finished_ms=None),
            Row(status="running", started_ms=0, finished_ms=None),
            Row(finished_ms=100),
        ]
    ).bars[:2]
    assert queued.mark_x is None and running.mark_x is None


def test_the_mark_is_drawn_inside_the_calls_group_so_it_takes_its_colour_and_tooltip():
    svg = str(batch_gantt([refused("FUNCTION_NOT_FOUND"), Row()]).svg)
    group = svg.split('<g class="call bar-error code-function_not_found">')[1].split("</g>")[0]
    assert "<title>get_weather (call_1): FUNCTION_NOT_FOUND, never ran</title>" in group
    assert group.count('<polygon class="mark"') == 1
    assert svg.count('<polygon class="mark"') == 1
