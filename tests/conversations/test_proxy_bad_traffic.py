"""What the recording proxy does with bad traffic: each refusal an OpenAI-style error object
(or, once an answer has begun, a clean close), never a half-written record, and the upstream
request cancelled when the client goes away."""

from __future__ import annotations

import json

import openai
import pytest
from asgiref.sync import async_to_sync, sync_to_async

from conversations import proxy
from conversations.models import Conversation, ModelCall, Provider
from conversations.providers import set_api_key
from conversations.tokens import create_token
from tests.support.asgi_call import AsgiCall
from tests.support.held_upstream import HeldUpstream
from tests.support.openai_server import Reply
from tests.support.proxy_clients import sdk_for

pytestmark = pytest.mark.django_db(transaction=True)
ASK = {"model": "test-model", "messages": [{"role": "user", "content": "Hi"}]}


def post(token: str, body: bytes | list[bytes], headers: tuple = ()) -> AsgiCall:
    call = AsgiCall(
        "POST",
        "/v1/chat/completions",
        headers=[(b"authorization", f"Bearer {token}".encode()), *headers],
        body=body if isinstance(body, list) else [body],
    )

    async def run() -> AsgiCall:
        await call.run(proxy.application)
        await proxy.recorder().drain()
        return call

    return async_to_sync(run)()


def assert_error(call: AsgiCall, status: int, code: str) -> None:
    assert call.status == status
    error = call.json["error"]
    assert error["code"] == code and error["message"] and error["type"]


def test_a_body_that_is_not_json_is_refused(api_token, model_server):
    assert_error(post(api_token, b'{"model": "m", "messages": ['), 400, "invalid_json")
    assert_error(post(api_token, b"[1, 2]"), 400, "invalid_json")
    assert_error(post(api_token, b"[" * 100_000), 400, "invalid_json")
    assert model_server.requests == [] and not ModelCall.objects.exists()


def test_an_oversized_body_is_refused(api_token, model_server, settings):
    settings.FCSTUDIO_PROXY_MAX_BODY_BYTES = 1000
    big = json.dumps({**ASK, "padding": "x" * 2000}).encode()
    declared = post(api_token, big, headers=((b"content-length", str(len(big)).encode()),))
    assert_error(declared, 413, "request_too_large")
    # sent in parts, without a length: refused once the parts add up past the cap
    assert_error(post(api_token, [big[:600], big[600:1200], big[1200:]]), 413, "request_too_large")
    assert model_server.requests == [] and not ModelCall.objects.exists()


def test_an_upstream_error_comes_back_with_its_status_and_body(api_token, model_server):
    model_server.script(Reply(status=429, content="Slow down.", headers={"retry-after": "0"}))

    async def ask() -> openai.RateLimitError:
        async with sdk_for(api_token) as client:
            try:
                await client.chat.completions.create(**ASK)
            except openai.RateLimitError as exc:
                await proxy.recorder().drain()
                return exc
        raise AssertionError("the upstream's 429 did not reach the app")

    refused = async_to_sync(ask)()
    assert refused.status_code == 429
    assert refused.body["message"] == "Slow down."
    call = ModelCall.objects.get()
    assert (call.ok, call.error_kind) == (False, "rate_limited")
    assert "Slow down." in call.error_message
    # No answer, but what the app sent: the conversation shows what was refused.
    assert [m.payload for m in call.conversation.messages.all()] == ASK["messages"]


def test_an_unreachable_upstream_is_a_502(api_token, provider, model_server):
    Provider.objects.filter(pk=provider.pk).update(base_url="http://127.0.0.1:9/v1")
    proxy.forget_tokens()
    call = post(api_token, json.dumps(ASK).encode())
    assert_error(call, 502, "upstream_unreachable")
    assert "sk-test-key" not in json.dumps(call.json)
    assert ModelCall.objects.get().error_kind == "connection"


def test_a_slow_upstream_is_a_504(api_token, provider, model_server):
    Provider.objects.filter(pk=provider.pk).update(timeout_s=0.05)
    proxy.forget_tokens()
    model_server.script(Reply(content="late", delay_s=30))
    assert_error(post(api_token, json.dumps(ASK).encode()), 504, "upstream_timeout")
    assert ModelCall.objects.get().error_kind == "timeout"


