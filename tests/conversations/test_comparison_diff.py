"""The diff table of a model comparison, from plain run facts (conversations.comparison)."""

from __future__ import annotations

from conversations.comparison import CallFacts, RunFacts, diff_runs


def weather(city: str, error: str = "") -> CallFacts:
    return CallFacts("get_weather", {"city": city}, error_code=error)


def run(label: str, *calls: CallFacts, **facts) -> RunFacts:
    return RunFacts(label=label, status="Finished", calls=calls, **{"rounds": 2, **facts})


def cells(table, label: str) -> list[str]:
    return [cell.text for cell in table.row(label).cells]


def marks(table, label: str) -> list[bool]:
    return [cell.differs for cell in table.row(label).cells]


def test_runs_that_made_the_same_calls_differ_in_nothing_compared():
    first = run("A / m1", weather("Oslo"), weather("Lima"), answer="Sunny.")
    second = run("B / m2", weather("Lima"), weather("Oslo"), answer="Sunny.")

    table = diff_runs([first, second])

    assert table.labels == ["A / m1", "B / m2"]
    assert [row.label for row in table.rows if row.differs] == []
    assert cells(table, "Tools called") == [
        "get_weather \N{MULTIPLICATION SIGN}2",
        "get_weather \N{MULTIPLICATION SIGN}2",
    ]
    assert cells(table, "Arguments of get_weather") == [
        '{"city": "Lima"}, {"city": "Oslo"}',
        '{"city": "Lima"}, {"city": "Oslo"}',
    ]


def test_differing_arguments_are_marked_one_by_one_against_the_first_run():
    first = run("A / m1", weather("Oslo"), weather("Lima"))
    second = run("B / m2", weather("Oslo"), CallFacts("get_weather", {"city": "Lima", "unit": "f"}))

    row = diff_runs([first, second]).row("Arguments of get_weather")

    assert [cell.differs for cell in row.cells] == [False, True]
    assert [(item.text, item.differs) for item in row.cells[1].items] == [
        ('{"city": "Lima", "unit": "f"}', True),
        ('{"city": "Oslo"}', False),
    ]


def test_keys_in_another_order_are_the_same_arguments():
    first = run("A / m1", CallFacts("f", {"a": 1, "b": 2}))
    second = run("B / m2", CallFacts("f", {"b": 2, "a": 1}))

    assert marks(diff_runs([first, second]), "Arguments of f") == [False, False]


def test_a_tool_one_run_never_called_reads_not_called():
    first = run("A / m1", weather("Oslo"), CallFacts("get_time", {"zone": "CET"}))
    second = run("B / m2", weather("Oslo"))

    table = diff_runs([first, second])

    assert cells(table, "Tools called") == ["get_time, get_weather", "get_weather"]
    assert marks(table, "Tools called") == [False, True]
    assert cells(table, "Arguments of get_time") == ['{"zone": "CET"}', "not called"]
    assert marks(table, "Arguments of get_time") == [False, True]
    assert marks(table, "Arguments of get_weather") == [False, False]


def test_a_run_that_called_no_tool_at_all():
    table = diff_runs([run("A / m1", weather("Oslo")), run("B / m2", rounds=1)])

    assert cells(table, "Tools called") == ["get_weather", "none"]
    assert marks(table, "Tools called") == [False, True]
    assert cells(table, "Rounds") == ["2", "1"]
    assert marks(table, "Rounds") == [False, True]


def test_validation_failures_and_provider_errors_are_listed_and_compared():
    first = run("A / m1", weather("Oslo"))
    second = run(
        "B / m2",
        weather("Oslo", error="VALIDATION_ERROR"),
        CallFacts("lookup", "{not json", error_code="INVALID_JSON"),
        model_errors=["timeout"],
    )

    table = diff_runs([first, second])

    assert cells(table, "Errors") == ["none", "INVALID_JSON, VALIDATION_ERROR, provider timeout"]
    assert marks(table, "Errors") == [False, True]
    # Arguments that were no JSON are shown as the model sent them.
    assert cells(table, "Arguments of lookup") == ["not called", "{not json"]


def test_tokens_are_unknown_when_a_server_sent_no_usage_and_numbers_are_not_marked():
    first = run("A / m1", prompt_tokens=120, completion_tokens=30, model_ms=812.4, tool_ms=15)
    second = run("B / m2", prompt_tokens=None, completion_tokens=None, model_ms=90, tool_ms=14)

    table = diff_runs([first, second])

    assert cells(table, "Prompt tokens") == ["120", "unknown"]
    assert cells(table, "Completion tokens") == ["30", "unknown"]
    assert cells(table, "Model time") == ["812 ms", "90 ms"]
    assert cells(table, "Tool time") == ["15 ms", "14 ms"]
    assert not any(table.row(label).differs for label in ("Prompt tokens", "Model time"))


def test_status_and_final_answer_are_compared_and_long_answers_cut():
    first = run("A / m1", answer="Sunny in Oslo.")
    second = RunFacts(label="B / m2", status="Failed", answer="word " * 100)

    table = diff_runs([first, second])

    assert cells(table, "Status") == ["Finished", "Failed"]
    assert marks(table, "Status") == [False, True]
    answer = cells(table, "Final answer")[1]
    assert len(answer) == 160 and answer.endswith("…")
    assert cells(diff_runs([RunFacts("A", "Running")]), "Final answer") == ["—"]


def test_no_runs_make_an_empty_table():
    assert diff_runs([]).rows == []
