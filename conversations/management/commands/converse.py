"""``manage.py converse``: one tool-calling conversation from the command line, recorded.

It builds the same Conversation the studio's form builds (``compose.create_conversation``) and
drives it with ``runner.run_conversation`` in this process, synchronously: no dispatcher, so the
command works without a server, a worker or Celery, and its exit code is the run's outcome. The
summary is read back from the records (``conversation_summary``, ModelCall rows) rather than from
the runner's memory, so what it prints is what the inspector will show for the same conversation.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import compose
from conversations.models import Conversation, ModelCall, Provider, RunStatus
from conversations.runner import run_conversation
from conversations.view_models import conversation_summary
from fcstudio.models import Team
from tools_app.engine import STRATEGIES
from tools_app.engine.secret_text import redact_secrets
from tools_app.models import Catalog, Tool

from .add_provider import upsert_provider

TOOL_CHOICE_MODES = ("auto", "none", "required")
JSON_KEYS = (
    "conversation_id",
    "status",
    "rounds",
    "calls",
    "wall_ms",
    "sum_call_ms",
    "speedup",
    "tokens",
    "final_answer",
    "failure",
)


def redact(text: str, secret: str) -> str:
    """`text` with `secret` kept out, whole or in part (the rule of every redaction here): some
    compatible servers echo the key in their errors."""
    return redact_secrets(text, [secret] if secret else [])


def provider_name_for(base_url: str) -> str:
    """The name of a provider created from a bare URL: its host (and port), as people say it."""
    parts = urlsplit(base_url)
    return (parts.netloc or base_url)[:100]


class Command(BaseCommand):
    help = (
        "Run one conversation against a provider with the tools of a catalog, record it, and "
        "print a summary (rounds, calls by status, tool wall time, speed-up, final answer). "
        "Exit status 1 when the run fails or stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="Name of a stored provider of the team.")
        parser.add_argument("--base-url", help="An OpenAI-compatible endpoint (with --api-key).")
        parser.add_argument("--api-key", help="Key for --base-url; stored encrypted, never shown.")
        parser.add_argument("--model", default="", help="Model (default: the provider's).")
        parser.add_argument("--catalog", help="Catalog slug: all its tools are offered.")
        parser.add_argument(
            "--team", help="Team slug (default: the only team with that catalog/provider)."
        )
        parser.add_argument(
            "--tool-choice",
            default="auto",
            help="auto, none, required, or the name of one tool of the catalog.",
        )
        parser.add_argument(
            "--parallel",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="parallel_tool_calls (default: --parallel).",
        )
        parser.add_argument("--prompt", required=True, help="The user message.")
        parser.add_argument("--system", default="", help="A system message.")
        parser.add_argument("--max-rounds", type=int, default=6)
        parser.add_argument("--strategy", choices=STRATEGIES, default="asyncio")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = options.get("api_key") or ""
        try:
            self._handle(options, api_key)
        except CommandError as exc:
            raise CommandError(redact(str(exc), api_key)) from None

    def _handle(self, options: dict[str, Any], api_key: str) -> None:
        if bool(options["provider"]) == bool(options["base_url"]):
            raise CommandError("Pass either --provider NAME or --base-url URL --api-key KEY.")
        if options["base_url"] and not api_key:
            raise CommandError("--base-url needs --api-key.")
        if not 1 <= options["max_rounds"] <= 100:
            raise CommandError("--max-rounds must be between 1 and 100.")
        if not options["prompt"].strip():
            raise CommandError("--prompt must not be empty.")
        team = self._team(options)
        tools = self._tools(team, options["catalog"])
        provider = self._provider(team, options, api_key)
        model = options["model"] or provider.default_model
        if not model:
            raise CommandError(f"Provider {provider.name!r} has no default model; pass --model.")
        conversation = compose.create_conversation(
            team,
            None,
            {
                "provider": provider,
                "model": model,
                "system": options["system"],
                "user": options["prompt"],
                "tools": tools,
                "tool_choice": self._tool_choice(options["tool_choice"], tools),
                "parallel_tool_calls": options["parallel"],
                "strategy": options["strategy"],
                "max_rounds": options["max_rounds"],
            },
        )
        started = time.perf_counter()
        async_to_sync(run_conversation)(conversation.pk)
        elapsed_ms = (time.perf_counter() - started) * 1000
        conversation.refresh_from_db()
        report = summarise(conversation)
        failed = report["status"] in (RunStatus.FAILED, RunStatus.STOPPED)
        if options["json"]:
            self.stdout.write(redact(json.dumps(report), api_key))
        else:
            self.stdout.write(redact(format_summary(report, elapsed_ms), api_key))
        if failed:
            reason = report["failure"] or f"The run ended with status {report['status']}."
            self.stderr.write(redact(f"converse: {reason}", api_key))
            raise SystemExit(1)

    # -- resolving the command line into records ------------------------------------------------

    def _team(self, options: dict[str, Any]) -> Team:
        """The team named, or the only one holding the catalog and the provider asked for."""
        catalog, provider = options["catalog"], options["provider"]
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"No team with slug {options['team']!r}.")
            return team
        teams = Team.objects.all()
        wanted = []
        if catalog:
            teams = teams.filter(catalogs__slug=catalog)
            wanted.append(f"catalog {catalog!r}")
        if provider:
            teams = teams.filter(providers__name=provider)
            wanted.append(f"provider {provider!r}")
        slugs = sorted(set(teams.values_list("slug", flat=True)))
        if not slugs:
            missing = " and ".join(wanted)
            raise CommandError(f"No team has {missing}." if wanted else "No team exists.")
        if len(slugs) > 1:
            what = f"have {' and '.join(wanted)}" if wanted else "exist"
            raise CommandError(f"Several teams {what} ({', '.join(slugs)}); pick one with --team.")
        return Team.objects.get(slug=slugs[0])

    def _tools(self, team: Team, slug: str | None) -> list[Tool]:
        if not slug:
            return []
        catalog = Catalog.objects.filter(team=team, slug=slug).first()
        if catalog is None:
            raise CommandError(f"Team {team.slug!r} has no catalog {slug!r}.")
        tools = list(catalog.tools.order_by("name"))
        unversioned = [t.name for t in tools if not t.versions.exists()]
        if unversioned:
            raise CommandError(
                f"Tools without a saved version in {slug!r}: {', '.join(unversioned)}."
            )
        if not tools:
            raise CommandError(f"Catalog {slug!r} has no tools.")
        return tools

    def _provider(self, team: Team, options: dict[str, Any], api_key: str) -> Provider:
        if options["provider"]:
            provider = Provider.objects.filter(team=team, name=options["provider"]).first()
            if provider is None:
                raise CommandError(f"Team {team.slug!r} has no provider {options['provider']!r}.")
            return provider
        base_url = options["base_url"].strip()
        existing = Provider.objects.filter(team=team, base_url=base_url).order_by("pk").first()
        if existing is not None:
            name = existing.name
        else:
            name = base = provider_name_for(base_url)
            number = 2
            while Provider.objects.filter(team=team, name=name).exists():
                name, number = f"{base} ({number})"[:100], number + 1
        provider, _ = upsert_provider(
            team, name=name, base_url=base_url, api_key=api_key, model=options["model"]
        )
        return provider

    @staticmethod
    def _tool_choice(value: str, tools: list[Tool]) -> str:
        """compose's encoding: a mode, or ``function:<name>`` for one named tool."""
        if value in TOOL_CHOICE_MODES:
            return value
        names = {t.name for t in tools}
        if value not in names:
            known = ", ".join(sorted(names)) or "none: no --catalog"
            raise CommandError(
                f"--tool-choice {value!r} is neither auto, none, required nor a tool of the "
                f"catalog ({known})."
            )
        return f"function:{value}"


