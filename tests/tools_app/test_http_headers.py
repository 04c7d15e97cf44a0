"""HTTP tool headers: values stored encrypted, shown back masked, sent in clear only upstream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from conversations.execution import run_batch
from conversations.models import ToolExecution
from fcstudio import secrets
from tools_app import catalog as catalog_ops
from tools_app.engine import HttpImplementation, ToolCall
from tools_app.models import Catalog, Tool
from tools_app.runtime import Misconfigured, spec_for

EDIT = "/t/acme/c/travel/tools/get_weather/"
HISTORY = EDIT + "history/"
SECRET = "Bearer s3cret-value"
SHOWN = "Authorization: •••• (set)"


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": json.dumps(
            {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name."}},
                "required": ["city"],
            }
        ),
        "implementation_kind": "http",
        "http_url": "https://weather.example.com/hook",
        "http_method": "POST",
        "http_headers": f"Authorization: {SECRET}\nX-Team: acme-weather-team",
        "timeout_s": "10",
        "retries": "0",
    }
    data.update(overrides)
    return data


def token_of(tool: Tool, name: str = "Authorization") -> str:
    tool.refresh_from_db()
    return tool.implementation_config["headers"][name]["secret"]


@pytest.fixture
def http_tool(people, tool) -> Tool:
    response = people.client_for("editor").post(EDIT, form_data())
    assert response.status_code == 302
    tool.refresh_from_db()
    return tool


def test_every_header_value_is_stored_encrypted(http_tool):
    headers = http_tool.implementation_config["headers"]
    assert list(headers) == ["Authorization", "X-Team"]
    assert secrets.decrypt(headers["Authorization"]["secret"]) == SECRET
    assert secrets.decrypt(headers["X-Team"]["secret"]) == "acme-weather-team"
    snapshot = http_tool.versions.first().snapshot
    assert snapshot["implementation"]["headers"] == headers
    assert SECRET not in json.dumps(snapshot)


def test_the_editor_shows_headers_masked_and_never_the_value_or_token(people, http_tool):
    page = people.client_for("editor").get(EDIT).content.decode()
    assert SHOWN in page
    assert "X-Team: •••• (set)" in page
    assert SECRET not in page and "s3cret" not in page
    assert token_of(http_tool) not in page
    viewer_page = people.client_for("viewer").get(EDIT).content.decode()
    assert SHOWN in viewer_page and "s3cret" not in viewer_page
    for shown in (page, viewer_page):  # not even a hint's tail ("••••alue", "••••team")
        for value in (SECRET, "acme-weather-team"):
            assert f"••••{value[-4:]}" not in shown
            # from 6 on: "alue" and "value" are words the page holds anyway
            assert [value[-n:] for n in range(6, len(value) + 1) if value[-n:] in shown] == []


def test_the_history_page_shows_secrets_as_masks(people, http_tool):
    page = people.client_for("viewer").get(HISTORY).content.decode()
    assert "&quot;Authorization&quot;: &quot;•••• (secret)&quot;" in page
    assert "s3cret" not in page and token_of(http_tool) not in page


def test_replacing_a_secret_shows_in_the_diff_as_changed(people, http_tool):
    old_token = token_of(http_tool)
    client = people.client_for("editor")
    client.post(
        EDIT, form_data(http_headers="Authorization: Bearer n3w-value-here\nX-Team: •••• (set)")
    )
    page = people.client_for("viewer").get(HISTORY).content.decode()
    assert "&quot;Authorization&quot;: &quot;•••• (secret, changed)&quot;" in page
    for hidden in ("s3cret", "n3w-value", old_token, token_of(http_tool)):
        assert hidden not in page


def test_bundles_and_exports_withhold_header_values(people, http_tool):
    token = token_of(http_tool)
    response = people.client_for("viewer").get("/t/acme/c/travel/export/bundle.json")
    text = response.content.decode()
    assert "s3cret" not in text and token not in text
    (entry,) = json.loads(text)["tools"]
    assert entry["implementation"]["headers"] == {
        "Authorization": {"secret": None},
        "X-Team": {"secret": None},
    }
    assert entry["versions"][-1]["snapshot"]["implementation"]["headers"]["X-Team"] == {
        "secret": None
    }
    stdout = StringIO()
    call_command("export_tools", "--catalog", "travel", "--bundle", stdout=stdout)
    assert "s3cret" not in stdout.getvalue() and token not in stdout.getvalue()
    call_command("export_tools", "--catalog", "travel", stdout=stdout)
    assert "s3cret" not in stdout.getvalue() and token not in stdout.getvalue()


def test_the_live_check_never_carries_the_value(people, http_tool):
    response = people.client_for("editor").post(
        "/t/acme/c/travel/check/", form_data(tool_id=str(http_tool.pk))
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Valid" in page
    assert "s3cret" not in page and token_of(http_tool) not in page


def test_saving_with_the_mask_keeps_the_secret(people, http_tool):
    token = token_of(http_tool)
    client = people.client_for("editor")
    shown = f"{SHOWN}\nX-Team: •••• (set)"
    response = client.post(EDIT, form_data(http_headers=shown), follow=True)
    assert "No changes to save." in response.content.decode()
    client.post(EDIT, form_data(http_headers=shown, description="Weather now."))
    assert token_of(http_tool) == token
    assert (http_tool.version, http_tool.description) == (3, "Weather now.")
    latest = http_tool.versions.first().snapshot["implementation"]["headers"]
    assert latest["Authorization"] == {"secret": token}


def test_typing_the_same_value_again_keeps_the_token(people, http_tool):
    token = token_of(http_tool)
    people.client_for("editor").post(EDIT, form_data())
    assert token_of(http_tool) == token
    assert http_tool.versions.count() == 2


def test_a_new_value_replaces_and_a_removed_line_removes(people, http_tool):
    client = people.client_for("editor")
    client.post(EDIT, form_data(http_headers="authorization: Bearer other-value-123"))
    http_tool.refresh_from_db()
    headers = http_tool.implementation_config["headers"]
    assert list(headers) == ["authorization"]
    assert secrets.decrypt(headers["authorization"]["secret"]) == "Bearer other-value-123"
    client.post(EDIT, form_data(http_headers=""))
    http_tool.refresh_from_db()
    assert "headers" not in http_tool.implementation_config


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ("Authorization Bearer x", "Line 1: write the header as Name: value."),
        ("X-Ok: 1\nBad Name: x", "Line 2: a header name holds only letters, digits"),
        ("\nX-Ok: 1\n\nX-Ümlaut: x", "Line 4: a header name holds only letters, digits"),
        ("Host: evil.example", "Line 1: the studio sets Host itself."),
        ("Idempotency-Key: x", "Line 1: the studio sets Idempotency-Key itself."),
        ("Transfer-Encoding: chunked", "Line 1: the studio sets Transfer-Encoding itself."),
        ("connection: close", "Line 1: the studio sets connection itself."),
        ("Proxy-Authorization: x", "Line 1: the studio sets Proxy-Authorization itself."),
        ("X-A: 1\nx-a: 2", "Line 2: x-a is already given above."),
        ("X-A:", "Line 1: give X-A a value."),
        ("X-A: ok\rInjected: yes", "Line 1: the value of X-A has a line break, a control"),
        ("X-A: bell\x07byte", "Line 1: the value of X-A has a line break, a control"),
        ("X-A: café", "Line 1: the value of X-A has a line break, a control"),
        ("X-A: nul\x00byte", "Null characters are not allowed."),
        ("X-A: ••••alue", "Line 1: X-A shows a masked value with nothing stored behind it"),
        ("\n".join(f"X-H{i}: v" for i in range(21)), "At most 20 headers; there are 21."),
    ],
)
def test_bad_header_lines_are_refused_line_by_line(people, tool, headers, message):
    response = people.client_for("editor").post(EDIT, form_data(http_headers=headers))
    assert response.status_code == 200
    assert message in response.content.decode()
    tool.refresh_from_db()
    assert tool.implementation_kind == "mock" and tool.version == 1


def test_a_form_shown_again_does_not_echo_values_typed(people, http_tool):
    data = form_data(
        http_headers=f"{SHOWN}\nX-New: brand-new-secret-value", parameters='{"type": "object",'
    )
    page = people.client_for("editor").post(EDIT, data).content.decode()
    assert "Not valid JSON" in page
    assert "brand-new-secret-value" not in page
    assert f"{SHOWN}\nX-New: </textarea>" in page


def test_headers_only_apply_to_http_tools(people, tool):
    data = form_data(implementation_kind="mock", http_headers="Bad Name: x")
    assert people.client_for("editor").post(EDIT, data).status_code == 302
    tool.refresh_from_db()
    assert "headers" not in tool.implementation_config


def test_importing_a_bundle_keeps_a_stored_secret_or_leaves_it_empty(people, http_tool, team):
    token = token_of(http_tool)
    bundle = catalog_ops.export_bundle(http_tool.catalog)
    report = catalog_ops.import_text(http_tool.catalog, json.dumps(bundle))
    assert [row.outcome for row in report.rows] == ["unchanged"]
    assert token_of(http_tool) == token

    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    (row,) = report.rows
    assert "Header Authorization: the bundle withholds its value" in " ".join(row.changes)
    copied = copy.tools.get()
    assert copied.implementation_config["headers"]["Authorization"] == {"secret": None}
    page = people.client_for("editor").get("/t/acme/c/copy/tools/get_weather/").content.decode()
    assert "Authorization has no value" in page
    problem = spec_for(copied.versions.first()).implementation
    assert isinstance(problem, Misconfigured)
    assert (
        problem.problem == "header Authorization has no value (a bundle withheld it); re-enter it"
    )


def test_a_hand_written_bundle_with_plain_values_is_encrypted_on_import(team):
    bundle = {
        "format": "fcstudio.bundle",
        "version": 1,
        "tools": [
            {
                "name": "notify",
                "parameters": {"type": "object", "properties": {}},
                "implementation": {
                    "kind": "http",
                    "url": "https://hooks.example.com/",
                    "headers": {"X-Key": "plain-key-value"},
                },
            },
            {
                "name": "broken",
                "parameters": {"type": "object", "properties": {}},
                "implementation": {"kind": "http", "url": "https://x/", "headers": {"X": 1}},
            },
        ],
    }
    catalog = Catalog.objects.create(team=team, name="Hooks", slug="hooks")
    report = catalog_ops.import_text(catalog, json.dumps(bundle))
    assert [r.reason[:24] for r in report.rejected] == ["`implementation.headers`"]
    stored = catalog.tools.get().implementation_config["headers"]["X-Key"]["secret"]
    assert secrets.decrypt(stored) == "plain-key-value"


def test_spec_for_decrypts_the_headers_for_the_engine(http_tool):
    implementation = spec_for(http_tool.versions.first()).implementation
    assert isinstance(implementation, HttpImplementation)
    assert implementation.headers == {"Authorization": SECRET, "X-Team": "acme-weather-team"}


def test_an_undecryptable_header_fails_the_calls_and_names_only_the_header(
    people, team, http_tool, settings
):
    settings.FCSTUDIO_SECRET_KEYS = [Fernet.generate_key().decode()]
    batch = run_batch(
        team=team,
        tools=[http_tool],
        calls=[ToolCall(id="call_1", name="get_weather", arguments='{"city": "Oslo"}')],
    )
    execution = batch.executions.get()
    assert execution.error_code == "EXECUTION_ERROR"
    assert execution.error_message == (
        "The tool's implementation is misconfigured: cannot decrypt header Authorization; "
        "re-enter it"
    )
    assert "s3cret" not in execution.content
    page = people.client_for("editor").get(EDIT).content.decode()
    assert "Authorization&#x27;s stored value cannot be decrypted" in page


class Echo(BaseHTTPRequestHandler):
    """Answers every POST with the headers it received, and remembers them."""

    received: list[dict[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(dict(self.headers.items()))
        body = json.dumps({"headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []
    handler = type("RecordingEcho", (Echo,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _tool_calling(people, tool, url: str) -> Tool:
    response = people.client_for("editor").post(EDIT, form_data(http_url=url))
    assert response.status_code == 302
    tool.refresh_from_db()
    return tool


def test_the_upstream_receives_the_decrypted_header_and_the_idempotency_key(
    people, team, tool, echo_server, settings
):
    url, received = echo_server
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    http_tool = _tool_calling(people, tool, url)
    batch = run_batch(
        team=team,
        tools=[http_tool],
        calls=[ToolCall(id="call_abc123", name="get_weather", arguments='{"city": "Oslo"}')],
    )
    execution = batch.executions.get()
    assert execution.status == "ok", execution.content
    (headers,) = received
    assert headers["Authorization"] == SECRET
    assert headers["X-Team"] == "acme-weather-team"
    assert headers["Idempotency-Key"] == "call_abc123"
    # The upstream answered with the headers it got: what the model is sent shows none of them.
    shown = json.loads(execution.content)["result"]["headers"]
    assert shown["Authorization"] == "[redacted]"
    assert shown["X-Team"] == "[redacted]"


def test_try_it_never_shows_a_header_secret_the_upstream_echoes(
    people, team, tool, echo_server, settings
):
    url, received = echo_server
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    _tool_calling(people, tool, url)
    response = people.client_for("editor").post(EDIT + "try/", {"arguments": '{"city": "Oslo"}'})
    assert response.status_code == 200
    (headers,) = received
    assert headers["Authorization"] == SECRET  # sent upstream, and echoed back
    execution = ToolExecution.objects.get()
    batch_page = people.client_for("viewer").get(f"/t/acme/batches/{execution.batch_id}/")
    assert batch_page.status_code == 200
    for page in (response.content.decode(), batch_page.content.decode()):
        assert "[redacted]" in page
        assert "s3cret" not in page and "cret-val" not in page
        assert "acme-wea" not in page and "ther-team" not in page
    assert "s3cret" not in execution.content and "[redacted]" in execution.content


def test_without_the_allowance_the_call_is_denied_and_nothing_is_sent(
    people, team, tool, echo_server, settings
):
    url, received = echo_server
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = []
    settings.FCSTUDIO_HTTP_ALLOW_PRIVATE = False
    http_tool = _tool_calling(people, tool, url)
    batch = run_batch(
        team=team,
        tools=[http_tool],
        calls=[ToolCall(id="call_1", name="get_weather", arguments='{"city": "Oslo"}')],
    )
    execution = batch.executions.get()
    assert execution.error_code == "DENIED"
    assert "loopback" in execution.error_message
    assert "s3cret" not in execution.content
    assert received == []
