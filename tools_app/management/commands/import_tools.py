import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from fcstudio.models import Team
from tools_app import catalog as catalog_ops
from tools_app import importers
from tools_app.models import Catalog


class Command(BaseCommand):
    help = (
        "Import tools (OpenAI tools array, function objects, BFCL lines or a studio bundle) into "
        "a catalog, creating the team and catalog when missing. Prints one JSON line of counts."
    )

    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="File to import, or - for standard input.")
        parser.add_argument("--catalog", required=True, help="Catalog slug.")
        parser.add_argument("--team", default="default", help="Team slug (default: default).")
        parser.add_argument(
            "--strict", action="store_true", help="Exit 1 if any entry is rejected."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        try:
            if path == "-":
                text = (options.get("stdin") or sys.stdin).read()
            else:
                text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        team_slug = slugify(options["team"])
        catalog_slug = slugify(options["catalog"])
        if not team_slug or not catalog_slug:
            raise CommandError("Team and catalog slugs need letters or digits.")
        team, _ = Team.objects.get_or_create(slug=team_slug, defaults={"name": options["team"]})
        catalog, _ = Catalog.objects.get_or_create(
            team=team, slug=catalog_slug, defaults={"name": options["catalog"]}
        )
        try:
            report = catalog_ops.import_text(catalog, text)
        except importers.ImportFormatError as exc:
            raise CommandError(str(exc)) from exc
        for rejection in report.rejected:
            label = rejection.source_label or f"entry {rejection.source_index + 1}"
            self.stderr.write(f"rejected {label} {rejection.name!r}: {rejection.reason}")
        counts = report.counts()
        self.stdout.write(
            json.dumps(
                {key: counts[key] for key in ("imported", "normalised", "rejected")}
                | {"created": counts["created"], "updated": counts["updated"]}
            )
        )
        if options["strict"] and report.rejected:
            raise SystemExit(1)
