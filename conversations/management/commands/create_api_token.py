"""``manage.py create_api_token --team SLUG --provider NAME``: a token for the recording proxy.

Prints the token and nothing else, so a script can capture it
(``export OPENAI_API_KEY=$(manage.py create_api_token ...)``); it is not shown again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.models import Provider
from conversations.tokens import create_token
from fcstudio.models import Team


class Command(BaseCommand):
    help = "Create a studio API token for a team's provider and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--provider", required=True, help="The provider's name in the team.")
        parser.add_argument("--name", default="", help="What uses it (default: the provider).")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team with the slug {options['team']!r}.")
        provider = Provider.objects.filter(team=team, name=options["provider"]).first()
        if provider is None:
            raise CommandError(f"Team {team.slug!r} has no provider named {options['provider']!r}.")
        name = options["name"] or f"{provider.name} (cli)"
        try:
            _, token = create_token(team, provider, name=name, user="manage.py create_api_token")
        except ValueError as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(token)
