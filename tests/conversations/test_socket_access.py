"""Access to a conversation's websocket holds for the socket's life, not only at connect.

A member removed from the team is closed out at once and hears nothing more; a member whose role
changes gets the header's role redrawn, and the page with the controls of the new role when it
gives or takes them.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from conversations import compose, consumers, live
from conversations.consumers import CLOSE_FORBIDDEN, render_role, render_snapshot
from conversations.models import Message
from fcstudio.models import Membership, Role, Team
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

RUN_BUTTON = '<button type="submit" class="btn btn-primary">Run</button>'
CLOSED = {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
CSRF_SECRET = "a" * 32  # the socket's CSRF cookie, as a page of the studio would have set it
# The controls' containers, always on the page, redrawn empty for a viewer.
NO_CONTROLS = (
    '<div id="settings-controls" hx-swap-oob="true">\n    \n  </div>',
    '<div id="message-controls" hx-swap-oob="true">\n        \n        \n      </div>',
)


@pytest.fixture
def conversation(team, people, provider):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    return compose.create_conversation(team, people.editor, data)


async def joined(user, conversation) -> WebsocketCommunicator:
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    socket.scope["cookies"] = {"csrftoken": CSRF_SECRET}
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_from(timeout=5)  # the catch-up snapshot
    return socket


def set_role_on_team_page(people, member, role: str) -> None:
    """The team's admin changes a member's role (or removes them) on the team page."""
    membership = Membership.objects.get(user=member, team__slug="acme")
    url = reverse("member_role", kwargs={"team": "acme", "member": membership.pk})
    response = people.client_for("admin").post(url, {"role": role})
    assert response.status_code == 302


async def test_a_member_removed_from_the_team_is_closed_out_and_hears_nothing_more(
    people, conversation
):
    socket = await joined(people.viewer, conversation)
    await sync_to_async(set_role_on_team_page)(people, people.viewer, "remove")
    assert await socket.receive_output(timeout=5) == CLOSED
    await live.publish(conversation.pk, live.StatusChanged("running"))
    assert await socket.receive_nothing()


async def test_a_removal_by_any_path_closes_the_socket(people, conversation):
    socket = await joined(people.editor, conversation)
    await Membership.objects.filter(user=people.editor, team__slug="acme").adelete()
    assert await socket.receive_output(timeout=5) == CLOSED
    await live.publish(conversation.pk, live.StatusChanged("running"))
    assert await socket.receive_nothing()


async def test_a_deleted_team_closes_its_sockets(people, conversation):
    viewer = await joined(people.viewer, conversation)
    editor = await joined(people.editor, conversation)
    await Team.objects.filter(slug="acme").adelete()
    assert await viewer.receive_output(timeout=5) == CLOSED
    assert await editor.receive_output(timeout=5) == CLOSED


def redrawn_for(conversation, user, *, can_run: bool) -> str:
    """The frame a role change that gives or takes the run controls sends: the page, the
    header's role and the controls."""
    snapshot, _ = render_snapshot(conversation.pk, can_run=can_run)
    membership = Membership.objects.get(user=user, team__slug="acme")
    role = render_role(conversation.pk, membership, user=user, with_controls=True)
    return snapshot + role


