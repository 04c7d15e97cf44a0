"""A page filtered to some calls (`?status=&tool=`) opens its socket with the same filter: the
catch-up snapshot and every later redraw of a calls table list those calls only, while the
totals still count them all."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from conversations import live
from conversations.management.commands.bench_pages import make_conversation
from conversations.models import ToolExecution
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(team):
    # Eight calls of one round: seven ok, the eighth (position 7) a TIMEOUT.
    return make_conversation(team, rounds=1, calls_per_round=8)


def calls(conversation, **where) -> list[int]:
    rows = ToolExecution.objects.filter(batch__conversation=conversation, **where)
    return list(rows.order_by("position").values_list("pk", flat=True))


def rows_in(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr class="status-\w+" id="execution-(\d+)">', html)]


async def opened(user, conversation, query: str) -> tuple[WebsocketCommunicator, str]:
    path = f"/ws/t/acme/conversations/{conversation.pk}/?{query}"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    connected, _ = await socket.connect()
    assert connected
    return socket, await socket.receive_from(timeout=5)


async def test_the_snapshot_lists_only_the_calls_the_page_lists(people, conversation):
    timeouts = await sync_to_async(calls)(conversation, error_code="TIMEOUT")
    socket, snapshot = await opened(people.viewer, conversation, "status=TIMEOUT&tool=")
    assert rows_in(snapshot) == timeouts
    # The totals count every call, and the menu still says what the page lists.
    assert '<span class="badge err">1 TIMEOUT</span> <span class="badge ok">7 OK</span>' in snapshot
    assert '<option value="TIMEOUT" selected>TIMEOUT</option>' in snapshot
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_socket_without_a_filter_lists_every_call(people, conversation):
    every = await sync_to_async(calls)(conversation)
    socket, snapshot = await opened(people.viewer, conversation, "")
    assert rows_in(snapshot) == every
    await socket.disconnect()


async def test_a_later_frame_adds_no_row_the_filter_leaves_out(people, conversation):
    ok_calls = await sync_to_async(calls)(conversation, status="ok", tool_name="get_weather")
    socket, snapshot = await opened(people.viewer, conversation, "status=ok&tool=get_weather")
    assert rows_in(snapshot) == ok_calls and ok_calls
    batch_id = await sync_to_async(lambda: ToolExecution.objects.get(pk=ok_calls[0]).batch_id)()

    await live.publish(conversation.pk, live.BatchFinished(batch_id, round=0))
    frame = await socket.receive_from(timeout=5)
    assert rows_in(frame) == ok_calls
    assert "7 OK" in frame and "1 TIMEOUT" in frame
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_call_asking_for_approval_is_listed_under_its_own_word(people, conversation):
    def held() -> ToolExecution:
        execution = ToolExecution.objects.get(batch__conversation=conversation, position=2)
        execution.status, execution.approval = "queued", "pending"
        execution.save(update_fields=["status", "approval"])
        return execution

    socket, snapshot = await opened(
        people.viewer, conversation, "status=waiting+for+approval&tool="
    )
    assert rows_in(snapshot) == []
    execution = await sync_to_async(held)()

    await live.publish(
        conversation.pk, live.ApprovalAsked(execution.batch_id, execution.tool_call_id)
    )
    frame = await socket.receive_from(timeout=5)
    assert rows_in(frame) == [execution.pk]
    assert '<span class="badge warn">1 WAITING FOR APPROVAL</span>' in frame
    assert await socket.receive_nothing()
    await socket.disconnect()
