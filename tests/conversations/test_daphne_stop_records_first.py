"""A studio served by Daphne (as `make run` and a deployment serve it) that is stopped records the
proxied exchanges it answered before it ends: its recorder is one of the reactor's "before
shutdown" triggers. The proxy's own server does the same in its way (test_proxy_served_alone)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from conversations.models import ApiToken, ModelCall
from tests.support.live_studio import database_url
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stopped_daphne_records_what_it_answered_before_it_ends(api_token, model_server):
    model_server.script(*[Reply(content=f"Answer {n}") for n in range(3)])
    listening = socket.create_server(("127.0.0.1", 0))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "--fd",
            str(listening.fileno()),
            "fcstudio.asgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "INFO"},
        pass_fds=[listening.fileno()],
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    try:
        client = live_sdk(f"http://127.0.0.1:{listening.getsockname()[1]}", api_token)
        with transaction.atomic():
            # Holding the token's row (and, on SQLite, the write lock) keeps the three exchanges
            # waiting in the server's recorder until the stop has begun.
            ApiToken.objects.update(name="agent")
            for n in range(3):
                client.chat.completions.create(
                    model="test-model", messages=[{"role": "user", "content": f"Question {n}?"}]
                )
            server.send_signal(signal.SIGTERM)
            assert server.stderr is not None
            for line in server.stderr:
                said.append(line)
                if "stopping: recording 3 proxied exchange(s) first" in line:
                    break
            else:
                pytest.fail(f"Daphne ended without recording first: {''.join(said)}")
        _, rest = server.communicate(timeout=60)
        said.append(rest)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
        listening.close()
    assert server.returncode == 0, "".join(said)
    assert ModelCall.objects.filter(ok=True).count() == 3
    assert "not recorded" not in "".join(said)
