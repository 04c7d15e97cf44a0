"""The demo model's work per request is bounded, whatever the request offers: the enum and example
values it looks up in the prompt have a budget, and each look-up is a plain search of the
lower-cased prompt that answers as the word-bounded, case-blind pattern did."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import demo_model

PROMPT = "Weather in Oslo, Lima and Osaka? " + "Pick a forecast for the weather. " * 130


def maximal_request() -> demo_model.DemoRequest:
    """OpenAI's limits at once: 128 tools, each with 100 properties of 200 enum or example
    values; every tool fits the prompt and no value is named in it (so each would be looked
    up). The value lists are shared, so building this costs nothing."""
    enum = [f"forecast weather {n}" for n in range(200)]
    examples = [f"weather forecast {n}" for n in range(200)]
    properties = {
        f"p{n}": {"type": "string", "enum": enum}
        if n % 2
        else {"type": "string", "examples": examples}
        for n in range(100)
    }
    parameters = {"type": "object", "properties": properties, "required": list(properties)}
    tools = [
        demo_model.OfferedTool(f"get_weather_{n}", "The weather forecast.", parameters)
        for n in range(128)
    ]
    assert len(PROMPT) > demo_model.MAX_PROMPT_CHARS
    return demo_model.DemoRequest(
        messages=[{"role": "user", "content": PROMPT}], tools=tools, tool_choice="auto"
    )


def test_a_maximal_request_looks_up_at_most_two_thousand_values(monkeypatch):
    looked_up = 0
    mentions = demo_model._mentions

    def counting(*args):
        nonlocal looked_up
        looked_up += 1
        assert looked_up <= 2_000, "more than 2,000 values looked up for one request"
        return mentions(*args)

    monkeypatch.setattr(demo_model, "_mentions", counting)
    answer = demo_model.answer(maximal_request())

    assert 0 < looked_up <= 2_000
    assert len(answer.tool_calls) == demo_model.MAX_CALLS
    assert [call.name for call in answer.tool_calls] == [f"get_weather_{n}" for n in range(8)]


def test_the_budget_is_per_request_so_a_second_request_names_values_again():
    spent = {
        f"p{n}": {"type": "string", "enum": [f"forecast weather {v}" for v in range(200)]}
        for n in range(10)
    }
    unit = {"type": "string", "enum": ["celsius", "fahrenheit"]}

    def ask(properties: dict) -> dict:
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": properties, "required": ["unit"]},
            },
        }
        body = {"messages": [{"role": "user", "content": "Weather in fahrenheit"}], "tools": [tool]}
        [call] = demo_model.answer(demo_model.parse_request(json.dumps(body))).tool_calls
        return json.loads(call.arguments)

    # 2,000 values looked up before `unit`'s: its own are not, and the schema's first is taken.
    assert ask({**spent, "unit": unit})["unit"] == "celsius"
    assert ask({"unit": unit}) == {"unit": "fahrenheit"}
    assert ask({"unit": unit}) == {"unit": "fahrenheit"}


TEXT = st.text(alphabet=st.sampled_from(list("aAbBéÉ _-.'1+")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(prompt=TEXT, value=TEXT)
def test_a_look_up_answers_as_the_word_bounded_case_blind_pattern(prompt, value):
    pattern = r"(?<!\w)" + re.escape(value) + r"(?!\w)"
    expected = re.search(pattern, prompt, re.IGNORECASE) is not None
    assert demo_model._mentions(demo_model.PromptValues(prompt), value) == expected


def test_a_value_is_named_only_as_a_whole_word():
    values = demo_model.PromptValues("Book it for New York, in CELSIUS (not c++-ish).")
    assert demo_model._mentions(values, "new york")
    assert demo_model._mentions(values, "Celsius")
    assert demo_model._mentions(values, "c++")
    assert demo_model._mentions(values, "York, in celsius")
    assert not demo_model._mentions(values, "ew york")
    assert not demo_model._mentions(values, "celsiu")
    assert not demo_model._mentions(values, "Paris")
