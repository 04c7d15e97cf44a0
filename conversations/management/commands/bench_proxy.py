"""``manage.py bench_proxy``: what the recording proxy adds over calling the upstream directly.

DESIGN.md's bar: at most 1 ms added at p50 over calling the upstream directly (localhost
upstream, plain request), streamed chunks relayed as they arrive.

Three processes on this machine: a minimal upstream (a raw asyncio HTTP server answering a
fixed chat completion, plain or as a stream of chunks), the studio under Daphne (forked, as
`fcstudio.asgi` routes it: the proxy before Django), and this one, the client (one keep-alive
httpx connection to each). Each round sends the same request straight to the upstream and
through the proxy, alternately, so both see the same machine (each path with its own client, all
with the same settings); recording happens in the proxy's process as it would in production.
A third path, the floor, is a bare ASGI app in the same Daphne answering the same body without
any upstream: what Daphne itself costs, which no proxy code can take away. Reported per mode
(plain, streamed): p50 and p95 of the whole exchange and of the time to the first body chunk,
each direct and proxied, and the difference.
A throwaway team, provider and token are made in the configured database and deleted after.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import time
import uuid
from functools import partial
from typing import Any

import httpx2 as httpx
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from conversations.models import Provider
from conversations.providers import set_api_key
from conversations.tokens import create_token
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


def _application() -> Any:
    """The studio's application, and beside it the floor: the fixed completion answered by a
    bare ASGI app in the same Daphne, with no upstream behind it."""
    from channels.routing import get_default_application

    studio = get_default_application()

    async def application(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != FLOOR_PATH:
            return await studio(scope, receive, send)
        while (await receive()).get("more_body"):
            pass
        length = str(len(COMPLETION)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": COMPLETION})

    return application


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
        _, token = create_token(team, provider, name="bench")
        connections.close_all()
        studio = DaphneProcess("127.0.0.1", partial(_application))
        studio.start()
        try:
            if not studio.ready.wait(timeout=30):
                raise RuntimeError("Daphne did not start")
            proxy_base = f"http://127.0.0.1:{studio.port.value}/v1"
            results = self._measure(base, proxy_base, token, options)
        finally:
            studio.terminate()
            studio.join(timeout=10)
            upstream.terminate()
            upstream.join(timeout=10)
            team.delete()
        self._report(results, options["requests"])

    def _measure(
        self, base: str, proxy_base: str, token: str, options: dict[str, Any]
    ) -> dict[str, dict[str, list[tuple[float, float]]]]:
        results: dict[str, dict[str, list[tuple[float, float]]]] = {}
        message = {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}]}
        with (
            httpx.Client(timeout=10) as direct,
            httpx.Client(timeout=10) as proxied,
            httpx.Client(timeout=10) as floor,
        ):
            for mode in ("plain", "streamed"):
                body = json.dumps({**message, "stream": mode == "streamed"}).encode()
                headers = {"content-type": "application/json"}
                paths = {
                    "direct": (
                        direct,
                        f"{base}/chat/completions",
                        {**headers, "authorization": "Bearer sk-bench-upstream"},
                    ),
                    "proxy": (
                        proxied,
                        f"{proxy_base}/chat/completions",
                        {**headers, "authorization": f"Bearer {token}"},
                    ),
                    "floor": (floor, proxy_base.removesuffix("/v1") + FLOOR_PATH, headers),
                }
                seen: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
                for index in range(options["warmup"] + options["requests"]):
                    for name, (client, url, sent) in paths.items():
                        timing = _exchange(client, url, body, sent)
                        if index >= options["warmup"]:
                            seen[name].append(timing)
                results[mode] = seen
        return results

    def _report(self, results: dict[str, dict[str, list[tuple[float, float]]]], n: int) -> None:
        self.stdout.write(f"Recording proxy vs the same local upstream, {n} requests each (ms)")
        self.stdout.write(
            f"{'mode':9} {'measure':16} {'direct p50':>10} {'proxy p50':>10} {'added p50':>10}"
            f" {'direct p95':>10} {'proxy p95':>10} {'added p95':>10}"
        )
        verdict = ""
        for mode, seen in results.items():
            for label, position in (("whole exchange", 1), ("first chunk", 0)):
                direct = [t[position] for t in seen["direct"]]
                proxied = [t[position] for t in seen["proxy"]]
                d50, p50 = statistics.median(direct), statistics.median(proxied)
                d95, p95 = _percentile(direct, 0.95), _percentile(proxied, 0.95)
                self.stdout.write(
                    f"{mode:9} {label:16} {d50:10.3f} {p50:10.3f} {p50 - d50:10.3f}"
                    f" {d95:10.3f} {p95:10.3f} {p95 - d95:10.3f}"
                )
                if mode == "plain" and position == 1:
                    added = p50 - d50
                    met = "met" if added <= TARGET_ADDED_P50_MS else "NOT met"
                    verdict = (
                        f"Target: at most {TARGET_ADDED_P50_MS:g} ms added at p50 (plain): "
                        f"{added:.3f} ms, {met}."
                    )
        self.stdout.write(verdict)
        floor = [t[1] for t in results["plain"]["floor"]]
        direct = [t[1] for t in results["plain"]["direct"]]
        self.stdout.write(
            f"Floor: a bare ASGI app answering the same body through the same Daphne (no upstream, "
            f"no proxy code) takes {statistics.median(floor):.3f} ms at p50, "
            f"{statistics.median(floor) - statistics.median(direct):+.3f} ms against the direct "
            "upstream: the server's own part of anything the proxy adds."
        )
