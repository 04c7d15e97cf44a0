"""Once the model's first words arrived, a round's status says it is answering (streaming), not
still "waiting for the model…": in the frame each delta sends and in a joining page's snapshot.
Before the first delta it still says it waits."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conversations import compose, live
from conversations.consumers import render_event, render_snapshot
from conversations.models import ModelCall

pytestmark = pytest.mark.django_db

ANSWERING = "the model is answering (streaming)…"
WAITING = "waiting for the model…"


def test_a_draft_frame_names_its_round_and_swaps_nothing_that_may_be_gone():
    """The page turns the named round's status to answering (studio.js; the browser test
    test_reload_mid_stream sees it); a status swapped out of band would have no target once
    the round was stopped, an error in the page."""
    frame = render_event(1, live.DraftDelta(2, "Let me"))
    assert '<div id="stream" class="stream" data-round="2" hx-swap-oob="true">' in frame
    assert "round-2-status" not in frame
    assert WAITING not in frame


def test_a_page_joining_mid_stream_reads_answering_and_before_the_first_words_waiting(
    people, team, provider
):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = compose.create_conversation(team, people.editor, data)
    ModelCall.objects.create(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )

    before, _ = render_snapshot(conversation.pk)
    assert f'<span class="model-status" id="round-0-status">{WAITING}</span>' in before
    assert ANSWERING not in before

    during, _ = render_snapshot(conversation.pk, draft=live.DraftDelta(0, "Sun"))
    assert f'<span class="model-status" id="round-0-status">{ANSWERING}</span>' in during
    assert WAITING not in during
