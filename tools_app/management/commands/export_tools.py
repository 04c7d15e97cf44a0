import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tools_app import catalog as catalog_ops
from tools_app.models import Catalog


class Command(BaseCommand):
    help = "Print a catalog as an OpenAI tools array (or, with --bundle, as a studio bundle)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--catalog", required=True, help="Catalog slug.")
        parser.add_argument("--team", help="Team slug; needed when several teams use the slug.")
        parser.add_argument("--bundle", action="store_true", help="Export the studio bundle.")

    def handle(self, *args: Any, **options: Any) -> None:
        catalogs = Catalog.objects.filter(slug=options["catalog"])
        if options["team"]:
            catalogs = catalogs.filter(team__slug=options["team"])
        found = list(catalogs[:2])
        if not found:
            raise CommandError(f"No catalog {options['catalog']!r}.")
        if len(found) > 1:
            raise CommandError(f"Several teams have a catalog {options['catalog']!r}; add --team.")
        payload = (
            catalog_ops.export_bundle(found[0])
            if options["bundle"]
            else catalog_ops.export_openai(found[0])
        )
        self.stdout.write(json.dumps(payload, indent=2))
