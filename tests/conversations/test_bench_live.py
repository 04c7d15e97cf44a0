"""bench_live: it runs end to end and reports well-formed numbers (no timing assertions)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from conversations.models import Conversation
from fcstudio.models import Team

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PHASE_KEYS = {
    "calls_per_event",
    "events",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "mean_ms",
    "events_per_s",
    "frame_bytes",
}


def check(report: dict, transport: str) -> None:
    assert set(report) == {
        "events",
        "transport",
        "client",
        "channel_layer",
        "warmup_events",
        "small_batch",
        "large_batch",
        "target_p95_ms",
        "meets_target",
    }
    assert (report["events"], report["transport"], report["channel_layer"]) == (
        20,
        transport,
        "in-memory",
    )
    assert isinstance(report["meets_target"], bool)
    for name, calls in (("small_batch", 8), ("large_batch", 200)):
        phase = report[name]
        assert set(phase) == PHASE_KEYS
        assert (phase["calls_per_event"], phase["events"]) == (calls, 20)
        assert all(phase[key] > 0 for key in PHASE_KEYS)
        assert phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"] <= phase["max_ms"]


def test_over_a_real_daphne_server_and_websocket(team) -> None:
    """In a subprocess: the Twisted reactor it starts can run only once per process."""
    if connection.vendor != "sqlite":
        pytest.skip("the subprocess is pointed at the SQLite test database only")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "bench_live", "--events", "20", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    check(json.loads(done.stdout), "daphne")
    # Its throwaway team, user and conversation are gone; ours is untouched.
    assert list(Team.objects.values_list("slug", flat=True)) == ["acme"]
    assert not Conversation.objects.exists()


def test_through_the_communicator_in_process(team) -> None:
    out = io.StringIO()
    call_command(
        "bench_live", "--events", "20", "--json", "--transport", "communicator", stdout=out
    )
    check(json.loads(out.getvalue()), "communicator")
    assert list(Team.objects.values_list("slug", flat=True)) == ["acme"]


def test_redis_without_a_url_is_a_command_error(settings, monkeypatch) -> None:
    settings.REDIS_URL = ""
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(CommandError, match="--redis needs REDIS_URL"):
        call_command("bench_live", "--events", "5", "--redis")
