"""The recording proxy: an OpenAI-compatible `/v1/` that forwards to a team's provider and
records every exchange as a recorded conversation.

An app changes only its base URL and key (a studio API token, `conversations.tokens`). A chat
request is forwarded unchanged (its bytes, the model as named), with the provider's key and
headers in place of the token, through the provider's outbound policy (`fcstudio.outbound`,
checked on every connection the proxy's own upstream client opens: `conversations.upstream`);
the answer comes back as it arrives, chunk by chunk, with the upstream's status and body,
errors included. What the proxy itself refuses (no or a bad token, a body that
is not JSON or too large, an upstream it cannot reach) is an OpenAI-style error object.

It is a plain ASGI app routed before Django (`fcstudio.asgi`): no session, CSRF, template or
auth middleware, one shared upstream client per event loop reusing connections, and no
database on the way of a response once a token is known (tokens are cached briefly). Recording
happens after the response is sent, in one background task per process fed through a bounded
queue (`Recorder`): parsing the copy of the answer and writing it (`recording.record_exchange`)
never delays a client, and a full queue drops the record, never the response. A client that goes
away mid-answer cancels the upstream request, and that exchange is not recorded.

Limits and the trail: a token's traffic is the team's, so a chat request counts toward the
team's `FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR` like a run's model call (`quotas`), and once it is
used up the proxy answers 429 (`quota_exceeded`) without forwarding. With no quota (0) nothing
is counted; with one, each process keeps the team's count for the token cache's lifetime and
adds the requests it lets through meanwhile, so a request costs a query only every few seconds
(a count that may lag by that much and by the recording queue, never by more). Every recorded
exchange is an audit event (`proxy.exchange`) with the token ("token:<name>") as its actor,
written by the recording task. The tool limiter does not apply: the proxy runs no tools (the
app runs its own and the proxy only records their results), so there is nothing to key by token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from fcstudio import audit
from fcstudio.secrets import SecretError
from tools_app.engine.implementations.http import HttpPolicy, OutboundRefused

from . import provider as provider_client
from . import quotas, recording, tokens
from .models import ApiToken, Provider
from .provider import ProviderConfig, ProviderError
from .providers import provider_config
from .recorder_process import Dropped, RecorderProcess
from .upstream import UpstreamClient, UpstreamResponse

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = "/v1/"
CONVERSATION_HEADER = b"x-fcstudio-conversation"
# Beyond this much answer, the copy kept for the record stops (the client still gets it all).
MAX_RECORDED_ANSWER_BYTES = 8 * 1024 * 1024
# Not forwarded upstream: hop-by-hop headers, the client's credentials, and the host's.
_REQUEST_HEADERS_DROPPED = frozenset(
    {
        b"host",
        b"authorization",
        b"cookie",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"accept-encoding",
        b"openai-organization",
        b"openai-project",
        CONVERSATION_HEADER,
    }
)
_RESPONSE_HEADERS_DROPPED = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
        b"set-cookie",
    }
)


# -- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """What a live token allows: forwarding to its provider, recorded for its team."""

    token_id: int
    token_name: str
    team_id: int
    provider_id: int
    config: ProviderConfig
    # The provider's Authorization (its key) and extra headers: never in a repr.
    headers: tuple[tuple[bytes, bytes], ...] = field(repr=False)
    # Parsed once per grant, not per request.
    chat_url: httpx.URL
    models_url: httpx.URL


_grants: dict[str, tuple[float, Grant | None]] = {}


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
@receiver(post_save, sender=Provider)
@receiver(post_delete, sender=Provider)
def forget_tokens(**kwargs: Any) -> None:
    """A token revoked or a provider changed in this process counts at once."""
    _grants.clear()
    _usage.clear()


def _grant_for(token: str) -> Grant | None:
    record = tokens.find_token(token)
    if record is None:
        return None
    try:
        config = provider_config(record.provider)
    except SecretError:
        logger.warning("API token %s: its provider's key cannot be decrypted", record.pk)
        return None
    headers = {**config.extra_headers, "Authorization": f"Bearer {config.api_key}"}
    base = config.base_url.rstrip("/")
    return Grant(
        record.pk,
        record.name,
        record.team_id,
        record.provider_id,
        config,
        tuple((name.encode(), value.encode()) for name, value in headers.items()),
        httpx.URL(base + "/chat/completions"),
        httpx.URL(base + "/models"),
    )


async def grant(token: str) -> Grant | None:
    now = time.monotonic()
    cached = _grants.get(token)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = await sync_to_async(_grant_for)(token)
    ttl = settings.FCSTUDIO_PROXY_TOKEN_CACHE_SECONDS
    if ttl > 0:
        if len(_grants) > 10_000:  # a flood of made-up tokens must not grow this forever
            _grants.clear()
        _grants[token] = (now + ttl, found)
    return found


# -- the team's model-call quota -------------------------------------------------------------


@dataclass
class _Usage:
    expires: float
    used: int
    oldest: datetime | None


_usage: dict[int, _Usage] = {}


async def quota_refusal(team_id: int) -> tuple[str, int | None] | None:
    """(why, seconds until a call frees up) when the team's model calls are used up, or None;
    otherwise the request is counted as one more of the team's calls."""
    limit = settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR
    if limit <= 0:
        return None
    now = time.monotonic()
    usage = _usage.get(team_id)
    if usage is None or usage.expires <= now:
        used, oldest = await sync_to_async(quotas.model_calls_used)(team_id)
        usage = _Usage(now + settings.FCSTUDIO_PROXY_TOKEN_CACHE_SECONDS, used, oldest)
        if len(_usage) > 10_000:
            _usage.clear()
        _usage[team_id] = usage
    if usage.used >= limit:
        retry = None
        if usage.oldest is not None:
            left = (usage.oldest + quotas.WINDOW - datetime.now(UTC)).total_seconds()
            retry = max(1, int(left) + 1)
        return quotas.proxy_refusal(limit, usage.oldest), retry
    usage.used += 1  # counted here until a fresh count finds it recorded
    return None


