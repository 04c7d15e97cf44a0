"""Some compatible servers repeat a streamed tool call's id and name in every delta; the
accumulator keeps them once (OpenAI sends them in the first delta only)."""

from __future__ import annotations

import pytest

from conversations.provider import ProviderConfig, _merge, complete
from tests.support.openai_server import Reply, ScriptedOpenAI

CALLS = [
    {"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo", "unit": "c"}'},
    {"id": "call_time", "name": "get_time", "arguments": '{"tz": "Europe/Oslo"}'},
]


@pytest.mark.asyncio
async def test_names_and_ids_repeated_in_every_delta_are_kept_once():
    with ScriptedOpenAI() as server:
        server.repeat_call_names = True
        server.script(Reply(tool_calls=CALLS, split_arguments=4))
        config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="test-model")
        names_seen = []
        turn = await complete(
            config,
            {"messages": [{"role": "user", "content": "Weather and time in Oslo?"}]},
            on_delta=lambda delta: names_seen.append(delta.call_name),
        )
    assert [(c.id, c.name, c.arguments) for c in turn.tool_calls] == [
        (c["id"], c["name"], c["arguments"]) for c in CALLS
    ]
    assert turn.problems == []
    assert set(names_seen) == {"get_weather", "get_time"}


def test_merge_appends_fragments_and_ignores_repeats():
    assert _merge("", "get_") == "get_"
    assert _merge("get_", "weather") == "get_weather"
    assert _merge("get_weather", "get_weather") == "get_weather"
    assert _merge("get_weather", "") == "get_weather"
