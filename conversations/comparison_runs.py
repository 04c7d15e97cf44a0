"""Comparisons of models: one conversation forked per provider/model pair and run side by side.

Owns creating a comparison (the forks and the starts, all or nothing against the run quota) and
reading each run's records into `comparison.RunFacts` for the diff table; the table itself is
`conversations.comparison`'s, the page `comparison_views`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from . import compose, dispatch
from .comparison import CallFacts, RunFacts
from .models import Comparison, Conversation, Message, Provider
from .view_models import Records


@dataclass(frozen=True)
class Pair:
    provider: Provider
    model: str


# A run may start after a message the model answers next: a user turn, or a tool result.
CUT_ROLES = ("user", "tool")


def default_cut(conversation: Conversation) -> Message | None:
    """The message a comparison cuts at unless told: the last user message, else the last tool
    result."""
    messages = conversation.messages.order_by("-position")
    return messages.filter(role="user").first() or messages.filter(role__in=CUT_ROLES).first()


def create_comparison(
    source: Conversation, *, cut: Message, pairs: list[Pair], user: Any
) -> Comparison:
    """Fork `source` up to and with `cut` once per pair, with the pair's provider and model, and
    start every fork's run.

    All or nothing: when the team's run quota cannot start them all, `quotas.QuotaExceeded`
    propagates and no comparison, fork or start is left behind."""
    with transaction.atomic():
        comparison = Comparison.objects.create(
            team=source.team,
            source=source,
            title=source.title,
            message_count=cut.position + 1,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        forks = []
        for pair in pairs:
            fork = compose.fork(source, upto=cut.position + 1, user=user)
            fork.provider = pair.provider
            fork.model = pair.model
            fork.title = f"{source.title} · {pair.provider.name} / {pair.model}"[:200]
            fork.save(update_fields=["provider", "model", "title", "updated_at"])
            forks.append(fork)
        comparison.runs.set(forks)
        for fork in forks:
            dispatch.queue_run(fork)
    for fork in forks:
        dispatch.send_run(fork, actor=user)
    return comparison


def runs_of(comparison: Comparison) -> list[Conversation]:
    """The comparison's runs in the order they were asked for."""
    return list(comparison.runs.select_related("provider").order_by("pk"))


def run_facts(conversation: Conversation, records: Records) -> RunFacts:
    """What the diff table compares of one run, read from its records: every round listed
    (`load_records` without a window), so the whole calls are at hand (`records.shown`; the
    batches' own executions hold only their timing)."""
    calls = [
        CallFacts(
            name=execution.tool_name,
            arguments=(
                execution.parsed_arguments
                if execution.parsed_arguments is not None
                else execution.raw_arguments
            ),
            error_code=execution.error_code,
        )
        for batch in sorted(records.batches, key=lambda b: (b.round or 0, b.pk))
        for execution in records.shown.get(batch.pk, [])
    ]
    answered = [call for call in records.model_calls if call.ok]
    prompt = [call.prompt_tokens for call in answered]
    completion = [call.completion_tokens for call in answered]
    last = conversation.messages.order_by("-position").first()
    answer = last.content if last and last.role == "assistant" and not last.tool_calls else ""
    provider = conversation.provider.name if conversation.provider else "(no provider)"
    return RunFacts(
        label=f"{provider} / {conversation.model}",
        status=conversation.get_status_display(),
        rounds=len(records.model_calls),
        calls=calls,
        model_errors=[call.error_kind for call in records.model_calls if call.error_kind],
        prompt_tokens=None if None in prompt else sum(n or 0 for n in prompt),
        completion_tokens=None if None in completion else sum(n or 0 for n in completion),
        model_ms=sum(call.duration_ms or 0 for call in records.model_calls),
        tool_ms=sum(batch.wall_ms or 0 for batch in records.batches),
        answer=answer,
    )
