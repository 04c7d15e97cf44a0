"""PostgreSQL connections come from a bounded pool: a burst larger than the pool waits for a
connection instead of failing, and the connections held afterwards are at most the pool size."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.test import Client

from tests.conftest import service_unavailable

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
