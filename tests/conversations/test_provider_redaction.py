"""Secrets never leave in clear, not even in part: a provider echoing the key, or a header secret,
whole, as a prefix with an ellipsis, or as any run of characters from the middle, finds it
redacted in the error message, the problems and the recorded turn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conversations.provider import ProviderConfig, ProviderError, complete, list_models
from tests.support.openai_server import Reply, ScriptedOpenAI

ASK = {"messages": [{"role": "user", "content": "Hi"}]}
KEY = "sk-planted-d4f8a1b2c3e4f5a6b7"
HEADER_SECRET = "azure-secret-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(api_key=None) as server:
        yield server


@pytest.fixture
def config(server) -> ProviderConfig:
    return ProviderConfig(
        base_url=server.base_url,
        api_key=KEY,
        model="m",
        extra_headers={"api-key": HEADER_SECRET, "X-Trace": "on"},
    )


def leaks(text: str, secret: str) -> list[str]:
    """Every run of 6 or more characters of `secret` that appears in `text`."""
    return [
        secret[start : start + 6]
        for start in range(len(secret) - 5)
        if secret[start : start + 6] in text
    ]


ECHOES = [
    pytest.param(f"Incorrect API key provided: {KEY}.", id="whole"),
    pytest.param(f"Incorrect API key provided: {KEY[:13]}…", id="prefix-ellipsis"),
    pytest.param(f"Incorrect API key provided: {KEY[:5]}... check it", id="short-prefix-dots"),
    pytest.param(f"Key {KEY[:8]}{'*' * 12}{KEY[-4:]} is wrong", id="openai-style-stars"),
    pytest.param(f"fragment {KEY[7:19]} seen", id="middle"),
    pytest.param(f"api-key {HEADER_SECRET[:10]}… rejected", id="header-prefix"),
    pytest.param(f"api-key {HEADER_SECRET[6:20]} rejected", id="header-middle"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("echo", ECHOES)
async def test_an_echoed_secret_is_redacted_from_the_error(server, config, echo):
    server.script(Reply(status=401, content=echo))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    message = caught.value.message
    assert caught.value.kind == "auth"
    assert "[redacted]" in message
    assert leaks(message, KEY) == [] and leaks(message, HEADER_SECRET) == []
    assert KEY[:5] not in message and HEADER_SECRET[:5] not in message


@pytest.mark.asyncio
async def test_the_words_around_the_echo_survive(server, config):
    server.script(Reply(status=401, content=f"Incorrect API key provided: {KEY[:13]}…"))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert (
        caught.value.message == "The provider answered 401: Incorrect API key provided: [redacted]…"
    )


@pytest.mark.asyncio
async def test_a_wrong_key_echoed_by_the_model_list_is_redacted(server, config):
    server.api_key = "sk-the-right-one-000000"

    with pytest.raises(ProviderError) as caught:
        await list_models(config)

    assert caught.value.kind == "auth"
    assert leaks(caught.value.message, KEY) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_a_secret_echoed_in_the_answer_is_not_recorded(server, config, stream):
    server.script(
        Reply(
            content=f"Your key is {KEY} and the header {HEADER_SECRET[:12]}…",
            tool_calls=[{"id": KEY, "arguments": f'{{"key": "{KEY[3:20]}"}}'}],
        )
    )

    turn = await complete(config, ASK, stream=stream)

    recorded = [turn.content or "", *turn.problems]
    recorded += [call.id + call.name + call.arguments for call in turn.tool_calls]
    for text in recorded:
        assert leaks(text, KEY) == [] and leaks(text, HEADER_SECRET) == []
    assert turn.content == "Your key is [redacted] and the header [redacted]…"
    assert any("missing name" in problem for problem in turn.problems)


@pytest.mark.asyncio
async def test_a_secret_in_a_truncated_answer_is_redacted_from_the_partial(server, config):
    server.script(Reply(content=f"The key {KEY} again and again and again", close_early=True))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    partial = caught.value.partial
    assert partial is not None and partial.content
    assert leaks(partial.content, KEY) == []


@pytest.mark.asyncio
async def test_a_secret_streamed_in_fragments_is_never_shown_live(server, config):
    """Every fragment the live page could show is redacted, including a tail that may be the
    start of the key whose rest has not arrived yet."""
    echo = f"Your key is {KEY}, and {HEADER_SECRET[:12]}… too."
    server.script(Reply(content=echo))
    shown: list[str] = []

    async def on_delta(delta):
        shown.extend([delta.text, delta.accumulated])

    turn = await complete(config, {**ASK, "model": "m"}, stream=True, on_delta=on_delta)

    assert len(shown) > 4  # the text came in several fragments
    assert [text for text in shown if leaks(text, KEY) or leaks(text, HEADER_SECRET)] == []
    assert [text for text in shown if text.endswith(KEY[:4])] == []
    assert leaks(turn.content or "", KEY) == []
    assert turn.content.startswith("Your key is [redacted]")


@pytest.mark.parametrize("cut", [4, 7, 12])
def test_live_text_holds_back_a_tail_that_may_be_the_start_of_the_key(config, cut):
    """Servers cut tokens anywhere: `sk-pl` may be followed by the rest of the key."""
    from conversations.provider import _redact_live

    assert _redact_live(f"Your key is {KEY[:cut]}", config) == "Your key is [redacted]"
    assert _redact_live("Your key is sk-", config) == "Your key is sk-"  # shorter: shown
