"""A conversation recorded from another app's traffic holds messages and model calls written
through the same recording functions as a run, and no worker ever claims it."""

from __future__ import annotations

from conversations import recording
from conversations.leases import claim_run
from conversations.models import ModelCall, RunStatus


def test_a_recorded_conversation_keeps_its_model_calls_and_is_never_claimed(team):
    conversation = recording.open_recorded_conversation(
        team, title="From the proxy", model="gpt-4o-mini"
    )
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    call = recording.start_model_call(conversation.pk, 0, request)
    recording.append_message(conversation.pk, {"role": "user", "content": "Hi"})
    recording.record_model_error(call.pk, "server_error", "upstream said 500", 12.5)

    assert [m.role for m in conversation.messages.all()] == ["user"]
    stored = ModelCall.objects.get(conversation=conversation)
    assert (stored.request, stored.error_kind, stored.duration_ms) == (
        request,
        "server_error",
        12.5,
    )
    assert (conversation.recorded, conversation.status) == (True, RunStatus.FINISHED)

    # Even queued (by a Re-run, say), no worker takes it.
    type(conversation).objects.filter(pk=conversation.pk).update(status=RunStatus.QUEUED)
    assert claim_run(conversation.pk, "host:1") is False
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.QUEUED, "")
