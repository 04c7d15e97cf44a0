"""The provider timeout bounds the whole exchange, not each read: a stream that keeps dripping
chunks (each well within the timeout) is still cut off, with what arrived kept as `partial`."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from conversations.provider import Delta, ProviderConfig, ProviderError, complete, list_models
from tests.support.openai_server import Reply, ScriptedOpenAI

ASK = {"messages": [{"role": "user", "content": "Tell me a long story."}]}
STORY = " ".join(f"word{n}" for n in range(200))


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


@pytest.mark.asyncio
async def test_a_slow_drip_stream_times_out_with_what_arrived(server):
    # 200 chunks 50 ms apart: every gap is far below the 0.5 s timeout, the whole is not.
    server.script(Reply(content=STORY, chunk_delay_s=0.05))
    config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="m", timeout_s=0.5)
    seen: list[Delta] = []

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK, on_delta=seen.append)

    error = caught.value
    assert error.kind == "timeout"
    assert "0.5 s" in error.message
    assert error.partial is not None
    assert error.partial.content is not None
    assert STORY.startswith(error.partial.content)
    assert error.partial.content != STORY
    assert error.partial.content == seen[-1].accumulated
    assert any(problem.startswith("truncated") for problem in error.partial.problems)


@pytest.mark.asyncio
async def test_a_deadline_before_the_stream_starts_has_no_partial(server):
    server.script(Reply(content="late", delay_s=3))
    config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="m", timeout_s=0.3)

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert caught.value.kind == "timeout"
    assert caught.value.partial is None


@pytest.mark.asyncio
async def test_listing_models_has_the_same_deadline():
    # A server that accepts the connection and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        config = ProviderConfig(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", model="m", timeout_s=0.3
        )

        with pytest.raises(ProviderError) as caught:
            await list_models(config)

    assert caught.value.kind == "timeout"
