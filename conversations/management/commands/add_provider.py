"""``manage.py add_provider``: register (or update) a team's provider from a script or a deployment.

The API key is read from an environment variable, never from the command line, so that it stays
out of shell history and process listings; it is stored encrypted (``save_provider``) and never
printed. Running the command again with the same name updates the provider: deployments can run
it on every start.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from conversations.models import Provider
from conversations.providers import save_provider
from fcstudio.models import Team


def upsert_provider(
    team: Team,
    *,
    name: str,
    base_url: str,
    api_key: str,
    model: str = "",
    timeout_s: float | None = None,
) -> tuple[Provider, bool]:
    """Create the team's provider called `name`, or update it in place; (provider, created).

    Shared by ``add_provider``, ``converse`` and ``load_demo`` so that all three store the key the
    same way (encrypted, with a masked hint) and never duplicate a provider on a re-run.
    """
    try:
        URLValidator(schemes=["http", "https"])(base_url)
    except ValidationError as exc:
        raise CommandError(f"Not an http(s) URL: {base_url!r}") from exc
    provider = Provider.objects.filter(team=team, name=name).first()
    created = provider is None
    if provider is None:
        provider = Provider(team=team, name=name)
    provider.base_url = base_url
    if model:
        provider.default_model = model
    if timeout_s is not None:
        provider.timeout_s = timeout_s
    save_provider(provider, api_key=api_key, actor="manage.py add_provider")
    return provider, created


class Command(BaseCommand):
    help = (
        "Register a provider (an OpenAI-compatible endpoint) for a team, the API key read from an "
        "environment variable; updates the provider of that name if it exists. Prints one JSON "
        'line: {"provider": name, "created": bool}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="Slug of an existing team.")
        parser.add_argument("--name", required=True, help="Provider name, unique in the team.")
        parser.add_argument("--base-url", required=True, help="e.g. https://api.openai.com/v1")
        parser.add_argument(
            "--api-key-env",
            required=True,
            metavar="VAR",
            help="Name of the environment variable holding the API key (never the key itself).",
        )
        parser.add_argument("--model", default="", help="Default model of the provider.")
        parser.add_argument("--timeout", type=float, default=None, help="Request timeout (s).")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team with slug {options['team']!r}.")
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty.")
        variable = options["api_key_env"]
        api_key = os.environ.get(variable, "").strip()
        if not api_key:
            raise CommandError(f"The environment variable {variable} is missing or empty.")
        if options["timeout"] is not None and options["timeout"] <= 0:
            raise CommandError("--timeout must be positive.")
        provider, created = upsert_provider(
            team,
            name=name,
            base_url=options["base_url"].strip(),
            api_key=api_key,
            model=options["model"].strip(),
            timeout_s=options["timeout"],
        )
        self.stdout.write(json.dumps({"provider": provider.name, "created": created}))
