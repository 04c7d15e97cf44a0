"""On PostgreSQL, whose writers do run at once: two exchanges of one agent loop recorded at the
same time by two recorders (threads, each with its connection) make one conversation, because
the token's row is locked (select_for_update) while the join is decided."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.conftest import service_unavailable
from tests.support.recorded_loop import assert_one_loop, make_token, record_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres() -> None:
    if connection.vendor != "postgresql":
        service_unavailable(f"DATABASE_URL is not PostgreSQL (the database is {connection.vendor})")


@pytest.mark.parametrize("attempt", range(5))
def test_exchanges_recorded_at_once_make_one_conversation(attempt):
    record_at_once(make_token())
    assert_one_loop()
