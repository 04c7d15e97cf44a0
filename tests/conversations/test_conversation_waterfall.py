"""The conversation page's waterfall: every round's model and tool calls in one panel, for
everyone who may see the conversation. The page carries none of its rows: the panel fetches the
chart in the scale chosen (compressed unless asked), and a finished model call or batch tells
a watching page to fetch it again."""

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


def chart_of(people, role: str, conversation, query: str = ""):
    return people.client_for(role).get(f"/t/acme/conversations/{conversation.pk}/waterfall/{query}")


LABELS = ("R1 model 5.0 s", "R2 model 5.0 s", "tool_of_round_0 100 ms", "tool_of_round_1 100 ms")


def test_the_page_has_the_panel_and_no_chart_rows(people, two_rounds):
    conversation, _ = two_rounds
    page = page_of(people, "viewer", conversation).content.decode()
    assert page.count('<details class="panel waterfall" id="waterfall">') == 1
    assert 'id="waterfall-compressed" value="compressed" checked' in page
    assert f'hx-get="/t/acme/conversations/{conversation.pk}/waterfall/"' in page
    assert "<svg" not in page.split('id="waterfall"')[1].split("</details>")[0]
    assert "Drawing…" in page


def test_a_viewer_gets_both_rounds_in_the_compressed_scale(people, two_rounds):
    conversation, _ = two_rounds
    chart = chart_of(people, "viewer", conversation).content.decode()
    assert chart.strip().startswith('<div id="waterfall-charts" data-scale="compressed">')
    assert chart.count('data-scale="compressed"') == 2 and 'data-scale="linear"' not in chart
    for label in LABELS:
        assert chart.count(f">{label}</text>") == 1, label
    assert "round 2</text>" in chart


def test_the_other_scale_is_fetched_when_chosen(people, two_rounds):
    conversation, _ = two_rounds
    chart = chart_of(people, "viewer", conversation, "?scale=linear").content.decode()
    assert chart.strip().startswith('<div id="waterfall-charts" data-scale="linear">')
    assert 'data-scale="compressed"' not in chart
    for label in LABELS:
        assert chart.count(f">{label}</text>") == 1, label
    # Anything else is the default.
    chart = chart_of(people, "viewer", conversation, "?scale=%00bogus").content.decode()
    assert chart.strip().startswith('<div id="waterfall-charts" data-scale="compressed">')


def test_an_outsider_gets_404(people, two_rounds):
    conversation, _ = two_rounds
    assert page_of(people, "outsider", conversation).status_code == 404
    assert chart_of(people, "outsider", conversation).status_code == 404


def test_a_conversation_that_has_not_run_says_so(people, team, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    chart = chart_of(people, "viewer", conversation).content.decode()
    assert "Nothing has run yet." in chart


def test_a_finished_batch_and_a_finished_model_call_have_it_fetched_again(two_rounds):
    conversation, batch = two_rounds
    for event in (live.BatchFinished(batch.pk, 1), live.ModelFinished(1)):
        html = render_event(conversation.pk, event)
        assert html.count('<span id="waterfall-refresh" hidden hx-swap-oob="true"></span>') == 1
        assert "<svg" not in html.split('id="waterfall-refresh"')[1]


def test_an_approval_asked_leaves_it_alone(two_rounds):
    conversation, batch = two_rounds
    assert "waterfall" not in render_event(conversation.pk, live.ApprovalAsked(batch.pk, "c1"))
