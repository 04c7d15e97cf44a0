"""What the conversation page shows, computed once for the first render and the live swaps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from fcstudio.templatetags.studio import as_json

from .models import Batch, BatchSource, BatchStatus, Conversation, Message, ModelCall, ToolExecution
from .timeline import batch_gantt, waiting_only_ms


@dataclass
class LiveRow:
    """A gantt row from a live event (the same shape ToolExecution offers)."""

    tool_name: str
    tool_call_id: str
    status: str = "queued"
    error_code: str = ""
    attempts: int = 0
    queued_ms: float = 0.0
    started_ms: float | None = None
    finished_ms: float | None = None
    retry_marks_ms: list[float] = field(default_factory=list)
    approval_asked_ms: float | None = None
    approval_decided_ms: float | None = None


def pretty_json(text: str) -> str:
    """`text` indented when it is plain JSON; else as it is (`fcstudio` templates' `as_json`)."""
    return as_json(text)


def tool_calls_of(messages: Any) -> Iterator[tuple[str, str]]:
    """(id, tool name) of each tool call of these assistant turns, in order."""
    for message in messages:
        for call in message.tool_calls:
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                function = call.get("function")
                name = function.get("name") if isinstance(function, dict) else None
                yield call["id"], name if isinstance(name, str) else ""


def call_names(messages: Any) -> dict[str, str]:
    """Tool call id → tool name over these assistant turns (a later call wins a reused id)."""
    return dict(tool_calls_of(messages))


def turns_before(message: Message) -> QuerySet[Message]:
    """The assistant turns of the conversation before `message`, in order."""
    return Message.objects.filter(
        conversation_id=message.conversation_id, role="assistant", position__lt=message.position
    )


def names_before(message: Message) -> dict[str, str]:
    """The names of the calls made before `message`: one query, for a message shown alone."""
    return call_names(turns_before(message))


def message_context(message: Message, names: dict[str, str] | None = None) -> dict[str, Any]:
    """What the message partial shows; `names`: the tool names of the calls made before it
    (read from the database when not given and the message is a tool result)."""
    calls = [
        {
            "id": call.get("id", ""),
            "name": (call.get("function") or {}).get("name", ""),
            "arguments": pretty_json((call.get("function") or {}).get("arguments", "")),
        }
        for call in message.tool_calls
    ]
    content = message.content
    tool_name = ""
    if message.role == "tool":
        content = pretty_json(content)
        if names is None:
            names = names_before(message)
        tool_name = names.get(str(message.payload.get("tool_call_id")), "")
    return {"message": message, "calls": calls, "content": content, "tool_name": tool_name}


def messages_context(messages: list[Message]) -> list[dict[str, Any]]:
    """Each message's context, tool results named by the calls before them in the list (and
    before the list, when it starts part-way through a conversation)."""
    if not messages:
        return []
    names = names_before(messages[0]) if messages[0].position > 0 else {}
    shown = []
    for message in messages:
        shown.append(message_context(message, names))
        if message.role == "assistant":
            names.update(call_names([message]))
    return shown


@dataclass
class Round:
    number: int
    model_call: ModelCall | None = None
    batch: Batch | None = None
    executions: list[Any] = field(default_factory=list)
    gantt: Any = None


def round_gantt(
    executions: Any,
    *,
    lead_ms: float | None = None,
    span_ms: float | None = None,
    now_ms: float | None = None,
):
    """A round's chart, sized for the conversation page's narrower column."""
    return batch_gantt(
        executions, width=640, label_width=130, lead_ms=lead_ms, span_ms=span_ms, now_ms=now_ms
    )


def batch_now_ms(batch: Batch) -> float | None:
    """Where a running batch's clock stands now (its calls' times count from its start, a
    moment after the batch was opened); None once it ended."""
    if batch.status != BatchStatus.RUNNING:
        return None
    return max((timezone.now() - batch.created_at).total_seconds() * 1000, 0.0)


# The fields of every call that the summary, the filters and the waterfall read: a large
# conversation's arguments and results are loaded only for the rounds the page shows.
TIMING_FIELDS = (
    "id",
    "batch_id",
    "position",
    "tool_call_id",
    "tool_name",
    "status",
    "error_code",
    "approval",
    "queued_ms",
    "started_ms",
    "finished_ms",
    "approval_asked_ms",
    "approval_decided_ms",
)
# A large conversation's page lists the calls and messages of its last rounds only: at most this
# many rounds, fewer when they would list more than CALLS_SHOWN calls (one round at least);
# earlier ones come as many at a time ("Show earlier rounds").
ROUNDS_SHOWN = 10
CALLS_SHOWN = 100


@dataclass
class Records:
    """A conversation's model calls and batches (with every call's status and timing), read once
    per render: the rounds, the filters, the summary and the waterfall all walk them. `shown`:
    the whole calls (arguments, results, versions) of the rounds listed, by batch."""

    model_calls: list[ModelCall]
    batches: list[Batch]
    shown: dict[int, list[ToolExecution]] = field(default_factory=dict)
    first_round: int = 0
    upto_round: int | None = None

    @property
    def last_round(self) -> int:
        numbers = [c.round for c in self.model_calls] + [b.round or 0 for b in self.batches]
        return max(numbers, default=0)

    def listed(self, number: int) -> bool:
        return number >= self.first_round and (self.upto_round is None or number < self.upto_round)


def first_listed_round(records: Records, last_round: int) -> int:
    """The first of the rounds listed up to `last_round` (ROUNDS_SHOWN, CALLS_SHOWN)."""
    calls: dict[int, int] = defaultdict(int)
    for batch in records.batches:
        calls[batch.round or 0] += len(batch.executions.all())
    first, listed = max(0, last_round), calls[max(0, last_round)]
    while (
        first > 0
        and last_round - first + 1 < ROUNDS_SHOWN
        and listed + calls[first - 1] <= CALLS_SHOWN
    ):
        first -= 1
        listed += calls[first]
    return first


def load_records(
    conversation: Conversation,
    *,
    window: bool = False,
    before: int | None = None,
    listing: bool = True,
) -> Records:
    """Four queries whatever the size: model calls, batches, every call's status and timing, and
    the whole calls of the rounds listed: all of them, or with `window` the last ones
    (`first_listed_round`), or with `before` as many before that one (none without
    `listing`)."""
    batches = conversation.batches.prefetch_related(
        Prefetch("executions", queryset=ToolExecution.objects.only(*TIMING_FIELDS))
    )
    records = Records(list(conversation.model_calls.all()), list(batches))
    if before is not None:
        records.upto_round = max(0, before)
        records.first_round = first_listed_round(records, records.upto_round - 1)
    elif window:
        records.first_round = first_listed_round(records, records.last_round)
    if not listing:
        return records
    full = ToolExecution.objects.filter(batch__conversation=conversation).select_related(
        "tool_version"
    )
    if records.first_round:
        full = full.filter(batch__round__gte=records.first_round)
    if records.upto_round is not None:
        full = full.filter(batch__round__lt=records.upto_round)
    for execution in full:
        records.shown.setdefault(execution.batch_id, []).append(execution)
    return records


def listed_messages(conversation: Conversation, records: Records) -> list[Message]:
    """The messages of the rounds listed, in order."""
    messages = conversation.messages.all()
    if records.first_round:
        messages = messages.filter(round__gte=records.first_round)
    if records.upto_round is not None:
        messages = messages.filter(round__lt=records.upto_round)
    return list(messages)


def rounds_for(
    conversation: Conversation,
    *,
    status: str = "",
    tool: str = "",
    records: Records | None = None,
) -> list[Round]:
    """Each listed round's model call and batch; `status` (ok, error or an error code) and
    `tool` narrow the calls listed, while the gantt keeps the whole batch for context."""
    records = records or load_records(conversation)
    rounds: dict[int, Round] = {}
    for call in records.model_calls:
        if records.listed(call.round):
            rounds.setdefault(call.round, Round(call.round)).model_call = call
    for batch in records.batches:
        number = batch.round or 0
        if not records.listed(number):
            continue
        entry = rounds.setdefault(number, Round(number))
        entry.batch = batch
        executions = records.shown.get(batch.pk, [])
        model = entry.model_call
        entry.gantt = round_gantt(
            executions,
            lead_ms=model.duration_ms if model and model.ok else None,
            now_ms=batch_now_ms(batch),
        )
        entry.executions = CallFilter(status, tool).shown(executions)
    return [rounds[number] for number in sorted(rounds)]


def call_outcome(execution: Any) -> str:
    """A call's outcome in the page's words, the same in the totals, the rows and the filter:
    a call held for a person's decision is waiting for approval, not queued."""
    if execution.approval == "pending":
        return "waiting for approval"
    return execution.error_code or execution.status


@dataclass(frozen=True)
class CallFilter:
    """The calls a conversation page lists (`?status=&tool=`): `status` an outcome
    (`call_outcome`, or ok / error), `tool` a tool's name; empty: any. The page and its socket
    read it from their query strings with `from_query`, so both list the same rows."""

    status: str = ""
    tool: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CallFilter:
        return cls(status=query.get("status", "")[:40], tool=query.get("tool", "")[:64])

    def matches(self, execution: Any) -> bool:
        return (not self.status or self.status in (call_outcome(execution), execution.status)) and (
            not self.tool or execution.tool_name == self.tool
        )

    def shown(self, executions: Iterable[Any]) -> list[Any]:
        return [execution for execution in executions if self.matches(execution)]


def filter_choices(
    conversation: Conversation, *, records: Records | None = None
) -> dict[str, list[str]]:
    records = records or load_records(conversation)
    statuses: set[str] = set()
    tools: set[str] = set()
    for batch in records.batches:
        for execution in batch.executions.all():
            statuses.add(call_outcome(execution))
            tools.add(execution.tool_name)
    return {"statuses": sorted(statuses), "tools": sorted(tools)}


def times_so_far(executions: Any) -> tuple[float | None, float]:
    """An open batch's wall and summed tool time as far as its finished calls tell: from its
    first start to the latest finish so far (waits for a person left out, as when it closes),
    and the sum of the finished calls' times. (None, 0.0) while no call has finished."""
    rows = list(executions)
    done = [e for e in rows if e.started_ms is not None and e.finished_ms is not None]
    if not done:
        return None, 0.0
    first = min(e.started_ms for e in rows if e.started_ms is not None)
    latest = max(e.finished_ms for e in done)
    waited = waiting_only_ms(rows, until=latest)
    return max(latest - first - waited, 0.0), sum(e.finished_ms - e.started_ms for e in done)


def conversation_summary(
    conversation: Conversation, *, records: Records | None = None
) -> dict[str, Any]:
    """Totals for the inspector: calls by status, tokens, wall and summed tool time."""
    records = records or load_records(conversation)
    statuses: dict[str, int] = defaultdict(int)
    wall = 0.0
    summed: float | None = 0.0
    timed = False  # nothing has run yet: the times read "—", not "0.00 ms"
    app_rounds, app_rounds_ms = 0, 0.0
    for batch in records.batches:
        batch_wall, batch_sum = batch.wall_ms, batch.sum_call_ms
        if batch_wall is None:
            batch_wall, batch_sum = times_so_far(batch.executions.all())
        if batch_wall is not None:
            timed = True
            wall += batch_wall
        # An app's own calls (recorded or imported) have only their batch's time: how it was
        # split among them, so their sum, is not known, and neither is the speed-up.
        if batch.source == BatchSource.RECORDED:
            summed = None
            app_rounds += 1
            app_rounds_ms += batch_wall or 0
        elif summed is not None:
            summed += batch_sum or 0
        for execution in batch.executions.all():
            statuses[call_outcome(execution)] += 1
    # One answer without usage (some servers never send it) makes the total unknown, not short;
    # so do model calls of which none was answered (a refused request reports no usage).
    counts = [call.total_tokens for call in records.model_calls if call.ok]
    unanswered = bool(records.model_calls) and not counts
    tokens = None if None in counts or unanswered else sum(count or 0 for count in counts)
    return {
        "statuses": sorted(statuses.items()),
        "tool_wall_ms": wall if timed else None,  # None: nothing has run
        "tool_sum_ms": summed if timed else None,  # None: nothing has run, or not known
        "speedup": (summed / wall) if wall and summed is not None else None,
        # What is known instead of the sum: the time of the rounds whose calls the app ran.
        "app_rounds": app_rounds,
        "app_rounds_ms": app_rounds_ms,
        "tokens": tokens,  # None: unknown
    }
