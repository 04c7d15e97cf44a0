"""``manage.py bench_pages``: how long the batch page and the conversation page take to render.

DESIGN.md's bar: a conversation or batch of 1,000 calls renders server-side in under 300 ms.
Inside one transaction that is rolled back at the end (nothing is left in the database), this
builds a batch of ``--calls`` calls and a conversation of ``--rounds`` rounds (a model call and a
few tool calls each) and a conversation of ``--conversation-calls`` calls (ten a round), then
fetches the pages through Django's test Client as a logged-in member,
``--repeat`` times each after one warm-up, and prints p50/p95 render times and query counts.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import Batch, BatchSource, Conversation, Message, ModelCall, ToolExecution
from fcstudio.models import Membership, Role, Team
from tools_app.models import Catalog, Tool, ToolVersion

TARGET_MS = 300.0
TOOLS = ("get_weather", "search_flights", "convert_currency", "lookup_booking")
CALLS_PER_ROUND = 4
CALLS_PER_BIG_ROUND = 10  # the conversation of --conversation-calls calls: ten a round


class Rollback(Exception):
    """Raised to leave the benchmark's transaction without keeping anything."""


def _versions(team: Team) -> list[ToolVersion]:
    catalog = Catalog.objects.create(team=team, name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}")
    versions = []
    for name in TOOLS:
        tool = Tool.objects.create(catalog=catalog, name=name, parameters={"type": "object"})
        versions.append(ToolVersion.objects.create(tool=tool, number=1, snapshot={"name": name}))
    return versions


def _execution(batch: Batch, position: int, version: ToolVersion) -> ToolExecution:
    ok = position % 10 != 7
    arguments = {"city": f"City {position}", "unit": "celsius", "days": position % 5}
    result = {"temperature": 10 + position % 20, "summary": "clear skies " * 3}
    content = {"success": True, "result": result}
    if not ok:
        content = {"success": False, "error": {"code": "TIMEOUT", "message": "took too long"}}
    started = round(position * 0.4, 3)
    return ToolExecution(
        batch=batch,
        position=position,
        tool_call_id=f"call_{batch.pk}_{position:04d}",
        tool_name=version.tool.name,
        tool=version.tool,
        tool_version=version,
        raw_arguments=json.dumps(arguments),
        parsed_arguments=arguments,
        status="ok" if ok else "error",
        error_code="" if ok else "TIMEOUT",
        error_message="" if ok else "took too long",
        result=result if ok else None,
        content=json.dumps(content),
        attempts=1 if ok else 2,
        queued_ms=0.0,
        started_ms=started,
        finished_ms=round(started + 50 + position % 13, 3),
        retry_marks_ms=[] if ok else [started + 20],
    )


def make_batch(team: Team, calls: int) -> Batch:
    """A lab batch of `calls` finished calls over a few tools, one in ten timed out."""
    versions = _versions(team)
    batch = Batch.objects.create(
        team=team, source=BatchSource.LAB, status="finished", strategy="asyncio"
    )
    rows = [_execution(batch, i, versions[i % len(versions)]) for i in range(calls)]
    ToolExecution.objects.bulk_create(rows, batch_size=500)
    span = max((row.finished_ms or 0.0) for row in rows) if rows else 0.0
    summed = sum((row.finished_ms or 0.0) - (row.started_ms or 0.0) for row in rows)
    Batch.objects.filter(pk=batch.pk).update(
        wall_ms=span, sum_call_ms=summed, speedup=summed / span if span else None
    )
    batch.refresh_from_db()
    return batch


def make_conversation(
    team: Team, rounds: int, calls_per_round: int = CALLS_PER_ROUND
) -> Conversation:
    """A finished conversation: per round a model call asking for tools, its batch and results."""
    versions = _versions(team)
    conversation = Conversation.objects.create(
        team=team, title="bench_pages", model="bench", status="finished"
    )
    conversation.tool_versions.set(versions)
    messages = [
        Message(
            conversation=conversation,
            position=0,
            role="user",
            payload={"role": "user", "content": "Plan a trip through fifty cities."},
        )
    ]
    model_calls = []
    for number in range(rounds):
        model_calls.append(
            ModelCall(
                conversation=conversation,
                round=number,
                request={"model": "bench", "messages": []},
                response={"choices": []},
                ok=True,
                finish_reason="tool_calls",
                prompt_tokens=100,
                completion_tokens=20,
                total_tokens=120,
                started_at=timezone.now(),
                duration_ms=300.0,
                first_token_ms=80.0,
            )
        )
    ModelCall.objects.bulk_create(model_calls)
    executions = []
    for number in range(rounds):
        batch = Batch.objects.create(
            team=team,
            conversation=conversation,
            round=number,
            source=BatchSource.CONVERSATION,
            status="finished",
            strategy="asyncio",
            wall_ms=60.0,
            sum_call_ms=200.0,
            speedup=3.3,
        )
        round_rows = [
            _execution(batch, i, versions[i % len(versions)]) for i in range(calls_per_round)
        ]
        executions.extend(round_rows)
        messages.append(
            Message(
                conversation=conversation,
                position=len(messages),
                round=number,
                role="assistant",
                payload={
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": row.tool_call_id,
                            "type": "function",
                            "function": {"name": row.tool_name, "arguments": row.raw_arguments},
                        }
                        for row in round_rows
                    ],
                },
            )
        )
        for row in round_rows:
            messages.append(
                Message(
                    conversation=conversation,
                    position=len(messages),
                    round=number,
                    role="tool",
                    payload={
                        "role": "tool",
                        "tool_call_id": row.tool_call_id,
                        "content": row.content,
                    },
                )
            )
    ToolExecution.objects.bulk_create(executions, batch_size=500)
    Message.objects.bulk_create(messages, batch_size=500)
    return conversation


