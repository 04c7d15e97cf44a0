"""Shared fixtures: a team with an admin, an editor and a viewer, an outsider, a catalog, a tool.

Every view test can ask "and the outsider gets 404?" with the same few lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from conversations.models import Provider
from conversations.providers import set_api_key
from fcstudio.models import Membership, Role, Team
from tests.support.openai_server import ScriptedOpenAI
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PASSWORD = "correct-horse-battery-staple"


@dataclass
class People:
    admin: object
    editor: object
    viewer: object
    outsider: object

    def client_for(self, who: str) -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(getattr(self, who))
        return client


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    # Hashing is slow on purpose; tests log in hundreds of times.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def no_background_reaper():
    # A reaper task started by a socket would mark a test's deliberately stale runs behind its
    # back; tests/conversations/test_embedded_reaper.py drives it explicitly.
    from django.conf import settings

    settings.FCSTUDIO_REAP_INTERVAL_SECONDS = 0


@pytest.fixture(autouse=True)
def runs_query_on_the_test_thread(settings):
    # A test's own transaction is seen only on its thread: runs under test do their database
    # work there (tests/services/test_run_database_threads.py turns the threads on).
    settings.FCSTUDIO_RUN_DB_THREADS = 0


@pytest.fixture(autouse=True)
def fresh_validator_cache():
    # Compiled validators are keyed by ToolVersion pk, and a rolled-back test database hands
    # the same pks out again: each test validates against its own versions' schemas.
    from tools_app.engine.validation import default_cache

    default_cache.clear()


@pytest.fixture(autouse=True)
def fresh_tool_limiter():
    # The process-wide limiter is keyed by team id, and SQLite reuses the ids of rolled-back
    # teams: each test starts with no permits or tokens taken by an earlier one.
    from tools_app import runtime

    runtime.reset_shared_limiter()
    yield
    runtime.reset_shared_limiter()


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Acme", slug="acme")


@pytest.fixture
def people(team) -> People:
    make = get_user_model().objects.create_user
    admin = make("ada", password=PASSWORD)
    editor = make("eddie", password=PASSWORD)
    viewer = make("vera", password=PASSWORD)
    outsider = make("otto", password=PASSWORD)
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    Membership.objects.create(team=team, user=editor, role=Role.EDITOR)
    Membership.objects.create(team=team, user=viewer, role=Role.VIEWER)
    other = Team.objects.create(name="Elsewhere", slug="elsewhere")
    Membership.objects.create(team=other, user=outsider, role=Role.ADMIN)
    return People(admin, editor, viewer, outsider)


@pytest.fixture
def catalog(team) -> Catalog:
    return Catalog.objects.create(team=team, name="Travel", slug="travel")


WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Lisbon."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit."},
    },
    "required": ["city"],
}


@pytest.fixture
def tool(catalog, people) -> Tool:
    weather = Tool(
        catalog=catalog,
        name="get_weather",
        description="Current weather for a city.",
        parameters=WEATHER_PARAMETERS,
        implementation_config={"latency_ms": 10},
    )
    catalog_ops.save_tool(weather, author=people.editor, message="First draft")
    return weather


@pytest.fixture
def bfcl_dir() -> Path:
    path = SHARED_DATA / "bfcl"
    if not path.exists():
        pytest.skip(f"BFCL samples not found at {path}")
    return path


@pytest.fixture
def model_server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(api_key="sk-test-key-123456") as server:
        yield server


@pytest.fixture
def provider(team, model_server) -> Provider:
    record = Provider(
        team=team,
        name="Scripted",
        base_url=model_server.base_url,
        default_model="test-model",
        timeout_s=5,
    )
    set_api_key(record, "sk-test-key-123456")
    record.save()
    return record


def service_unavailable(reason: str) -> None:
    """Skip a test whose server is missing, except under CI where that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: services must be running)")
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        elif item.path.name.startswith(("test_fuzz_", "test_hostile_")):
            # Fuzz and hostile-value tests run with the suite on SQLite and again on PostgreSQL
            # (`make test`'s second pass, `-m "services or hostile"`), whose jsonb and text
            # columns refuse what SQLite stores.
            item.add_marker(pytest.mark.hostile)
    # Playwright's sync API keeps an event loop running in this thread once the browser starts,
    # so asyncio tests must run before the first browser test.
    items.sort(key=lambda item: "browser" in item.path.parts)


@pytest.fixture
def api_token(team, provider, people) -> str:
    """A studio API token of the team, forwarding to the scripted provider."""
    from conversations.tokens import create_token

    return create_token(team, provider, name="agent", user=people.admin)[1]
