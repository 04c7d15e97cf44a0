"""`manage.py reap_runs`: mark runs whose worker stopped sending heartbeats as failed.

Run it from cron or a scheduler (every minute is plenty). Prints one JSON line, `{"reaped": N}`.
Replay jobs whose worker went silent are reaped too: sent again to a live worker, or marked
failed with the reason. Inline (no FCSTUDIO_DISPATCH), a replay runs in the serving process,
which this command is not: it marks such a job failed rather than run the replay itself.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conversations.leases import STALE_AFTER, reap_stale_runs


class Command(BaseCommand):
    help = "Mark runs whose worker stopped sending heartbeats as failed, with the reason."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--stale-seconds",
            type=float,
            default=STALE_AFTER.total_seconds(),
            help=(
                "A run whose last heartbeat is older than this is reaped "
                f"(default {STALE_AFTER.total_seconds():g})."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["stale_seconds"]
        if seconds < 0:
            raise CommandError("--stale-seconds must not be negative.")
        reaped = reap_stale_runs(stale_after=timedelta(seconds=seconds))
        self.stdout.write(json.dumps({"reaped": reaped}))
