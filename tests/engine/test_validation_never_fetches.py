"""A schema's references are resolved within it, never fetched: jsonschema's default would open
any `$ref` URL (file:// too) with urlopen, outside the outbound policy and without a timeout,
and a hostile schema (a tool's, an imported transcript's) could read the metadata service or
a local file, or hang the event loop. An outside reference makes the schema the tool's error."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools_app.engine import ErrorCode, validate_arguments

from .support import echo_spec


@pytest.fixture
def listener():
    """A local server that would answer with an enum holding a secret, and counts its hits."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps({"enum": ["secret-from-the-network"]}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def schemas(base: str, local: Path) -> dict[str, dict]:
    return {
        "$ref": {"type": "object", "properties": {"a": {"$ref": f"{base}/plain"}}},
        "$ref under a nested $id": {
            "type": "object",
            "properties": {"a": {"$id": f"{base}/dir/", "$ref": "viaid"}},
        },
        "$dynamicRef": {"type": "object", "properties": {"a": {"$dynamicRef": f"{base}/dyn"}}},
        "file://": {"type": "object", "properties": {"a": {"$ref": local.as_uri()}}},
    }


def test_outside_references_are_the_tools_error_and_nothing_is_fetched(listener, tmp_path):
    base, hits = listener
    local = tmp_path / "local.json"
    local.write_text(json.dumps({"enum": ["contents-of-a-local-file"]}))
    for kind, schema in schemas(base, local).items():
        error = validate_arguments(echo_spec(schema=schema), {"a": "x"})
        assert error is not None, kind
        assert error.code is ErrorCode.EXECUTION_ERROR, (kind, error.message)
        assert "cannot be applied" in error.message, kind
        assert "secret-from-the-network" not in json.dumps(error.details), kind
        assert "contents-of-a-local-file" not in error.message + json.dumps(error.details)
    assert hits == []


def test_references_within_the_schema_still_resolve():
    schema = {
        "type": "object",
        "$defs": {"city": {"type": "string", "minLength": 2}},
        "properties": {"a": {"$ref": "#/$defs/city"}},
    }
    assert validate_arguments(echo_spec(schema=schema), {"a": "Oslo"}) is None
    error = validate_arguments(echo_spec(schema=schema), {"a": "O"})
    assert error is not None and error.code is ErrorCode.VALIDATION_ERROR
