"""The real `openai` SDK, pointed at the recording proxy, runs a tool-calling loop against an
upstream test server: it sees the upstream's answers as if it had called it, the upstream sees
the app's requests unchanged, and the studio records the loop as one conversation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from openai import AsyncOpenAI

from conversations import proxy
from conversations.models import BatchSource, Conversation, ExecutionStatus
from conversations.view_models import conversation_summary
from tests.support.openai_server import Reply
from tests.support.proxy_clients import TOOLS, run_agent_loop, sdk_for

pytestmark = pytest.mark.django_db(transaction=True)


def through_the_proxy(scenario: Callable[[AsyncOpenAI], Awaitable[Any]], token: str) -> Any:
    """Run what the app does, then wait until the proxy has recorded it."""

    async def run() -> Any:
        async with sdk_for(token) as client:
            outcome = await scenario(client)
        await proxy.recorder().drain()
        return outcome

    return async_to_sync(run)()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_an_agent_loop_is_recorded_as_one_conversation(stream, api_token, model_server, provider):
    model_server.script(
        Reply(
            tool_calls=[
                {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
                {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Lima"}'},
            ]
        ),
        Reply(tool_calls=[{"id": "call_c", "name": "get_time", "arguments": '{"tz": "UTC"}'}]),
        Reply(content="Oslo 3°C, Lima 19°C, 12:00 UTC."),
    )
    answer = through_the_proxy(lambda client: run_agent_loop(client, stream=stream), api_token)

    assert answer == "Oslo 3°C, Lima 19°C, 12:00 UTC."
    conversation = Conversation.objects.get()
    assert conversation.recorded and conversation.api_token.name == "agent"
    assert conversation.title == "Weather in Oslo and Lima, and the time?"
    calls = list(conversation.model_calls.order_by("round"))
    assert [(c.round, c.ok, c.finish_reason) for c in calls] == [
        (0, True, "tool_calls"),
        (1, True, "tool_calls"),
        (2, True, "stop"),
    ]
    assert [m.role for m in conversation.messages.all()] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    batches = list(conversation.batches.order_by("round"))
    assert [(b.round, b.source) for b in batches] == [
        (0, BatchSource.RECORDED),
        (1, BatchSource.RECORDED),
    ]
    first = list(batches[0].executions.all())
    assert [(e.tool_call_id, e.tool_name, e.status, e.result) for e in first] == [
        ("call_a", "get_weather", ExecutionStatus.OK, {"city": "Oslo", "temp_c": 3}),
        ("call_b", "get_weather", ExecutionStatus.OK, {"city": "Lima", "temp_c": 19}),
    ]
    assert all(e.finished_ms >= e.started_ms == 0 for e in first)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_the_upstream_gets_the_request_unchanged(stream, api_token, model_server, provider):
    model_server.script(Reply(content="Hi."))

    async def ask(client: AsyncOpenAI) -> None:
        sent = await client.chat.completions.create(
            model="some-model-name-as-given",
            messages=[{"role": "user", "content": "Hi"}],
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            parallel_tool_calls=False,
            temperature=0.25,
            stream=stream,
            extra_body={"an_unknown_field": {"nested": [1, 2]}},
        )
        if stream:
            [chunk async for chunk in sent]

    through_the_proxy(ask, api_token)

    received = model_server.requests[-1]
    assert received["headers"]["authorization"] == "Bearer sk-test-key-123456"
    body = received["body"]
    assert body["model"] == "some-model-name-as-given"
    assert body["tools"] == TOOLS
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["temperature"] == 0.25
    assert body["an_unknown_field"] == {"nested": [1, 2]}
    assert body.get("stream", False) is stream
    assert Conversation.objects.get().model_calls.get().request == body


def test_a_named_conversation_collects_unrelated_requests(api_token, model_server, provider):
    model_server.script(Reply(content="One."), Reply(content="Two."))

    async def ask(client: AsyncOpenAI) -> None:
        for question in ("First?", "Second?"):
            await client.chat.completions.create(
                model="test-model",
                messages=[{"role": "user", "content": question}],
                extra_headers={"X-FCStudio-Conversation": "nightly-eval"},
            )

    through_the_proxy(ask, api_token)

    conversation = Conversation.objects.get()
    assert conversation.title == "nightly-eval"
    assert [c.round for c in conversation.model_calls.all()] == [0, 1]


def test_requests_that_do_not_continue_each_other_are_separate(api_token, model_server, provider):
    model_server.script(Reply(content="One."), Reply(content="Two."))

    async def ask(client: AsyncOpenAI) -> None:
        for question in ("First?", "Second?"):
            await client.chat.completions.create(
                model="test-model", messages=[{"role": "user", "content": question}]
            )

    through_the_proxy(ask, api_token)

    assert sorted(Conversation.objects.values_list("title", flat=True)) == ["First?", "Second?"]


def test_the_model_list_comes_from_the_upstream(api_token, model_server, provider):

    async def listed(client: AsyncOpenAI) -> list[str]:
        return [model.id async for model in client.models.list()]

    models = through_the_proxy(listed, api_token)
    assert models == ["test-model"]


def test_the_summary_does_not_make_up_a_sum_for_the_apps_own_calls(
    api_token, model_server, provider, people
):
    """The recording knows how long the app took for a round of its calls, not each call: the
    summed call time and the speed-up are unknown, not 0."""
    model_server.script(
        Reply(tool_calls=[{"id": "call_a", "name": "get_time", "arguments": "{}"}]),
        Reply(content="Done."),
    )
    through_the_proxy(lambda client: run_agent_loop(client, stream=False), api_token)
    conversation = Conversation.objects.get()

    summary = conversation_summary(conversation)
    assert summary["tool_sum_ms"] is None and summary["speedup"] is None
    assert summary["tool_wall_ms"] > 0
    page = people.client_for("viewer").get(
        reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    )
    sum_cell = page.content.decode().split('id="summary-sum">')[1].split("</dd>")[0]
    assert "unknown" in sum_cell and "0 ms" not in sum_cell


def test_the_settings_line_shows_what_the_app_sent_not_studio_defaults(
    api_token, model_server, provider, people
):
    model_server.script(Reply(content="First."), Reply(content="Second."))

    async def app(client: AsyncOpenAI) -> None:
        question = [{"role": "user", "content": "Plain question?"}]
        await client.chat.completions.create(model="test-model", messages=question)
        await client.chat.completions.create(
            model="test-model",
            messages=[{"role": "user", "content": "With tools?"}],
            tools=TOOLS,
            tool_choice="required",
            parallel_tool_calls=False,
        )

    through_the_proxy(app, api_token)
    lines = {}
    for conversation in Conversation.objects.all():
        page = people.client_for("viewer").get(
            reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
        )
        line = page.content.decode().split('id="run-settings-line">')[1].split("</p>")[0]
        lines[conversation.title] = " ".join(re.sub(r"<[^>]+>", "", line).split())
    assert (
        "tool_choice not sent · parallel_tool_calls not sent · 0 tools offered"
        in (lines["Plain question?"])
    )
    assert (
        "tool_choice required · parallel_tool_calls false · 2 tools offered"
        in (lines["With tools?"])
    )
    assert "at most" not in lines["With tools?"]  # the app, not the studio, ran its loop
