"""PostgreSQL connections come from a bounded pool: a burst larger than the pool waits for a
connection instead of failing, and the connections held afterwards are at most the pool size.

Also for a burst of Run requests through the ASGI app, as Daphne serves them (each request in a
thread of its own, its connection given back when it ends): none answers 500 and none leaves
its conversation a draft; the database never sees more connections than the pool holds, so the
burst cannot reach PostgreSQL's own limit however large it is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import close_old_connections, connection
from django.test import Client

from conversations.models import Conversation, RunStatus
from fcstudio.asgi import application
from tests.conftest import service_unavailable
from tests.support.asgi_call import AsgiCall

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

POOL_SIZE = 3
BURST = 12
# This test's pooled connections name themselves, so other tests' workers and servers that are
# still connected to the same database (or just leaving) are not counted as ours.
APPLICATION = "fcstudio-pool-test"


@pytest.fixture
def small_pool() -> Iterator[Any]:
    """The default database's pool, reopened at POOL_SIZE connections for the test."""
    if connection.vendor != "postgresql":
        service_unavailable(
            "DATABASE_URL is not PostgreSQL; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/fcstudio"
        )
    options = connection.settings_dict["OPTIONS"]
    configured = options["pool"]
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    assert configured["max_size"] == settings.FCSTUDIO_DB_POOL_MAX
    connection.close()
    connection.close_pool()
    options["pool"] = {"min_size": 1, "max_size": POOL_SIZE, "timeout": 60}
    options["application_name"] = APPLICATION
    try:
        yield connection.pool
    finally:
        connection.close()
        connection.close_pool()
        options["pool"] = configured
        del options["application_name"]


def held_connections() -> int:
    """This test's backends connected to the test database, counted from outside the pool."""
    params = connection.get_connection_params()
    for key in ("cursor_factory", "pool", "context"):
        params.pop(key, None)
    with psycopg.connect(**params | {"dbname": "postgres"}) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [connection.settings_dict["NAME"], APPLICATION],
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the burst never queued for the pool"
        time.sleep(0.01)


def visit(client: Client, url: str) -> int:
    """One request as the server handles it: Django's test client keeps the thread's connection
    past the response, where a server's request_finished gives it back (to the pool)."""
    try:
        return client.get(url).status_code
    finally:
        close_old_connections()


def test_a_burst_larger_than_the_pool_waits_and_succeeds(small_pool, people, team) -> None:
    clients = [people.client_for("viewer") for _ in range(BURST)]
    connection.close()
    with ExitStack() as held, ThreadPoolExecutor(max_workers=BURST) as burst:
        # Every pooled connection is taken, so each request of the burst must queue for one.
        for _ in range(POOL_SIZE):
            held.enter_context(small_pool.connection())
        futures = [burst.submit(visit, client, f"/t/{team.slug}/") for client in clients]
        wait_until(lambda: small_pool.get_stats()["requests_waiting"] == BURST)
        held.close()
        statuses = [future.result() for future in futures]
    assert statuses == [200] * BURST
    assert 1 <= held_connections() <= POOL_SIZE


CSRF_TOKEN = "k" * 32  # the cookie and the header agree; any 32 letters make a valid secret


def run_request(session: str, form: dict[str, str]) -> AsgiCall:
    """The composer's "Run" button as a browser sends it: a new conversation, started at once."""
    body = urlencode(form).encode()
    return AsgiCall(
        "POST",
        "/t/acme/conversations/new/",
        headers=[
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", f"sessionid={session}; csrftoken={CSRF_TOKEN}".encode()),
            (b"x-csrftoken", CSRF_TOKEN.encode()),
        ],
        body=[body],
    )


def test_a_burst_of_runs_larger_than_the_pool_leaves_no_500_and_no_draft(
    small_pool, people, team, provider, isolation, settings
) -> None:
    settings.FCSTUDIO_DISPATCH = "celery"  # queued for workers, none started: the runs wait
    session = people.client_for("editor").cookies["sessionid"].value
    form = {"provider": str(provider.pk), "user": "Weather in Oslo?", "tool_choice": "auto"}
    form |= {"strategy": "asyncio", "max_rounds": "2", "run": "1"}
    calls = [run_request(session, form) for _ in range(BURST)]
    connection.close()

    async def burst(held: ExitStack) -> None:
        requests = [asyncio.ensure_future(call.run(application)) for call in calls]
        await asyncio.to_thread(
            wait_until, lambda: small_pool.get_stats()["requests_waiting"] == BURST
        )
        held.close()  # the whole burst queues for the pool, then gets it a few at a time
        await asyncio.gather(*requests)

    with ExitStack() as held:
        for _ in range(POOL_SIZE):
            held.enter_context(small_pool.connection())
        asyncio.run(burst(held))

    assert [call.status for call in calls] == [302] * BURST
    runs = Conversation.objects.filter(team=team)
    assert sorted(runs.values_list("status", flat=True)) == [RunStatus.QUEUED] * BURST
    locations = {
        value
        for call in calls
        for name, value in call.sent[0]["headers"]
        if name.lower() == b"location"
    }
    assert locations == {f"/t/acme/conversations/{run.pk}/".encode() for run in runs}
    with redis.Redis.from_url(isolation.redis_url) as client:
        assert client.llen(isolation.queue) == BURST  # each run sent to the workers once
    assert 1 <= held_connections() <= POOL_SIZE
