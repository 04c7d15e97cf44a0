"""Create (or refresh) the demo workspace: a team, a user, a catalog of realistic tools, the
built-in demo model as a provider with a conversation ready to run, and a provider when the
environment names one (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``)."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from conversations import compose, demo_model
from conversations.management.commands.add_provider import upsert_provider
from conversations.models import Conversation
from fcstudio.models import Membership, Role, Team
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

DEMO_TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Current weather for a city: temperature, conditions and wind.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {
                    "type": "string",
                    "description": "City name, e.g. 'Lisbon'.",
                    "examples": ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth"],
                },
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "Temperature unit; defaults to celsius.",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        "implementation_kind": "mock",
        "implementation_config": {
            "response": {"city": "{{ city }}", "temperature": 21, "conditions": "sunny"},
            "latency_ms": [80, 160],
        },
    },
    {
        "name": "search_flights",
        "description": "Search one-way flights between two airports on a date, cheapest first.",
        "parameters": {
            "type": "object",
            "properties": {
                "origin": {"type": "string", "description": "IATA code of the departure airport."},
                "destination": {
                    "type": "string",
                    "description": "IATA code of the arrival airport.",
                },
                "date": {"type": "string", "format": "date", "description": "Departure date."},
                "max_results": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 20,
                    "default": 5,
                    "description": "How many offers to return; default 5.",
                },
            },
            "required": ["origin", "destination", "date"],
            "additionalProperties": False,
        },
        "implementation_kind": "mock",
        "implementation_config": {
            "response": {
                "offers": [
                    {
                        "from": "{{ origin }}",
                        "to": "{{ destination }}",
                        "date": "{{ date }}",
                        "price_eur": 89,
                    },
                ]
            },
            "latency_ms": [200, 400],
        },
    },
    {
        "name": "calculate",
        "description": "Evaluate an arithmetic expression exactly, e.g. '2 * (3 + 4) ** 2'.",
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "Arithmetic with + - * / // % ** and sqrt, sin, cos, log.",
                    "examples": ["2 * (3 + 4) ** 2", "sqrt(2) * 10", "17 // 5", "log(1000, 10)"],
                }
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
        "implementation_kind": "python",
        "implementation_config": {"callable": "tools_app.demo_tools:calculate"},
    },
    {
        "name": "current_time",
        "description": "The current date and time in an IANA time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA zone such as 'Europe/Paris'; defaults to UTC.",
                    "examples": ["Europe/Paris", "Asia/Tokyo", "America/Lima"],
                }
            },
            "required": [],
            "additionalProperties": False,
        },
        "implementation_kind": "python",
        "implementation_config": {"callable": "tools_app.demo_tools:current_time"},
    },
    {
        "name": "send_email",
        "description": "Send an email on the user's behalf. Needs a person's approval.",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {"type": "string", "format": "email", "description": "Recipient address."},
                "subject": {"type": "string", "description": "Subject line, under 120 chars."},
                "body": {"type": "string", "description": "Plain-text body of the message."},
            },
            "required": ["to", "subject", "body"],
            "additionalProperties": False,
        },
        "implementation_kind": "mock",
        "implementation_config": {
            "response": {"queued": True, "to": "{{ to }}"},
            "latency_ms": 120,
        },
        "requires_approval": True,
    },
]


DEMO_CONVERSATION_TITLE = "Demo model: Weather in Oslo, Lima and Osaka?"
DEMO_PROMPT = "Weather in Oslo, Lima and Osaka?"
ENV_PROVIDER_NAME = "OpenAI (from environment)"
DEFAULT_ENV_MODEL = "gpt-4o-mini"


class Command(BaseCommand):
    help = (
        "Create or refresh the demo team, user and catalog (and a provider when OPENAI_BASE_URL "
        "and OPENAI_API_KEY are set), and print how to log in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("FCSTUDIO_DEMO_PASSWORD", "fcstudio-demo"),
            help="The demo user's password (default: fcstudio-demo).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username="demo")
        user.set_password(options["password"])
        user.save()
        team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": "Demo team"})
        Membership.objects.update_or_create(team=team, user=user, defaults={"role": Role.ADMIN})
        catalog, _ = Catalog.objects.get_or_create(
            team=team,
            slug="starter",
            defaults={
                "name": "Starter tools",
                "description": "Weather, flights, a calculator, a clock and an email that "
                "waits for approval.",
            },
        )
        for spec in DEMO_TOOLS:
            tool = catalog.tools.filter(name=spec["name"]).first() or Tool(catalog=catalog)
            for key, value in spec.items():
                setattr(tool, key, value)
            catalog_ops.save_tool(tool, author=user, message="Demo workspace")
        bfcl = Path(settings.BASE_DIR).parent / "shared" / "data" / "bfcl" / "BFCL_v4_parallel.json"
        if bfcl.exists():
            samples, _ = Catalog.objects.get_or_create(
                team=team,
                slug="bfcl-parallel",
                defaults={
                    "name": "BFCL parallel samples",
                    "description": "Real function definitions from the Berkeley Function Calling "
                    "Leaderboard (Apache-2.0), normalised on import.",
                },
            )
            catalog_ops.import_text(samples, bfcl.read_text(encoding="utf-8"), author=user)
        self.stdout.write(self.demo_model(team, user, catalog))
        self.stdout.write(self.environment_provider(team))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace ready: {self.studio_url()}/  "
                f"user: demo  password: {options['password']}"
            )
        )

    @staticmethod
    def studio_url() -> str:
        """Where the studio answers: its public URL, else where `make run` serves it."""
        return (settings.FCSTUDIO_PUBLIC_URL or "http://127.0.0.1:8000").rstrip("/")

    def demo_model(self, team: Team, user: Any, catalog: Catalog) -> str:
        """The built-in demo model as a provider, and a conversation ready to Run against it.

        The provider is refreshed on every run (its URL follows ``FCSTUDIO_PUBLIC_URL``); the
        conversation is created once, so a person's runs and edits of it are kept.
        """
        public_url = settings.FCSTUDIO_PUBLIC_URL
        if not public_url:
            return "No demo model provider: FCSTUDIO_PUBLIC_URL is not set (production)."
        provider, _ = upsert_provider(
            team,
            name=demo_model.PROVIDER_NAME,
            base_url=f"{public_url}/demo-model/v1",
            api_key="demo-model-needs-no-key",
            model=demo_model.MODEL_ID,
        )
        conversation = Conversation.objects.filter(team=team, title=DEMO_CONVERSATION_TITLE).first()
        if conversation is None:
            conversation = compose.create_conversation(
                team,
                user,
                {
                    "title": DEMO_CONVERSATION_TITLE,
                    "provider": provider,
                    "model": demo_model.MODEL_ID,
                    "system": "You are a travel assistant.",
                    "user": DEMO_PROMPT,
                    "tools": list(catalog.tools.order_by("name")),
                    "tool_choice": "auto",
                    "parallel_tool_calls": True,
                    "strategy": "asyncio",
                    "max_rounds": 4,
                },
            )
        conversation_url = reverse(
            "conversation", kwargs={"team": team.slug, "conversation": conversation.pk}
        )
        return (
            f"Demo model ready: provider {provider.name!r} at {provider.base_url}; open "
            f"{public_url}{conversation_url} and press Run."
        )

    def environment_provider(self, team: Team) -> str:
        """Create or update the provider the environment supplies; say what happened.

        Only when both variables are set: a base URL without a key (or the reverse) would give a
        provider that fails on its first call. Without them nothing is created, and the line
        printed says how to add one, so a fresh workspace is never silently model-less.
        """
        base_url = os.environ.get("OPENAI_BASE_URL", "").strip()
        api_key = os.environ.get("OPENAI_API_KEY", "").strip()
        if not (base_url and api_key):
            return (
                "No provider from the environment (set OPENAI_BASE_URL and OPENAI_API_KEY, or "
                "run: manage.py add_provider --team demo --name NAME --base-url URL "
                "--api-key-env VAR --model MODEL, or add one under Providers)."
            )
        model = os.environ.get("OPENAI_MODEL", "").strip() or DEFAULT_ENV_MODEL
        try:
            provider, created = upsert_provider(
                team, name=ENV_PROVIDER_NAME, base_url=base_url, api_key=api_key, model=model
            )
        except CommandError as exc:  # a bad URL must not stop the rest of the demo
            return f"No provider from the environment: OPENAI_BASE_URL is unusable ({exc})."
        return (
            f"Provider {provider.name!r} {'created' if created else 'updated'}: "
            f"{provider.base_url}, model {provider.default_model}, key {provider.api_key_hint}."
        )
