"""The scripted OpenAI-compatible test server, checked with the real `openai` SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx2
import openai
import pytest

from tests.support.openai_server import Reply, ScriptedOpenAI

CALLS = [
    {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"id": "call_2", "name": "get_weather", "arguments": '{"city": "Lima", "unit": "f"}'},
    {"id": "call_3", "name": "get_time", "arguments": '{"tz": "UTC"}'},
]
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


@pytest.fixture
def client(server: ScriptedOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def test_plain_reply(server, client):
    server.script(Reply(content="Hello back."))

    completion = client.chat.completions.create(model="test-model", messages=HELLO)

    assert completion.object == "chat.completion"
    assert completion.model == "test-model"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello back."
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 18
    assert server.requests[0]["body"] == {"model": "test-model", "messages": HELLO}
    assert server.requests[0]["headers"]["authorization"] == "Bearer sk-test"
    assert server.pending == 0


def test_plain_tool_calls(server, client):
    server.script(Reply(tool_calls=CALLS))

    completion = client.chat.completions.create(model="test-model", messages=HELLO)

    message = completion.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        (c["id"], "function", c["name"], c["arguments"]) for c in CALLS
    ]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_streamed_reply_reassembles(server, client):
    server.script(Reply(content="It is 12 degrees in Oslo."))

    stream = client.chat.completions.create(
        model="test-model", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "It is 12 degrees in Oslo."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 6
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 11
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_stream_without_usage_option_has_no_usage_chunk(server, client):
    server.script(Reply(content="Hi"))

    chunks = list(client.chat.completions.create(model="m", messages=HELLO, stream=True))

    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


def test_three_parallel_tool_calls_stream_interleaved(server, client):
    server.script(Reply(tool_calls=CALLS, split_arguments=3))

    chunks = list(client.chat.completions.create(model="m", messages=HELLO, stream=True))

    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert [d.index for d in deltas] == [0, 0, 1, 1, 2, 2, 0, 1, 2, 0, 1, 2]
    firsts = {}
    for delta in deltas:
        firsts.setdefault(delta.index, delta)
    for index, first in firsts.items():
        assert first.id == CALLS[index]["id"]
        assert first.type == "function"
        assert first.function is not None
        assert first.function.name == CALLS[index]["name"]
        assert first.function.arguments == ""
    later = [d for d in deltas if d not in firsts.values()]
    assert all(d.id is None and d.type is None and d.function.name is None for d in later)
    for index, call in enumerate(CALLS):
        arguments = "".join(d.function.arguments for d in deltas if d.index == index)
        assert arguments == call["arguments"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_wire_format_of_a_stream(server):
    """Byte-level: SSE `data:` lines, the chunk fields OpenAI sends, and the [DONE] sentinel."""
    server.script(Reply(content="Hi there", tool_calls=CALLS[:1], split_arguments=1))
    response = httpx2.post(
        f"{server.base_url}/chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "m", "messages": HELLO, "stream": True},
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert set(chunks[0]) == {
        "id",
        "object",
        "created",
        "model",
        "service_tier",
        "system_fingerprint",
        "choices",
    }
    assert chunks[0]["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert [c["choices"][0]["delta"] for c in chunks[1:]] == [
        {"content": "Hi"},
        {"content": " there"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Oslo"}'}}]},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (404, openai.NotFoundError),
        (422, openai.UnprocessableEntityError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_error_statuses_surface_as_sdk_exceptions(server, client, status, error):
    server.script(Reply(status=status, content="scripted failure", headers={"retry-after": "1"}))

    with pytest.raises(error) as caught:
        client.chat.completions.create(model="m", messages=HELLO, stream=True)

    assert caught.value.status_code == status
    assert caught.value.message == f"Error code: {status} - scripted failure"
    assert caught.value.response.headers["retry-after"] == "1"
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}


def test_wrong_key_is_401(server):
    server.script(Reply(content="never sent"))
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)

    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="m", messages=HELLO)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()

    assert server.pending == 1  # a refused request consumes no reply
    assert server.requests[-1]["headers"]["authorization"] == "Bearer sk-wrong"


def test_any_key_when_the_server_wants_none():
    with ScriptedOpenAI(api_key=None) as server:
        server.script(Reply(content="ok"))
        client = openai.OpenAI(base_url=server.base_url, api_key="anything", max_retries=0)

        completion = client.chat.completions.create(model="m", messages=HELLO)

    assert completion.choices[0].message.content == "ok"


def test_models_list():
    with ScriptedOpenAI(models=("b-model", "a-model")) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)

        models = client.models.list()

    assert [model.id for model in models] == ["b-model", "a-model"]
    assert {model.object for model in models} == {"model"}


def test_no_reply_left_is_a_clear_500(server, client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=HELLO)

    assert "no scripted reply left" in caught.value.message


def test_replies_are_consumed_in_order(server, client):
    server.script(Reply(content="first"), Reply(content="second"))

    answers = [
        client.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        for _ in range(2)
    ]

    assert answers == ["first", "second"]


def test_close_early_drops_the_stream(server, client):
    server.script(Reply(content="one two three four", close_early=True))

    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="m", messages=HELLO, stream=True):
            received.append(chunk)

    assert 1 < len(received) < 5
    assert all(chunk.choices[0].finish_reason is None for chunk in received)


def test_raw_body_is_sent_verbatim(server, client):
    server.script(Reply(raw_body=b"not json at all"))

    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model="m", messages=HELLO)


def test_delay_is_observed(server):
    server.script(Reply(content="late", delay_s=1.0))
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=0.2)

    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=HELLO)


def test_a_client_in_another_process(server):
    """The browser tests call from a forked Daphne: all state must stay with the server."""
    server.script(Reply(content="from afar"))
    code = textwrap.dedent(
        f"""
        import openai
        client = openai.OpenAI(base_url={server.base_url!r}, api_key="sk-test", max_retries=0)
        print(client.chat.completions.create(model="m", messages=[]).choices[0].message.content)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "from afar"
    assert server.requests[-1]["body"] == {"model": "m", "messages": []}
    assert server.pending == 0


