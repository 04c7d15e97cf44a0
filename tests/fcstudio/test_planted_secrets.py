"""Planted secrets never leave the server in clear: not a page, an export, a log line, a
websocket frame or an audit row.

Three secrets are planted the way a person would: a provider's API key (the providers form),
an HTTP tool's header value (the tool editor) and the value of an argument its schema marks
`"x-sensitive": true` (sent by the model in a conversation, and typed into Try it).

The policy for the sensitive *argument*: a call's own arguments are its record, shown to its
team where the call itself is shown (the call's row on the conversation and batch pages, and
the call's frames on the conversation's websocket). Everything else redacts it: audit rows,
the audit page and export_audit, the conversation export, exports of tools, and logs.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command

from conversations.models import Batch, Conversation, Provider
from conversations.runner import run_conversation
from fcstudio import redaction
from fcstudio.models import AuditEvent
from fcstudio.routing import websocket_urlpatterns
from tests.support.openai_server import Reply, ScriptedOpenAI
from tools_app.models import Tool

# Distinct throughout: a provider's answers are scrubbed of any 8 characters of its key.
PROVIDER_KEY = "sk-prov-Q7w3Zk9Lm2Xc5Nv8"
HEADER_SECRET = "hdr-R4t8Yp1Vn6Bd0Ej2"
ARG_SECRET = "pin-J5g2Hs8Kf3Wq7Ua1"
CLEAR_SECRETS = (PROVIDER_KEY, HEADER_SECRET)
PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name."},
        "pin_code": {"type": "string", "description": "The account's PIN.", "x-sensitive": True},
    },
    "required": ["city", "pin_code"],
}
ARGUMENTS = json.dumps({"city": "Oslo", "pin_code": ARG_SECRET})
TOOL = "/t/acme/c/travel/tools/get_weather/"


class Upstream(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"temperature_c": 12}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def upstream(settings) -> Iterator[str]:
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def keyed_model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(api_key=PROVIDER_KEY) as server:
        yield server


@pytest.fixture
def planted(people, tool, upstream, keyed_model) -> Conversation:
    """The three secrets planted through the pages, and one conversation run through them."""
    admin, editor = people.client_for("admin"), people.client_for("editor")
    response = admin.post(
        "/t/acme/providers/",
        {
            "name": "Keyed",
            "base_url": keyed_model.base_url,
            "default_model": "test-model",
            "timeout_s": "5",
            "api_key": PROVIDER_KEY,
        },
    )
    assert response.status_code == 302
    response = editor.post(
        TOOL,
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": json.dumps(PARAMETERS),
            "implementation_kind": "http",
            "http_url": upstream,
            "http_method": "POST",
            "http_headers": f"X-Upstream-Auth: {HEADER_SECRET}",
            "timeout_s": "10",
            "retries": "0",
        },
    )
    assert response.status_code == 302
    keyed_model.script(
        Reply(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": ARGUMENTS}]),
        Reply(content="Twelve degrees."),
    )
    provider = Provider.objects.get(name="Keyed")
    response = editor.post(
        "/t/acme/conversations/new/",
        {
            "provider": str(provider.pk),
            "user": "Weather in Oslo? My PIN is in your tool.",
            "tools": [str(tool.pk)],
            "tool_choice": "auto",
            "parallel_tool_calls": "on",
            "strategy": "asyncio",
            "max_rounds": "4",
            "run": "1",
        },
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.status == "finished", conversation.failure
    response = editor.post(TOOL + "try/", {"arguments": ARGUMENTS})
    assert response.status_code == 200
    return conversation


def _pages(people, conversation: Conversation) -> dict[str, str]:
    admin = people.client_for("admin")
    batches = Batch.objects.order_by("pk")
    urls = {
        "tool page": TOOL,
        "tool history": TOOL + "history/",
        "conversation page": f"/t/acme/conversations/{conversation.pk}/",
        "providers page": "/t/acme/providers/",
        "provider page": f"/t/acme/providers/{Provider.objects.get(name='Keyed').pk}/",
        "audit page": "/t/acme/audit/",
        "team page": "/t/acme/",
        **{f"batch page {b.source}": f"/t/acme/batches/{b.pk}/" for b in batches},
    }
    pages = {}
    for name, url in urls.items():
        response = admin.get(url)
        assert response.status_code == 200, name
        pages[name] = response.content.decode()
    return pages


def _exports(people, conversation: Conversation) -> dict[str, str]:
    viewer = people.client_for("viewer")
    exports = {
        "conversation export": f"/t/acme/conversations/{conversation.pk}/export.json",
        "tools export": "/t/acme/c/travel/export/tools.json",
        "bundle": "/t/acme/c/travel/export/bundle.json",
    }
    found = {}
    for name, url in exports.items():
        response = viewer.get(url)
        assert response.status_code == 200, name
        found[name] = response.content.decode()
    for fmt in ("jsonl", "csv"):
        out = io.StringIO()
        call_command("export_audit", "--team=acme", f"--format={fmt}", stdout=out)
        found[f"export_audit {fmt}"] = out.getvalue()
    return found


def _audit_rows() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_secrets_are_in_no_page_export_log_or_audit_row(people, logged, planted):
    # The run happened while the `planted` fixture was set up.
    records = logged.get_records("setup") + logged.get_records("call")
    assert any(r.name.startswith("openai") for r in records), "the log check would prove nothing"
    log_text = "\n".join(record.getMessage() for record in records)
    places = {
        **_pages(people, planted),
        **_exports(people, planted),
        "log": log_text,
        "audit rows": _audit_rows(),
    }
    for name, text in places.items():
        for secret in CLEAR_SECRETS:
            assert secret not in text, f"{secret} in {name}"
    shows_the_call = {"conversation page", "batch page conversation", "batch page try"}
    for name, text in places.items():
        if name not in shows_the_call:
            assert ARG_SECRET not in text, f"the sensitive argument in {name}"
    # The call's own record shows its arguments to its team.
    for name in shows_the_call:
        assert ARG_SECRET in places[name], name


def test_the_audit_rows_hold_the_keyed_mark_instead(people, planted):
    mark = redaction.mark(ARG_SECRET)
    executions = AuditEvent.objects.filter(kind="tool.execute").order_by("pk")
    assert [e.details["arguments"] for e in executions] == [
        {"city": "Oslo", "pin_code": mark},
        {"city": "Oslo", "pin_code": mark},
    ]
    assert AuditEvent.objects.filter(kind="provider.create", object_label="Keyed").exists()


def test_the_model_gets_the_tools_without_the_studios_keywords(planted, keyed_model):
    sent = keyed_model.requests[0]["body"]["tools"][0]["function"]["parameters"]
    assert sent["properties"]["pin_code"] == {"type": "string", "description": "The account's PIN."}
    assert keyed_model.requests[0]["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_no_websocket_frame_carries_the_key_or_the_header(
    people, tool, upstream, keyed_model
):
    provider = await sync_to_async(Provider.objects.create)(
        team_id=tool.catalog.team_id,
        name="Keyed",
        base_url=keyed_model.base_url,
        default_model="test-model",
        timeout_s=5,
    )
    from conversations.providers import save_provider

    await sync_to_async(save_provider)(provider, api_key=PROVIDER_KEY)
    await sync_to_async(_make_http_tool)(people, upstream)
    conversation = await sync_to_async(_draft)(people, provider, tool)
    keyed_model.script(
        Reply(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": ARGUMENTS}]),
        Reply(content="Twelve degrees."),
    )
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.editor
    connected, _ = await socket.connect()
    assert connected
    assert await run_conversation(conversation.pk) == "finished"
    frames = []
    while not await socket.receive_nothing(timeout=0.5):
        frames.append(await socket.receive_from())
    await socket.disconnect()
    text = "\n".join(frames)
    assert "Twelve degrees." in text
    for secret in CLEAR_SECRETS:
        assert secret not in text
    assert ARG_SECRET in text  # the call's own arguments, shown to its team as it happens


def _make_http_tool(people, upstream: str) -> None:
    response = people.client_for("editor").post(
        TOOL,
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": json.dumps(PARAMETERS),
            "implementation_kind": "http",
            "http_url": upstream,
            "http_method": "POST",
            "http_headers": f"X-Upstream-Auth: {HEADER_SECRET}",
            "timeout_s": "10",
            "retries": "0",
        },
    )
    assert response.status_code == 302


def _draft(people, provider: Provider, tool: Tool) -> Conversation:
    from conversations import compose

    tool.refresh_from_db()
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(provider.team, people.editor, data)
