"""The built-in demo model decides deterministically: parallel calls fitted to the prompt, then a
text answer made from the tool results; bad requests get OpenAI's error objects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import demo_model
from conversations.demo_model import DemoRequestError
from fcstudio.management.commands.load_demo import DEMO_TOOLS

STARTER = [
    {
        "type": "function",
        "function": {k: spec[k] for k in ("name", "description", "parameters")},
    }
    for spec in DEMO_TOOLS
]


def ask(prompt: str, history: list[dict] | None = None, **body) -> demo_model.DemoAnswer:
    messages = [{"role": "user", "content": prompt}, *(history or [])]
    request = demo_model.parse_request(json.dumps({"messages": messages, "tools": STARTER, **body}))
    return demo_model.answer(request)


def calls(answer: demo_model.DemoAnswer) -> list[tuple[str, dict]]:
    return [(call.name, json.loads(call.arguments)) for call in answer.tool_calls]


def test_a_multi_city_weather_prompt_gets_one_parallel_call_per_city():
    answer = ask("Weather in Oslo, Lima and Osaka?")
    assert calls(answer) == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Lima"}),
        ("get_weather", {"city": "Osaka"}),
    ]
    assert (answer.content, answer.finish_reason) == (None, "tool_calls")
    assert [call.id for call in answer.tool_calls] == [
        "call_demo_0_0",
        "call_demo_0_1",
        "call_demo_0_2",
    ]


def test_the_same_request_gets_the_same_answer():
    assert ask("Weather in Oslo and Lima?") == ask("Weather in Oslo and Lima?")


def test_arguments_come_from_the_prompt_then_the_schema():
    assert calls(ask("What's the weather in New York and Rio de Janeiro in fahrenheit?")) == [
        ("get_weather", {"city": "New York", "unit": "fahrenheit"}),
        ("get_weather", {"city": "Rio de Janeiro", "unit": "fahrenheit"}),
    ]
    assert calls(ask("Flights from OSL to LIM on 2026-03-01, 3 results")) == [
        (
            "search_flights",
            {"origin": "OSL", "destination": "LIM", "date": "2026-03-01", "max_results": 3},
        )
    ]
    assert calls(ask("What is 17 // 5 and 2 ** 10?")) == [
        ("calculate", {"expression": "17 // 5"}),
        ("calculate", {"expression": "2 ** 10"}),
    ]
    assert calls(ask("What time is it in Asia/Tokyo?")) == [
        ("current_time", {"timezone": "Asia/Tokyo"})
    ]
    # Nothing in the prompt fits the city: the schema's first example does.
    assert calls(ask("How is the weather?")) == [("get_weather", {"city": "Lisbon"})]


def test_several_tools_that_fit_are_called_together():
    assert calls(ask("Weather and time in Oslo")) == [
        ("get_weather", {"city": "Oslo"}),
        ("current_time", {}),
    ]


def test_tool_choice_none_answers_in_text():
    answer = ask("Weather in Oslo?", tool_choice="none")
    assert answer.tool_calls == [] and answer.finish_reason == "stop"
    assert answer.content.startswith(demo_model.LABEL)


def test_auto_answers_in_text_when_no_tool_fits_and_required_calls_one_anyway():
    assert ask("Hello there").tool_calls == []
    assert "None of the offered tools" in ask("Hello there").content
    assert [name for name, _ in calls(ask("Hello there", tool_choice="required"))] == [
        "get_weather"
    ]


def test_a_named_tool_choice_calls_that_tool():
    named = {"type": "function", "function": {"name": "calculate"}}
    assert calls(ask("Weather in Oslo?", tool_choice=named)) == [
        ("calculate", {"expression": "2 * (3 + 4) ** 2"})
    ]


def test_without_parallel_calls_one_call_per_turn_until_all_are_made():
    first = ask("Weather in Oslo and Lima?", parallel_tool_calls=False)
    assert calls(first) == [("get_weather", {"city": "Oslo"})]
    history = turn_and_results(first)
    second = ask("Weather in Oslo and Lima?", history, parallel_tool_calls=False)
    assert calls(second) == [("get_weather", {"city": "Lima"})]
    assert second.tool_calls[0].id == "call_demo_1_0"
    third = ask("Weather in Oslo and Lima?", history + turn_and_results(second))
    assert third.tool_calls == [] and third.content.count("get_weather(") == 2


def turn_and_results(answer: demo_model.DemoAnswer) -> list[dict]:
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.tool_calls
        ],
    }
    results = [
        {
            "role": "tool",
            "tool_call_id": c.id,
            "content": json.dumps({"success": True, "result": {"city": c.arguments, "temp": 21}}),
        }
        for c in answer.tool_calls
    ]
    return [assistant, *results]


def test_after_the_tool_results_a_final_answer_summarises_each_call():
    first = ask("Weather in Oslo, Lima and Osaka?")
    final = ask("Weather in Oslo, Lima and Osaka?", turn_and_results(first))
    assert final.tool_calls == [] and final.finish_reason == "stop"
    lines = final.content.splitlines()
    assert lines[0].startswith(demo_model.LABEL)
    assert [line.split("(")[0] for line in lines[1:]] == ["- get_weather"] * 3
    assert '{"city": "Oslo"}' in lines[1] and '"success": true' in lines[1]
    assert all(len(line) < 300 for line in lines)


def test_a_long_result_is_truncated():
    first = ask("Weather in Oslo?")
    history = turn_and_results(first)
    history[-1]["content"] = json.dumps({"success": True, "result": "x" * 10_000})
    final = ask("Weather in Oslo?", history)
    assert len(final.content) < 500 and final.content.endswith("….")


def test_usage_is_counted_and_never_zero():
    usage = ask("Weather in Oslo?").usage
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0


def test_no_tools_and_odd_messages_still_get_a_text_answer():
    for messages in (
        [{"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}],
        [{"role": "system", "content": "You are terse."}],
        [{"role": "user", "content": None}],
        [{"role": "assistant", "content": "Hi", "tool_calls": "not a list"}],
        [{"role": "tool", "tool_call_id": 7, "content": {"odd": True}}],
    ):
        for tools in ([], STARTER):
            request = demo_model.parse_request(json.dumps({"messages": messages, "tools": tools}))
            answer = demo_model.answer(request)
            assert answer.content or answer.tool_calls


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('{"messages": NaN}', None),
        ("{}", "messages"),
        ('{"messages": []}', "messages"),
        ('{"messages": ["hi"]}', "messages[0]"),
        ('{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role"),
        ('{"messages": [{"content": "hi"}]}', "messages[0].role"),
        ('{"messages": [{"role": "user"}], "tools": {}}', "tools"),
        ('{"messages": [{"role": "user"}], "tools": [{"type": "function"}]}', "tools[0]"),
        (
            '{"messages": [{"role": "user"}], "tools": [{"type": "function", '
            '"function": {"name": "a b"}}]}',
            "tools[0].function.name",
        ),
        ('{"messages": [{"role": "user"}], "tool_choice": "sometimes"}', "tool_choice"),
        ('{"messages": [{"role": "user"}], "tool_choice": "required"}', "tool_choice"),
        (
            '{"messages": [{"role": "user"}], "tool_choice": '
            '{"type": "function", "function": {"name": "absent"}}}',
            "tool_choice",
        ),
        ('{"messages": [{"role": "user"}], "parallel_tool_calls": "yes"}', "parallel_tool_calls"),
        ('{"messages": [{"role": "user"}], "stream": 1}', "stream"),
        ('{"messages": [{"role": "user"}], "stream_options": {}}', "stream_options"),
        ("[" * 100_000 + "]" * 100_000, None),
        (json.dumps({"messages": [{"role": "user"}], "tools": STARTER * 26}), "tools"),
    ],
)
def test_invalid_requests_get_openai_error_objects(body, param):
    with pytest.raises(DemoRequestError) as raised:
        demo_model.parse_request(body)
    error = raised.value.body()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], raised.value.status) == (
        "invalid_request_error",
        param,
        400,
    )


HOSTILE_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=300
) | st.sampled_from(["\ud800 Oslo", "\x00Lima\x00", "A" * 50_000, "1" * 5000 + "+", "(" * 3000])


@settings(max_examples=150, deadline=None)
@given(
    prompt=HOSTILE_TEXT,
    schema=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "properties",
                        "required",
                        "enum",
                        "examples",
                        "default",
                        "minimum",
                        "maximum",
                        "format",
                        "city",
                        "n",
                    ]
                ),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    ),
    choice=st.sampled_from(["auto", "none", "required", None]),
    parallel=st.booleans(),
)
def test_hostile_prompts_and_schemas_never_crash(prompt, schema, choice, parallel):
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": schema}},
        *STARTER,
    ]
    body = {"messages": [{"role": "user", "content": prompt}], "tools": tools}
    body.update({"parallel_tool_calls": parallel} | ({"tool_choice": choice} if choice else {}))
    request = demo_model.parse_request(json.dumps(body))
    answer = demo_model.answer(request)
    assert len(answer.tool_calls) <= demo_model.MAX_CALLS
    for call in answer.tool_calls:
        assert isinstance(json.loads(call.arguments), dict)
    list(demo_model.sse_events(request, answer))
    json.dumps(demo_model.completion(request, answer))


def test_a_huge_schema_is_read_only_in_part():
    properties = {
        f"p{i}": {"type": "string", "enum": [f"v{j}" for j in range(300)]} for i in range(5000)
    }
    properties["city"] = {"type": "string"}
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": properties, "required": ["city"]},
        },
    }
    request = demo_model.parse_request(
        json.dumps(
            {"messages": [{"role": "user", "content": "Weather in Oslo v7"}], "tools": [tool]}
        )
    )
    [call] = demo_model.answer(request).tool_calls
    arguments = json.loads(call.arguments)
    assert arguments["p0"] == "v7" and arguments["city"] == "city 1"
