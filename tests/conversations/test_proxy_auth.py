"""Who may use the recording proxy and see what it recorded. The proxy is outside Django's
URLconf (the permission matrix cannot enumerate it), so its access rules are pinned here."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from conversations import proxy
from conversations.models import Conversation, ModelCall, Provider
from conversations.providers import set_api_key, set_extra_headers
from conversations.tokens import create_token, revoke_token
from fcstudio.models import Team
from tests.support.asgi_call import AsgiCall
from tests.support.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)
ASK = [{"role": "user", "content": "Weather in Oslo?"}]


def call(path: str, authorization: str | None, body: dict | None = None, headers=()) -> AsgiCall:
    sent = [(b"authorization", authorization.encode())] if authorization is not None else []
    request = AsgiCall(
        "POST" if body is not None else "GET",
        path,
        headers=[*sent, *headers],
        body=[json.dumps(body).encode()] if body is not None else [b""],
    )

    async def run() -> AsgiCall:
        await request.run(proxy.application)
        await proxy.recorder().drain()
        return request

    return async_to_sync(run)()


def chat(token: str | None, messages=ASK, headers=()) -> AsgiCall:
    auth = None if token is None else f"Bearer {token}"
    body = {"model": "test-model", "messages": messages}
    return call("/v1/chat/completions", auth, body, headers)


def assert_unauthorised(answer: AsgiCall) -> None:
    assert answer.status == 401
    assert answer.json["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer fcs_made-up-token", "Basic Zm9vOmJhcg==", "Bearer sk-test-key"],
)
def test_no_or_an_unknown_token_is_a_401(authorization, api_token, model_server):
    for path, body in (("/v1/chat/completions", {"messages": ASK}), ("/v1/models", None)):
        assert_unauthorised(call(path, authorization, body))
    assert model_server.requests == [] and not ModelCall.objects.exists()


def test_a_revoked_token_is_a_401(team, provider, model_server):
    record, token = create_token(team, provider, name="old")
    model_server.script(Reply(content="Fine."))
    assert chat(token).status == 200
    revoke_token(record)
    assert_unauthorised(chat(token))
    assert len(model_server.requests) == 1


@pytest.fixture
def elsewhere_token(people, model_server) -> str:
    other = Team.objects.get(slug="elsewhere")
    record = Provider(team=other, name="Theirs", base_url=model_server.base_url)
    set_api_key(record, "sk-test-key-123456")
    record.save()
    return create_token(other, record, name="theirs")[1]


def test_a_token_records_only_into_its_own_team(api_token, elsewhere_token, model_server, people):
    model_server.script(Reply(content="3°C."), Reply(content="Still 3°C."), Reply(content="Hm."))
    named = ((b"x-fcstudio-conversation", b"shared-name"),)
    chat(api_token, headers=named)
    ours = Conversation.objects.get()
    # Another team's token sends a continuation of our conversation, and names it: both miss.
    continued = [*ASK, {"role": "assistant", "content": "3°C."}, {"role": "user", "content": "?"}]
    chat(elsewhere_token, messages=continued)
    chat(elsewhere_token, headers=named)
    assert ours.model_calls.count() == 1
    theirs = Conversation.objects.exclude(pk=ours.pk)
    assert {c.team.slug for c in theirs} == {"elsewhere"} and theirs.count() == 2
    # and its people cannot open ours
    page = reverse("conversation", kwargs={"team": "acme", "conversation": ours.pk})
    assert people.client_for("outsider").get(page).status_code == 404


def test_a_viewer_reads_a_recorded_conversation(api_token, model_server, people):
    model_server.script(Reply(content="It is 3°C in Oslo."))
    chat(api_token)
    conversation = Conversation.objects.get()
    page = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    response = people.client_for("viewer").get(page)
    assert response.status_code == 200
    assert "It is 3°C in Oslo." in response.content.decode()


def test_a_grant_s_repr_holds_neither_the_provider_s_key_nor_its_headers(team):
    provider = Provider(team=team, name="Keyed", base_url="https://api.example.com/v1")
    set_api_key(provider, "sk-live-repr-secret-0001")
    set_extra_headers(provider, {"X-Api-Secret": "header-secret-0002"})
    provider.save()
    _, plain = create_token(team, provider, name="app")
    found = proxy._grant_for(plain)
    assert found is not None
    assert (b"Authorization", b"Bearer sk-live-repr-secret-0001") in found.headers
    text = repr(found)
    assert "sk-live-repr-secret-0001" not in text and "header-secret-0002" not in text
