"""A scripted OpenAI-compatible server on 127.0.0.1, for tests.

It owns nothing but a queue of `Reply`s and a log of received chat requests. It speaks real HTTP
(`ThreadingHTTPServer` in a daemon thread), so the client may live in another process, such as
the forked Daphne of the browser tests: all state stays in this process, and the test inspects it
directly (`server.requests`, `server.pending`).

Served: `GET /v1/models` and `POST /v1/chat/completions`, plain (`chat.completion`) or streamed
(`chat.completion.chunk` server-sent events over chunked HTTP/1.1, as OpenAI sends them).

    with ScriptedOpenAI() as server:
        server.script(Reply(tool_calls=[{"id": "call_1", "name": "f", "arguments": "{}"}]))
        ...  # point a client at server.base_url with api_key "sk-test"
        assert server.requests[-1]["body"]["tool_choice"] == "auto"

It must not grow logic of its own: a reply is exactly what the test scripted. The exceptions
are a few switches that reproduce what real servers do, each off by default and settable on a
started server (they are read per request):

- `reject_null_content`: an assistant message with `"content": null` gets a 500, as
  llama-cpp-python's server answers (its request model types that content as a string).
- `obey_forced_choice`: a request whose `tool_choice` is `required` or names a function gets a
  call to that function (`required`: the first tool), with `forced_arguments`, whatever was
  scripted; the script is not consumed. Models behind such servers never answer in text then.
- `send_usage=False`: no `usage`, even when `stream_options.include_usage` asks for it
  (llama-cpp-python's stream).
- `repeat_call_names`: streamed tool calls repeat their id and name in every delta.
- `call_indexes`: how streamed tool-call deltas are indexed, calls then sent one after another:
  `"all_zero"`, every call at index 0 (Ollama, ollama/ollama#15457); `"missing"`, no index at
  all (Gemini's compatible API, Ollama before 0.4.7, Xinference); `"tool_position"`, a call's
  first delta indexed by its tool's place in the request's `tools`, the rest by the call's own
  place (SGLang, sgl-project/sglang#6310). `"openai"` (the default): each call its own index,
  the calls' deltas interleaved.
"""

from __future__ import annotations

import json
import math
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import pytest

DEFAULT_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class Reply:
    """One scripted answer to one chat completion request."""

    content: str | None = None
    # [{"id": "call_1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}]; a key left out
    # (or None) is left out on the wire too; arguments are sent verbatim, valid JSON or not.
    tool_calls: Sequence[dict[str, Any]] = ()
    finish_reason: str | None = None  # default: "tool_calls" if tool_calls else "stop"
    status: int = 200  # non-200: an OpenAI-style error body, `content` as its message if given
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the status line
    # Before the status line, hold the answer until the test sets this (or the server stops):
    # to keep requests in flight together without guessing how long they take.
    until: threading.Event | None = None
    chunk_delay_s: float = 0.0  # between streamed chunks
    split_arguments: int = 3  # fragments per tool call's arguments, calls interleaved by index
    usage: dict[str, int] | None = field(default_factory=lambda: dict(DEFAULT_USAGE))
    raw_body: bytes | None = None  # sent exactly, with this status and a Content-Length
    close_early: bool = False  # streaming: drop the connection halfway, no finish chunk, no [DONE]
    stall_after: int = 0  # streaming: after this many chunks, send nothing more until stopped

    @property
    def effective_finish_reason(self) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


class ScriptedOpenAI:
    """The server. Start it (or enter it), script replies, point a client at `base_url`."""

    def __init__(
        self, models: Sequence[str] = ("test-model",), api_key: str | None = "sk-test"
    ) -> None:
        self.models = tuple(models)
        self.api_key = api_key  # None: any Authorization (or none) is accepted
        self.reject_null_content = False
        self.obey_forced_choice = False
        self.forced_arguments = "{}"
        self.send_usage = True
        self.repeat_call_names = False
        self.call_indexes = "openai"
        self.requests: list[dict[str, Any]] = []
        # Set when a chat completion request arrives, so a test waits for it instead of polling.
        self.request_arrived = threading.Event()
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.scripted = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # cuts scripted delays short
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedOpenAI is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- the script --------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies for POST /v1/chat/completions, consumed in order."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies are still unconsumed."""
        with self._lock:
            return len(self._replies)

    def _record(self, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append({"body": body, "headers": headers})
        self.request_arrived.set()

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAI]:
    """A started ScriptedOpenAI, stopped after the test (import it into a conftest to share)."""
    with ScriptedOpenAI() as server:
        yield server


