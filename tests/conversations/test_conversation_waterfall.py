"""The conversation page's waterfall: every round's model and tool calls in one panel, for
everyone who may see the conversation, redrawn live when a model call or a batch finishes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import compose, live
from conversations.consumers import render_event
from conversations.models import Batch, ModelCall, ToolExecution


@pytest.fixture
def two_rounds(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    t0 = timezone.now()
    batch = None
    for number in (0, 1):
        start = t0 + timedelta(seconds=6 * number)
        ModelCall.objects.create(
            conversation=conversation,
            round=number,
            request={},
            ok=True,
            started_at=start,
            duration_ms=5000,
        )
        batch = Batch.objects.create(
            team=team,
            conversation=conversation,
            source="conversation",
            strategy="asyncio",
            round=number,
            started_at=start + timedelta(seconds=5),
        )
        ToolExecution.objects.create(
            batch=batch,
            position=0,
            tool_call_id=f"c{number}",
            tool_name=f"tool_of_round_{number}",
            status="ok",
            queued_ms=0,
            started_ms=1,
            finished_ms=101,
        )
    return conversation, batch


def page_of(people, role: str, conversation):
    return people.client_for(role).get(f"/t/acme/conversations/{conversation.pk}/")


def test_a_viewer_sees_both_rounds_model_and_tool_rows_in_both_scales(people, two_rounds):
    conversation, _ = two_rounds
    page = page_of(people, "viewer", conversation).content.decode()
    assert page.count('<details class="panel waterfall" id="waterfall">') == 1
    assert page.count('data-scale="compressed"') == 1 and page.count('data-scale="linear"') == 1
    for label in (
        "R1 model 5.0 s",
        "R2 model 5.0 s",
        "tool_of_round_0 100 ms",
        "tool_of_round_1 100 ms",
    ):
        assert page.count(f">{label}</text>") == 2, label
    assert "round 2</text>" in page
    assert 'id="waterfall-compressed" value="compressed" checked' in page


def test_an_outsider_gets_404(people, two_rounds):
    conversation, _ = two_rounds
    assert page_of(people, "outsider", conversation).status_code == 404


def test_a_conversation_that_has_not_run_says_so(people, team, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    page = page_of(people, "viewer", conversation).content.decode()
    assert "Nothing has run yet." in page


def test_a_finished_batch_and_a_finished_model_call_redraw_it_live(two_rounds):
    conversation, batch = two_rounds
    for event in (live.BatchFinished(batch.pk, 1), live.ModelFinished(1)):
        html = render_event(conversation.pk, event)
        assert html.count('<div id="waterfall-charts" hx-swap-oob="true">') == 1
        assert ">tool_of_round_1 100 ms</text>" in html


def test_an_approval_asked_leaves_it_alone(two_rounds):
    conversation, batch = two_rounds
    assert "waterfall" not in render_event(conversation.pk, live.ApprovalAsked(batch.pk, "c1"))
