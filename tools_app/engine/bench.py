"""How fast the engine runs a batch, against the ideal and against plain threads.

`run_bench` times, in one process and one run, N mock calls of a fixed latency under each
strategy, next to the ideal (one latency: every call fully concurrent), a sync tool (blocking
``time.sleep``) in the batch's thread pool, and a baseline of a plain
``ThreadPoolExecutor(max_workers=10)`` over ``time.sleep``; thread-bound runs are also compared
with their wave floor (a pool of 256 threads runs N calls in ``ceil(N / 256)`` waves).
`run_overhead_bench` measures the engine's own cost per call with zero-latency tools
(validation + execution + events) beside the floor of a bare ``asyncio.gather`` over the same
calls, with and without jsonschema validation, and with each call's work handed to a thread pool
by ``run_in_executor`` (the floor of the plain way to put work on threads), for each strategy and
for sync tools.
`run_python_bench` prices the process pool: the same python tool run in-process and in a warm
`PythonProcessPool`, one call after another and as one asyncio batch. `run_guard_bench` the
cost of a tool's argument guards (five guarded properties), beside the same calls without.

``python -m tools_app.engine.bench [--calls 1,8,64,256] [--latency-ms 100] [--json]`` runs it
without Django; ``manage.py bench_engine`` is the same with the project around it.
This module must not import Django.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from .calls import ToolCall, ToolSpec
from .events import Event
from .executor import DEFAULT_MAX_WORKERS, execute_batch
from .guards import GuardSet
from .implementations.mock import MockImplementation
from .implementations.python import PythonImplementation
from .options import ExecutionOptions, Strategy
from .process_pool import DEFAULT_WORKERS, PythonProcessPool

DEFAULT_CALLS = (1, 8, 64, 256, 1024)
DEFAULT_OVERHEAD_CALLS = 1000
OVERHEAD_REPEATS = 3
DEFAULT_LATENCY_MS = 100.0
SEQUENTIAL_BUDGET_S = 30.0
BASELINE_WORKERS = 10

_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "n": {"type": "integer", "minimum": 0}},
    "required": ["city", "n"],
    "additionalProperties": False,
}


def _batch(n_calls: int, latency_ms: float) -> tuple[list[ToolCall], list[ToolSpec]]:
    spec = ToolSpec(
        "weather",
        _SCHEMA,
        MockImplementation({"city": "{{ city }}", "temp_c": 21}, latency_ms=latency_ms),
        version_key="bench",
    )
    calls = [
        ToolCall(f"call_{i}", "weather", json.dumps({"city": "Paris", "n": i}))
        for i in range(n_calls)
    ]
    return calls, [spec]


def _sync_batch(n_calls: int, latency_ms: float) -> tuple[list[ToolCall], list[ToolSpec]]:
    """The same calls to a sync tool that blocks its thread for `latency_ms`."""
    latency_s = latency_ms / 1000

    def weather(city: str, n: int) -> dict[str, Any]:
        if latency_s:
            time.sleep(latency_s)
        return {"city": city, "temp_c": 21}

    calls, _ = _batch(n_calls, latency_ms)
    spec = ToolSpec("weather", _SCHEMA, PythonImplementation(weather), version_key="bench")
    return calls, [spec]


def _time_batch(
    calls: list[ToolCall],
    specs: list[ToolSpec],
    strategy: Strategy,
    options: ExecutionOptions | None = None,
) -> float:
    options = options or ExecutionOptions(strategy=strategy)

    async def run() -> float:
        started = time.perf_counter()
        result = await execute_batch(calls, specs, options)
        elapsed = time.perf_counter() - started
        failed = [r for r in result.results if not r.ok]
        if failed:
            raise RuntimeError(f"bench call failed: {failed[0].content}")
        return elapsed

    return asyncio.run(run())


def _baseline(n_calls: int, latency_s: float) -> float:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=BASELINE_WORKERS) as pool:
        list(pool.map(lambda _: time.sleep(latency_s), range(n_calls)))
    return time.perf_counter() - started


def wave_floor_s(n_calls: int, latency_s: float, workers: int = DEFAULT_MAX_WORKERS) -> float:
    """The best a pool of `workers` threads can do: ``ceil(N / workers)`` waves of latency."""
    return math.ceil(n_calls / min(n_calls, workers)) * latency_s


def run_bench(n_calls: int, latency_ms: float) -> dict[str, Any]:
    """Wall times (seconds) of N calls of `latency_ms` each, per strategy and baseline."""
    if n_calls < 1 or latency_ms < 0:
        raise ValueError("n_calls must be >= 1 and latency_ms >= 0")
    latency_s = latency_ms / 1000
    ideal_s = latency_s
    calls, specs = _batch(n_calls, latency_ms)
    _time_batch(calls[:1], specs, "asyncio")  # warm caches (imports, validator) out of the timing
    asyncio_s = _time_batch(calls, specs, "asyncio")
    threads_s = _time_batch(calls, specs, "threads")
    sync_calls, sync_specs = _sync_batch(n_calls, latency_ms)
    sync_s = _time_batch(sync_calls, sync_specs, "asyncio")
    floor_s = wave_floor_s(n_calls, latency_s)
    sequential_note = None
    if n_calls * latency_s > SEQUENTIAL_BUDGET_S:
        sample = max(1, int(SEQUENTIAL_BUDGET_S / max(latency_s, 1e-9) / 4))
        measured = _time_batch(calls[:sample], specs, "sequential")
        sequential_s = measured / sample * n_calls
        sequential_note = (
            f"sequential sampled: {sample} of {n_calls} calls measured and extrapolated "
            f"(the full run would take over {SEQUENTIAL_BUDGET_S:g} s)"
        )
    else:
        sequential_s = _time_batch(calls, specs, "sequential")
    baseline_s = _baseline(n_calls, latency_s)
    report: dict[str, Any] = {
        "n_calls": n_calls,
        "latency_ms": latency_ms,
        "ideal_s": ideal_s,
        "asyncio_s": asyncio_s,
        "threads_s": threads_s,
        "sync_s": sync_s,
        "wave_floor_s": floor_s,
        "sequential_s": sequential_s,
        "baseline_s": baseline_s,
        "overhead_ms_per_call": (asyncio_s - ideal_s) / n_calls * 1000,
        "speedup_vs_sequential": sequential_s / asyncio_s if asyncio_s > 0 else 0.0,
        "asyncio_vs_ideal": asyncio_s / ideal_s if ideal_s > 0 else None,
        "threads_vs_ideal": threads_s / ideal_s if ideal_s > 0 else None,
        "threads_vs_floor": threads_s / floor_s if floor_s > 0 else None,
        "sync_vs_floor": sync_s / floor_s if floor_s > 0 else None,
        "baseline_vs_asyncio": baseline_s / asyncio_s if asyncio_s > 0 else None,
        "sequential_sampled": sequential_note is not None,
    }
    if sequential_note:
        report["note"] = sequential_note
    return report


async def _gather_floor(calls: list[ToolCall], validate: bool, pool: bool = False) -> float:
    """A bare ``asyncio.gather`` over the calls: parse (and validate) the arguments, return;
    with `pool`, validate and hand each call's (empty) work to a fresh thread pool sized as the
    engine sizes its own (``run_in_executor``, one pool task and one loop wake-up per call)."""
    validator = Draft202012Validator(_SCHEMA)
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(min(len(calls), DEFAULT_MAX_WORKERS))

    def work(arguments: Any) -> Any:
        return arguments

    async def one(call: ToolCall) -> Any:
        arguments = json.loads(call.arguments)
        if validate:
            validator.validate(arguments)
        if pool:
            return await loop.run_in_executor(executor, work, arguments)
        return arguments

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(call) for call in calls))
        return time.perf_counter() - started
    finally:
        executor.shutdown()  # after the timing; its threads must not slow the next row


OVERHEAD_ROWS = (
    ("gather", "bare asyncio.gather"),
    ("gather_validated", "gather + jsonschema validation"),
    ("gather_pool", "gather + validation + run_in_executor"),
    ("asyncio_events", "engine asyncio, with an event subscriber"),
    ("asyncio", "engine asyncio, no subscriber"),
    ("threads", "engine threads"),
    ("sync_asyncio", "sync tool, asyncio strategy (thread pool)"),
    ("sync_threads", "sync tool, threads strategy"),
)


def run_overhead_bench(n_calls: int = DEFAULT_OVERHEAD_CALLS) -> dict[str, Any]:
    """µs per call with zero-latency tools: the engine's rows beside the gather floor.

    Each row is the median of `OVERHEAD_REPEATS` runs (after a warm-up), interleaved so that
    a noisy neighbour hurts every row alike; ratios are against gather + validation.
    """
    calls, specs = _batch(n_calls, 0)
    sync_calls, sync_specs = _sync_batch(n_calls, 0)
    received: list[Event] = []
    with_events = ExecutionOptions(on_event=received.append)

    async def engine(
        batch_calls: list[ToolCall], batch_specs: list[ToolSpec], options: ExecutionOptions
    ) -> float:
        await execute_batch(batch_calls[:10], batch_specs, options)  # warm up
        received.clear()
        started = time.perf_counter()
        result = await execute_batch(batch_calls, batch_specs, options)
        elapsed = time.perf_counter() - started
        if not all(r.ok for r in result.results):
            raise RuntimeError("overhead bench call failed")
        return elapsed

    runs: dict[str, Callable[[], Coroutine[Any, Any, float]]] = {
        "gather": lambda: _gather_floor(calls, validate=False),
        "gather_validated": lambda: _gather_floor(calls, validate=True),
        "gather_pool": lambda: _gather_floor(calls, validate=True, pool=True),
        "asyncio_events": lambda: engine(calls, specs, with_events),
        "asyncio": lambda: engine(calls, specs, ExecutionOptions()),
        "threads": lambda: engine(calls, specs, ExecutionOptions(strategy="threads")),
        "sync_asyncio": lambda: engine(sync_calls, sync_specs, ExecutionOptions()),
        "sync_threads": lambda: engine(
            sync_calls, sync_specs, ExecutionOptions(strategy="threads")
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in runs}
    events = 0
    for _ in range(OVERHEAD_REPEATS):
        for name, run in runs.items():
            timings[name].append(asyncio.run(run()))
            if name == "asyncio_events":
                events = len(received)
    us = {name: statistics.median(values) / n_calls * 1e6 for name, values in timings.items()}
    floor = us["gather_validated"]
    elapsed = statistics.median(timings["asyncio_events"])
    return {
        "n_calls": n_calls,
        "repeats": OVERHEAD_REPEATS,
        "seconds": elapsed,
        "calls_per_s": n_calls / elapsed,
        "us_per_call": us["asyncio_events"],
        "events": events,
        "rows_us": us,
        "vs_gather_validated": {name: value / floor for name, value in us.items()},
    }


PYTHON_TOOL = "tools_app.demo_tools:calculate"


def run_python_bench(n_calls: int = 500, workers: int = DEFAULT_WORKERS) -> dict[str, Any]:
    """µs per call of one python tool in-process and in a process pool, in the same run."""
    allowed = (PYTHON_TOOL.partition(":")[0],)
    calls = [ToolCall(f"call_{i}", "calc", '{"expression": "6 * 7"}') for i in range(n_calls)]
    pool = PythonProcessPool(workers)
    try:
        specs = {
            where: [
                ToolSpec(
                    "calc",
                    {"type": "object"},
                    PythonImplementation.from_config(
                        {"callable": PYTHON_TOOL, "in_process": where == "in_process"},
                        allowed_modules=allowed,
                        pool=pool,
                    ),
                )
            ]
            for where in ("in_process", "pool")
        }
        per_call: dict[str, float] = {}
        for where, spec in specs.items():
            for strategy in ("sequential", "asyncio"):
                _time_batch(calls[: workers * 4], spec, strategy)  # warm: imports, children
                per_call[f"{where}_{strategy}_us"] = (
                    _time_batch(calls, spec, strategy) / n_calls * 1e6
                )
    finally:
        pool.close()
    return {
        "n_calls": n_calls,
        "workers": workers,
        "tool": PYTHON_TOOL,
        **per_call,
        "pool_vs_in_process_sequential": per_call["pool_sequential_us"]
        / per_call["in_process_sequential_us"],
        "pool_vs_in_process_asyncio": per_call["pool_asyncio_us"]
        / per_call["in_process_asyncio_us"],
        "pool_added_us_per_call": per_call["pool_sequential_us"]
        - per_call["in_process_sequential_us"],
    }


def format_python(report: dict[str, Any]) -> str:
    return (
        f"python tool ({report['tool']}, N={report['n_calls']}): one at a time "
        f"{report['in_process_sequential_us']:.0f} µs in-process, "
        f"{report['pool_sequential_us']:.0f} µs in the process pool "
        f"({report['pool_vs_in_process_sequential']:.1f}x, "
        f"+{report['pool_added_us_per_call']:.0f} µs per call); as one asyncio batch "
        f"{report['in_process_asyncio_us']:.0f} µs vs {report['pool_asyncio_us']:.0f} µs per call "
        f"({report['pool_vs_in_process_asyncio']:.1f}x, {report['workers']} workers)"
    )


_GUARDED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "string"} for name in ("path", "command", "query", "url", "title")
    },
    "required": ["path", "command", "query", "url", "title"],
}
_GUARDS: list[dict[str, Any]] = [
    {"kind": "path", "pointer": "/path"},
    {"kind": "shell", "pointer": "/command"},
    {"kind": "sql", "pointer": "/query"},
    {"kind": "url", "pointer": "/url", "hosts": ["*.example.com"]},
    {"kind": "pattern", "pointer": "/title", "allow": "^[\\w .,-]{1,80}$"},
]
_GUARDED_ARGUMENTS = {
    "path": "reports/2025/q3/summary.csv",
    "command": "git log --oneline -n 20",
    "query": "SELECT id, name FROM customers WHERE region = 'north' ORDER BY name LIMIT 50",
    "url": "https://api.example.com/v1/orders?page=2",
    "title": "Quarterly summary, north region",
}


def run_guard_bench(n_calls: int = 2000) -> dict[str, Any]:
    """µs per call of five guarded properties: the guards alone, and whole calls with and
    without them (zero-latency tool, validation and execution included)."""
    guards = GuardSet.from_config(_GUARDS)
    assert guards is not None
    for _ in range(50):
        guards.check(_GUARDED_ARGUMENTS)  # warm up
    started = time.perf_counter()
    for _ in range(n_calls):
        if guards.check(_GUARDED_ARGUMENTS) is not None:
            raise RuntimeError("the guard bench's arguments must pass its guards")
    check_s = time.perf_counter() - started
    by_kind: dict[str, float] = {}
    for entry in _GUARDS:
        alone = GuardSet.from_config([entry])
        assert alone is not None
        started = time.perf_counter()
        for _ in range(n_calls):
            alone.check(_GUARDED_ARGUMENTS)
        by_kind[str(entry["kind"])] = (time.perf_counter() - started) / n_calls * 1e6
    raw = json.dumps(_GUARDED_ARGUMENTS)
    calls = [ToolCall(f"call_{i}", "report", raw) for i in range(n_calls)]
    implementation = MockImplementation({"ok": True}, latency_ms=0)

    def spec(with_guards: bool) -> ToolSpec:
        return ToolSpec(
            "report",
            _GUARDED_SCHEMA,
            implementation,
            version_key=f"bench-guards-{with_guards}",
            guards=guards if with_guards else None,
        )

    async def timed(specs: list[ToolSpec]) -> float:
        await execute_batch(calls[:10], specs)  # warm up
        started = time.perf_counter()
        result = await execute_batch(calls, specs)
        elapsed = time.perf_counter() - started
        if not all(r.ok for r in result.results):
            raise RuntimeError("guard bench call failed")
        return elapsed

    plain_s = asyncio.run(timed([spec(False)]))
    guarded_s = asyncio.run(timed([spec(True)]))
    return {
        "n_calls": n_calls,
        "guarded_properties": len(_GUARDS),
        "guards_us_per_call": check_s / n_calls * 1e6,
        "guard_us_by_kind": by_kind,
        "call_us_without_guards": plain_s / n_calls * 1e6,
        "call_us_with_guards": guarded_s / n_calls * 1e6,
    }


def format_guards(report: dict[str, Any]) -> str:
    kinds = ", ".join(f"{kind} {us:.1f}" for kind, us in report["guard_us_by_kind"].items())
    return (
        f"guards: {report['guards_us_per_call']:.1f} µs per call for "
        f"{report['guarded_properties']} guarded properties ({kinds} µs); "
        f"whole call {report['call_us_with_guards']:.1f} µs with guards vs "
        f"{report['call_us_without_guards']:.1f} µs without (N={report['n_calls']})"
    )


def parse_calls(values: Iterable[str] | None) -> list[int]:
    """``["1,8", "64"]`` → ``[1, 8, 64]``; the default list when nothing is given."""
    counts: list[int] = []
    for value in values or []:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) < 1:
                raise ValueError(f"--calls takes positive integers, got {part!r}")
            counts.append(int(part))
    return counts or list(DEFAULT_CALLS)


def format_table(reports: Sequence[dict[str, Any]]) -> str:
    header = (
        f"{'N':>5} {'ideal s':>8} {'asyncio s':>9} {'xideal':>7} {'floor s':>8} "
        f"{'threads s':>9} {'xfloor':>6} {'sync s':>7} {'xfloor':>6} "
        f"{'sequential s':>12} {'baseline s':>10} {'ms/call':>8} {'vs seq':>8}"
    )
    lines = [header, "-" * len(header)]

    def ratio(value: float | None) -> str:
        return f"{value:.3f}" if value else "-"

    for r in reports:
        lines.append(
            f"{r['n_calls']:>5} {r['ideal_s']:>8.3f} {r['asyncio_s']:>9.3f} "
            f"{ratio(r['asyncio_vs_ideal']):>7} {r['wave_floor_s']:>8.3f} "
            f"{r['threads_s']:>9.3f} {ratio(r['threads_vs_floor']):>6} "
            f"{r['sync_s']:>7.3f} {ratio(r['sync_vs_floor']):>6} "
            f"{r['sequential_s']:>12.3f}{'*' if r['sequential_sampled'] else ' '}"
            f"{r['baseline_s']:>10.3f} {r['overhead_ms_per_call']:>8.3f} "
            f"{r['speedup_vs_sequential']:>7.1f}x"
        )
    lines.append(
        f"floor: {DEFAULT_MAX_WORKERS} pool threads run N calls in ceil(N / "
        f"{DEFAULT_MAX_WORKERS}) waves; threads = mock tools on the threads strategy, "
        "sync = a blocking tool on the asyncio strategy"
    )
    notes = [r["note"] for r in reports if r.get("note")]
    lines.extend(f"* {note}" for note in notes)
    return "\n".join(lines)


def format_overhead(report: dict[str, Any]) -> str:
    lines = [
        f"overhead: {report['calls_per_s']:,.0f} calls/s "
        f"({report['us_per_call']:.1f} µs per call through validation, execution and "
        f"{report['events']} events, N={report['n_calls']}, zero latency); per call, median of "
        f"{report['repeats']} runs, beside the gather floor:"
    ]
    for name, label in OVERHEAD_ROWS:
        lines.append(
            f"  {label:<44} {report['rows_us'][name]:>8.1f} µs "
            f"{report['vs_gather_validated'][name]:>6.2f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools_app.engine.bench", description=__doc__)
    parser.add_argument("--calls", action="append", help="N, repeatable or comma separated")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument("--json", action="store_true", help="one JSON object per N per line")
    parser.add_argument("--overhead-calls", type=int, default=DEFAULT_OVERHEAD_CALLS)
    parser.add_argument("--python-calls", type=int, default=500)
    options = parser.parse_args(argv)
    try:
        counts = parse_calls(options.calls)
    except ValueError as exc:
        parser.error(str(exc))
    reports = [run_bench(n, options.latency_ms) for n in counts]
    overhead = run_overhead_bench(options.overhead_calls)
    python = run_python_bench(options.python_calls)
    guards = run_guard_bench(options.overhead_calls)
    if options.json:
        for report in reports:
            print(json.dumps(report))
        print(json.dumps({"overhead": overhead}))
        print(json.dumps({"python": python}))
        print(json.dumps({"guards": guards}))
    else:
        print(format_table(reports))
        print(format_overhead(overhead))
        print(format_python(python))
        print(format_guards(guards))
    return 0


if __name__ == "__main__":
    sys.exit(main())