def test_an_upstream_the_policy_refuses_gets_nothing(api_token, model_server, settings):
    settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE = False
    proxy.forget_tokens()
    assert_error(post(api_token, json.dumps(ASK).encode()), 502, "upstream_refused")
    assert model_server.requests == []


def test_a_stream_cut_off_upstream_closes_cleanly_and_records_no_answer(api_token, model_server):
    model_server.script(Reply(content="a long answer cut short", close_early=True))
    call = post(api_token, json.dumps({**ASK, "stream": True}).encode())
    assert call.status == 200 and call.finished
    recorded = ModelCall.objects.get()
    assert (recorded.ok, recorded.error_kind) == (False, "malformed")
    assert [m.role for m in Conversation.objects.get().messages.all()] == ["user"]


async def _held_provider(team, base_url: str) -> str:
    def make() -> str:
        record = Provider(team=team, name="Held", base_url=base_url, timeout_s=5)
        set_api_key(record, "sk-held")
        record.save()
        return create_token(team, record, name="held")[1]

    return await sync_to_async(make)()


def _request(token: str) -> AsgiCall:
    return AsgiCall(
        "POST",
        "/v1/chat/completions",
        headers=[(b"authorization", f"Bearer {token}".encode())],
        body=[json.dumps({**ASK, "stream": True}).encode()],
    )


@pytest.mark.asyncio
async def test_streamed_chunks_are_relayed_as_they_arrive(team):
    async with HeldUpstream() as upstream:
        call = _request(await _held_provider(team, upstream.base_url))
        order: list[str] = []

        def seen(message: dict) -> None:
            if message.get("body"):
                order.append(message["body"].decode())
                upstream.release.set()  # the second chunk exists only after the first arrived

        call.on_send = seen
        await call.run(proxy.application)
        await proxy.recorder().drain()
    assert '"Hel"' in order[0] and '"lo"' not in order[0]
    assert any('"lo"' in part for part in order[1:])
    turn = await sync_to_async(lambda: ModelCall.objects.get().response)()
    assert turn == {"role": "assistant", "content": "Hello"}


@pytest.mark.asyncio
async def test_a_client_that_leaves_mid_stream_cancels_the_upstream_and_nothing_is_recorded(
    team,
):
    async with HeldUpstream() as upstream:
        call = _request(await _held_provider(team, upstream.base_url))

        def seen(message: dict) -> None:
            if message.get("body"):
                call.leave.set()  # the client goes away after the first chunk

        call.on_send = seen
        await call.run(proxy.application)
        await upstream.hung_up.wait()
        await proxy.recorder().drain()
    assert not call.finished
    assert not await sync_to_async(ModelCall.objects.exists)()


def test_a_request_waits_to_be_recorded_as_its_bytes_not_its_parse(
    api_token, model_server, monkeypatch
):
    """A body of many small values parses into many times its size (8 MiB of `{}`: about
    190 MiB); the proxy keeps only the bytes while the answer streams and the exchange waits."""
    model_server.script(Reply(content="Fine."))
    waiting = []
    monkeypatch.setattr(proxy.Recorder, "submit", lambda self, exchange: waiting.append(exchange))
    body = json.dumps({**ASK, "metadata": [{} for _ in range(10_000)]}).encode()
    assert post(api_token, body).status == 200
    [exchange] = waiting
    assert (exchange.request, exchange.sent) == (None, body)
    assert exchange.parsed_request()["metadata"] == [{}] * 10_000  # parsed where recorded


def test_an_upstream_that_echoes_the_providers_key_is_relayed_without_it(
    api_token, provider, model_server
):
    """A careless server answers a wrong key with the key itself; the app holding the studio's
    token must not learn the provider's key from it (nor from the record)."""
    model_server.api_key = "sk-the-server-wants-another-key"
    call = post(api_token, json.dumps(ASK).encode())
    assert call.status == 401
    message = call.json["error"]["message"]
    assert message.startswith("Incorrect API key provided: ")
    assert "[redacted]" in message
    relayed = b"".join(call.body_parts)
    assert b"key-123456" not in relayed
    start = next(m for m in call.sent if m["type"] == "http.response.start")
    assert dict(start["headers"])[b"content-length"] == str(len(relayed)).encode()
    assert "123456" not in ModelCall.objects.get().error_message
