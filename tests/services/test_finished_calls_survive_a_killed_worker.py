"""A worker killed with one call of a round still running and another finished: the finished
call's record is on disk, and the run a second worker takes over runs only the unfinished call,
answering the finished one with its recorded result. The tools are HTTP endpoints on a local
server that counts what it receives, so "ran once" is what the endpoint saw."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from conversations import compose, dispatch
from conversations.leases import TAKEOVER_AFTER
from conversations.models import Batch, Conversation, ModelCall, RunStatus, ToolExecution
from tests.services import test_dispatch as harness
from tests.services.test_dispatch import (
    DEADLINE_S,
    assert_nothing_left_running,
    status_of,
    wait_for,
)
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# The worker processes, their isolation and the service checks of the dispatch tests.
redis_url = harness.redis_url
isolation = harness.isolation
workers = harness.workers

CALLS = [
    {"id": "call_visit", "name": "log_visit", "arguments": '{"city": "Oslo"}'},
    {"id": "call_book", "name": "book_table", "arguments": '{"city": "Oslo"}'},
]
FINAL = "Visit logged and a table booked."


@dataclass
class Endpoints:
    """/visit answers at once; /book holds its first request until `release` is set."""

    base_url: str = ""
    received: dict[str, list[str]] = field(default_factory=lambda: {"/visit": [], "/book": []})
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    state = Endpoints()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen = state.received[self.path]
            seen.append(self.headers.get("Idempotency-Key", ""))
            if self.path == "/book" and len(seen) == 1:
                state.release.wait(DEADLINE_S)
            body = json.dumps({"path": self.path, "count": len(seen)}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the worker that asked was killed meanwhile
                return

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def http_tool(catalog, people, name: str, url: str) -> Tool:
    tool = Tool(
        catalog=catalog,
        name=name,
        description=f"{name} for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        implementation_kind="http",
        implementation_config={"url": url, "method": "POST"},
    )
    catalog_ops.save_tool(tool, author=people.editor, message="Calls a local endpoint")
    return tool


def executions(batch: Batch) -> list[tuple[str, str, str]]:
    return [(e.tool_call_id, e.status, e.error_code) for e in batch.executions.order_by("position")]


def test_a_killed_worker_loses_no_finished_call_and_the_resumed_run_reuses_it(
    team, people, catalog, provider, model_server, endpoints, workers, settings, monkeypatch
):
    settings.FCSTUDIO_DISPATCH = "celery"
    monkeypatch.setenv("FCSTUDIO_HTTP_ALLOWED_HOSTS", "127.0.0.1")
    visit = http_tool(catalog, people, "log_visit", f"{endpoints.base_url}/visit")
    book = http_tool(catalog, people, "book_table", f"{endpoints.base_url}/book")
    model_server.script(Reply(tool_calls=CALLS), Reply(content=FINAL))
    conversation = compose.create_conversation(
        team,
        people.editor,
        {
            "provider": provider,
            "user": "Log my visit to Oslo and book a table.",
            "tools": [visit, book],
            "strategy": "asyncio",
        },
    )
    first = workers.celery()
    dispatch.start_run(conversation)

    def one_finished_one_running() -> bool:
        rows = dict(
            ToolExecution.objects.filter(batch__conversation=conversation).values_list(
                "tool_call_id", "status"
            )
        )
        return rows == {"call_visit": "ok", "call_book": "running"} and bool(
            endpoints.received["/book"]
        )

    wait_for(one_finished_one_running, "the visit to finish while the booking runs", workers)
    first.kill()

    # What the killed worker leaves: the finished call with its result, the other running.
    batch = Batch.objects.get(conversation=conversation)
    assert batch.status == "running"
    finished = batch.executions.get(tool_call_id="call_visit")
    assert (finished.status, finished.attempts, finished.error_code) == ("ok", 1, "")
    assert finished.result == {"path": "/visit", "count": 1}
    assert finished.finished_ms is not None and finished.started_ms is not None
    assert json.loads(finished.content) == {
        "success": True,
        "result": {"path": "/visit", "count": 1},
    }
    running = batch.executions.get(tool_call_id="call_book")
    assert (running.status, running.attempts, running.finished_ms) == ("running", 1, None)
    assert running.started_ms is not None
    endpoints.release.set()

    # Its heartbeat stops; rather than wait TAKEOVER_AFTER for it to age, age it. The task was
    # never acknowledged: a second worker receives it again and takes the run over.
    Conversation.objects.filter(pk=conversation.pk).update(
        heartbeat_at=timezone.now() - TAKEOVER_AFTER - timedelta(seconds=1)
    )
    second = workers.celery()
    wait_for(lambda: status_of(conversation)[0] == RunStatus.FINISHED, "the resumed run", workers)

    conversation.refresh_from_db()
    assert (conversation.worker, conversation.failure) == (second.identity, "")
    assert endpoints.received == {"/visit": ["call_visit"], "/book": ["call_book", "call_book"]}
    tool_messages = [m.payload for m in conversation.messages.filter(role="tool")]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_visit", "call_book"]
    assert tool_messages[0]["content"] == finished.content
    assert json.loads(tool_messages[1]["content"]) == {
        "success": True,
        "result": {"path": "/book", "count": 2},
    }
    sent = [m for m in model_server.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in sent] == [m["content"] for m in tool_messages]
    assert conversation.messages.last().payload == {"role": "assistant", "content": FINAL}

    batch.refresh_from_db()
    reason = f"The worker {first.identity} stopped responding; {second.identity} resumed the run."
    assert (batch.status, batch.failure) == ("failed", reason)
    assert executions(batch) == [("call_visit", "ok", ""), ("call_book", "error", "CANCELLED")]
    rerun = Batch.objects.exclude(pk=batch.pk).get(conversation=conversation)
    assert (rerun.round, rerun.status) == (0, "finished")
    assert executions(rerun) == [("call_book", "ok", "")]
    assert len(model_server.requests) == 2
    assert ModelCall.objects.filter(conversation=conversation, ok=True).count() == 2
    assert_nothing_left_running()
