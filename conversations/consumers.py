"""The websocket a conversation page listens on: engine and model events as htmx OOB swaps.

One consumer, one job: check that the user may see the conversation (its team's members only),
join its group, and turn each event the runner publishes into the HTML fragments that the
page's htmx ws extension swaps in. Markup comes from the same partials the page renders with.

Access holds for the socket's life, not only at connect: every socket also joins its user's
group (fcstudio.access), told of each membership change, and checks again then; a member who
left the team is closed out at once, one whose role changed gets the page redrawn with the
controls of the new role. Events re-check too when the last check is older than
ACCESS_RECHECK_S, for changes no signal announced.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from fcstudio.access import user_group
from fcstudio.models import Membership, Role

from . import dispatch, live
from .models import Batch, Conversation, Message, ModelCall
from .view_models import (
    LiveRow,
    Round,
    conversation_summary,
    message_context,
    round_gantt,
    rounds_for,
)

CLOSE_FORBIDDEN = 4403
ACCESS_RECHECK_S = 5.0


class ConversationConsumer(AsyncWebsocketConsumer):
    can_run = False
    revoked = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.team_slug = self.scope["url_route"]["kwargs"]["team"]
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation"])
        # Joined before the check, so a change that commits after it still reaches this socket.
        self.access_group = user_group(user.pk)
        await self.channel_layer.group_add(self.access_group, self.channel_name)
        access = await self.access()
        if access is None or not await self.visible():
            await self.revoke()
            return
        self.team_id, self.can_run = access
        self.group = live.group_name(self.conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        dispatch.ensure_reaper()
        # Whatever happened before this socket joined comes from the database, so a page that
        # loaded mid-run (or reconnected) catches up; later events arrive live.
        await self.send(text_data=await self.snapshot())

    async def disconnect(self, code: int) -> None:
        await self.leave_groups()

    async def leave_groups(self) -> None:
        for name in ("group", "access_group"):
            group = getattr(self, name, None)
            if group is not None:
                await self.channel_layer.group_discard(group, self.channel_name)
                delattr(self, name)

    async def revoke(self) -> None:
        """Nothing more reaches this socket: it leaves its groups first, then closes."""
        self.revoked = True
        await self.leave_groups()
        await self.close(code=CLOSE_FORBIDDEN)

    @database_sync_to_async
    def access(self) -> tuple[int, bool] | None:
        """(team id, may use run controls) while the user is a member of the team, else None."""
        self.checked_at = time.monotonic()
        membership = (
            Membership.objects.filter(user_id=self.user_id, team__slug=self.team_slug)
            .only("team_id", "role")
            .first()
        )
        if membership is None:
            return None
        # Controls in pushed fragments follow the listener's role, as on the page itself.
        return membership.team_id, membership.allows(Role.EDITOR)

    @database_sync_to_async
    def visible(self) -> bool:
        return Conversation.objects.filter(
            pk=self.conversation_id, team__slug=self.team_slug
        ).exists()

    async def recheck(self) -> bool:
        """Check the listener's access again; False when the socket was closed for it."""
        access = await self.access()
        if access is None:
            await self.revoke()
            return False
        _, can_run = access
        if can_run != self.can_run:
            self.can_run = can_run
            await self.send(text_data=await self.snapshot())
        return True

    async def access_changed(self, event: dict[str, Any]) -> None:
        if not self.revoked and event.get("team_id") == getattr(self, "team_id", None):
            await self.recheck()

    async def conversation_event(self, event: dict[str, Any]) -> None:
        if self.revoked:
            return
        if time.monotonic() - self.checked_at >= ACCESS_RECHECK_S and not await self.recheck():
            return
        html = await self.render(event)
        if html:
            await self.send(text_data=html)

    @database_sync_to_async
    def snapshot(self) -> str:
        html, self.shown = render_snapshot(self.conversation_id, can_run=self.can_run)
        return html

    @database_sync_to_async
    def render(self, event: dict[str, Any]) -> str:
        # Events that raced the snapshot must not append what it already showed.
        kind = event.get("kind")
        if kind in ("model_started", "round_started"):
            key: tuple[Any, Any] = ("model_started", event.get("round"))
        else:
            key = (kind, event.get("message_id"))
        if kind in ("model_started", "round_started", "message"):
            if key in self.shown:
                return ""
            self.shown.add(key)
        return render_event(self.conversation_id, event, can_run=self.can_run)


def render_snapshot(
    conversation_id: int, *, can_run: bool = False
) -> tuple[str, set[tuple[Any, Any]]]:
    """Status, messages and rounds as they stand in the database, as OOB replacements, and
    the keys of the rounds and messages it showed."""
    conversation = Conversation.objects.select_related("team").get(pk=conversation_id)
    template = "conversations/conversation_detail.html"
    messages = list(conversation.messages.all())
    rounds = rounds_for(conversation)
    context = {
        "conversation": conversation,
        "messages_list": [message_context(m) for m in messages],
        "rounds": rounds,
        "summary": conversation_summary(conversation),
        "oob": True,
        "can_run": can_run,
    }
    html = "".join(
        render_to_string(f"{template}#{name}", context)
        for name in ("status", "summary", "messages-list", "rounds-list")
    )
    shown = {("message", m.pk) for m in messages} | {("model_started", r.number) for r in rounds}
    return html, shown


def render_event(conversation_id: int, event: dict[str, Any], *, can_run: bool = False) -> str:
    """The OOB fragments for one runner event ('' when the page needs nothing)."""
    kind = event.get("kind")
    template = "conversations/conversation_detail.html"
    if kind == "status":
        conversation = Conversation.objects.get(pk=conversation_id)
        context = {
            "conversation": conversation,
            "oob": True,
            "can_run": can_run,
            "summary": conversation_summary(conversation),
        }
        return render_to_string(f"{template}#status", context) + render_to_string(
            f"{template}#summary", context
        )
    if kind == "message":
        message = Message.objects.filter(pk=event["message_id"]).first()
        if message is None:
            return ""
        context = {"oob": True, "can_run": can_run, **message_context(message)}
        return render_to_string(f"{template}#message-oob", context)
    if kind in ("model_started", "round_started"):
        context = {"round": Round(event["round"]), "by_hand": kind == "round_started"}
        return render_to_string(f"{template}#round-oob", context)
    if kind == "delta":
        return render_to_string(f"{template}#stream", {"delta": event, "oob": True})
    if kind == "model_finished":
        round_ = Round(event["round"])
        round_.model_call = ModelCall.objects.filter(
            conversation_id=conversation_id, round=round_.number
        ).first()
        return render_to_string(
            f"{template}#stream", {"delta": None, "oob": True}
        ) + render_to_string(f"{template}#round-model", {"round": round_, "swap": True})
    if kind == "calls":
        rows = [LiveRow(**row) for row in event["calls"]]
        lead = event.get("lead_ms") or 0.0
        span = lead + max([event.get("now_ms") or 0.0] + [r.finished_ms or 0.0 for r in rows])
        gantt = round_gantt(rows, span_ms=max(span, 1.0), lead_ms=lead or None)
        return render_to_string(
            f"{template}#round-gantt", {"round": Round(event["round"]), "gantt": gantt}
        )
    if kind in ("approval", "batch_finished"):
        batch = Batch.objects.filter(pk=event["batch_id"], conversation_id=conversation_id).first()
        if batch is None:
            return ""
        round_ = Round(batch.round or 0, batch=batch, executions=list(batch.executions.all()))
        context = {"round": round_, "swap": True, "can_run": can_run}
        fragments = [render_to_string(f"{template}#round-calls", context)]
        if kind == "batch_finished":
            model_call = ModelCall.objects.filter(
                conversation_id=conversation_id, round=round_.number
            ).first()
            lead = model_call.duration_ms if model_call and model_call.ok else None
            gantt = round_gantt(round_.executions, lead_ms=lead)
            fragments.append(
                render_to_string(f"{template}#round-gantt", {"round": round_, "gantt": gantt})
            )
        return "".join(fragments)
    return ""
