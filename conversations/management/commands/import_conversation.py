"""``manage.py import_conversation PATH --team SLUG``: import a transcript as recorded
conversations (a messages array, a request body with or without its answer, or JSON Lines of
request/response records; ``-`` reads standard input).

Prints one line per conversation made: its id and its page's path. Nothing is imported when
any of it cannot be.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from conversations import transcript_import, transcripts
from fcstudio.models import Team


class Command(BaseCommand):
    help = "Import a transcript file as recorded conversations of a team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The transcript file, or - for standard input.")
        parser.add_argument("--team", required=True, help="The team's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team with the slug {options['team']!r}.")
        text = self._read(options["path"])
        try:
            imported = transcript_import.import_transcript(team, text)
        except transcripts.TranscriptError as exc:
            raise CommandError(str(exc)) from exc
        for conversation in imported:
            url = reverse(
                "conversation", kwargs={"team": team.slug, "conversation": conversation.pk}
            )
            self.stdout.write(f"{conversation.pk}\t{url}")

    def _read(self, path: str) -> str:
        limit = settings.FCSTUDIO_MAX_IMPORT_BYTES
        try:
            if path == "-":
                data = sys.stdin.buffer.read(limit + 1)
            else:
                with Path(path).open("rb") as source:
                    data = source.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        if len(data) > limit:
            raise CommandError(f"{path} is larger than the {limit:,}-byte import limit.")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text (byte {exc.start}).") from exc
