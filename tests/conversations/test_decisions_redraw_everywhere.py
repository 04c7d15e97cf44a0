"""Approving or denying a call redraws its row and the totals on every watching page (the
websocket); a denial also answers with the row, a refused decision says why in the row."""

from __future__ import annotations

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from conversations import compose, live
from conversations.models import Batch, ToolExecution
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True)]
HX = {"HX-Request": "true"}


@pytest.fixture
def waiting(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    batch = Batch.objects.create(
        team=team, conversation=conversation, source="conversation", strategy="asyncio", round=0
    )
    ToolExecution.objects.create(
        batch=batch, position=0, tool_call_id="ran", tool_name="get_weather", status="ok"
    )
    asked = ToolExecution.objects.create(
        batch=batch, position=1, tool_call_id="asks", tool_name="get_weather", approval="pending"
    )
    return conversation, batch, asked


def decide_url(conversation, execution) -> str:
    return f"/t/acme/conversations/{conversation.pk}/calls/{execution.pk}/decide/"


def test_the_answer_to_a_decision_is_the_row_without_its_buttons(people, waiting):
    conversation, _, asked = waiting
    client = people.client_for("editor")

    response = client.post(decide_url(conversation, asked), {"decision": "denied"}, headers=HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="round-0-calls" class="scroll-x">')
    assert '<span class="badge err">denied</span>' in html
    assert "Approve" not in html and "Deny<" not in html


def test_an_approval_is_answered_with_no_row_the_websocket_redraws_it(people, waiting):
    """The approved call runs at once: only the websocket, in order with the run's own frames,
    may redraw its row (a row in the answer could land after the call finished)."""
    conversation, _, asked = waiting
    client = people.client_for("editor")

    response = client.post(decide_url(conversation, asked), {"decision": "approved"}, headers=HX)

    assert (response.status_code, response.content) == (204, b"")
    asked.refresh_from_db()
    assert asked.approval == "approved"


def test_a_refused_decision_says_why_in_the_row(people, waiting):
    conversation, _, asked = waiting
    client = people.client_for("editor")
    client.post(decide_url(conversation, asked), {"decision": "denied"}, headers=HX)

    response = client.post(decide_url(conversation, asked), {"decision": "approved"}, headers=HX)

    assert response.status_code == 409
    html = response.content.decode()
    assert '<div class="notice small refusal" role="alert">' in html
    assert "This call no longer waits for a decision." in html
    assert "Approve" not in html


def test_the_summary_counts_a_waiting_call_as_waiting_not_as_an_error(people, waiting):
    conversation, _, _ = waiting
    page = people.client_for("viewer").get(f"/t/acme/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert '<span class="badge warn">1 WAITING FOR APPROVAL</span>' in html
    assert '<span class="badge ok">1 OK</span>' in html


@pytest.mark.asyncio
async def test_every_watching_page_redraws_the_row_and_the_summary(people, waiting):
    from asgiref.sync import sync_to_async

    conversation, batch, asked = waiting
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.editor
    assert (await socket.connect())[0]
    await socket.receive_from(timeout=5)  # the catch-up snapshot

    await live.publish(conversation.pk, live.ApprovalAsked(batch.pk, "asks"))
    html = await socket.receive_from(timeout=5)
    assert '<div id="round-0-calls" class="scroll-x" hx-swap-oob="true">' in html
    assert ">Approve</button>" in html
    assert '<dl class="stats" id="summary" hx-swap-oob="true">' in html
    assert '<span class="badge warn">1 WAITING FOR APPROVAL</span>' in html

    client = await sync_to_async(people.client_for)("admin")
    await sync_to_async(client.post)(
        decide_url(conversation, asked), {"decision": "approved"}, headers=HX
    )
    html = await socket.receive_from(timeout=5)
    assert '<div id="round-0-calls" class="scroll-x" hx-swap-oob="true">' in html
    assert ">Approve</button>" not in html
    assert '<span class="badge ok">approved</span>' in html
    assert "WAITING FOR APPROVAL" not in html
    assert await socket.receive_nothing()
    await socket.disconnect()
