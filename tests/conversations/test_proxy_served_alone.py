"""The proxy's own server (`manage.py serve_proxy`: uvicorn, recording in a child process):
a stop records what it answered first, a client that leaves cancels the upstream request, and it
serves nothing but the proxy. (An agent loop through it: test_proxy_under_daphne.py.)"""

from __future__ import annotations

import asyncio
import threading

import httpx2 as httpx
import pytest

from conversations.models import ModelCall, Provider
from conversations.providers import set_api_key
from conversations.tokens import create_token
from tests.support.held_upstream import HeldUpstream
from tests.support.live_studio import serve_proxy
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk

pytestmark = pytest.mark.django_db(transaction=True)


def test_stopping_the_server_records_what_it_answered_first(api_token, model_server, provider):
    model_server.script(*[Reply(content=f"Answer {n}") for n in range(5)])
    with serve_proxy() as base_url:
        client = live_sdk(base_url, api_token)
        for n in range(5):
            client.chat.completions.create(
                model="test-model", messages=[{"role": "user", "content": f"Question {n}?"}]
            )
    # No waiting here: the server's stop let its recorder finish before the process ended.
    assert ModelCall.objects.filter(ok=True).count() == 5


def test_it_serves_only_the_proxy(api_token, provider):
    with serve_proxy() as base_url, httpx.Client(base_url=base_url) as client:
        page = client.get("/conversations/")
        no_token = client.get("/v1/models")
        wrong_method = client.get(
            "/v1/chat/completions", headers={"authorization": f"Bearer {api_token}"}
        )
    assert page.status_code == 404
    assert page.json()["error"]["code"] == "not_found"
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "invalid_api_key"
    assert wrong_method.status_code == 405
    assert "server" not in page.headers


def test_a_client_that_leaves_mid_stream_cancels_the_upstream_and_nothing_is_recorded(team):
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    upstream = HeldUpstream()
    asyncio.run_coroutine_threadsafe(upstream.__aenter__(), loop).result(timeout=10)
    try:
        provider = Provider(team=team, name="Held", base_url=upstream.base_url, timeout_s=5)
        set_api_key(provider, "sk-held")
        provider.save()
        _, token = create_token(team, provider, name="held")
        ask = {"model": "test-model", "messages": [{"role": "user", "content": "Hi"}]}
        with serve_proxy() as base_url:
            with (
                httpx.Client(base_url=base_url) as client,
                client.stream(
                    "POST",
                    "/v1/chat/completions",
                    json={**ask, "stream": True},
                    headers={"authorization": f"Bearer {token}"},
                ) as response,
            ):
                first = next(response.iter_raw())
            # the client has hung up: the proxy hangs up on the upstream
            hung_up = asyncio.run_coroutine_threadsafe(upstream.hung_up.wait(), loop)
            hung_up.result(timeout=10)
        assert b'"Hel"' in first
        # The server has stopped and its recorder finished: nothing was recorded.
        assert not ModelCall.objects.exists()
    finally:
        asyncio.run_coroutine_threadsafe(upstream.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