# -- the upstream client ---------------------------------------------------------------------

_clients: dict[tuple[asyncio.AbstractEventLoop, HttpPolicy], UpstreamClient] = {}


def upstream_client(policy: HttpPolicy) -> UpstreamClient:
    """The loop's shared client for `policy`: connections to upstreams are kept and reused.

    It is the proxy's own (`conversations.upstream`), not httpx's: the proxy relays bytes and
    wants none of a general client's layers, which cost about half a millisecond a request on a
    local upstream. It enforces the same outbound policy, on every connection it opens."""
    loop = asyncio.get_running_loop()
    client = _clients.get((loop, policy))
    if client is None:
        for key in [key for key in _clients if key[0].is_closed()]:
            del _clients[key]
        client = _clients[(loop, policy)] = UpstreamClient(policy)
    return client


# -- recording, off the response's path -----------------------------------------------------


@dataclass
class Exchange:
    """A finished exchange waiting to be recorded: the request and a copy of the answer."""

    grant: Grant
    # The request parsed, or None: parsed from `sent` where it is recorded. The proxy does not
    # keep its parse while the answer streams and the exchange waits in the queue (a small
    # body parses into far more memory than its bytes: 8 MiB of `{}` is about 190 MiB).
    request: dict[str, Any] | None
    stream: bool
    status: int
    started_at: datetime
    duration_ms: float
    first_chunk_ms: float | None
    body: bytes
    conversation_key: str
    failure: tuple[str, str] | None = None  # the proxy's own: the upstream unreachable, cut off
    # The request's bytes as they came: what crosses to a recording process, cheaper to send
    # than the parsed messages of a long conversation.
    sent: bytes = b""

    def parsed_request(self) -> dict[str, Any]:
        if self.request is None:
            self.request = json.loads(self.sent)  # a JSON object: the proxy checked it
        return self.request


