"""``manage.py bench_engine``: needs the project's settings, so it is skipped under -p no:django."""

from __future__ import annotations

import io
import json

import pytest


def settings_configured() -> bool:
    try:
        from django.conf import settings
    except ImportError:
        return False
    return settings.configured


pytestmark = pytest.mark.skipif(
    not settings_configured(), reason="runs with the project's Django settings (pytest-django)"
)


def test_bench_command_prints_one_json_object_per_n():
    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "bench_engine",
        "--calls",
        "1,2",
        "--latency-ms",
        "1",
        "--json",
        "--overhead-calls",
        "5",
        "--python-calls",
        "4",
        stdout=out,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line.get("n_calls") for line in lines[:2]] == [1, 2]
    assert lines[2]["overhead"]["n_calls"] == 5
    assert lines[3]["python"]["n_calls"] == 4


def test_bench_command_prints_a_table():
    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "bench_engine",
        "--calls",
        "2",
        "--latency-ms",
        "1",
        "--overhead-calls",
        "5",
        "--python-calls",
        "4",
        stdout=out,
    )
    text = out.getvalue()
    assert "asyncio s" in text and "overhead:" in text and "in the process pool" in text


def test_bench_command_rejects_bad_counts():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="positive integers"):
        call_command("bench_engine", "--calls", "0", stdout=io.StringIO())
