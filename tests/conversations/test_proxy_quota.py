"""The recording proxy and the team's hourly model-call quota: a token's traffic is the team's,
so proxied calls and runs' calls count toward one quota, and a used-up quota is a 429."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from conversations import proxy, quotas
from conversations.models import Conversation
from conversations.recording import open_recorded_conversation, start_model_call
from tests.support.openai_server import Reply

from .test_proxy_auth import chat

pytestmark = pytest.mark.django_db(transaction=True)


def a_runs_model_call(team) -> None:
    conversation = Conversation.objects.create(team=team, title="A run", model="test-model")
    start_model_call(conversation.pk, 0, {"model": "test-model"})


def test_a_used_up_quota_is_an_openai_style_429_and_nothing_is_forwarded(
    team, api_token, model_server, settings
):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 2
    a_runs_model_call(team)
    model_server.script(Reply(content="Fine."), Reply(content="Not sent."))

    assert chat(api_token).status == 200
    refused = chat(api_token)

    assert refused.status == 429
    error = refused.json["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "quota_exceeded"
    assert "quota of 2 model calls per hour" in error["message"]
    headers = dict(next(m for m in refused.sent if m["type"] == "http.response.start")["headers"])
    assert int(headers[b"retry-after"]) > 0
    assert len(model_server.requests) == 1
    assert Conversation.objects.filter(recorded=True).get().model_calls.count() == 1


def test_proxied_calls_count_toward_the_runs_quota(team, api_token, model_server, settings):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 1
    model_server.script(Reply(content="Fine."))
    assert quotas.model_call_refusal(team.pk) == ""

    assert chat(api_token).status == 200

    assert quotas.model_call_refusal(team.pk).startswith("The team's quota of 1 model calls")


def test_imported_conversations_do_not_count(team, api_token, model_server, settings):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 1
    imported = open_recorded_conversation(team, title="Imported", model="test-model")
    start_model_call(imported.pk, 0, {"model": "test-model"})
    model_server.script(Reply(content="Fine."))

    assert chat(api_token).status == 200


def test_no_quota_costs_no_query(team, django_assert_num_queries, settings):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 0
    with django_assert_num_queries(0):
        assert async_to_sync(proxy.quota_refusal)(team.pk) is None


def test_a_quota_is_counted_once_per_cache_lifetime_then_locally(
    team, django_assert_num_queries, settings
):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 2
    settings.FCSTUDIO_PROXY_TOKEN_CACHE_SECONDS = 3600
    with django_assert_num_queries(1):
        assert async_to_sync(proxy.quota_refusal)(team.pk) is None
    with django_assert_num_queries(0):
        assert async_to_sync(proxy.quota_refusal)(team.pk) is None
        refused = async_to_sync(proxy.quota_refusal)(team.pk)
    assert refused is not None and "quota of 2 model calls" in refused[0]
