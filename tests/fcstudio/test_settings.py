"""The one settings module, read from the environment: embedded defaults, scaling, production.

Settings are evaluated once per process, so each environment is read in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
INSPECT = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "broker": settings.CELERY_BROKER_URL,
    "dispatch": settings.FCSTUDIO_DISPATCH,
    "debug": settings.DEBUG,
}))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "fcstudio.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], env=clean_env, cwd=PROJECT, capture_output=True, text=True
    )


def inspect(**env: str) -> dict[str, Any]:
    result = run(["-c", INSPECT], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_environment_runs_embedded() -> None:
    assert inspect() == {
        "engine": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "layer_hosts": None,
        "broker": "memory://",
        "dispatch": "inline",
        "debug": False,
    }


def test_an_unknown_dispatch_is_an_error_at_start() -> None:
    result = run(["-c", INSPECT], FCSTUDIO_DISPATCH="celeryy")
    assert result.returncode != 0
    assert "FCSTUDIO_DISPATCH='celeryy' is not one of inline, channels or celery" in result.stderr


def test_urls_scale_out_to_postgres_and_redis() -> None:
    redis = "redis://127.0.0.1:6379/3"
    settings = inspect(DATABASE_URL="postgres://u@127.0.0.1:5432/x", REDIS_URL=redis, DEBUG="1")
    assert settings == {
        "engine": "django.db.backends.postgresql",
        "layer": "fcstudio.channel_layer.PooledRedisChannelLayer",
        "layer_hosts": [redis],
        "broker": redis,
        "dispatch": "inline",
        "debug": True,
    }


POOLS = """
import json
from django.conf import settings
print(json.dumps({
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "db_pool": settings.DATABASES["default"]["OPTIONS"]["pool"],
    "redis_pool": {
        key: settings.CHANNEL_LAYERS["default"]["CONFIG"][key]
        for key in ("max_connections", "pool_timeout")
    },
}))
"""


def test_pools_are_sized_by_settings() -> None:
    result = run(
        ["-c", POOLS],
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/3",
        FCSTUDIO_DB_POOL_MIN="1",
        FCSTUDIO_DB_POOL_MAX="7",
        FCSTUDIO_DB_POOL_TIMEOUT="4.5",
        FCSTUDIO_REDIS_MAX_CONNECTIONS="9",
        FCSTUDIO_REDIS_POOL_TIMEOUT="3",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "conn_max_age": 0,
        "db_pool": {"min_size": 1, "max_size": 7, "timeout": 4.5},
        "redis_pool": {"max_connections": 9, "pool_timeout": 3.0},
    }


def test_production_needs_a_secret_key() -> None:
    result = run(["-c", INSPECT], FCSTUDIO_ENV="production")
    assert result.returncode == 1
    assert "RuntimeError: SECRET_KEY must be set when FCSTUDIO_ENV=production" in result.stderr


def test_production_ignores_debug() -> None:
    settings = inspect(FCSTUDIO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), DEBUG="1")
    assert settings["debug"] is False


def test_production_passes_check_deploy() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        FCSTUDIO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="studio.example.com",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


def test_pages_carry_a_content_security_policy(people, catalog) -> None:
    response = people.client_for("viewer").get("/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