# A stop waits at most this long for the recorder (serve_proxy's child process: the same).
STOP_WAIT_S = 30.0


class Recorder:
    """One per event loop: a bounded queue of exchanges and a task that records them. Which
    conversation an exchange joins is decided in the database (`recording.record_exchange`), so
    several processes (or a queue that lags) may record one agent loop in any order."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Exchange] = asyncio.Queue(maxsize=size)
        self.task: asyncio.Task[None] | None = None
        self._dropped = Dropped()
        self.unrecorded = 0  # submitted and not yet recorded (or given up on)

    @property
    def dropped(self) -> int:
        return self._dropped.count

    def submit(self, exchange: Exchange) -> None:
        try:
            self.queue.put_nowait(exchange)
        except asyncio.QueueFull:
            self._dropped.one()
            return
        self.unrecorded += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < RECORD_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await sync_to_async(record_all, thread_sensitive=False)(batch)
            except Exception:  # the batch's transaction itself failed (the database went away)
                logger.exception("%d proxied exchanges could not be recorded", len(batch))
            finally:
                self.unrecorded -= len(batch)
                for _ in batch:
                    self.queue.task_done()

    async def drain(self) -> None:
        """Wait until every exchange submitted so far is recorded (for tests and shutdown)."""
        await self.queue.join()

    async def finish(self, timeout: float = STOP_WAIT_S) -> None:
        """At a stop: record what is waiting, for at most `timeout` s."""
        if self.unrecorded:
            logger.info("stopping: recording %d proxied exchange(s) first", self.unrecorded)
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            logger.warning(
                "stopped with %d proxied exchange(s) not recorded (waited %g s)",
                self.unrecorded,
                timeout,
            )


def _finish_before_daphne_stops(found: Recorder) -> None:
    """Under Daphne (Twisted's reactor on this event loop), a stop (SIGINT, SIGTERM) ends the
    loop once the reactor's "before shutdown" triggers are done; one of them lets `found`
    record what it was given first, so an exchange answered is an exchange recorded. Elsewhere
    (a test's loop, uvicorn's, whose stop is `serve_proxy`'s to handle) this does nothing."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if getattr(reactor, "_asyncioEventloop", None) is not asyncio.get_running_loop():
        return
    from twisted.internet import defer

    def finish() -> defer.Deferred[None]:
        return defer.Deferred.fromFuture(asyncio.ensure_future(found.finish()))

    reactor.addSystemEventTrigger("before", "shutdown", finish)  # type: ignore[union-attr]


_recorders: dict[asyncio.AbstractEventLoop, Recorder | RecorderProcess] = {}
_recorder_kind: type[Recorder] | type[RecorderProcess] = Recorder


def recorder() -> Recorder | RecorderProcess:
    """The loop's recorder: a task of this process, or a child process once
    `record_in_a_child_process` was called (the proxy's own server does)."""
    loop = asyncio.get_running_loop()
    found = _recorders.get(loop)
    if found is None:
        for key in [key for key in _recorders if key.is_closed()]:
            gone = _recorders.pop(key)
            if isinstance(gone, RecorderProcess):
                gone.close()  # its child records what it was sent, then ends
        found = _recorders[loop] = _recorder_kind(settings.FCSTUDIO_PROXY_RECORD_QUEUE)
        if isinstance(found, Recorder):
            _finish_before_daphne_stops(found)
    return found


def record_in_a_child_process() -> None:
    """From now on, each event loop's exchanges are recorded by a child process
    (`conversations.recorder_process`), none of it in this one."""
    global _recorder_kind
    _recorder_kind = RecorderProcess


def close_recorders() -> None:
    """Let the child processes record what they were sent, and end them."""
    for found in _recorders.values():
        if isinstance(found, RecorderProcess):
            found.close()
    _recorders.clear()


# What has queued up is recorded in one hop to a worker thread, at most this many at a time.
RECORD_BATCH = 50


def record_all(exchanges: list[Exchange]) -> None:
    """Record a batch in one transaction (one commit, not two an exchange), each exchange with
    its audit event in a savepoint of its own: one that fails is left out whole, the others
    are kept. Each exchange locks its token's row until the commit, so the batch goes token
    by token (in id order; each token's exchanges in the order they came): two processes then
    take the same tokens' locks in the same order and never deadlock."""
    with transaction.atomic():
        for exchange in sorted(exchanges, key=lambda exchange: exchange.grant.token_id):
            try:
                with transaction.atomic():
                    record(exchange)
            except Exception:
                logger.exception("a proxied exchange could not be recorded")


def record(exchange: Exchange) -> None:
    """Read the copy of the answer and write the exchange (in a worker thread)."""
    turn, error = None, exchange.failure
    if error is None:
        if exchange.status >= 400:
            error = (_error_kind(exchange.status), _upstream_error_text(exchange))
        else:
            try:
                turn = provider_client.read_answer(exchange.body, stream=exchange.stream)
            except ProviderError as exc:
                error = (exc.kind, exc.message)
            except (ValueError, RecursionError):
                error = ("malformed", "The upstream's answer is not valid JSON.")
    if turn is not None:
        turn = provider_client.redact_turn(turn, exchange.grant.config)
    if error is not None:
        error = (error[0], provider_client.redact(error[1], exchange.grant.config))
    call = recording.record_exchange(
        recording.RecordedExchange(
            team_id=exchange.grant.team_id,
            token_id=exchange.grant.token_id,
            provider_id=exchange.grant.provider_id,
            request=exchange.parsed_request(),
            started_at=exchange.started_at,
            duration_ms=exchange.duration_ms,
            first_token_ms=exchange.first_chunk_ms,
            turn=turn,
            error=error,
            conversation_key=exchange.conversation_key,
        )
    )
    details: dict[str, Any] = {
        "conversation": call.conversation_id,
        "model": exchange.parsed_request().get("model"),
        "stream": exchange.stream,
        "status": exchange.status,
        "error": error[0] if error is not None else "",
    }
    actor = f"token:{exchange.grant.token_name}"
    audit.record(exchange.grant.team_id, audit.Kind.PROXY_EXCHANGE, actor, call, details)


def _error_kind(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status == 404:
        return "not_found"
    return "server" if status >= 500 else "bad_request"


def _upstream_error_text(exchange: Exchange) -> str:
    try:
        body: Any = json.loads(exchange.body)
    except (ValueError, RecursionError):
        body = exchange.body.decode("utf-8", "replace")
    text = provider_client.error_text(body)
    return f"The provider answered {exchange.status}" + (f": {text}" if text else ".")


# -- the ASGI app ----------------------------------------------------------------------------


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """`/v1/chat/completions` (POST) and `/v1/models` (GET); anything else is a 404."""
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if path == "/v1/chat/completions":
        if method != "POST":
            return await _error(send, 405, "Use POST.", "invalid_request_error", "method")
        return await _chat(scope, receive, send)
    if path == "/v1/models":
        if method != "GET":
            return await _error(send, 405, "Use GET.", "invalid_request_error", "method")
        return await _models(scope, receive, send)
    await _error(send, 404, f"Unknown path {path!r}.", "invalid_request_error", "not_found")


async def _authorised(scope: Scope, send: Send) -> Grant | None:
    header = _header(scope, b"authorization")
    scheme, _, token = header.partition(" ")
    found = await grant(token.strip()) if scheme.lower() == "bearer" and token else None
    if found is None:
        await _error(
            send,
            401,
            "Incorrect or revoked API key: use a studio API token (fcs_…) as the key.",
            "invalid_request_error",
            "invalid_api_key",
        )
    return found


async def _models(scope: Scope, receive: Receive, send: Send) -> None:
    found = await _authorised(scope, send)
    if found is None:
        return
    await _forward(scope, receive, send, found, "GET", found.models_url, b"", on_done=None)


async def _chat(scope: Scope, receive: Receive, send: Send) -> None:
    found = await _authorised(scope, send)
    if found is None:
        return
    refused = await quota_refusal(found.team_id)
    if refused is not None:
        message, retry = refused
        headers = [] if retry is None else [(b"retry-after", str(retry).encode())]
        return await _error(
            send, 429, message, "rate_limit_error", "quota_exceeded", headers=headers
        )
    body = await _read_body(scope, receive, send)
    if body is None:
        return
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        request = None
    if not isinstance(request, dict):
        return await _error(
            send,
            400,
            "The request body is not a JSON object.",
            "invalid_request_error",
            "invalid_json",
        )
    key = _header(scope, CONVERSATION_HEADER)[:200]
    stream = request.get("stream") is True
    del request  # parsed again where it is recorded (`Exchange.request`)

    def recorded(exchange: Exchange) -> None:
        recorder().submit(exchange)

    await _forward(
        scope,
        receive,
        send,
        found,
        "POST",
        found.chat_url,
        body,
        on_done=recorded,
        stream=stream,
        key=key,
    )


async def _read_body(scope: Scope, receive: Receive, send: Send) -> bytes | None:
    cap = settings.FCSTUDIO_PROXY_MAX_BODY_BYTES
    declared = _header(scope, b"content-length")
    too_large = (
        f"The request body is larger than this proxy accepts ({cap} bytes; "
        "FCSTUDIO_PROXY_MAX_BODY_BYTES)."
    )
    if declared.isdigit() and int(declared) > cap:
        await _error(send, 413, too_large, "invalid_request_error", "request_too_large")
        return None
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            await _error(send, 413, too_large, "invalid_request_error", "request_too_large")
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _forward(
    scope: Scope,
    receive: Receive,
    send: Send,
    found: Grant,
    method: str,
    url: httpx.URL,
    body: bytes,
    *,
    on_done: Callable[[Exchange], None] | None,
    stream: bool = False,
    key: str = "",
) -> None:
    """Send the request upstream and relay the answer as it comes, while watching for the
    client to leave (which cancels the upstream request: nothing is recorded then). The relay
    runs in the request's own task; only the watcher is a task of its own."""
    relaying = asyncio.current_task()
    assert relaying is not None
    left = False

    async def watch() -> None:
        nonlocal left
        while (await receive())["type"] != "http.disconnect":
            pass
        left = True
        relaying.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await _relay(scope, send, found, method, url, body, on_done, stream, key)
    except asyncio.CancelledError:
        if not left:
            raise
        relaying.uncancel()  # the client left: its answer was cut off upstream too
    finally:
        watcher.cancel()


async def _relay(
    scope: Scope,
    send: Send,
    found: Grant,
    method: str,
    url: httpx.URL,
    body: bytes,
    on_done: Callable[[Exchange], None] | None,
    stream: bool,
    key: str,
) -> None:
    client = upstream_client(found.config.policy)
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in _REQUEST_HEADERS_DROPPED and not name.startswith(b"x-fcstudio-")
    ]
    headers += [(b"accept-encoding", b"identity"), *found.headers]
    started_at = datetime.now(UTC)
    started = time.perf_counter()

    def done(status: int, copy: bytes, first: float | None, failure: Any = None) -> None:
        if on_done is None:
            return
        on_done(
            Exchange(
                grant=found,
                request=None,
                stream=stream,
                status=status,
                started_at=started_at,
                duration_ms=(time.perf_counter() - started) * 1000,
                first_chunk_ms=None if first is None else first * 1000,
                body=copy,
                conversation_key=key,
                failure=failure,
                sent=body,
            )
        )

    try:
        response = await client.request(
            method.encode(),
            url,
            headers,
            body if method == "POST" else b"",
            found.config.timeout_s,
        )
    except OutboundRefused as exc:
        message = f"The studio {exc} (base URL {found.config.base_url})."
        done(502, b"", None, ("refused", message))
        return await _error(send, 502, message, "upstream_error", "upstream_refused")
    except httpx.TimeoutException:
        message = f"The upstream did not answer within {found.config.timeout_s:g} s."
        done(504, b"", None, ("timeout", message))
        return await _error(send, 504, message, "upstream_error", "upstream_timeout")
    except httpx.HTTPError as exc:
        message = f"Could not reach the upstream at {found.config.base_url}: {exc}"
        message = provider_client.redact(message, found.config)
        done(502, b"", None, ("connection", message))
        return await _error(send, 502, message, "upstream_error", "upstream_unreachable")
    if response.status_code >= 400:
        return await _relay_refusal(send, response, found.config, started, done)
    copy: list[bytes] = []
    kept = 0
    first: float | None = None
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (name, value)
                    for name, value in response.headers
                    if name not in _RESPONSE_HEADERS_DROPPED
                ],
            }
        )
        # A stream's pieces go out as they come. A plain answer's piece waits for the next one
        # (usually the end): its last piece then closes the response in the same message.
        held: bytes | None = None
        streaming = stream or response.header(b"content-type").startswith("text/event-stream")
        try:
            async for piece in response.aiter_raw():
                if first is None:
                    first = time.perf_counter() - started
                if kept < MAX_RECORDED_ANSWER_BYTES:
                    copy.append(piece)
                    kept += len(piece)
                if streaming:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                    continue
                if held is not None:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = piece
        except httpx.HTTPError as exc:
            await send({"type": "http.response.body", "body": held or b"", "more_body": False})
            done(response.status_code, b"", first, ("malformed", f"The upstream broke off: {exc}"))
            return
    finally:
        await response.aclose()
    await send({"type": "http.response.body", "body": held or b"", "more_body": False})
    if kept >= MAX_RECORDED_ANSWER_BYTES:
        too_long = ("malformed", "The answer was too long to record.")
        done(response.status_code, b"", first, too_long)
    else:
        done(response.status_code, b"".join(copy), first)


# An upstream's refusal is read whole before it is relayed, at most this much of it.
MAX_REFUSAL_BYTES = 64 * 1024


async def _relay_refusal(
    send: Send,
    response: UpstreamResponse,
    config: ProviderConfig,
    started: float,
    done: Callable[..., None],
) -> None:
    """An upstream's error comes back with its status, headers and body, the body read whole
    first (refusals are short; beyond `MAX_REFUSAL_BYTES` it is cut) so that any echo of the
    provider's key is redacted: careless servers answer "Incorrect API key provided: sk-…",
    and the token's holder must never learn the key the studio forwards with."""
    parts: list[bytes] = []
    size = 0
    first: float | None = None
    try:
        async for piece in response.aiter_raw():
            if first is None:
                first = time.perf_counter() - started
            parts.append(piece)
            size += len(piece)
            if size >= MAX_REFUSAL_BYTES:
                break
    except httpx.HTTPError:
        pass  # what came is relayed; the status says what went wrong
    finally:
        await response.aclose()
    body = b"".join(parts)[:MAX_REFUSAL_BYTES]
    text = body.decode("utf-8", "surrogateescape")
    shown = await asyncio.to_thread(provider_client.redact, text, config)  # off the loop
    if shown != text:
        body = shown.encode("utf-8", "surrogateescape")
    headers = [
        (name, value)
        for name, value in response.headers
        if name not in _RESPONSE_HEADERS_DROPPED and name != b"content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    done(response.status_code, body, first)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


async def _error(
    send: Send,
    status: int,
    message: str,
    kind: str,
    code: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class PathRouter:
    """Sends `/v1/` to the proxy and every other HTTP request to Django."""

    def __init__(self, django: Callable[..., Awaitable[None]]) -> None:
        self.django = django

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith(PREFIX):
            await application(scope, receive, send)
        else:
            await self.django(scope, receive, send)