def summarise(conversation: Conversation) -> dict[str, Any]:
    """The run as recorded: the same totals the inspector shows."""
    totals = conversation_summary(conversation)
    rounds = ModelCall.objects.filter(conversation=conversation).count()
    final = conversation.messages.filter(role="assistant").order_by("-position").first()
    final_answer = None
    if conversation.status == RunStatus.FINISHED and final is not None and not final.tool_calls:
        final_answer = final.content
    return {
        "conversation_id": conversation.pk,
        "status": conversation.status,
        "rounds": rounds,
        "calls": dict(totals["statuses"]),
        "wall_ms": round(totals["tool_wall_ms"] or 0.0, 3),
        "sum_call_ms": None if totals["app_rounds"] else round(totals["tool_sum_ms"] or 0.0, 3),
        "speedup": None if totals["speedup"] is None else round(totals["speedup"], 3),
        "tokens": totals["tokens"],
        "final_answer": final_answer,
        "failure": conversation.failure or None,
    }


def format_summary(report: dict[str, Any], elapsed_ms: float) -> str:
    calls = report["calls"]
    counted = ", ".join(f"{status} {count}" for status, count in calls.items()) or "none"
    speedup = "n/a" if report["speedup"] is None else f"{report['speedup']:.2f}x"
    lines = [
        f"conversation {report['conversation_id']}: {report['status']} "
        f"in {elapsed_ms / 1000:.2f} s",
        f"rounds: {report['rounds']}",
        f"tool calls: {sum(calls.values())} ({counted})",
        f"tool wall time: {report['wall_ms']:.1f} ms, summed call time: "
        f"{report['sum_call_ms']:.1f} ms, speed-up: {speedup}",
        f"tokens: {'unknown' if report['tokens'] is None else report['tokens']}",
    ]
    if report["final_answer"] is not None:
        lines.append(f"final answer: {report['final_answer']}")
    if report["failure"]:
        lines.append(f"failure: {report['failure']}")
    return "\n".join(lines)
