"""`manage.py bench_scale`: its statistics, its table, its upstream, and a tiny burst for real.

The burst (`services`) starts a real Daphne, and a Celery worker, on this session's PostgreSQL
test database and REDIS_URL's Redis database (flushed, as the bench does with its own).
"""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from conversations.management.commands.bench_scale import (
    PROMPT,
    TOOL_PARAMETERS,
    DemoUpstream,
    Result,
    RunRecord,
    cpu_seconds,
    failed,
    format_table,
    parse_dispatch,
    parse_runs,
    summarise,
    unavailable,
    with_database,
    with_redis_db,
)
from tests.conftest import service_unavailable

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def finished(queued: float, started: float, done: float) -> RunRecord:
    return RunRecord("finished", at(queued), at(started), at(done))


def column(**values: object) -> Result:
    base: dict[str, object] = {
        "dispatch": "inline",
        "runs": 50,
        "clients": 16,
        "elapsed_s": 5.5,
        "runs_per_s": 9.09,
        "queue_wait_p50_ms": 12.0,
        "queue_wait_p95_ms": 140.4,
        "latency_p50_ms": 900.0,
        "latency_p95_ms": 2100.0,
        "http_errors": 0,
        "unfinished": 0,
        "dropped_frames": 0,
        "watched": 8,
        "pages_behind": 0,
        "db_connections": 3,
        "cpu_s_per_run": 0.0812,
    }
    return Result(**{**base, **values})  # type: ignore[arg-type]


# -- statistics -----------------------------------------------------------------------------------


def test_queue_wait_and_latency_are_nearest_rank_percentiles_of_finished_runs():
    records = [finished(0, 10 * i, 1000 + 100 * i) for i in range(1, 21)]
    records.append(RunRecord("failed", at(0), at(5), at(50)))
    records.append(RunRecord("draft", None, None, None))

    result = summarise(
        "celery",
        records,
        clients=16,
        elapsed_s=4.0,
        http_errors=1,
        dropped_frames=2,
        watched=8,
        pages_behind=1,
        db_connections=5,
        cpu_s=2.2,
    )

    assert (result.dispatch, result.runs, result.clients) == ("celery", 22, 16)
    assert (result.queue_wait_p50_ms, result.queue_wait_p95_ms) == (100.0, 190.0)
    assert (result.latency_p50_ms, result.latency_p95_ms) == (2000.0, 2900.0)
    assert result.runs_per_s == 5.0  # the 20 that finished, over 4 s
    assert (result.http_errors, result.unfinished, result.errors) == (1, 2, 3)
    assert (result.dropped_frames, result.pages_behind_of_watched, result.db_connections) == (
        2,
        "1/8",
        5,
    )
    assert result.cpu_s_per_run == 0.1


def test_a_burst_where_nothing_finished_has_no_percentiles():
    result = summarise(
        "inline",
        [RunRecord("failed", at(0), None, at(10))],
        clients=1,
        elapsed_s=1.0,
        http_errors=0,
        dropped_frames=0,
        watched=0,
        pages_behind=0,
        db_connections=0,
        cpu_s=0.0,
    )
    assert (result.queue_wait_p50_ms, result.latency_p95_ms, result.runs_per_s) == (None, None, 0)
    assert result.errors == 1


# -- the table ------------------------------------------------------------------------------------


