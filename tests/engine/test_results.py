"""Result content: the error model's envelope, raw results, values JSON cannot carry."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

from tools_app.engine import BatchResult, execute_batch_sync, json_safe

from .support import body, call, echo_spec, returning


def run_returning(value, **options):
    [result] = execute_batch_sync(
        [call("c1", "t")], [echo_spec("t", implementation=returning(value), **options)]
    ).results
    return result


def test_success_is_wrapped_in_the_envelope():
    result = run_returning({"temp_c": 21})
    assert result.content == '{"success": true, "result": {"temp_c": 21}}'
    assert result.to_message() == {"role": "tool", "tool_call_id": "c1", "content": result.content}


def test_raw_results_are_sent_as_they_are():
    assert run_returning("It is sunny.", raw_result=True).content == "It is sunny."
    assert json.loads(run_returning({"a": 1}, raw_result=True).content) == {"a": 1}


def test_unicode_is_kept_readable():
    assert "Zürich ☀" in run_returning("Zürich ☀").content


def test_values_json_cannot_carry_are_converted_with_a_note():
    class Weather:
        def __str__(self) -> str:
            return "Weather(sunny)"

    result = run_returning({"w": Weather(), "tags": {"b", "a"}, "nan": math.nan})
    content = body(result)
    assert content["success"] is True
    assert content["result"] == {"w": "Weather(sunny)", "tags": ["a", "b"], "nan": "NaN"}
    assert "Weather value is not JSON-serialisable" in content["note"]
    assert "non-finite" in content["note"]


def test_common_types_have_natural_json_forms_without_a_note():
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    content = body(run_returning({"when": when, "price": Decimal("1.10"), "pair": (1, 2)}))
    assert content == {
        "success": True,
        "result": {"when": "2024-05-01T12:00:00+00:00", "price": "1.10", "pair": [1, 2]},
    }


def test_an_unprintable_circular_value_does_not_crash():
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    loop: list = []
    loop.append(loop)
    content = body(run_returning({"b": Broken(), "loop": loop}))
    assert content["result"]["b"].startswith("<unprintable Broken")
    assert content["result"]["loop"] == ["<circular reference>"]


def test_non_string_keys_become_strings():
    safe, notes = json_safe({1: "a", None: "b", (1, 2): "c"})
    assert safe == {"1": "a", "null": "b", "(1, 2)": "c"}
    assert notes == []


def test_batch_result_keeps_call_order_and_timing():
    batch = execute_batch_sync([call(f"c{i}") for i in range(4)], [echo_spec()])
    assert isinstance(batch, BatchResult)
    assert [r.call_id for r in batch.results] == ["c0", "c1", "c2", "c3"]
    assert [m["tool_call_id"] for m in batch.messages()] == ["c0", "c1", "c2", "c3"]
    assert batch.wall_s > 0
    assert batch.sum_call_s == sum(r.duration_s for r in batch.results)
    assert batch.speedup == batch.sum_call_s / batch.wall_s
    assert batch.strategy == "asyncio"
