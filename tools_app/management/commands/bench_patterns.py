"""``manage.py bench_patterns``: the cost of validating schema patterns with RE2 beside Python's
``re`` (the measuring lives in `tools_app.engine.bench_patterns`)."""

from django.core.management.base import BaseCommand, CommandParser

from tools_app.engine import bench_patterns


class Command(BaseCommand):
    help = "Time schema-pattern validation per call: RE2 beside Python's re, benign and hostile."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=5_000)

    def handle(self, *args: object, **options: int) -> None:
        self.stdout.write(bench_patterns.format_report(bench_patterns.run(options["calls"])))