# -- wire format -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    scripted: ScriptedOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, closed keep-alive connections) are routine here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on `requests`, not on logs

    @property
    def scripted(self) -> ScriptedOpenAI:
        return self.server.scripted

    # -- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _guard(self, handle: Callable[[], None]) -> None:
        try:
            handle()
        except ConnectionError:
            # The client gave up (a timeout test); nobody is left to answer.
            self.close_connection = True

    def _get(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_error(404, f"Unknown path {self.path!r}", "invalid_request_error")
            return
        if not self._authorised():
            return
        data = [
            {"id": model, "object": "model", "created": 1700000000, "owned_by": "scripted"}
            for model in self.scripted.models
        ]
        self._send_json(200, {"object": "list", "data": data})

    def _post(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"Unknown path {self.path!r}", "invalid_request_error")
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.scripted._record(body, {k.lower(): v for k, v in self.headers.items()})
        if not isinstance(body, dict):
            self._send_error(400, "We could not parse the JSON body of your request.", None)
            return
        if not self._authorised():
            return
        if self.scripted.reject_null_content and _null_assistant_content(body):
            self._send_error(500, _LLAMA_CPP_PYTHON_NULL_CONTENT, "internal_server_error")
            return
        forced = _forced_call(body, self.scripted) if self.scripted.obey_forced_choice else None
        reply = forced or self.scripted._next_reply()
        if reply is None:
            self._send_error(
                500, "ScriptedOpenAI: no scripted reply left for this request", "server_error"
            )
            return
        if reply.delay_s and self.scripted._stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        if reply.until is not None and not self._held_until(reply.until):
            self.close_connection = True
            return
        self._answer(reply, body)

    def _held_until(self, event: threading.Event) -> bool:
        """Wait for `event`; False when the server stops first."""
        while not event.wait(0.05):
            if self.scripted._stopping.is_set():
                return False
        return True

    def _authorised(self) -> bool:
        expected = self.scripted.api_key
        if expected is None:
            return True
        presented = self.headers.get("authorization", "")
        if presented == f"Bearer {expected}":
            return True
        key = presented.removeprefix("Bearer ")
        # Echoes the key in full, as careless compatible servers do, so that clients can prove
        # they keep it out of their own error messages.
        self._send_error(401, f"Incorrect API key provided: {key}.", "invalid_request_error")
        return False

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
        streamed = bool(body.get("stream"))
        if reply.raw_body is not None:
            content_type = "text/event-stream" if streamed else "application/json"
            self._send_bytes(reply.status, reply.raw_body, content_type, reply.headers)
            return
        if reply.status != 200:
            error_type, code = _ERROR_TYPES.get(
                reply.status,
                ("server_error" if reply.status >= 500 else "invalid_request_error", None),
            )
            message = reply.content or f"Scripted error with status {reply.status}."
            self._send_error(reply.status, message, error_type, code, reply.headers)
            return
        model = body.get("model") or self.scripted.models[0]
        if not self.scripted.send_usage:
            reply = replace(reply, usage=None)
        if streamed:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(reply, model, include_usage, body)
        else:
            self._send_json(200, _completion(reply, model), reply.headers)

    def _stream(self, reply: Reply, model: str, include_usage: bool, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:12]}")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

        envelope = _envelope(model, "chat.completion.chunk")
        if self.scripted.call_indexes == "openai":
            chunks = _delta_chunks(reply, envelope, include_usage, self.scripted.repeat_call_names)
        else:
            chunks = _quirky_index_chunks(reply, envelope, include_usage, body, self.scripted)
        if reply.close_early:
            # The role delta and half of the others, then the line goes dead.
            chunks = chunks[: 1 + math.ceil((len(chunks) - 1) / 2)]
        else:
            chunks.append(_chunk(envelope, {}, include_usage, reply.effective_finish_reason))
            if include_usage and reply.usage is not None:
                chunks.append({**envelope, "choices": [], "usage": reply.usage})
        events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks]
        if not reply.close_early:
            events.append(b"data: [DONE]\n\n")
        for number, event in enumerate(events):
            if number and reply.chunk_delay_s and self.scripted._stopping.wait(reply.chunk_delay_s):
                break
            if reply.stall_after and number == reply.stall_after:
                self.scripted._stopping.wait()
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        if reply.close_early:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_error(
        self,
        status: int,
        message: str,
        error_type: str | None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        error = {"message": message, "type": error_type, "param": None, "code": code}
        self._send_json(status, {"error": error}, headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:12]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


# What llama-cpp-python's server answers (500, its error handler wraps the request model's
# validation error) when an assistant message carries "content": null.
_LLAMA_CPP_PYTHON_NULL_CONTENT = (
    "1 validation error for CreateChatCompletionRequest\nmessages.2.assistant.content\n"
    "  Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]"
)


def _null_assistant_content(body: dict[str, Any]) -> bool:
    messages = body.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict)
        and m.get("role") == "assistant"
        and "content" in m
        and m["content"] is None
        for m in messages
    )


