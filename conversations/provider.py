"""The studio's client for OpenAI-compatible providers: one Chat Completions request in, one
`AssistantTurn` out.

It owns talking to a provider through the official `openai` SDK (streamed or not), reassembling
streamed text and parallel tool calls by `index`, noticing what is malformed in an answer
(`AssistantTurn.problems`), and turning every failure into a `ProviderError` whose message never
holds the API key. It must not import Django, persist anything or retry: the conversation loop
records the turn and decides whether to try again.

A stream that ends before any `finish_reason` (the connection dropped, or the server simply
stopped) is not an answer: `complete` raises `ProviderError(kind="malformed")` and hangs what did
arrive on `ProviderError.partial`, with a "truncated" problem, so the run can record it but never
act on half a tool call. `timeout_s` bounds the whole exchange, stream included: an answer not
complete by then is a "timeout", with what did arrive as `partial` when the stream had begun.

Every request goes through the studio's outbound policy (`ProviderConfig.policy`): the host is
resolved once, each address checked, the connection pinned to the checked address, redirects to
another host refused and every hop re-checked; a refused target is `ProviderError(kind="refused")`
and nothing is sent to it. Of a non-public (allowed) server's error, only an OpenAI-shaped error
message is shown, never the raw body. No error, problem or recorded text holds the API key or a
header secret, nor a fragment of one.

Public beyond `complete` and `list_models`, for code that reads answers it did not request
itself (the recording proxy relays raw bytes and reads a copy): `read_answer` (an answer's bytes,
plain or streamed), `read_completion` (a parsed plain answer), `StreamAssembly` (streamed chunks
into a turn), `error_message`/`error_text` (what an error body says, shortened) and
`redact`/`redact_turn` (secrets of a `ProviderConfig` kept out of text and turns).
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx2 as httpx
import openai
from openai import AsyncOpenAI

from tools_app.engine.implementations.http import (
    ADDRESS_PROBLEM_EXTENSION,
    MAX_REDIRECTS,
    HttpPolicy,
    OutboundRefused,
    PinnedTransport,
    refuse_redirect_elsewhere,
)
from tools_app.engine.secret_text import (
    REDACTED,
    header_secrets,
    longest_edge,
    redact_secrets,
)
from tools_app.engine.untrusted import clean_text

ProviderErrorKind = Literal[
    "connection",
    "timeout",
    "auth",
    "rate_limited",
    "server",
    "bad_request",
    "not_found",
    "malformed",
    "refused",  # the outbound policy would not connect to the target (nothing was sent)
]

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_NO_KEY = "none"  # keyless local servers still get a syntactically valid bearer header
# Beyond the headers every outbound request reserves: the studio sends the provider's key (or
# `_NO_KEY`) as Authorization on every request, so an extra header may not set it too.
PROVIDER_SETS_HEADERS = frozenset({"authorization"})
ERROR_TEXT_CHARS = 500  # of a provider's error text, at most this much is shown
# The client on its own reaches local model servers but never cloud metadata; the studio passes
# the policy its settings allow (fcstudio.outbound.provider_policy), stricter in production.
LOCAL_SERVERS_ALLOWED = HttpPolicy(allow_private=True)


@dataclass(frozen=True)
class ProviderConfig:
    base_url: str
    api_key: str = field(repr=False)
    model: str = ""
    timeout_s: float = 60.0  # bounds the whole exchange, connect to the last streamed chunk
    extra_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    policy: HttpPolicy = LOCAL_SERVERS_ALLOWED


@dataclass
class ToolCallDraft:
    """One tool call as accumulated from the stream (or read whole from a plain response)."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""  # verbatim, valid JSON or not: the engine judges it (INVALID_JSON)

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Delta:
    """One fragment as it arrives, for showing an answer live.

    `kind="text"`: `text` is the fragment, `accumulated` the content so far (`index` is 0).
    `kind="tool_call"`: `index` is the call's, `name`/`arguments` the fragments this chunk carried,
    `accumulated` the call's arguments so far, `call_id`/`call_name` its id and name so far.
    """

    kind: Literal["text", "tool_call"]
    index: int = 0
    text: str = ""
    name: str = ""
    arguments: str = ""
    accumulated: str = ""
    call_id: str = ""
    call_name: str = ""


