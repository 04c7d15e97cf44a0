"""Compatible servers index streamed tool calls in their own ways: Ollama puts every call at
index 0, Gemini's compatible API (and Xinference) sends no index at all, SGLang indexes a call's
first fragment by its tool's place in `tools`. Each call still comes back whole and apart from
the others, as with OpenAI's own numbering (the scripted server's default, calls interleaved)."""

from __future__ import annotations

import json

import pytest

from conversations.provider import ProviderConfig, complete, read_answer
from tests.support.openai_server import Reply, ScriptedOpenAI

CALLS = [
    {"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo", "unit": "c"}'},
    {"id": "call_time", "name": "get_time", "arguments": '{"tz": "Europe/Oslo"}'},
    {"id": "call_bergen", "name": "get_weather", "arguments": '{"city": "Bergen"}'},
]
TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("get_time", "get_weather")
]


async def streamed(server: ScriptedOpenAI, reply: Reply) -> tuple[list[tuple], list[str], list]:
    server.script(reply)
    config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="test-model")
    live: list = []
    turn = await complete(
        config,
        {"messages": [{"role": "user", "content": "Weather?"}], "tools": TOOLS},
        on_delta=lambda delta: live.append((delta.index, delta.call_id)),
    )
    calls = [(call.index, call.id, call.name, call.arguments) for call in turn.tool_calls]
    return calls, turn.problems, live


EXPECTED = [(n, c["id"], c["name"], c["arguments"]) for n, c in enumerate(CALLS)]


@pytest.mark.asyncio
@pytest.mark.parametrize("indexes", ["openai", "all_zero", "missing", "tool_position"])
@pytest.mark.parametrize("repeat_names", [False, True])
async def test_each_call_comes_back_whole_however_the_server_indexes_them(indexes, repeat_names):
    with ScriptedOpenAI() as server:
        server.call_indexes = indexes
        server.repeat_call_names = repeat_names
        calls, problems, live = await streamed(server, Reply(tool_calls=CALLS, split_arguments=3))
    assert calls == EXPECTED
    assert problems == []
    # what the page is told live names each call by the number it is shown under
    assert {(index, call_id) for index, call_id in live if call_id} == {
        (n, c["id"]) for n, c in enumerate(CALLS)
    }


@pytest.mark.asyncio
async def test_one_whole_call_per_chunk_at_index_zero():
    """Ollama streams each call whole, in one fragment, all at index 0."""
    with ScriptedOpenAI() as server:
        server.call_indexes = "all_zero"
        calls, problems, _ = await streamed(server, Reply(tool_calls=CALLS, split_arguments=1))
    assert calls == EXPECTED
    assert problems == []


@pytest.mark.asyncio
async def test_calls_without_ids_keep_their_numbers_and_are_named_as_missing():
    """A server that sends no ids but numbers its calls: each call is still apart, and said to
    have had no id."""
    nameless = [{k: v for k, v in call.items() if k != "id"} for call in CALLS]
    with ScriptedOpenAI() as server:
        calls, problems, _ = await streamed(server, Reply(tool_calls=nameless))
    assert [(i, name, arguments) for i, _, name, arguments in calls] == [
        (n, c["name"], c["arguments"]) for n, c in enumerate(CALLS)
    ]
    assert [call_id for _, call_id, _, _ in calls] == [f"call_missing_{n}" for n in range(3)]
    assert len(problems) == 3


def test_a_recorded_stream_reads_the_same():
    """The recording proxy reads the stream it relayed with the same assembly."""
    chunks = [
        {"index": 0, "id": c["id"], "function": {"name": c["name"], "arguments": c["arguments"]}}
        for c in CALLS
    ]
    lines = [
        b"data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"tool_calls": [chunk]}}]}).encode()
        for chunk in chunks
    ]
    lines.append(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}')
    turn = read_answer(b"\n\n".join([*lines, b"data: [DONE]"]), stream=True)
    assert [(c.index, c.id, c.name, c.arguments) for c in turn.tool_calls] == EXPECTED


@pytest.mark.asyncio
async def test_two_calls_that_repeat_an_id_stay_two_calls():
    """OpenAI's numbering, one id used twice (models do repeat ids in a turn): each index keeps
    its call, the second not folded into the first."""
    twins = [{**CALLS[0], "id": "call_1"}, {**CALLS[2], "id": "call_1"}]
    for split in (1, 3):
        with ScriptedOpenAI() as server:
            calls, problems, _ = await streamed(
                server, Reply(tool_calls=twins, split_arguments=split)
            )
        assert [(i, c_id, name, arguments) for i, c_id, name, arguments in calls] == [
            (0, "call_1", "get_weather", CALLS[0]["arguments"]),
            (1, "call_1", "get_weather", CALLS[2]["arguments"]),
        ], split
        assert problems == []