async def test_an_editor_made_viewer_gets_the_page_redrawn_without_controls(people, conversation):
    socket = await joined(people.editor, conversation)
    await sync_to_async(set_role_on_team_page)(people, people.editor, Role.VIEWER)
    redrawn = await socket.receive_from(timeout=5)
    assert redrawn == await sync_to_async(redrawn_for)(conversation, people.editor, can_run=False)
    assert RUN_BUTTON not in redrawn
    assert '<span id="who" hx-swap-oob="true">eddie · Viewer</span>' in redrawn
    for gone in ('id="composer"', 'id="add-message"', 'id="run-settings"', "Compare models"):
        assert gone not in redrawn
    assert "Delete</button>" not in redrawn
    for empty in NO_CONTROLS:
        assert empty in redrawn
    await live.publish(conversation.pk, live.StatusChanged("draft"))
    html = await socket.receive_from(timeout=5)
    assert 'id="conv-status"' in html and RUN_BUTTON not in html
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_viewer_made_editor_gets_the_controls(people, conversation):
    socket = await joined(people.viewer, conversation)
    await sync_to_async(set_role_on_team_page)(people, people.viewer, Role.EDITOR)
    redrawn = await socket.receive_from(timeout=5)
    snapshot, _ = await sync_to_async(render_snapshot)(conversation.pk, can_run=True)
    assert redrawn.startswith(snapshot)
    assert RUN_BUTTON in redrawn
    assert '<span id="who" hx-swap-oob="true">vera · Editor</span>' in redrawn
    for shown in ('id="composer"', 'id="add-message"', 'id="run-settings"', "Compare models"):
        assert shown in redrawn
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_viewer_made_admin_gets_the_controls_and_can_post_with_them(people, conversation):
    socket = await joined(people.viewer, conversation)
    await sync_to_async(set_role_on_team_page)(people, people.viewer, Role.ADMIN)
    redrawn = await socket.receive_from(timeout=5)
    assert redrawn.count("csrfmiddlewaretoken") == 4  # Delete, settings, add a message, composer
    assert '<span id="who" hx-swap-oob="true">vera · Admin</span>' in redrawn
    by_hand = redrawn[redrawn.index('id="add-message"') :]
    token = by_hand.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert token != CSRF_SECRET  # masked, as Django masks it for a page

    def add_with_the_pushed_form() -> int:
        client = Client(enforce_csrf_checks=True)
        client.force_login(people.viewer)
        client.cookies["csrftoken"] = CSRF_SECRET
        url = reverse("message_add", kwargs={"team": "acme", "conversation": conversation.pk})
        data = {"csrfmiddlewaretoken": token, "role": "user", "content": "typed when promoted"}
        return client.post(url, data).status_code

    assert await sync_to_async(add_with_the_pushed_form)() == 302
    last = await Message.objects.filter(conversation=conversation).alast()
    assert last is not None and last.payload == {"role": "user", "content": "typed when promoted"}
    await socket.disconnect()


async def test_a_deactivated_account_is_closed_out_and_hears_nothing_more(people, conversation):
    socket = await joined(people.viewer, conversation)
    people.viewer.is_active = False
    await people.viewer.asave()
    assert await socket.receive_output(timeout=5) == CLOSED
    await live.publish(conversation.pk, live.StatusChanged("running"))
    assert await socket.receive_nothing()


async def test_an_account_deactivated_without_a_signal_is_closed_on_the_next_event(
    people, conversation, monkeypatch
):
    monkeypatch.setattr(consumers, "ACCESS_RECHECK_S", 0.0)
    socket = await joined(people.viewer, conversation)
    await type(people.viewer).objects.filter(pk=people.viewer.pk).aupdate(is_active=False)
    assert await socket.receive_nothing()
    await live.publish(conversation.pk, live.StatusChanged("running"))
    assert await socket.receive_output(timeout=5) == CLOSED
    assert await socket.receive_nothing()


async def test_a_deactivated_account_cannot_connect(people, conversation):
    people.viewer.is_active = False
    await people.viewer.asave()
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.viewer
    connected, code = await socket.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_a_change_that_keeps_the_controls_redraws_only_the_header_role(people, conversation):
    # The controls stay as they are, with whatever the person was typing in them.
    socket = await joined(people.editor, conversation)
    await sync_to_async(set_role_on_team_page)(people, people.editor, Role.ADMIN)
    assert await socket.receive_from(timeout=5) == (
        '<span id="who" hx-swap-oob="true">eddie · Admin</span>'
    )
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_change_in_another_team_leaves_the_socket_alone(people, conversation):
    socket = await joined(people.editor, conversation)
    elsewhere = await Team.objects.aget(slug="elsewhere")
    other = await Membership.objects.acreate(team=elsewhere, user=people.editor, role=Role.ADMIN)
    await other.adelete()
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_change_no_signal_announced_is_caught_on_the_next_event(
    people, conversation, monkeypatch
):
    # QuerySet.update() sends no post_save; the socket re-checks as events arrive.
    monkeypatch.setattr(consumers, "ACCESS_RECHECK_S", 0.0)
    socket = await joined(people.editor, conversation)
    await Membership.objects.filter(user=people.editor, team__slug="acme").aupdate(role=Role.VIEWER)
    assert await socket.receive_nothing()
    await live.publish(conversation.pk, live.StatusChanged("draft"))
    redrawn = await socket.receive_from(timeout=5)
    assert redrawn == await sync_to_async(redrawn_for)(conversation, people.editor, can_run=False)
    assert 'id="composer"' not in redrawn
    html = await socket.receive_from(timeout=5)
    assert 'id="conv-status"' in html and RUN_BUTTON not in html
    await socket.disconnect()
