"""What validating a schema ``pattern`` costs per call: RE2 (the engine's `patterns.Validator`)
beside jsonschema's stock validator (Python's backtracking ``re``), on the same arguments.

A benign pattern shows the price of linear-time matching on ordinary input; a catastrophic one
(``^(a+)+$`` against ``"a" * n + "!"``) shows why it is paid: ``re`` doubles its time with each
character, RE2 does not. ``python -m tools_app.engine.bench_patterns``. No Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from .patterns import Validator

BENIGN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"order": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4,8}$"}},
}
BENIGN_ARGUMENTS = {"order": "ABC-20251129"}
CATASTROPHIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"word": {"type": "string", "pattern": "^(a+)+$"}},
}


def _per_call_us(check: Callable[[], object], calls: int) -> float:
    for _ in range(min(calls, 50)):
        check()  # warm: compiled-pattern caches
    started = time.perf_counter()
    for _ in range(calls):
        check()
    return (time.perf_counter() - started) / calls * 1e6


def run(calls: int = 5_000, hostile_chars: tuple[int, ...] = (16, 20, 22)) -> dict[str, Any]:
    re2_benign = Validator(BENIGN_SCHEMA)
    re_benign = Draft202012Validator(BENIGN_SCHEMA)
    report: dict[str, Any] = {
        "calls": calls,
        "benign_re2_us": _per_call_us(lambda: re2_benign.is_valid(BENIGN_ARGUMENTS), calls),
        "benign_re_us": _per_call_us(lambda: re_benign.is_valid(BENIGN_ARGUMENTS), calls),
        "hostile": [],
    }
    re2_hostile = Validator(CATASTROPHIC_SCHEMA)
    re_hostile = Draft202012Validator(CATASTROPHIC_SCHEMA)
    for n in hostile_chars:
        arguments = {"word": "a" * n + "!"}

        def with_re2(arguments: dict[str, str] = arguments) -> object:
            return re2_hostile.is_valid(arguments)

        def with_re(arguments: dict[str, str] = arguments) -> object:
            return re_hostile.is_valid(arguments)

        report["hostile"].append(
            {
                "chars": n + 1,
                "re2_us": _per_call_us(with_re2, 20),
                "re_us": _per_call_us(with_re, 1),
            }
        )
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"schema pattern, per call (N={report['calls']}): RE2 {report['benign_re2_us']:.1f} µs, "
        f"Python re {report['benign_re_us']:.1f} µs "
        f"({report['benign_re2_us'] / report['benign_re_us']:.2f}x)",
    ]
    for row in report["hostile"]:
        lines.append(
            f"  ^(a+)+$ against {row['chars']} chars: RE2 {row['re2_us']:.1f} µs, "
            f"Python re {row['re_us'] / 1000:.1f} ms ({row['re_us'] / row['re2_us']:.0f}x)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_report(run()))
