"""``manage.py bench_proxy``: what the recording proxy adds over calling the upstream directly.

DESIGN.md's bar: at most 1 ms added at p50 over calling the upstream directly (localhost
upstream, plain request), streamed chunks relayed as they arrive.

Four processes on this machine: a minimal upstream (a raw asyncio HTTP server answering a
fixed chat completion, plain or as a stream of chunks), the proxy's own server (`serve_proxy`:
uvicorn, recording in its child process), the studio under Daphne (forked, as `fcstudio.asgi`
routes it, which answers `/v1/` too), and this one, the client (one keep-alive httpx connection
per path). Each round sends the same request straight to the upstream, through the proxy's
server and through the studio's Daphne, in turn, so all see the same machine; recording happens
as it would in production. The floors are a bare ASGI app in each server answering the same body
without any upstream: what the server itself costs, which no proxy code can take away. Reported
per mode (plain, streamed): p50 and p95 of the whole exchange and of the time to the first body
chunk for each path, and what each adds over the direct path. The target is judged on the
proxy's own server, the URL apps are given.
A throwaway team, provider and token are made in the configured database and deleted after.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
import socket
import statistics
import time
import uuid
from functools import partial
from typing import Any

import httpx2 as httpx
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from conversations.models import ModelCall, Provider
from conversations.providers import set_api_key
from conversations.tokens import create_token
from fcstudio.forking import renew_after_fork
from fcstudio.models import Team

TARGET_ADDED_P50_MS = 1.0
STREAM_CHUNKS = 20
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench upstream."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


STREAM = (
    b"".join(_chunk({"content": f"w{i} "}) for i in range(STREAM_CHUNKS))
    + _chunk({}, "stop")
    + b"data: [DONE]\n\n"
)


# -- the upstream, in its own process ----------------------------------------------------------


async def _serve_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if b'"stream": true' in body or b'"stream":true' in body:
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                for piece in STREAM.split(b"\n\n")[:-1]:
                    piece += b"\n\n"
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(COMPLETION), COMPLETION)
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _upstream_process(port_out: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_serve_upstream, "127.0.0.1", 0)
        port_out.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


FLOOR_PATH = "/bench-floor"


async def _floor(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    length = str(len(COMPLETION)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": COMPLETION})


def _with_floor(app: Any) -> Any:
    """`app`, and beside it the floor: the fixed completion answered by a bare ASGI app in the
    same server, with no upstream behind it."""

    async def application(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == FLOOR_PATH:
            return await _floor(scope, receive, send)
        return await app(scope, receive, send)

    return application


def _studio() -> Any:
    from channels.routing import get_default_application

    return _with_floor(get_default_application())


def _studio_after_fork() -> None:
    """The forked Daphne stops on SIGTERM as the `daphne` command does (its reactor's shutdown
    triggers run, so its recorder records what it was given before the process ends);
    `DaphneProcess` itself would just die."""
    from twisted.internet import reactor as installed

    reactor: Any = installed  # the asyncio reactor Daphne installed, typed as Twisted's default
    renew_after_fork()  # when the bench runs inside a test process, it may have started threads
    signal.signal(signal.SIGTERM, lambda *_: reactor.callFromThread(reactor.stop))


def _proxy_server(sock: socket.socket) -> None:
    from conversations import proxy
    from conversations.management.commands.serve_proxy import serve

    renew_after_fork()
    serve(sock=sock, application=_with_floor(proxy.application))


# -- measuring ---------------------------------------------------------------------------------


def _exchange(client: httpx.Client, url: str, body: bytes, headers: dict) -> tuple[float, float]:
    """(ms to the first body chunk, ms to the end) of one request."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, content=body, headers=headers) as response:
        for _ in response.iter_raw():
            if first is None:
                first = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    ended = time.perf_counter()
    return ((first or ended) - started) * 1000, (ended - started) * 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Benchmark the recording proxy against calling the same local upstream directly."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=400, help="per mode and path")
        parser.add_argument("--warmup", type=int, default=40)

    def handle(self, *args: Any, **options: Any) -> None:
        from daphne.testing import DaphneProcess

        receive_port, send_port = multiprocessing.Pipe(duplex=False)
        upstream = multiprocessing.Process(target=_upstream_process, args=(send_port,), daemon=True)
        upstream.start()
        port = receive_port.recv()
        base = f"http://127.0.0.1:{port}/v1"
        team = Team.objects.create(name="Proxy bench", slug=f"bench-proxy-{uuid.uuid4().hex[:8]}")
        provider = Provider(team=team, name="bench", base_url=base, timeout_s=10)
        set_api_key(provider, "sk-bench-upstream")
        provider.save()
        tokens = {
            path: create_token(team, provider, name=path)
            for path in ("proxy server", "studio /v1/")
        }
        connections.close_all()
        listening = socket.create_server(("127.0.0.1", 0), backlog=128)
        proxy_server = multiprocessing.Process(target=_proxy_server, args=(listening,), daemon=True)
        proxy_server.start()
        studio = DaphneProcess("127.0.0.1", partial(_studio), setup=_studio_after_fork)
        studio.start()
        try:
            if not studio.ready.wait(timeout=30):
                raise RuntimeError("Daphne did not start")
            studio_base = f"http://127.0.0.1:{studio.port.value}"
            server_base = f"http://127.0.0.1:{listening.getsockname()[1]}"
            plain_tokens = {path: plain for path, (_, plain) in tokens.items()}
            results = self._measure(base, server_base, studio_base, plain_tokens, options)
        finally:
            studio.terminate()  # SIGTERM: Daphne stops, its recorder finishes first
            studio.join(timeout=60)
            if studio.is_alive():
                studio.kill()
                studio.join()
            proxy_server.terminate()  # SIGTERM: uvicorn stops, its recorder finishes first
            proxy_server.join(timeout=60)
            if proxy_server.is_alive():
                proxy_server.kill()
                proxy_server.join()
            listening.close()
            upstream.terminate()
            upstream.join(timeout=10)
            recorded = {
                path: ModelCall.objects.filter(conversation__api_token=record).count()
                for path, (record, _) in tokens.items()
            }
            team.delete()
        self._report(results, options["requests"])
        sent = 2 * (options["warmup"] + options["requests"])
        self.stdout.write(
            f"Recorded: {recorded['proxy server']} of {sent} exchanges through the proxy's server "
            f"(in its child process), {recorded['studio /v1/']} of {sent} through the studio's "
            "/v1/ (in Daphne's process, finished when the bench stopped it)."
        )

    def _measure(
        self,
        base: str,
        server_base: str,
        studio_base: str,
        tokens: dict[str, str],
        options: dict[str, Any],
    ) -> dict[str, dict[str, list[tuple[float, float]]]]:
        results: dict[str, dict[str, list[tuple[float, float]]]] = {}
        message = {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}]}
        json_headers = {"content-type": "application/json"}
        paths = {
            "direct": (
                f"{base}/chat/completions",
                {**json_headers, "authorization": "Bearer sk-bench-upstream"},
            ),
            "proxy server": (
                f"{server_base}/v1/chat/completions",
                {**json_headers, "authorization": f"Bearer {tokens['proxy server']}"},
            ),
            "studio /v1/": (
                f"{studio_base}/v1/chat/completions",
                {**json_headers, "authorization": f"Bearer {tokens['studio /v1/']}"},
            ),
            "floor uvicorn": (server_base + FLOOR_PATH, json_headers),
            "floor daphne": (studio_base + FLOOR_PATH, json_headers),
        }
        clients = {name: httpx.Client(timeout=10) for name in paths}
        try:
            for mode in ("plain", "streamed"):
                body = json.dumps({**message, "stream": mode == "streamed"}).encode()
                seen: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
                for index in range(options["warmup"] + options["requests"]):
                    for name, (url, sent) in paths.items():
                        timing = _exchange(clients[name], url, body, sent)
                        if index >= options["warmup"]:
                            seen[name].append(timing)
                results[mode] = seen
        finally:
            for client in clients.values():
                client.close()
        return results

    def _report(self, results: dict[str, dict[str, list[tuple[float, float]]]], n: int) -> None:
        self.stdout.write(f"Recording proxy vs the same local upstream, {n} requests each (ms)")
        self.stdout.write(
            f"{'mode':9} {'path':14} {'measure':15} {'p50':>8} {'added p50':>10}"
            f" {'p95':>8} {'added p95':>10}"
        )
        verdict = ""
        for mode, seen in results.items():
            for label, position in (("whole exchange", 1), ("first chunk", 0)):
                direct = [t[position] for t in seen["direct"]]
                d50, d95 = statistics.median(direct), _percentile(direct, 0.95)
                for path, timings in seen.items():
                    values = [t[position] for t in timings]
                    p50, p95 = statistics.median(values), _percentile(values, 0.95)
                    added = "" if path == "direct" else f"{p50 - d50:+10.3f}"
                    added95 = "" if path == "direct" else f"{p95 - d95:+10.3f}"
                    self.stdout.write(
                        f"{mode:9} {path:14} {label:15} {p50:8.3f} {added:>10}"
                        f" {p95:8.3f} {added95:>10}"
                    )
                    if mode == "plain" and position == 1 and path == "proxy server":
                        met = "met" if p50 - d50 <= TARGET_ADDED_P50_MS else "NOT met"
                        verdict = (
                            f"Target: at most {TARGET_ADDED_P50_MS:g} ms added at p50 (plain, "
                            f"through serve_proxy): {p50 - d50:.3f} ms, {met}."
                        )
        self.stdout.write(verdict)
        self.stdout.write(
            "The floors are a bare ASGI app in each server answering the same body (no upstream, "
            "no proxy code): the server's own part of what its path adds."
        )
