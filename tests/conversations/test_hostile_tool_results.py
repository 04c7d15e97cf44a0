"""A tool answering lone surrogates, NUL and 1e999: the call is recorded (ok, values escaped)
and its batch page renders."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conversations.execution import run_batch
from conversations.models import BatchStatus
from tools_app import catalog as catalog_ops
from tools_app.engine import ToolCall
from tools_app.models import Tool

BODY = b'{"text": "a\\ud800b\\u0000c", "big": 1e999, "small": -1e999}'


class Hostile(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def hostile_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_hostile_result_is_recorded_escaped(people, team, catalog, hostile_url, settings):
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    tool = Tool(
        catalog=catalog,
        name="echo_hostile",
        description="Answers what no database takes as it is.",
        parameters={"type": "object", "properties": {}},
        implementation_kind="http",
        implementation_config={"url": hostile_url, "method": "POST"},
    )
    catalog_ops.save_tool(tool, author=people.editor, message="First")
    batch = run_batch(
        team=team, tools=[tool], calls=[ToolCall(id="c1", name="echo_hostile", arguments="{}")]
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FINISHED
    execution = batch.executions.get()
    assert execution.status == "ok", execution.content
    expected = {"text": "a\\ud800b\\u0000c", "big": "Infinity", "small": "-Infinity"}
    assert execution.result == expected
    assert json.loads(execution.content)["result"] == expected

    page = people.client_for("editor").get(f"/t/acme/batches/{batch.pk}/")
    assert page.status_code == 200
    assert "a\\\\ud800b\\\\u0000c" in page.content.decode()
