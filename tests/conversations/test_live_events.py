"""Live events are typed: each kind crosses the channel layer unchanged and has a renderer."""

from __future__ import annotations

import pytest

from conversations import live
from conversations.consumers import HANDLERS
from conversations.view_models import LiveRow

ONE_OF_EACH = [
    live.StatusChanged("failed", "Provider error (timeout): no answer."),
    live.RoundStarted(2),
    live.ModelStarted(1, 41),
    live.MessageAdded(7),
    live.DraftDelta(0, "Let me", (live.DraftCall(0, "get_weather", '{"city": "Os'),)),
    live.ModelFinished(1),
    live.RoundCalls(
        round=1,
        batch_id=3,
        now_ms=12.5,
        calls=(LiveRow("get_weather", "c1", status="ok", finished_ms=9.0, retry_marks_ms=[4.0]),),
        lead_ms=300.0,
    ),
    live.ApprovalAsked(3, "c1"),
    live.CallDecided(3, 12),
    live.BatchFinished(3, 1),
    live.BatchFinished(4),
]


def test_the_examples_cover_every_kind():
    assert {type(event) for event in ONE_OF_EACH} == set(live.EVENT_KINDS.values())


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_an_event_is_the_same_after_the_channel_layer(event):
    message = live.encode(event)
    assert message["type"] == "conversation.event" and message["kind"] == event.kind
    assert live.decode(message) == event


def test_every_kind_has_a_renderer():
    assert set(HANDLERS) == set(live.EVENT_KINDS.values())


def test_a_kind_this_process_does_not_know_is_ignored():
    assert live.decode({"type": "conversation.event", "kind": "from_a_newer_release"}) is None