def test_the_table_puts_each_dispatcher_and_size_side_by_side():
    table = format_table(
        [column(), column(dispatch="celery", runs=200, unfinished=2, queue_wait_p95_ms=None)]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["inline", "N=50", "celery", "N=200"]
    rows = {line[:22].strip(): line[22:].split() for line in lines[1:]}
    assert rows["runs/s"] == ["9.09", "9.09"]
    assert rows["queue wait p95 (ms)"] == ["140", "-"]
    assert rows["run latency p95 (ms)"] == ["2100", "2100"]
    assert rows["errors"] == ["0", "2"]
    assert rows["runs not finished"] == ["0", "2"]
    assert rows["dropped live frames"] == ["0", "0"]
    assert rows["watched pages behind"] == ["0/8", "0/8"]
    assert rows["db connections held"] == ["3", "3"]
    assert rows["CPU s per run"] == ["0.081", "0.081"]
    assert len({len(line) for line in lines}) == 1  # every column right-aligned


def test_a_burst_that_could_not_be_measured_shows_dashes_and_says_why():
    broken = failed("channels", 50, 16, "runworker exited during the burst (TimeoutError)")
    lines = format_table([column(), broken]).splitlines()

    assert lines[0].split() == ["inline", "N=50", "channels", "N=50*"]
    rows = {line[:22].strip(): line[22:].split() for line in lines[1:-1]}
    assert rows["runs/s"] == ["9.09", "-"]
    assert rows["errors"] == ["0", "50"]
    assert rows["CPU s per run"] == ["0.081", "-"]
    assert lines[-1] == ("* channels N=50 failed: runworker exited during the burst (TimeoutError)")


def test_pages_left_behind_say_why_under_the_table():
    behind = column(pages_behind=2, pages_note="2 x WebSocketClosed('closed by the server')")
    lines = format_table([behind]).splitlines()

    assert lines[-1] == "inline N=50 pages behind: 2 x WebSocketClosed('closed by the server')"


def test_options_are_read_or_refused_with_the_reason():
    assert parse_runs("50,200") == [50, 200]
    assert parse_dispatch("inline, celery") == ["inline", "celery"]
    with pytest.raises(CommandError, match="numbers separated by commas"):
        parse_runs("fifty")
    with pytest.raises(CommandError, match="at least 1"):
        parse_runs("0")
    with pytest.raises(CommandError, match="some of inline, celery, channels"):
        parse_dispatch("inline,threads")


def test_the_bench_gets_a_database_and_a_redis_database_of_its_own():
    url = "postgres://postgres:s3cret@db.example:5432/fcstudio"
    assert with_database(url, "fcstudio_bench") == (
        "postgres://postgres:s3cret@db.example:5432/fcstudio_bench"
    )
    assert with_redis_db("redis://127.0.0.1:6379/0", 13) == "redis://127.0.0.1:6379/13"
    assert with_redis_db("redis://127.0.0.1:6379", 13) == "redis://127.0.0.1:6379/13"


def test_a_server_that_does_not_answer_is_named_without_its_password():
    why = unavailable("postgres://bench:s3cret@127.0.0.1:1/fcstudio", "redis://127.0.0.1:1/0")
    assert why.startswith("PostgreSQL at 127.0.0.1:1 does not answer")
    assert "s3cret" not in why
    assert "bench" not in why


def test_cpu_seconds_count_this_process():
    assert cpu_seconds([os.getpid()]) > 0
    assert cpu_seconds([]) == 0


# -- the upstream -------------------------------------------------------------------------------


def test_the_upstream_answers_the_prompt_with_three_weather_calls_then_text():
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": TOOL_PARAMETERS,
            },
        }
    ]
    with DemoUpstream(delay_s=0) as upstream:

        def ask(messages: list[dict[str, object]]) -> dict[str, object]:
            body = json.dumps({"model": "bench", "messages": messages, "tools": tools}).encode()
            request = urllib.request.Request(
                f"{upstream.base_url}/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["choices"][0]["message"]

        first = ask([{"role": "user", "content": PROMPT}])
        calls = first["tool_calls"]
        assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == [
            "Oslo",
            "Rome",
            "Paris",
        ]
        results = [
            {"role": "tool", "tool_call_id": c["id"], "content": '{"temp": 3}'} for c in calls
        ]
        second = ask([{"role": "user", "content": PROMPT}, first, *results])
        assert second["content"] and not second.get("tool_calls")


# -- a tiny burst on the real servers -------------------------------------------------------------


@pytest.fixture
def redis_db() -> int:
    if connection.vendor != "postgresql":
        service_unavailable("DATABASE_URL is not PostgreSQL; set DATABASE_URL=postgres://…")
    if not settings.REDIS_URL:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/<db>")
    try:
        with redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {settings.REDIS_URL} is unreachable: {exc}")
    return int(urlsplit(settings.REDIS_URL).path.strip("/") or 0)


def burst(dispatch: str, redis_db: int) -> dict[str, object]:
    out = StringIO()
    call_command(
        "bench_scale",
        "--here",
        "--json",
        runs="4",
        dispatch=dispatch,
        clients=4,
        celery_processes=1,
        redis_db=redis_db,
        stdout=out,
    )
    [result] = json.loads(out.getvalue())
    return result


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dispatch", ["inline", "celery"])
def test_a_tiny_burst_finishes_every_run_and_reports_numbers(dispatch, redis_db):
    result = burst(dispatch, redis_db)

    assert (result["dispatch"], result["runs"]) == (dispatch, 4)
    assert (result["errors"], result["http_errors"], result["unfinished"]) == (0, 0, 0)
    assert result["dropped_frames"] == 0
    assert (result["watched"], result["pages_behind"]) == (4, 0)
    assert result["runs_per_s"] > 0
    assert 0 <= result["queue_wait_p50_ms"] <= result["queue_wait_p95_ms"]
    assert 0 < result["latency_p50_ms"] <= result["latency_p95_ms"]
    assert result["cpu_s_per_run"] > 0
    # Daphne, and the Celery worker with its one pool process, each with a pool of its own.
    assert 0 <= result["db_connections"] <= 3 * settings.FCSTUDIO_DB_POOL_MAX
