"""`python manage.py export_audit --team SLUG [--since ISO] --format jsonl|csv` to stdout.

Oldest first; details are the stored ones, redacted when they were recorded.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fcstudio import audit
from fcstudio.models import Team

COLUMNS = ["at", "kind", "actor", "actor_user_id", "object_type", "object_id", "object", "details"]


class Command(BaseCommand):
    help = "Write a team's audit trail to stdout as JSON lines or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--since", help="Only events at or after this ISO 8601 time.")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team with the slug {options['team']!r}.")
        since = _parse_since(options["since"]) if options["since"] else None
        events = audit.events_for(team, since=since).order_by("at", "pk")
        if options["format"] == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for event in events.iterator():
                row = audit.as_row(event)
                writer.writerow({**row, "details": json.dumps(row["details"], sort_keys=True)})
            return
        for event in events.iterator():
            self.stdout.write(json.dumps(audit.as_row(event), ensure_ascii=False, sort_keys=True))


def _parse_since(text: str) -> datetime:
    try:
        since = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--since {text!r} is not an ISO 8601 time.") from exc
    return since if timezone.is_aware(since) else timezone.make_aware(since)