def _forced_call(body: dict[str, Any], server: ScriptedOpenAI) -> Reply | None:
    """The reply of a server that always obeys a forced tool_choice, or None if none is forced."""
    choice = body.get("tool_choice")
    tools = body.get("tools") or []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
    elif choice == "required" and tools:
        name = (tools[0].get("function") or {}).get("name")
    else:
        return None
    call = {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "name": name,
        "arguments": server.forced_arguments,
    }
    return Reply(tool_calls=[call])


def _envelope(model: str, object_type: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": object_type,
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_scripted",
    }


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = [_whole_call(call) for call in reply.tool_calls]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.effective_finish_reason,
    }
    completion = _envelope(model, "chat.completion")
    completion["choices"] = [choice]
    if reply.usage is not None:
        completion["usage"] = reply.usage
    return completion


def _whole_call(call: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": call.get("arguments", "")}
    if call.get("name") is not None:
        function["name"] = call["name"]
    whole: dict[str, Any] = {"type": "function", "function": function}
    if call.get("id") is not None:
        whole["id"] = call["id"]
    return whole


def _chunk(
    envelope: dict[str, Any],
    delta: dict[str, Any],
    include_usage: bool,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    made = {**envelope, "choices": [choice]}
    if include_usage:
        made["usage"] = None  # OpenAI sends the key on every chunk, null until the last
    return made


def _delta_chunks(
    reply: Reply, envelope: dict[str, Any], include_usage: bool, repeat_names: bool = False
) -> list[dict[str, Any]]:
    """The role delta, then content deltas, then tool-call deltas interleaved by index."""

    def chunk(delta: dict[str, Any]) -> dict[str, Any]:
        return _chunk(envelope, delta, include_usage)

    role = {"role": "assistant", "content": None if reply.content is None else "", "refusal": None}
    chunks = [chunk(role)]
    for piece in re.findall(r"\s*\S+|\s+", reply.content or ""):
        chunks.append(chunk({"content": piece}))

    calls = list(reply.tool_calls)
    fragments = [_split(call.get("arguments", ""), reply.split_arguments) for call in calls]
    for round_number in range(max(1, reply.split_arguments)):
        for index, call in enumerate(calls):
            if round_number == 0:
                head: dict[str, Any] = {"index": index}
                if call.get("id") is not None:
                    head["id"] = call["id"]
                head["type"] = "function"
                function = {"arguments": ""}
                if call.get("name") is not None:
                    function = {"name": call["name"], "arguments": ""}
                head["function"] = function
                chunks.append(chunk({"tool_calls": [head]}))
            piece = fragments[index][round_number]
            if piece:
                fragment: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
                if repeat_names:
                    fragment = {
                        "index": index,
                        "id": call.get("id"),
                        "type": "function",
                        "function": {"name": call.get("name"), "arguments": piece},
                    }
                chunks.append(chunk({"tool_calls": [fragment]}))
    return chunks


def _quirky_index_chunks(
    reply: Reply,
    envelope: dict[str, Any],
    include_usage: bool,
    body: dict[str, Any],
    server: ScriptedOpenAI,
) -> list[dict[str, Any]]:
    """`_delta_chunks`' role and content deltas, then each call's deltas in turn, indexed as
    `server.call_indexes` says."""
    chunks = _delta_chunks(replace(reply, tool_calls=[]), envelope, include_usage)
    offered = [(tool.get("function") or {}).get("name") for tool in body.get("tools") or [] if tool]
    for place, call in enumerate(reply.tool_calls):
        pieces = _split(call.get("arguments", ""), reply.split_arguments)
        head: dict[str, Any] = {"id": call.get("id"), "type": "function"}
        head["function"] = {"name": call.get("name"), "arguments": pieces[0]}
        deltas = [head] + [{"function": {"arguments": piece}} for piece in pieces[1:] if piece]
        for number, delta in enumerate(deltas):
            if server.call_indexes == "all_zero":
                delta["index"] = 0
            elif server.call_indexes == "tool_position":
                first = number == 0 and call.get("name") in offered
                delta["index"] = offered.index(call.get("name")) if first else place
            if server.repeat_call_names and number:
                delta.update(id=call.get("id"), type="function")
                delta["function"]["name"] = call.get("name")
            chunks.append(_chunk(envelope, {"tool_calls": [delta]}, include_usage))
    return chunks


def _split(text: str, parts: int) -> list[str]:
    """`text` in `parts` consecutive pieces of near-equal length (some empty if it is short)."""
    parts = max(1, parts)
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for number in range(parts):
        end = start + size + (1 if number < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces
