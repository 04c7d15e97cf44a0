"""The websocket a conversation page listens on: engine and model events as htmx OOB swaps.

One consumer, one job: check that the user may see the conversation (its team's members only),
join its group, and turn each event the runner publishes (a `live.LiveEvent`) into the HTML
fragments that the page's htmx ws extension swaps in, by the handler registered for its type
(`handles`). Markup comes from the same partials the page renders with.

Access holds for the socket's life, not only at connect: every socket also joins its user's
group (fcstudio.access), told of each membership change, and checks again then; a member who
left the team is closed out at once, one whose role changed gets the header's role redrawn,
and, when the change gives or takes the run controls, the page redrawn with the controls of the
new role (a promotion from editor to admin redraws no control: what the person was typing in
them stays). Events re-check too when the last check is older than
ACCESS_RECHECK_S, for changes no signal announced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import QueryDict
from django.template.loader import render_to_string

from fcstudio.access import user_group
from fcstudio.models import Membership, Role

from . import controls, dispatch, live
from .models import (
    Batch,
    Conversation,
    ExecutionStatus,
    Message,
    ModelCall,
    RunStatus,
)
from .view_models import (
    CallFilter,
    LiveRow,
    Records,
    Round,
    conversation_summary,
    filter_choices,
    listed_messages,
    load_records,
    message_context,
    messages_context,
    round_gantt,
    rounds_for,
)

CLOSE_FORBIDDEN = 4403
TEMPLATE = "conversations/conversation_detail.html"
WATERFALL_REFRESH = "conversations/partials/waterfall.html#waterfall-refresh"
ACCESS_RECHECK_S = 5.0
EVERY_CALL = CallFilter()
# A run in one of these writes nothing more until it is run again.
RUN_ENDED = (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.STOPPED)


class ConversationConsumer(AsyncWebsocketConsumer):
    can_run = False
    role = ""
    revoked = False
    # The calls the page lists (its `?status=&tool=`, which it opens the socket with): every
    # redraw of its calls tables lists those only, as the page did.
    calls = EVERY_CALL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By batch: its calls as the last live frame showed them, and the calls seen finished
        # whose rows this socket has redrawn (`finished_while_waiting`).
        self.live_rows: dict[int, tuple[LiveRow, ...]] = {}
        self.finished_drawn: dict[int, set[int]] = {}

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.team_slug = self.scope["url_route"]["kwargs"]["team"]
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation"])
        query = QueryDict(self.scope.get("query_string", b"").decode("latin-1"))
        self.calls = CallFilter.from_query(query)
        # Joined before the check, so a change that commits after it still reaches this socket.
        self.access_group = user_group(user.pk)
        await self.channel_layer.group_add(self.access_group, self.channel_name)
        access = await self.access()
        if access is None or not await self.visible():
            await self.revoke()
            return
        self.team_id, self.role = access.team_id, access.role
        self.can_run = access.allows(Role.EDITOR)
        # Forms pushed with a new role post like the page's own: with a token from this cookie.
        self.csrf_token = controls.csrf_token_from_cookie(self.scope.get("cookies", {}))
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
    def access(self) -> Membership | None:
        """The user's membership of the team while they are an active member, else None."""
        self.checked_at = time.monotonic()
        return (
            Membership.objects.filter(
                user_id=self.user_id, user__is_active=True, team__slug=self.team_slug
            )
            .only("team_id", "role")
            .first()
        )

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
        if access.role == self.role:
            return True
        # Controls in pushed fragments follow the listener's role, as on the page itself.
        self.role = access.role
        can_run = access.allows(Role.EDITOR)
        changed = can_run != self.can_run
        self.can_run = can_run
        html = await self.snapshot() if changed else ""
        # Controls that stay the same are not redrawn, so that what was typed in them stays.
        html += await self.render_role(access, with_controls=changed)
        await self.send(text_data=html)
        return True

    @database_sync_to_async
    def render_role(self, membership: Membership, *, with_controls: bool) -> str:
        return render_role(
            self.conversation_id,
            membership,
            user=self.scope["user"],
            with_controls=with_controls,
            csrf_token=self.csrf_token,
        )

    async def access_changed(self, event: dict[str, Any]) -> None:
        if not self.revoked and event.get("team_id") == getattr(self, "team_id", None):
            await self.recheck()

    async def conversation_event(self, message: dict[str, Any]) -> None:
        if self.revoked:
            return
        if time.monotonic() - self.checked_at >= ACCESS_RECHECK_S and not await self.recheck():
            return
        event = live.decode(message)
        if event is None:
            return
        html = await self.render(event)
        if html:
            await self.send(text_data=html)

    async def snapshot(self) -> str:
        # Read before the record: a draft whose model call finished meanwhile is then dropped.
        draft = await live.kept_draft(self.conversation_id)
        return await self.render_snapshot(draft)

    @database_sync_to_async
    def render_snapshot(self, draft: live.DraftDelta | None) -> str:
        html, self.shown = render_snapshot(
            self.conversation_id, can_run=self.can_run, draft=draft, calls=self.calls
        )
        return html

    @database_sync_to_async
    def render(self, event: live.LiveEvent) -> str:
        missed = ""
        if isinstance(event, live.MessageAdded | live.StatusChanged):
            before = event.message_id if isinstance(event, live.MessageAdded) else None
            missed = self.missed_messages(before)
        # Events that raced the snapshot must not append what it already showed.
        key = event.shown_key
        if key is not None:
            if key in self.shown:
                return missed
            self.shown.add(key)
        if isinstance(event, live.RoundCalls):
            return (
                missed
                + render_event(self.conversation_id, event, can_run=self.can_run, calls=self.calls)
                + self.finished_while_waiting(event)
            )
        if isinstance(event, live.ApprovalAsked | live.CallDecided):
            rows = self.live_rows.get(event.batch_id, ())
            return missed + render_batch(
                self.conversation_id, event, self.can_run, live_rows=rows, calls=self.calls
            )
        return missed + render_event(
            self.conversation_id, event, can_run=self.can_run, calls=self.calls
        )

    def missed_messages(self, before: int | None) -> str:
        """Messages stored before `before` (or at all) that this page has not shown: their
        frames were lost on the way (publishing is best effort), and the next message or status
        frame brings them, in order, from the database."""
        shown = [pk for kind, pk in self.shown if kind == "message"]
        rows = Message.objects.filter(conversation_id=self.conversation_id).exclude(pk__in=shown)
        if shown:
            # A long conversation's page lists its last rounds only: older messages are not missed.
            rows = rows.filter(pk__gt=min(shown))
        if before is not None:
            rows = rows.filter(pk__lt=before)
        html = []
        for message in rows:
            self.shown.add(live.message_key(message.pk))
            context = {"oob": True, "can_run": self.can_run, **message_context(message)}
            html.append(render_to_string(f"{TEMPLATE}#message-oob", context))
        return "".join(html)

    def finished_while_waiting(self, event: live.RoundCalls) -> str:
        """A round that waits for a person has its calls table on the page while its other
        calls still run; each that the frames see finish is redrawn there (and in the totals)
        at once, not when the decision comes. Rounds without approvals show their table when
        the batch ends, so nothing is drawn for them here."""
        if event.batch_id not in self.live_rows:
            # One batch runs at a time: what the socket kept of the one before is done with.
            self.live_rows.clear()
            self.finished_drawn.clear()
        self.live_rows[event.batch_id] = event.calls
        if not any(row.approval_asked_ms is not None for row in event.calls):
            return ""
        finished = {i for i, row in enumerate(event.calls) if row.finished_ms is not None}
        drawn = self.finished_drawn.setdefault(event.batch_id, set())
        if finished <= drawn:
            return ""
        drawn |= finished
        return render_batch(
            self.conversation_id, event, self.can_run, live_rows=event.calls, calls=self.calls
        )


def render_snapshot(
    conversation_id: int,
    *,
    can_run: bool = False,
    draft: live.DraftDelta | None = None,
    calls: CallFilter = EVERY_CALL,
) -> tuple[str, set[tuple[str, int]]]:
    """Status, messages, rounds and the draft being written, as they stand, as OOB
    replacements, and the keys of the rounds and messages it showed (`LiveEvent.shown_key`).
    `draft` (the one last sent, `live.kept_draft`) is shown while its model call is still
    running in the record; the stream is emptied otherwise. The rounds list the `calls` the
    page lists; the totals count every call."""
    conversation = Conversation.objects.select_related("team").get(pk=conversation_id)
    records = load_records(conversation, window=True)
    messages = listed_messages(conversation, records)
    rounds = rounds_for(conversation, status=calls.status, tool=calls.tool, records=records)
    if draft is not None and (
        conversation.status in RUN_ENDED
        or not any(
            call.round == draft.round and call.duration_ms is None and not call.error_kind
            for call in records.model_calls
        )
    ):
        draft = None
    context = {
        "conversation": conversation,
        "messages_list": messages_context(messages),
        "rounds": rounds,
        "summary": conversation_summary(conversation, records=records),
        "filters": filters_context(conversation, records, calls),
        "earlier": records.first_round,
        "oob": True,
        "can_run": can_run,
        "delta": draft,
    }
    html = "".join(
        render_to_string(f"{TEMPLATE}#{name}", context)
        for name in (
            "status",
            "summary",
            "call-filters",
            "earlier-rounds",
            "messages-list",
            "stream",
            "rounds-list",
        )
    )
    if conversation.is_active:
        # The page drew the waterfall in the scale it shows; while a run may have moved on since,
        # it fetches that scale again (a finished conversation's chart cannot be behind).
        html += _waterfall(conversation_id, conversation)
    shown = {live.message_key(m.pk) for m in messages} | {live.round_key(r.number) for r in rounds}
    return html, shown


def render_role(
    conversation_id: int,
    membership: Membership,
    *,
    user: Any,
    with_controls: bool,
    csrf_token: str = "",
) -> str:
    """The header's role, and with `with_controls` the page's controls for it (head actions,
    settings for the next run, composer and the form to add a message), as OOB replacements."""
    who = {"user": user, "membership": membership, "oob": True}
    fragments = [render_to_string(controls.WHO, who)]
    if with_controls:
        conversation = Conversation.objects.select_related("team", "provider").get(
            pk=conversation_id
        )
        context = controls.controls_context(conversation, membership)
        context |= {"oob": True, "csrf_token": csrf_token}
        fragments += [render_to_string(f"{TEMPLATE}#{name}", context) for name in controls.CONTROLS]
    return "".join(fragments)


Handler = Callable[[int, Any, bool, CallFilter], str]
H = TypeVar("H", bound=Handler)
# Event type → the function that renders it: (conversation id, event, can_run, the calls the
# page lists) → fragments.
HANDLERS: dict[type[live.LiveEvent], Handler] = {}


def handles(*kinds: type[live.LiveEvent]) -> Callable[[H], H]:
    """Register the function that turns events of these types into OOB fragments."""

    def register(handler: H) -> H:
        for kind in kinds:
            HANDLERS[kind] = handler
        return handler

    return register


def render_event(
    conversation_id: int,
    event: live.LiveEvent,
    *,
    can_run: bool = False,
    calls: CallFilter = EVERY_CALL,
) -> str:
    """The OOB fragments for one runner event ('' when the page needs nothing), for a page that
    lists `calls`."""
    handler = HANDLERS.get(type(event))
    return handler(conversation_id, event, can_run, calls) if handler is not None else ""


@handles(live.StatusChanged)
def _status(
    conversation_id: int, event: live.StatusChanged, can_run: bool, calls: CallFilter = EVERY_CALL
) -> str:
    conversation = Conversation.objects.get(pk=conversation_id)
    context = {
        "conversation": conversation,
        "oob": True,
        "can_run": can_run,
        "summary": conversation_summary(conversation),
    }
    # A run that has ended writes nothing more: a draft still on the page (a frame that raced
    # the stop) gives way, whatever arrived in between.
    ended = _no_stream() if conversation.status in RUN_ENDED else ""
    return (
        render_to_string(f"{TEMPLATE}#status", context)
        + render_to_string(f"{TEMPLATE}#summary", context)
        + ended
        + _review_calls(conversation, can_run, calls)
    )


def _no_stream() -> str:
    return render_to_string(f"{TEMPLATE}#stream", {"delta": None, "oob": True})


def _review_calls(conversation: Conversation, can_run: bool, calls: CallFilter) -> str:
    """A run paused for review: its last round's rows gain their answer boxes."""
    if not (can_run and conversation.status == RunStatus.PAUSED and conversation.review_results):
        return ""
    batch = conversation.batches.exclude(round=None).order_by("-round").first()
    if batch is None:
        return ""
    round_ = Round(batch.round or 0, batch=batch, executions=calls.shown(batch.executions.all()))
    context = {
        "conversation": conversation,
        "round": round_,
        "rounds": [round_],
        "can_run": can_run,
        "swap": True,
    }
    return render_to_string(f"{TEMPLATE}#round-calls", context)


@handles(live.MessageAdded)
def _message(
    conversation_id: int, event: live.MessageAdded, can_run: bool, calls: CallFilter = EVERY_CALL
) -> str:
    message = Message.objects.filter(pk=event.message_id).first()
    if message is None:
        return ""
    context = {"oob": True, "can_run": can_run, **message_context(message)}
    return render_to_string(f"{TEMPLATE}#message-oob", context)


@handles(live.ModelStarted, live.RoundStarted)
def _round(
    conversation_id: int,
    event: live.ModelStarted | live.RoundStarted,
    can_run: bool,
    calls: CallFilter = EVERY_CALL,
) -> str:
    by_hand = isinstance(event, live.RoundStarted)
    return render_to_string(
        f"{TEMPLATE}#round-oob", {"round": Round(event.round), "by_hand": by_hand}
    )


@handles(live.DraftDelta)
def _draft(
    conversation_id: int, event: live.DraftDelta, can_run: bool, calls: CallFilter = EVERY_CALL
) -> str:
    # The stream names its round: the page turns that round's "waiting for the model…" into
    # "answering" (studio.js). Not an out-of-band swap of the status, which would have no target
    # when the round was stopped before a last draft frame arrived.
    return render_to_string(f"{TEMPLATE}#stream", {"delta": event, "oob": True})


@handles(live.ModelFinished)
def _model_finished(
    conversation_id: int, event: live.ModelFinished, can_run: bool, calls: CallFilter = EVERY_CALL
) -> str:
    round_ = Round(event.round)
    round_.model_call = ModelCall.objects.filter(
        conversation_id=conversation_id, round=round_.number
    ).first()
    return (
        _no_stream()
        + render_to_string(f"{TEMPLATE}#round-model", {"round": round_, "swap": True})
        + _summary(conversation_id, calls=calls)
        + _waterfall(conversation_id)
    )


@handles(live.RoundCalls)
def _calls(
    conversation_id: int, event: live.RoundCalls, can_run: bool, calls: CallFilter = EVERY_CALL
) -> str:
    rows = list(event.calls)
    lead = event.lead_ms or 0.0
    span = lead + max([event.now_ms or 0.0] + [r.finished_ms or 0.0 for r in rows])
    gantt = round_gantt(rows, span_ms=max(span, 1.0), lead_ms=lead or None)
    return render_to_string(
        f"{TEMPLATE}#round-gantt", {"round": Round(event.round), "gantt": gantt}
    )


def _waterfall(conversation_id: int, conversation: Conversation | None = None) -> str:
    """When a model call or a batch finishes, the page fetches its waterfall again, in the scale
    it shows (which only the page knows: it draws one of the two)."""
    conversation = conversation or Conversation.objects.select_related("team").get(
        pk=conversation_id
    )
    return render_to_string(WATERFALL_REFRESH, {"conversation": conversation, "oob": True})


