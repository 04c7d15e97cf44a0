"""Hostile values through the recording proxy: an app's request (NUL, deep nesting; the SDK
itself cannot encode a lone surrogate) and an upstream's answer (lone surrogate, NUL, `1e999`)
reach the other side unchanged, the exchange is recorded (in this process as under Daphne, or
by a child process as under `serve_proxy`, the request crossing to it as its bytes), and its page
still renders."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync

from conversations import proxy
from conversations.models import Conversation
from conversations.recorder_process import RecorderProcess
from tests.support.openai_server import Reply
from tests.support.proxy_clients import sdk_for

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_TEXT = "half a pair \ud800 and a NUL \x00 here"
ASKED = "a NUL \x00 in the question"
DEEP: Any = "bottom"
for _ in range(60):
    DEEP = {"d": DEEP}


@pytest.fixture(params=["in process", "child process"])
def recording(request, monkeypatch):
    if request.param == "child process":
        monkeypatch.setattr(proxy, "_recorder_kind", RecorderProcess)
    yield request.param
    proxy.close_recorders()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_hostile_values_pass_through_and_the_record_renders(
    stream, recording, api_token, model_server, people
):
    model_server.script(
        Reply(
            content=HOSTILE_TEXT,
            tool_calls=[{"id": "call_x", "name": "get_weather", "arguments": '{"city": 1e999}'}],
        )
    )
    request = {
        "model": "test-model",
        "messages": [{"role": "user", "content": ASKED}],
        "metadata_blob": DEEP,  # an unknown field, forwarded as it is
    }

    async def run() -> Any:
        async with sdk_for(api_token) as client:
            body = dict(request)
            extra = {"metadata_blob": body.pop("metadata_blob")}
            if stream:
                chunks = [
                    chunk
                    async for chunk in await client.chat.completions.create(
                        **body, stream=True, extra_body=extra
                    )
                ]
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                arguments = "".join(
                    call.function.arguments or ""
                    for c in chunks
                    if c.choices
                    for call in c.choices[0].delta.tool_calls or []
                )
            else:
                completion = await client.chat.completions.create(**body, extra_body=extra)
                message = completion.choices[0].message
                text = message.content
                arguments = message.tool_calls[0].function.arguments
        await proxy.recorder().drain()
        return text, arguments

    text, arguments = async_to_sync(run)()

    assert (text, arguments) == (HOSTILE_TEXT, '{"city": 1e999}')  # the app saw what was sent
    sent = model_server.requests[-1]["body"]
    assert sent["messages"][0]["content"] == ASKED and sent["metadata_blob"] == DEEP
    conversation = Conversation.objects.get()
    assert conversation.recorded and conversation.model_calls.get().ok
    page = people.client_for("viewer").get(f"/t/acme/conversations/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "half a pair \\ud800 and a NUL \\u0000 here" in html
    assert "a NUL \\u0000 in the question" in html
    assert "1e999" in html
