"""``manage.py bench_engine``: the engine benchmark with the project's settings loaded.

The measuring lives in `tools_app.engine.bench` (Django-free, also ``python -m
tools_app.engine.bench``); this command only parses options and prints.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tools_app.engine import bench


class Command(BaseCommand):
    help = (
        "Time N mock calls under each engine strategy against the ideal, the sequential strategy "
        "and a plain ThreadPoolExecutor(max_workers=10) baseline, thread-bound runs against their "
        "wave floor; print the per-call overhead beside a bare asyncio.gather (with and without "
        "jsonschema validation, and handing each call to a thread pool), "
        "the cost of running a python tool in the process pool beside in-process, and the cost "
        "of argument guards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--calls",
            action="append",
            help="calls per batch; repeatable or comma separated (default 1,8,64,256,1024)",
        )
        parser.add_argument("--latency-ms", type=float, default=bench.DEFAULT_LATENCY_MS)
        parser.add_argument("--json", action="store_true", help="one JSON object per N per line")
        parser.add_argument("--overhead-calls", type=int, default=bench.DEFAULT_OVERHEAD_CALLS)
        parser.add_argument(
            "--python-calls",
            type=int,
            default=500,
            help="calls of a python tool timed in-process and in a process pool sized by "
            "FCSTUDIO_PYTHON_WORKERS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = bench.parse_calls(options["calls"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["latency_ms"] < 0:
            raise CommandError("--latency-ms must be >= 0")
        reports = [bench.run_bench(n, options["latency_ms"]) for n in counts]
        overhead = bench.run_overhead_bench(options["overhead_calls"])
        python = bench.run_python_bench(options["python_calls"], settings.FCSTUDIO_PYTHON_WORKERS)
        guards = bench.run_guard_bench(options["overhead_calls"])
        if options["json"]:
            for report in reports:
                self.stdout.write(json.dumps(report))
            self.stdout.write(json.dumps({"overhead": overhead}))
            self.stdout.write(json.dumps({"python": python}))
            self.stdout.write(json.dumps({"guards": guards}))
            return
        self.stdout.write(bench.format_table(reports))
        self.stdout.write(bench.format_overhead(overhead))
        self.stdout.write(bench.format_python(python))
        self.stdout.write(bench.format_guards(guards))
