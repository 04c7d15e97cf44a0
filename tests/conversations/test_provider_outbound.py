"""Providers go through the outbound policy: checked, pinned, redirects re-checked.

In development (the tests' default settings) local model servers on 127.0.0.1 are reachable;
with production-like settings they are refused unless an administrator lists them, and cloud
metadata is refused everywhere. Refused targets are refused before any connection: the scripted
server's request log shows that nothing reached it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conversations.provider import ProviderConfig, ProviderError, complete, list_models
from fcstudio.outbound import provider_policy
from tests.support.openai_server import Reply, ScriptedOpenAI

ASK = {"messages": [{"role": "user", "content": "Hello?"}]}


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


@pytest.fixture
def production_like(settings):
    settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE = False
    settings.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = []
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = []
    return settings


def configured(base_url: str) -> ProviderConfig:
    """The config as the studio builds it: the policy comes from the settings of the moment."""
    return ProviderConfig(
        base_url=base_url, api_key="sk-test", model="test-model", policy=provider_policy()
    )


@pytest.mark.asyncio
async def test_a_local_model_server_is_reachable_in_development(server):
    server.script(Reply(content="hello from llama"))

    turn = await complete(configured(server.base_url), ASK)

    assert turn.content == "hello from llama"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://127.0.0.1:{port}/v1", "loopback address"),
        ("http://localhost:{port}/v1", "loopback address"),
        ("http://10.0.0.1/v1", "private address"),
        ("http://169.254.169.254/v1", "cloud metadata address"),
        ("http://[fd00:ec2::254]/v1", "cloud metadata address"),
    ],
)
async def test_non_public_targets_are_refused_in_production(
    server, production_like, base_url, reason
):
    config = configured(base_url.format(port=server.port))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)
    with pytest.raises(ProviderError) as listing:
        await list_models(config)

    for error in (caught.value, listing.value):
        assert error.kind == "refused"
        assert reason in error.message
        assert error.status is None and error.partial is None
    assert server.requests == []


@pytest.mark.asyncio
async def test_the_refusal_names_the_setting_that_allows_a_local_server(server, production_like):
    with pytest.raises(ProviderError) as caught:
        await complete(configured(server.base_url), ASK)

    assert "FCSTUDIO_PROVIDER_ALLOWED_HOSTS" in caught.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize("url", ["http://169.254.169.254/v1", "http://[fd00:ec2::254]/v1"])
async def test_cloud_metadata_is_refused_even_in_development(url):
    with pytest.raises(ProviderError) as caught:
        await complete(configured(url), ASK)

    assert caught.value.kind == "refused"
    assert "cloud metadata" in caught.value.message
    assert "FCSTUDIO_PROVIDER_ALLOWED_HOSTS" not in caught.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "setting", ["FCSTUDIO_PROVIDER_ALLOWED_HOSTS", "FCSTUDIO_HTTP_ALLOWED_HOSTS"]
)
async def test_a_listed_local_server_is_reachable_in_production(server, production_like, setting):
    setattr(production_like, setting, ["127.0.0.1"])
    server.script(Reply(content="allowed"))

    turn = await complete(configured(server.base_url), ASK)

    assert turn.content == "allowed"


@pytest.mark.asyncio
async def test_a_listed_host_name_is_pinned_to_its_checked_address(server, production_like):
    production_like.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = ["localhost"]
    server.script(Reply(content="by name"))

    turn = await complete(configured(f"http://localhost:{server.port}/v1"), ASK)

    assert turn.content == "by name"
    assert server.requests[0]["headers"]["host"] == f"localhost:{server.port}"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/v1/chat/completions",
        "http://10.0.0.1/v1/chat/completions",
        "http://[fd00:ec2::254]/v1/chat/completions",
        "http://localhost:{port}/v1/chat/completions",  # another host, though also loopback
    ],
)
async def test_a_redirect_from_an_allowed_host_to_another_is_refused(
    server, production_like, location
):
    production_like.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1"]
    server.script(
        Reply(status=307, headers={"Location": location.format(port=server.port)}),
        Reply(content="must not be reached"),
    )

    with pytest.raises(ProviderError) as caught:
        await complete(configured(server.base_url), ASK)

    assert caught.value.kind == "refused"
    assert "redirect" in caught.value.message
    assert len(server.requests) == 1
    assert server.pending == 1


@pytest.mark.asyncio
async def test_a_redirect_carrying_credentials_is_refused(server):
    location = f"http://user:pass@127.0.0.1:{server.port}/v1/chat/completions"
    server.script(Reply(status=307, headers={"Location": location}), Reply(content="no"))

    with pytest.raises(ProviderError) as caught:
        await complete(configured(server.base_url), ASK)

    assert caught.value.kind == "refused"
    assert "pass" not in caught.value.message
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_a_redirect_on_the_same_host_is_followed(server, production_like):
    production_like.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1"]
    server.script(
        Reply(status=307, headers={"Location": "/v1/chat/completions/"}),
        Reply(content="moved here"),
    )

    turn = await complete(configured(server.base_url), ASK)

    assert turn.content == "moved here"
    assert [r["headers"]["authorization"] for r in server.requests] == ["Bearer sk-test"] * 2


@pytest.mark.asyncio
async def test_a_non_public_servers_raw_error_body_is_never_shown(server):
    server.script(Reply(status=500, raw_body=b"INTERNAL-ONLY-DATA db_password=hunter2"))

    with pytest.raises(ProviderError) as caught:
        await complete(configured(server.base_url), ASK, stream=False)

    assert caught.value.kind == "server"
    assert caught.value.message == "The provider answered 500."


@pytest.mark.asyncio
async def test_a_non_public_servers_api_error_message_is_shown(server):
    server.script(Reply(status=404, content="model 'llama-9' not found"))

    with pytest.raises(ProviderError) as caught:
        await complete(configured(server.base_url), ASK)

    assert caught.value.message == "The provider answered 404: model 'llama-9' not found"


@pytest.mark.asyncio
async def test_a_config_built_without_a_policy_still_refuses_cloud_metadata():
    config = ProviderConfig(base_url="http://169.254.169.254/v1", api_key="sk-test", model="m")

    with pytest.raises(ProviderError) as caught:
        await list_models(config)

    assert caught.value.kind == "refused"