@dataclass
class AssistantTurn:
    content: str | None
    tool_calls: list[ToolCallDraft] = field(default_factory=list)  # ordered by index
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    problems: list[str] = field(default_factory=list)
    first_token_s: float | None = None
    duration_s: float = 0.0

    def to_message(self) -> dict[str, Any]:
        """The assistant message exactly as the provider expects it back in `messages`."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        return message


class ProviderError(Exception):
    """A provider call that produced no usable turn. `message` never contains the API key."""

    def __init__(
        self,
        kind: ProviderErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        partial: AssistantTurn | None = None,
    ) -> None:
        message = clean_text(message)  # error bodies quote whatever the server sent
        super().__init__(message)
        self.kind: ProviderErrorKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.partial = partial  # what a stream delivered before it failed, if it started

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind!r}, status={self.status!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable, so that a Celery or channels worker can hand it back whole.
        keywords = {
            "status": self.status,
            "retry_after": self.retry_after,
            "partial": self.partial,
        }
        return (_rebuild_provider_error, (self.kind, self.message, keywords))


def _rebuild_provider_error(
    kind: ProviderErrorKind, message: str, keywords: dict[str, Any]
) -> ProviderError:
    return ProviderError(kind, message, **keywords)


OnDelta = Callable[[Delta], Awaitable[None] | None]


async def complete(
    config: ProviderConfig,
    request: dict[str, Any],
    *,
    stream: bool = True,
    on_delta: OnDelta | None = None,
) -> AssistantTurn:
    """Send one Chat Completions request and return the assistant's turn.

    `request` is the body without `stream` (messages, tools, tool_choice, parallel_tool_calls,
    temperature, ...), passed through as given; `model` comes from the config unless the request
    names one. Streamed, `on_delta` sees every text and tool-call fragment as it arrives.
    Streams ask for usage (`stream_options.include_usage`); an endpoint that refuses that option
    gets the request once more without it, so its tokens go uncounted rather than the run failing.
    """
    try:
        try:
            turn = await _complete(config, request, stream=stream, on_delta=on_delta, usage=stream)
        except ProviderError as exc:
            refused_option = exc.kind == "bad_request" and "stream_options" in exc.message
            if not (stream and refused_option and "stream_options" not in request):
                raise
            turn = await _complete(config, request, stream=True, on_delta=on_delta, usage=False)
    except ProviderError as exc:
        raise _redacted_error(exc, config) from None
    return redact_turn(turn, config)


async def _complete(
    config: ProviderConfig,
    request: dict[str, Any],
    *,
    stream: bool,
    on_delta: OnDelta | None,
    usage: bool,
) -> AssistantTurn:
    body = {key: value for key, value in request.items() if key not in ("stream", "model")}
    model = request.get("model") or config.model
    messages = body.pop("messages", [])
    stream_options = dict(body.pop("stream_options", None) or {})
    if stream and usage:  # stream_options is refused on plain requests
        body["stream_options"] = {**stream_options, "include_usage": True}
    elif stream and stream_options:
        body["stream_options"] = stream_options

    started = time.perf_counter()
    assembly = StreamAssembly(started, on_delta, shown=lambda text: _redact_live(text, config))
    try:
        async with asyncio.timeout(config.timeout_s), _client(config) as client:
            response: Any = await client.chat.completions.create(
                messages=messages, model=model, stream=stream, extra_body=body
            )
            if not stream:
                return read_completion(response, started)
            assembly.started = True
            async with response:
                async for chunk in response:
                    await assembly.add(chunk)
    except TimeoutError:
        partial = assembly.turn(truncated=True) if assembly.started else None
        raise ProviderError("timeout", _timeout_message(config), partial=partial) from None
    except (openai.OpenAIError, json.JSONDecodeError) as exc:
        if not assembly.started:
            raise _provider_error(exc, config, None) from None
        partial = assembly.turn(truncated=True)
        if isinstance(exc, openai.APIConnectionError) and not isinstance(
            exc, openai.APITimeoutError
        ):
            raise ProviderError(
                "malformed",
                "The connection dropped mid-answer, before any finish_reason: "
                "the answer is truncated.",
                partial=partial,
            ) from None
        raise _provider_error(exc, config, partial) from None
    turn = assembly.turn(truncated=assembly.finish_reason is None)
    if assembly.finish_reason is None:
        raise ProviderError(
            "malformed",
            "The stream ended before the model said why it stopped (no finish_reason): "
            "the answer is truncated.",
            partial=turn,
        )
    return turn


async def list_models(config: ProviderConfig) -> list[str]:
    """The ids of the models the provider offers, sorted."""
    try:
        async with asyncio.timeout(config.timeout_s), _client(config) as client:
            ids = [_field(model, "id") async for model in client.models.list()]
    except TimeoutError:
        raise ProviderError("timeout", _timeout_message(config)) from None
    except (openai.OpenAIError, json.JSONDecodeError) as exc:
        raise _provider_error(exc, config, None) from None
    except (AttributeError, TypeError):
        # the SDK's page parser trips over a 200 that is not a JSON list (text, a bare array)
        raise ProviderError("malformed", "The model list is not a JSON object.") from None
    if not all(isinstance(model_id, str) for model_id in ids):
        raise ProviderError("malformed", "The model list has entries without a string id.")
    return sorted(ids)


# -- the SDK client ------------------------------------------------------------------------------


def _client(config: ProviderConfig) -> AsyncOpenAI:
    # The SDK keeps the protocol; the HTTP client under it connects only where the policy allows,
    # ignores proxies from the environment (a proxy would defeat the pinning) and does not
    # follow a redirect to another host, which would carry the key and headers there.
    http_client = httpx.AsyncClient(
        transport=PinnedTransport(config.policy),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=config.timeout_s,
        event_hooks={"response": [refuse_redirect_elsewhere]},
    )
    client = AsyncOpenAI(
        api_key=config.api_key or _NO_KEY,
        base_url=config.base_url,
        timeout=config.timeout_s,
        max_retries=0,  # retrying is the studio's decision, made where the run is recorded
        default_headers=dict(config.extra_headers),
        http_client=http_client,
    )
    # The SDK fills these from the host's OPENAI_* environment; a user-configured provider must
    # never receive the host's organisation, project or admin key.
    client.organization = None
    client.project = None
    client.admin_api_key = None
    return client


# -- reading answers -----------------------------------------------------------------------------


class StreamAssembly:
    """Accumulates streamed chunks into a turn, calling `on_delta` on the way."""

    def __init__(
        self,
        started: float,
        on_delta: OnDelta | None,
        shown: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.started_at = started
        self.on_delta = on_delta
        self.shown = shown  # what a fragment may show live (secrets kept out)
        self.started = False  # the stream began: a failure from here on truncates an answer
        self.content: list[str] = []
        self.calls: dict[int, ToolCallDraft] = {}  # by number, in the order they started
        self._calls_by_id: dict[str, ToolCallDraft] = {}
        self._indexes_hold = True  # each call's `index` has been its number so far
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.first_token_s: float | None = None

    async def add(self, chunk: Any) -> None:
        usage = _usage(_field(chunk, "usage"))
        if usage is not None:
            self.usage = usage
        choices = _field(chunk, "choices") or []
        if not isinstance(choices, list):
            raise ProviderError("malformed", "A streamed chunk has choices that are not a list.")
        for choice in choices:
            if (_field(choice, "index") or 0) != 0:
                continue  # n > 1 is not a studio feature
            delta = _field(choice, "delta")
            if delta is not None:
                await self._add_delta(delta)
            reason = _field(choice, "finish_reason")
            if reason:
                self.finish_reason = clean_text(reason) if isinstance(reason, str) else reason

    async def _add_delta(self, delta: Any) -> None:
        text = _text(_field(delta, "content"))
        if text:
            self._first_token()
            self.content.append(text)
            accumulated = clean_text("".join(self.content))
            await self._emit(Delta("text", text=clean_text(text), accumulated=accumulated))
        fragments = _field(delta, "tool_calls") or []
        if not isinstance(fragments, list):
            raise ProviderError("malformed", "A streamed chunk has tool_calls that are not a list.")
        for fragment in fragments:
            function = _field(fragment, "function")
            name = _text(_field(function, "name"))
            arguments = _text(_field(function, "arguments"))
            call_id = _text(_field(fragment, "id"))
            call = self._call_for(_field(fragment, "index"), call_id, name)
            call.id = _merge(call.id, call_id)
            call.name = _merge(call.name, name)
            call.arguments += arguments
            if call.id:
                self._calls_by_id.setdefault(call.id, call)
            if not (name or arguments or call_id):
                continue
            self._first_token()
            await self._emit(
                Delta(
                    "tool_call",
                    index=call.index,
                    name=clean_text(name),
                    arguments=clean_text(arguments),
                    accumulated=clean_text(call.arguments),
                    call_id=clean_text(call.id),
                    call_name=clean_text(call.name),
                )
            )

    def _call_for(self, index: Any, call_id: str, name: str) -> ToolCallDraft:
        """The call a fragment belongs to. OpenAI numbers the calls by `index` and sends each
        call's id (and name) in its first fragment; some compatible servers number them
        otherwise, and then a fragment goes by its id, or continues the latest call:
        - every call at index 0 (Ollama), a new id there starting the next call;
        - no index at all (Gemini's compatible API, Xinference);
        - a call's first fragment at its tool's place in `tools`, the rest at the call's own
          (SGLang).
        Such servers send their calls one after another, so nothing is lost by going by the
        order; while indexes hold, interleaved calls are kept apart by them."""
        if isinstance(index, bool) or not isinstance(index, int):
            index = None
        call = None
        if self._indexes_hold and index is not None:
            # By index first while indexes hold: a model may repeat an id in one turn.
            call = self.calls.get(index)
            if call is not None and call_id and call.id and call.id != call_id:
                call = None  # a new call at an index already used
        elif call_id:
            call = self._calls_by_id.get(call_id)
        if call is None and not self._indexes_hold and not (call_id or name) and self.calls:
            call = self.calls[len(self.calls) - 1]
        if call is None:
            number = len(self.calls)
            self._indexes_hold = self._indexes_hold and index == number
            call = self.calls[number] = ToolCallDraft(index=number)
        return call

    def _first_token(self) -> None:
        if self.first_token_s is None:
            self.first_token_s = time.perf_counter() - self.started_at

    async def _emit(self, delta: Delta) -> None:
        if self.on_delta is None:
            return
        shown = self.shown
        result = self.on_delta(
            replace(
                delta,
                text=shown(delta.text),
                name=shown(delta.name),
                arguments=shown(delta.arguments),
                accumulated=shown(delta.accumulated),
                call_id=shown(delta.call_id),
                call_name=shown(delta.call_name),
            )
        )
        if inspect.isawaitable(result):
            await result

    def turn(self, *, truncated: bool) -> AssistantTurn:
        # Fragments are kept raw and cleaned whole: a surrogate pair split across two chunks
        # is one character again here, not two escapes.
        calls = [_cleaned(self.calls[index]) for index in sorted(self.calls)]
        turn = _turn(clean_text("".join(self.content)), calls, self.finish_reason, self.usage)
        if truncated:
            turn.problems.append("truncated: the stream ended without a finish_reason")
        turn.first_token_s = self.first_token_s
        turn.duration_s = time.perf_counter() - self.started_at
        return turn


def read_completion(completion: Any, started: float) -> AssistantTurn:
    choices = _field(completion, "choices")
    if not isinstance(choices, list) or not choices:
        raise ProviderError("malformed", "The provider's answer has no choices.")
    message = _field(choices[0], "message")
    if message is None:
        raise ProviderError("malformed", "The provider's answer has a choice without a message.")
    content = _field(message, "content")
    if content is not None and not isinstance(content, str):
        raise ProviderError("malformed", "The provider's answer has non-text content.")
    content = None if content is None else clean_text(content)
    whole_calls = _field(message, "tool_calls") or []
    if not isinstance(whole_calls, list):
        raise ProviderError(
            "malformed", "The provider's answer has tool_calls that are not a list."
        )
    calls, problems = [], []
    for position, call in enumerate(whole_calls):
        function = _field(call, "function")
        arguments = _field(function, "arguments")
        if isinstance(arguments, dict | list):
            # Some compatible servers send an object; OpenAI sends the JSON text.
            arguments = json.dumps(arguments)
            problems.append(f"arguments as object: tool call {position} sent JSON, not a string")
        draft = ToolCallDraft(
            index=position,
            id=_text(_field(call, "id")),
            name=_text(_field(function, "name")),
            arguments=_text(arguments),
        )
        calls.append(_cleaned(draft))
    finish_reason = _field(choices[0], "finish_reason")
    if isinstance(finish_reason, str):
        finish_reason = clean_text(finish_reason)
    turn = _turn(content, calls, finish_reason, _usage(_field(completion, "usage")), problems)
    elapsed = time.perf_counter() - started
    turn.first_token_s = elapsed  # the whole answer is the first token when nothing streams
    turn.duration_s = elapsed
    return turn


def read_answer(body: bytes, *, stream: bool) -> AssistantTurn:
    """A Chat Completions answer received as bytes (a JSON body, or the `data:` lines of a
    stream) read as `complete` reads one: the same checks and problems, the same
    `ProviderError`s (an error event mid-stream, a stream cut off before any `finish_reason`);
    invalid JSON raises `ValueError`. For answers relayed by someone else (the recording proxy);
    durations on the turn are those of the reading, not of the exchange. Synchronous: with no
    `on_delta`, a `StreamAssembly` never waits, so its coroutine is run to its end here
    without an event loop (none to create per answer in a recording thread)."""
    reading = _read_answer(body, stream=stream)
    try:
        reading.send(None)
    except StopIteration as finished:
        return finished.value
    reading.close()
    raise RuntimeError("reading an answer waited on something")


async def _read_answer(body: bytes, *, stream: bool) -> AssistantTurn:
    if not stream:
        return read_completion(json.loads(body), time.perf_counter())
    assembly = StreamAssembly(time.perf_counter(), None)
    for line in body.splitlines():
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        chunk = json.loads(data)
        if isinstance(chunk, dict) and chunk.get("error"):
            message = error_message(chunk) or "error event"
            raise ProviderError("server", f"The upstream reported an error mid-answer: {message}")
        await assembly.add(chunk)
    turn = assembly.turn(truncated=assembly.finish_reason is None)
    if assembly.finish_reason is None:
        raise ProviderError(
            "malformed", "The stream ended before any finish_reason: the answer is truncated."
        )
    return turn


def _turn(
    content: str | None,
    calls: list[ToolCallDraft],
    finish_reason: str | None,
    usage: dict[str, int] | None,
    problems: list[str] | None = None,
) -> AssistantTurn:
    """The turn both modes produce, with what is wrong in it listed as problems."""
    problems = list(problems or [])
    for call in calls:
        if not call.id:
            call.id = f"call_missing_{call.index}"
            problems.append(f"missing id: tool call {call.index} had no id; it is now {call.id}")
        if not call.name:
            problems.append(f"missing name: tool call {call.index} ({call.id}) has no name")
    if finish_reason == "length":
        problems.append(
            "length: the answer hit the token limit; its text or tool arguments may be cut off"
        )
    elif finish_reason == "content_filter":
        problems.append("content_filter: the provider withheld part of the answer")
    return AssistantTurn(
        content=content or None,  # "" and None mean the same to providers; keep one of them
        tool_calls=calls,
        finish_reason=finish_reason,
        usage=usage,
        problems=problems,
    )


def _cleaned(call: ToolCallDraft) -> ToolCallDraft:
    """The call with lone surrogates and NUL escaped (`tools_app.engine.untrusted`).

    In `arguments` the escape is JSON's own, so a lone surrogate still reaches the engine as
    one and is refused there as ``INVALID_JSON`` with the reason.
    """
    return ToolCallDraft(
        index=call.index,
        id=clean_text(call.id),
        name=clean_text(call.name),
        arguments=clean_text(call.arguments),
    )


def _usage(usage: Any) -> dict[str, int] | None:
    """The token counts a server sent, the ones it did not send left out; None when it sent
    none (llama-cpp-python's stream never does): unknown, which is not 0."""
    if usage is None:
        return None
    counts = {key: _field(usage, key) for key in _USAGE_KEYS}
    known = {key: n for key, n in counts.items() if _is_count(n)}
    if "total_tokens" not in known and {"prompt_tokens", "completion_tokens"} <= known.keys():
        known["total_tokens"] = known["prompt_tokens"] + known["completion_tokens"]
    return known or None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK object, or of the plain dict it holds when the shape was unexpected."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _text(value: Any) -> str:
    """A string field's value; anything else (absent, null, a number) counts as nothing."""
    return value if isinstance(value, str) else ""


def _merge(so_far: str, fragment: str) -> str:
    # OpenAI sends a call's id and name once; some compatible servers repeat them in every delta.
    if not fragment or fragment == so_far:
        return so_far
    return so_far + fragment


# -- failures ------------------------------------------------------------------------------------


def _provider_error(
    exc: Exception, config: ProviderConfig, partial: AssistantTurn | None
) -> ProviderError:
    kind, status, retry_after, message = _classify(exc, config)
    return ProviderError(
        kind,
        redact(message, config),
        status=status,
        retry_after=retry_after,
        partial=partial,
    )


def _timeout_message(config: ProviderConfig) -> str:
    return f"No complete answer within {config.timeout_s:g} s."


def _refusal(exc: BaseException) -> OutboundRefused | None:
    seen: BaseException | None = exc
    for _ in range(8):  # the SDK wraps the transport's exception once or twice
        if seen is None:
            return None
        if isinstance(seen, OutboundRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _classify(
    exc: Exception, config: ProviderConfig
) -> tuple[ProviderErrorKind, int | None, float | None, str]:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", None, None, _timeout_message(config)
    refusal = _refusal(exc)
    if refusal is not None:
        return "refused", None, None, f"The studio {refusal} (base URL {config.base_url})."
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause is not None and str(cause) else ""
        return "connection", None, None, f"Could not reach {config.base_url}{detail}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind: ProviderErrorKind
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            kind = "auth"
        elif isinstance(exc, openai.RateLimitError):
            kind = "rate_limited"
        elif isinstance(exc, openai.NotFoundError):
            kind = "not_found"
        elif status >= 500:
            kind = "server"
        else:
            kind = "bad_request"
        if exc.response.extensions.get(ADDRESS_PROBLEM_EXTENSION):
            # a non-public server may be anything: show its API error message, never its body
            text = error_message(exc.body)
        else:
            text = error_text(exc.body)
        message = f"The provider answered {status}" + (f": {text}" if text else ".")
        return kind, status, _retry_after(exc.response.headers), message
    if isinstance(exc, openai.APIResponseValidationError):
        return "malformed", exc.status_code, None, "The provider's answer has an unexpected shape."
    if isinstance(exc, openai.APIError):
        # An error event inside a stream: the provider failed after it had started answering.
        text = error_text(exc.body) or exc.message
        return "server", None, None, f"The provider reported an error mid-answer: {text}"
    if isinstance(exc, json.JSONDecodeError):
        return "malformed", None, None, f"The provider's answer is not valid JSON ({exc.msg})."
    if isinstance(exc, openai.OpenAIError):
        return "bad_request", None, None, f"The request could not be made: {exc}"
    return "malformed", None, None, f"The provider's answer has an unexpected shape ({exc})."


def error_message(body: object) -> str:
    """The message of an OpenAI-shaped error (`{"error": {"message": ...}}`), or ""."""
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            return _shortened(message.strip())
    return ""


def error_text(body: object) -> str:
    message = error_message(body)
    if message or isinstance(body, dict):
        return message or _shortened(json.dumps(body))
    if isinstance(body, str):
        return _shortened(body.strip())
    return ""


def _shortened(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_CHARS else text[:ERROR_TEXT_CHARS] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return None


# -- keeping secrets out ---------------------------------------------------------------------------


def _secrets(config: ProviderConfig) -> list[str]:
    # Header values may be secrets too (an Azure "api-key"); short ones are more likely words.
    found = [config.api_key] if len(config.api_key) >= 4 else []
    return found + header_secrets(config.extra_headers.values())


def redact(text: str, config: ProviderConfig) -> str:
    """`text` with every echo of a secret replaced (`secret_text.redact_secrets`): whole, any
    run of `SECRET_FRAGMENT_CHARS` of its characters, and its first or last
    `SECRET_EDGE_CHARS` or more beside an ellipsis."""
    return redact_secrets(text, _secrets(config))


def _redact_live(text: str, config: ProviderConfig) -> str:
    """`redact` for text still arriving: a tail that could be the start of a secret (the rest
    may come in the next fragment) is held back as redacted too. The recorded turn is redacted
    whole, so only what is shown live is ever cut short."""
    text = redact(text, config)
    for secret in _secrets(config):
        tail = longest_edge(text, len(text), secret, before=True)
        if tail:
            return text[: len(text) - tail] + REDACTED
    return text


def redact_turn(turn: AssistantTurn, config: ProviderConfig) -> AssistantTurn:
    """The turn with secrets kept out of what is recorded and shown: text, calls, problems."""
    if turn.content:
        turn.content = redact(turn.content, config)
    for call in turn.tool_calls:
        call.id = redact(call.id, config)
        call.name = redact(call.name, config)
        call.arguments = redact(call.arguments, config)
    turn.problems = [redact(problem, config) for problem in turn.problems]
    return turn


def _redacted_error(exc: ProviderError, config: ProviderConfig) -> ProviderError:
    partial = redact_turn(exc.partial, config) if exc.partial is not None else None
    return ProviderError(
        exc.kind,
        redact(exc.message, config),
        status=exc.status,
        retry_after=exc.retry_after,
        partial=partial,
    )