def filters_context(
    conversation: Conversation, records: Records, calls: CallFilter
) -> dict[str, Any]:
    """The calls filter's menus, with what the page lists chosen in them."""
    choices = filter_choices(conversation, records=records)
    return {"status": calls.status, "tool": calls.tool, **choices}


def _summary(
    conversation_id: int,
    *,
    batch_id: int | None = None,
    live_rows: Sequence[LiveRow] = (),
    calls: CallFilter = EVERY_CALL,
) -> str:
    """The totals row, redrawn with every event that changes what it counts (with the calls of
    batch `batch_id` as `live_rows` show them, where the record is behind), and the calls
    filter, with what the page lists (`calls`) chosen."""
    conversation = Conversation.objects.get(pk=conversation_id)
    records = load_records(conversation, listing=False)
    if live_rows:
        for batch in records.batches:
            if batch.pk == batch_id:
                with_live_rows(batch.executions.all(), live_rows)
    context = {
        "summary": conversation_summary(conversation, records=records),
        # The outcomes a person can filter by change with the totals (running → cancelled).
        "filters": filters_context(conversation, records, calls),
        "oob": True,
    }
    return render_to_string(f"{TEMPLATE}#summary", context) + render_to_string(
        f"{TEMPLATE}#call-filters", context
    )


def with_live_rows(executions: Iterable[Any], rows: Sequence[LiveRow]) -> None:
    """Show finished the calls of the record that the live frames already saw finish: the
    record is written a moment after a frame goes out (rows match by position in the batch)."""
    for execution in executions:
        row = rows[execution.position] if execution.position < len(rows) else None
        if (
            row is None
            or row.finished_ms is None
            or row.tool_call_id != execution.tool_call_id
            or execution.status not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        ):
            continue
        execution.status = ExecutionStatus.OK if row.status == "ok" else ExecutionStatus.ERROR
        execution.error_code = row.error_code
        if row.started_ms is not None:
            execution.started_ms = row.started_ms
        execution.finished_ms = row.finished_ms


@handles(live.ApprovalAsked, live.CallDecided, live.BatchFinished)
def _batch(
    conversation_id: int,
    event: live.ApprovalAsked | live.CallDecided | live.BatchFinished,
    can_run: bool,
    calls: CallFilter = EVERY_CALL,
) -> str:
    return render_batch(conversation_id, event, can_run, calls=calls)


def render_batch(
    conversation_id: int,
    event: live.ApprovalAsked | live.CallDecided | live.BatchFinished | live.RoundCalls,
    can_run: bool,
    *,
    live_rows: Sequence[LiveRow] = (),
    calls: CallFilter = EVERY_CALL,
) -> str:
    """A batch's calls table (the `calls` the page lists) and the totals (every call), as the
    record has them, or as `live_rows` (the last live frame) show them where the record is
    behind."""
    batch = Batch.objects.filter(pk=event.batch_id, conversation_id=conversation_id).first()
    if batch is None:
        return ""
    executions = list(batch.executions.all())
    with_live_rows(executions, live_rows)
    listed = Round(batch.round or 0, batch=batch, executions=calls.shown(executions))
    context = {"round": listed, "swap": True, "can_run": can_run}
    fragments = [
        render_to_string(f"{TEMPLATE}#round-calls", context),
        _summary(conversation_id, batch_id=batch.pk, live_rows=live_rows, calls=calls),
    ]
    round_ = Round(batch.round or 0, batch=batch, executions=executions)
    if isinstance(event, live.BatchFinished):
        model_call = ModelCall.objects.filter(
            conversation_id=conversation_id, round=round_.number
        ).first()
        lead = model_call.duration_ms if model_call and model_call.ok else None
        gantt = round_gantt(round_.executions, lead_ms=lead)
        fragments.append(
            render_to_string(f"{TEMPLATE}#round-gantt", {"round": round_, "gantt": gantt})
        )
        fragments.append(_waterfall(conversation_id))
    return "".join(fragments)