@dataclass
class PageTimes:
    name: str
    times_ms: list[float]
    cpu_ms: list[float]
    queries: int
    size_bytes: int

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.times_ms)
        return {
            "page": self.name,
            "renders": len(ordered),
            "p50_ms": round(percentile(ordered, 50), 2),
            "p95_ms": round(percentile(ordered, 95), 2),
            # This process's CPU time: on a busy machine, closer to what an idle one would take.
            "cpu_p50_ms": round(percentile(sorted(self.cpu_ms), 50), 2),
            "queries": self.queries,
            "kb": round(self.size_bytes / 1024, 1),
        }


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (a real observation)."""
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def time_page(client: Client, name: str, url: str, repeat: int) -> PageTimes:
    client.get(url)  # warm template and URL caches
    times, cpu = [], []
    queries = size = 0
    for _ in range(repeat):
        reset_queries()  # the log is a bounded deque: a full one counts nothing new
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise CommandError(f"{name}: {url} answered {response.status_code}")
        queries, size = len(captured.captured_queries), len(response.content)
    return PageTimes(name, times, cpu, queries, size)


def run(calls: int, rounds: int, repeat: int, conversation_calls: int = 0) -> list[PageTimes]:
    results: list[PageTimes] = []
    try:
        with transaction.atomic():
            tag = uuid.uuid4().hex[:10]
            team = Team.objects.create(name=f"bench_pages {tag}", slug=f"bench-pages-{tag}")
            user = get_user_model().objects.create_user(f"bench-pages-{tag}")
            Membership.objects.create(team=team, user=user, role=Role.EDITOR)
            batch = make_batch(team, calls)
            conversation = make_conversation(team, rounds)
            client = Client()
            client.force_login(user)
            pages: list[tuple[str, str]] = [
                (
                    f"batch of {calls} calls",
                    reverse("batch", kwargs={"team": team.slug, "batch": batch.pk}),
                ),
                (
                    f"conversation of {rounds} rounds",
                    reverse(
                        "conversation",
                        kwargs={"team": team.slug, "conversation": conversation.pk},
                    ),
                ),
            ]
            if conversation_calls:
                per_round = min(CALLS_PER_BIG_ROUND, conversation_calls)
                big = make_conversation(team, math.ceil(conversation_calls / per_round), per_round)
                pages.append(
                    (
                        f"conversation of {conversation_calls} calls",
                        reverse("conversation", kwargs={"team": team.slug, "conversation": big.pk}),
                    )
                )
            results = [time_page(client, name, url, repeat) for name, url in pages]
            raise Rollback
    except Rollback:
        pass
    return results


class Command(BaseCommand):
    help = (
        "Render the batch page (1,000 calls) and the conversation page (50 rounds, and 1,000 "
        "calls) through the test Client as a logged-in member; print p50/p95 render times and "
        "query counts. The data lives in a transaction that is rolled back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=1000, help="Calls in the batch.")
        parser.add_argument("--rounds", type=int, default=50, help="Rounds in the conversation.")
        parser.add_argument(
            "--conversation-calls",
            type=int,
            default=1000,
            help="Calls in the large conversation (ten a round); 0 leaves it out.",
        )
        parser.add_argument("--repeat", type=int, default=20, help="Renders of each page.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        calls, rounds, repeat = options["calls"], options["rounds"], options["repeat"]
        if calls < 1 or rounds < 1 or repeat < 1:
            raise CommandError("--calls, --rounds and --repeat must be at least 1.")
        if options["conversation_calls"] < 0:
            raise CommandError("--conversation-calls must be 0 or more.")
        pages = run(calls, rounds, repeat, options["conversation_calls"])
        reports = [page.report() for page in pages]
        verdict = all(r["p95_ms"] < TARGET_MS for r in reports)
        if options["json"]:
            self.stdout.write(
                json.dumps({"pages": reports, "target_ms": TARGET_MS, "meets_target": verdict})
            )
            return
        lines = [
            f"bench_pages: server-side render through the test Client ({repeat} renders each, "
            "after one warm-up)"
        ]
        for r in reports:
            lines.append(
                f"  {r['page']:<28} p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  "
                f"cpu p50 {r['cpu_p50_ms']:8.2f} ms  {r['queries']:4d} queries  {r['kb']:8.1f} KB"
            )
        lines.append(f"  p95 {'meets' if verdict else 'MISSES'} the {TARGET_MS:g} ms target")
        self.stdout.write("\n".join(lines))
