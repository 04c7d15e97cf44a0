"""Every exchange through the recording proxy is on the team's audit trail, by its token."""

from __future__ import annotations

import pytest

from conversations.models import ModelCall
from fcstudio.models import AuditEvent
from tests.support.openai_server import Reply

from .test_proxy_auth import chat

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_proxied_exchange_is_audited_with_the_token_as_actor(team, api_token, model_server):
    model_server.script(Reply(status=500, content="Upstream down."))

    chat(api_token)

    event = AuditEvent.objects.get(kind="proxy.exchange")
    call = ModelCall.objects.get()
    assert event.team == team and event.actor_user is None
    assert event.actor_label == "token:agent"
    assert (event.object_type, event.object_id) == ("conversations.modelcall", call.pk)
    assert event.details["conversation"] == call.conversation_id
    assert event.details["model"] == "test-model" and event.details["stream"] is False
    assert (event.details["status"], event.details["error"]) == (500, "server")


def test_a_successful_exchange_is_audited_without_an_error(api_token, model_server):
    model_server.script(Reply(content="Fine."))

    chat(api_token)

    event = AuditEvent.objects.get(kind="proxy.exchange")
    assert event.details["status"] == 200 and event.details["error"] == ""
