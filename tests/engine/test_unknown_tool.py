"""Calls to tools that do not exist: FUNCTION_NOT_FOUND with the names and the closest one."""

from __future__ import annotations

from tools_app.engine import execute_batch_sync

from .support import body, call, echo_spec


def test_unknown_tool_lists_available_names_and_the_closest_match():
    specs = [echo_spec("get_weather"), echo_spec("get_time"), echo_spec("send_email")]
    [result] = execute_batch_sync([call("c1", "get_wether", "{}")], specs).results
    error = body(result)["error"]
    assert error["code"] == "FUNCTION_NOT_FOUND"
    assert error["details"] == {
        "available": ["get_time", "get_weather", "send_email"],
        "closest": "get_weather",
    }
    assert "did you mean 'get_weather'?" in error["message"]


def test_no_close_match_gives_no_suggestion():
    [result] = execute_batch_sync([call("c1", "zzzz")], [echo_spec("get_weather")]).results
    assert result.error.details["closest"] is None
    assert "did you mean" not in result.error.message


def test_unknown_tool_wins_over_bad_arguments_and_does_not_sink_the_batch():
    results = execute_batch_sync(
        [call("c1", "nope", "{bad json"), call("c2", "echo", "{}")], [echo_spec()]
    ).results
    assert [r.status for r in results] == ["error", "ok"]
    assert results[0].error.code.value == "FUNCTION_NOT_FOUND"


def test_empty_catalog():
    [result] = execute_batch_sync([call("c1", "echo")], []).results
    assert result.error.details == {"available": [], "closest": None}
