"""A server that sends no usage (llama-cpp-python's stream) leaves tokens unknown, not 0: in the
model call, the page, and converse's summary and --json."""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from conversations import compose
from conversations.models import ModelCall, RunStatus
from conversations.provider import ProviderConfig, _usage, complete
from conversations.runner import run_conversation
from conversations.view_models import conversation_summary
from tests.support.openai_server import Reply

OSLO = [{"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]


@pytest.fixture
def usage_free_server(model_server):
    model_server.send_usage = False
    return model_server


def run_one(team, people, provider, tool, server=None):
    if server is not None:
        server.script(Reply(tool_calls=OSLO), Reply(content="Cold."))
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED
    return conversation


def test_the_model_calls_record_no_counts(team, people, provider, tool, usage_free_server):
    conversation = run_one(team, people, provider, tool, usage_free_server)
    assert usage_free_server.requests[0]["body"]["stream_options"] == {"include_usage": True}
    counts = ModelCall.objects.filter(conversation=conversation).values_list(
        "prompt_tokens", "completion_tokens", "total_tokens"
    )
    assert list(counts) == [(None, None, None), (None, None, None)]
    assert conversation_summary(conversation)["tokens"] is None


def test_one_call_without_usage_makes_the_total_unknown(team, people, provider, tool, model_server):
    model_server.script(Reply(tool_calls=OSLO), Reply(content="Cold.", usage=None))
    conversation = run_one(team, people, provider, tool)
    assert [c.total_tokens for c in conversation.model_calls.all()] == [18, None]
    assert conversation_summary(conversation)["tokens"] is None


def test_known_counts_add_up(team, people, provider, tool, model_server):
    conversation = run_one(team, people, provider, tool, model_server)
    assert conversation_summary(conversation)["tokens"] == 36


def test_the_page_says_unknown(team, people, provider, tool, usage_free_server):
    conversation = run_one(team, people, provider, tool, usage_free_server)
    url = f"/t/acme/conversations/{conversation.pk}/"
    html = people.client_for("viewer").get(url).content.decode()
    assert '<dd id="summary-tokens"><span title="The provider sent no usage' in html
    assert ">unknown</span></dd>" in html
    assert html.count("tokens unknown") == 2
    assert " 0 tokens" not in html
    assert people.client_for("outsider").get(url).status_code == 404


def converse(*args: str) -> str:
    out = io.StringIO()
    call_command("converse", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_converse_says_unknown_and_json_null(provider, tool, usage_free_server):
    usage_free_server.script(Reply(tool_calls=OSLO), Reply(content="Cold."))
    text = converse("--provider=Scripted", "--catalog=travel", "--prompt=Weather?")
    assert "tokens: unknown" in text.splitlines()
    usage_free_server.script(Reply(tool_calls=OSLO), Reply(content="Cold."))
    report = json.loads(
        converse("--provider=Scripted", "--catalog=travel", "--prompt=Weather?", "--json")
    )
    assert report["tokens"] is None
    assert report["status"] == "finished"


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_the_client_reports_no_usage_as_none(usage_free_server, stream):
    config = ProviderConfig(
        base_url=usage_free_server.base_url, api_key="sk-test-key-123456", model="test-model"
    )
    usage_free_server.script(Reply(content="Hi."))
    turn = await complete(config, {"messages": [{"role": "user", "content": "Hi"}]}, stream=stream)
    assert (turn.content, turn.usage) == ("Hi.", None)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}, None),
        ({"prompt_tokens": 5, "completion_tokens": 2}, {"total_tokens": 7}),
        ({"total_tokens": 9}, {}),
        ({"prompt_tokens": -1, "completion_tokens": True, "total_tokens": 2**40}, "none"),
        ({"prompt_tokens": None, "completion_tokens": "3", "total_tokens": 1.5}, "none"),
        ({}, "none"),
    ],
)
def test_usage_keeps_only_counts_that_are_counts(sent, kept):
    if kept == "none":
        assert _usage(sent) is None
    else:
        assert _usage(sent) == {**sent, **(kept or {})}
