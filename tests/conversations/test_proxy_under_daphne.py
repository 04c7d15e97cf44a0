"""The real `openai` SDK, configured only with a base URL and an API token, runs a tool-calling
loop through the proxy served by Daphne (as `fcstudio.asgi` routes it) and by its own server
(`serve_proxy`: uvicorn, recording in a child process), plain and streamed; each loop is one
recorded conversation with a model call per round."""

from __future__ import annotations

import pytest

from conversations.models import BatchSource, Conversation, ModelCall
from tests.support.live_studio import serve_proxy, serve_studio
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk, recorded_soon, run_agent_loop_sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("serve", [serve_studio, serve_proxy], ids=["daphne", "serve_proxy"])
def test_an_agent_loop_through_a_live_server_is_one_conversation_per_loop(
    serve, api_token, model_server, provider
):
    weather = [
        {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Lima"}'},
    ]
    for _ in ("plain", "streamed"):
        model_server.script(
            Reply(tool_calls=weather),
            Reply(tool_calls=[{"id": "call_c", "name": "get_time", "arguments": "{}"}]),
            Reply(content="Oslo 3°C, Lima 19°C, 12:00 UTC."),
        )
    with serve() as base_url:
        client = live_sdk(base_url, api_token)
        plain = run_agent_loop_sync(client, stream=False, question="Plain?")
        streamed = run_agent_loop_sync(client, stream=True, question="Streamed?")
        models = client.models.list()
        recorded_soon(lambda: ModelCall.objects.filter(ok=True).count() == 6)

    assert plain == streamed == "Oslo 3°C, Lima 19°C, 12:00 UTC."
    assert [model.id for model in models.data] == ["test-model"]
    for title in ("Plain?", "Streamed?"):
        conversation = Conversation.objects.get(title=title)
        assert conversation.recorded and conversation.api_token is not None
        assert [c.round for c in conversation.model_calls.all()] == [0, 1, 2]
        batches = conversation.batches.order_by("round")
        assert [(b.round, b.source, b.executions.count()) for b in batches] == [
            (0, BatchSource.RECORDED, 2),
            (1, BatchSource.RECORDED, 1),
        ]
    assert Conversation.objects.count() == 2