def test_reject_null_content_answers_500_like_llama_cpp_python(server, client):
    server.reject_null_content = True
    server.script(Reply(content="Fine."))
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    history = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(openai.InternalServerError) as failure:
        client.chat.completions.create(model="test-model", messages=history)
    assert failure.value.status_code == 500
    assert "Input should be a valid string" in str(failure.value)
    history[1]["content"] = ""
    completion = client.chat.completions.create(model="test-model", messages=history)
    assert completion.choices[0].message.content == "Fine."


def test_obey_forced_choice_calls_the_named_or_first_tool_without_using_the_script(server, client):
    server.obey_forced_choice = True
    server.script(Reply(content="Scripted."))
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("get_weather", "get_time")
    ]
    named = {"type": "function", "function": {"name": "get_time"}}
    for choice, expected in ((named, "get_time"), ("required", "get_weather")):
        completion = client.chat.completions.create(
            model="test-model", messages=HELLO, tools=tools, tool_choice=choice
        )
        calls = completion.choices[0].message.tool_calls
        assert calls is not None and [c.function.name for c in calls] == [expected]
    assert server.pending == 1
    completion = client.chat.completions.create(
        model="test-model", messages=HELLO, tools=tools, tool_choice="auto"
    )
    assert completion.choices[0].message.content == "Scripted."


def test_send_usage_off_leaves_usage_out_even_when_asked(server, client):
    server.send_usage = False
    server.script(Reply(content="Hi."), Reply(content="Hi."))
    stream = client.chat.completions.create(
        model="test-model", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert all(chunk.usage is None for chunk in stream)
    assert client.chat.completions.create(model="test-model", messages=HELLO).usage is None
