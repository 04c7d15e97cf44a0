"""``manage.py bench_live``: how long a finished call takes to reach a watching client.

DESIGN.md's bar: an event reaches the browser within 50 ms (p95) of the call finishing, on one
machine, and a 200-call batch renders without stalling. This measures exactly that path:
``live.publish`` of a ``calls`` event (as the runner sends one per engine event) → channel layer
→ ``ConversationConsumer`` renders the gantt partial → websocket frame → the client has it.

By default the consumer runs in a real Daphne server started in this process (in a thread, on
127.0.0.1 and a free port) and the client is a real websocket client over TCP, authenticated
with a session cookie like a browser. The publisher runs on the server's event loop, as the
inline dispatcher's runner does, so the in-memory channel layer works without Redis. The client is
a minimal RFC 6455 implementation below because the ``websockets`` package is not a dependency;
``--transport communicator`` instead drives the consumer through Channels' in-process
``WebsocketCommunicator`` (no socket, no Daphne), which isolates render cost from transport.

Events are sent one at a time (publish, wait for the frame, next), so each latency is one event's
own, not a queue's; events/s is the resulting sequential rate. The first events warm template
caches and are not counted. The command creates a throwaway team, user, session and conversation
in the configured database and deletes them afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
import math
import os
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from conversations import live
from conversations.models import Conversation
from conversations.view_models import LiveRow
from fcstudio.models import Membership, Role, Team

TARGET_P95_MS = 50.0
SMALL_BATCH = 8
LARGE_BATCH = 200
WARMUP_EVENTS = 10
FRAME_TIMEOUT_S = 10.0
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


# -- what is sent -------------------------------------------------------------------------------


def calls_event(size: int, sequence: int) -> live.RoundCalls:
    """A ``calls`` event as the runner publishes it mid-batch: some bars done, the rest running."""
    done = sequence % size + 1
    rows = []
    for index in range(size):
        started = round(index * 0.25, 3)
        finished = round(started + 100 + (index % 7) * 3, 3) if index < done else None
        row = LiveRow(
            tool_name="get_weather",
            tool_call_id=f"call_{index:03d}",
            status="ok" if finished is not None else "running",
            attempts=1,
            queued_ms=0.0,
            started_ms=started,
            finished_ms=finished,
        )
        rows.append(row)
    now_ms = max([r.finished_ms or 0.0 for r in rows] + [1.0])
    return live.RoundCalls(round=0, batch_id=0, now_ms=now_ms, calls=tuple(rows))


@dataclass
class Phase:
    calls_per_event: int
    latencies_ms: list[float]
    elapsed_s: float
    frame_bytes: int

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        count = len(ordered)
        return {
            "calls_per_event": self.calls_per_event,
            "events": count,
            "p50_ms": round(percentile(ordered, 50), 3),
            "p95_ms": round(percentile(ordered, 95), 3),
            "p99_ms": round(percentile(ordered, 99), 3),
            "max_ms": round(ordered[-1], 3),
            "mean_ms": round(sum(ordered) / count, 3),
            "events_per_s": round(count / self.elapsed_s, 1),
            "frame_bytes": self.frame_bytes,
        }


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (no interpolation: a real observation)."""
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# -- a minimal websocket client -----------------------------------------------------------------


class WebSocketClosed(Exception):
    pass


class MiniWebSocket:
    """Just enough RFC 6455 for a client that reads text frames: handshake, masking, fragments,
    ping/pong, close. A stand-in for the browser, so the TCP and framing costs are in the figure.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, host: str, port: int, path: str, headers: dict[str, str]
    ) -> MiniWebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), FRAME_TIMEOUT_S)
        status, *fields = head.decode("latin-1").split("\r\n")
        if " 101 " not in f"{status} ":
            writer.close()
            raise WebSocketClosed(f"handshake refused: {status}")
        accept = hashlib.sha1((key + WS_GUID).encode()).digest()
        expected = base64.b64encode(accept).decode()
        received = {
            name.strip().lower(): value.strip()
            for name, _, value in (f.partition(":") for f in fields if f)
        }
        if received.get("sec-websocket-accept") != expected:
            writer.close()
            raise WebSocketClosed("handshake: bad Sec-WebSocket-Accept")
        return cls(reader, writer)

    async def recv(self) -> str:
        """The next whole text message (continuation frames joined, pings answered)."""
        parts: list[bytes] = []
        while True:
            first, second = await self.reader.readexactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if second & 0x80 else b""
            payload = await self.reader.readexactly(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise WebSocketClosed(f"closed by the server: {payload[:2].hex()}")
            if opcode == 0x9:
                await self._send(0xA, payload)
                continue
            if opcode in (0x1, 0x2, 0x0):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode("utf-8")

    async def close(self) -> None:
        try:
            await self._send(0x8, struct.pack("!H", 1000))
            # Wait briefly for the server's close frame so the consumer disconnects cleanly.
            await asyncio.wait_for(self._drain_until_close(), 2)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, WebSocketClosed):
            pass
        finally:
            self.writer.close()

    async def _drain_until_close(self) -> None:
        while True:
            await self.recv()

    async def _send(self, opcode: int, payload: bytes) -> None:
        mask = secrets.token_bytes(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()


# -- the throwaway workspace --------------------------------------------------------------------


@dataclass
class Workspace:
    team: Team
    user: Any
    conversation: Conversation
    session_key: str

    @property
    def path(self) -> str:
        return f"/ws/t/{self.team.slug}/conversations/{self.conversation.pk}/"

    @classmethod
    def create(cls) -> Workspace:
        tag = uuid.uuid4().hex[:10]
        team = Team.objects.create(name=f"bench_live {tag}", slug=f"bench-live-{tag}")
        user = get_user_model().objects.create_user(f"bench-live-{tag}")
        Membership.objects.create(team=team, user=user, role=Role.VIEWER)
        conversation = Conversation.objects.create(
            team=team, title="bench_live", model="bench", status="running"
        )
        # A logged-in session exactly as django.contrib.auth.login leaves it, for the cookie.
        store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        return cls(team, user, conversation, store.session_key)

    def delete(self) -> None:
        importlib.import_module(settings.SESSION_ENGINE).SessionStore(self.session_key).delete()
        self.team.delete()
        self.user.delete()


# -- transports ---------------------------------------------------------------------------------

Publisher = Callable[[live.RoundCalls], Awaitable[float]]


async def publish_now(conversation_id: int, event: live.RoundCalls) -> float:
    """Publish as the runner does; the wall time just before publishing is the call's finish."""
    finished_at = time.time()
    await live.publish(conversation_id, event)
    return finished_at


async def measure(
    publish: Publisher,
    receive: Callable[[], Awaitable[str]],
    size: int,
    events: int,
    warmup: int,
) -> Phase:
    latencies: list[float] = []
    frame_bytes = 0
    started = 0.0
    for sequence in range(warmup + events):
        if sequence == warmup:
            started = time.perf_counter()
        sent = asyncio.ensure_future(publish(calls_event(size, sequence)))
        html = await asyncio.wait_for(receive(), FRAME_TIMEOUT_S)
        arrived = time.time()
        finished_at = await sent
        if 'id="round-0-gantt"' not in html:
            raise CommandError(f"Unexpected frame for a calls event: {html[:200]!r}")
        if sequence >= warmup:
            latencies.append((arrived - finished_at) * 1000)
            frame_bytes = len(html.encode())
    return Phase(size, latencies, time.perf_counter() - started, frame_bytes)


class DaphneInThread:
    """Daphne serving the project's ASGI application in a thread of this process.

    A Twisted reactor runs once per process, so a second bench in the same process is refused.
    """

    def __enter__(self) -> DaphneInThread:
        from daphne.server import Server  # installs the asyncio reactor if nothing else has
        from twisted.internet import reactor

        from fcstudio.asgi import application

        if reactor.running or getattr(reactor, "_startedBefore", False):
            raise CommandError(
                "The Twisted reactor was already used in this process; run bench_live in a "
                "fresh process or pass --transport communicator."
            )
        self.reactor = reactor
        self.server = Server(
            application,
            endpoints=["tcp:port=0:interface=127.0.0.1"],
            signal_handlers=False,
            verbosity=0,
        )
        self.thread = threading.Thread(target=self.server.run, name="bench-live-daphne")
        self.thread.daemon = True
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.listening_addresses:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise CommandError("Daphne did not start listening within 10 s.")
            time.sleep(0.01)
        self.host, self.port = self.server.listening_addresses[0]
        self.loop: asyncio.AbstractEventLoop = reactor._asyncioEventloop
        return self

    def __exit__(self, *exc: object) -> None:
        # Twisted declares interface methods without self (zope.interface); only the mypy-zope
        # plugin reads them as methods.
        self.reactor.callFromThread(self.reactor.stop)  # type: ignore[misc]
        self.thread.join(timeout=10)


def run_daphne(workspace: Workspace, phases: list[tuple[int, int]], warmup: int) -> list[Phase]:
    with DaphneInThread() as server:

        async def publish(event: live.RoundCalls) -> float:
            # On the server's loop, as an inline run publishes; awaited from the client's loop.
            future = asyncio.run_coroutine_threadsafe(
                publish_now(workspace.conversation.pk, event), server.loop
            )
            return await asyncio.wrap_future(future)

        async def client() -> list[Phase]:
            headers = {
                "Origin": f"http://{server.host}:{server.port}",
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={workspace.session_key}",
            }
            socket = await MiniWebSocket.connect(server.host, server.port, workspace.path, headers)
            try:
                snapshot = await asyncio.wait_for(socket.recv(), FRAME_TIMEOUT_S)
                if 'id="conv-status"' not in snapshot:
                    raise CommandError("The consumer did not send its snapshot first.")
                return [
                    await measure(publish, socket.recv, size, count, warmup)
                    for size, count in phases
                ]
            finally:
                await socket.close()

        return asyncio.run(client())


def run_communicator(
    workspace: Workspace, phases: list[tuple[int, int]], warmup: int
) -> list[Phase]:
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from fcstudio.routing import websocket_urlpatterns

    async def client() -> list[Phase]:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), workspace.path)
        communicator.scope["user"] = workspace.user
        connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT_S)
        if not connected:
            raise CommandError("The consumer refused the bench user.")
        try:
            await communicator.receive_from(timeout=FRAME_TIMEOUT_S)  # the snapshot

            async def publish(event: live.RoundCalls) -> float:
                return await publish_now(workspace.conversation.pk, event)

            async def receive() -> str:
                return await communicator.receive_from(timeout=FRAME_TIMEOUT_S)

            return [await measure(publish, receive, size, count, warmup) for size, count in phases]
        finally:
            await communicator.disconnect()

    return asyncio.run(client())


# -- the command --------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Measure the time from a call finishing (live.publish of a calls event) to its websocket "
        "frame arriving at a client: p50/p95/p99/max and events/s, for a small batch and for a "
        "200-call batch (the gantt's render cost)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=1000, help="Events per small batch.")
        parser.add_argument(
            "--batch-events",
            type=int,
            default=None,
            help=f"Events carrying {LARGE_BATCH} calls (default: min(--events, 200)).",
        )
        parser.add_argument(
            "--calls", type=int, default=SMALL_BATCH, help="Calls in a small-batch event."
        )
        parser.add_argument(
            "--transport",
            choices=("daphne", "communicator"),
            default="daphne",
            help="daphne: real server and TCP websocket (default); communicator: in-process.",
        )
        parser.add_argument(
            "--redis", action="store_true", help="Use REDIS_URL's channels-redis layer."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        events = options["events"]
        batch_events = options["batch_events"]
        batch_events = min(events, 200) if batch_events is None else batch_events
        if events < 1 or batch_events < 1 or options["calls"] < 1:
            raise CommandError("--events, --batch-events and --calls must be at least 1.")
        layers, layer_name = self._layer(options["redis"])
        transport = options["transport"]
        phases = [(options["calls"], events), (LARGE_BATCH, batch_events)]
        warmup = min(WARMUP_EVENTS, events)
        workspace = Workspace.create()
        try:
            # The workspace's run has no worker: a reaper would mark it failed mid-measurement.
            with override_settings(CHANNEL_LAYERS=layers, FCSTUDIO_REAP_INTERVAL_SECONDS=0):
                run = run_daphne if transport == "daphne" else run_communicator
                small, large = run(workspace, phases, warmup)
        finally:
            workspace.delete()
        report = {
            "events": events,
            "transport": transport,
            "client": CLIENTS[transport],
            "channel_layer": layer_name,
            "warmup_events": warmup,
            "small_batch": small.report(),
            "large_batch": large.report(),
            "target_p95_ms": TARGET_P95_MS,
        }
        report["meets_target"] = report["small_batch"]["p95_ms"] < TARGET_P95_MS
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(format_report(report))

    @staticmethod
    def _layer(redis: bool) -> tuple[dict[str, Any], str]:
        if not redis:
            return IN_MEMORY_LAYER, "in-memory"
        url = getattr(settings, "REDIS_URL", "") or os.environ.get("REDIS_URL", "")
        if not url:
            raise CommandError("--redis needs REDIS_URL.")
        layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url]},
            }
        }
        return layers, "redis"


CLIENTS = {
    "daphne": (
        "Daphne on 127.0.0.1 in this process; minimal RFC 6455 client over TCP with a session "
        "cookie (the websockets package is not installed)"
    ),
    "communicator": "channels.testing.WebsocketCommunicator, in-process (no server, no socket)",
}


def format_report(report: dict[str, Any]) -> str:
    def line(label: str, phase: dict[str, Any]) -> str:
        return (
            f"  {label:<22} p50 {phase['p50_ms']:7.2f} ms  p95 {phase['p95_ms']:7.2f} ms  "
            f"p99 {phase['p99_ms']:7.2f} ms  max {phase['max_ms']:7.2f} ms  "
            f"{phase['events_per_s']:8.1f} events/s  ({phase['events']} events, "
            f"{phase['frame_bytes']} B frames)"
        )

    small, large = report["small_batch"], report["large_batch"]
    verdict = "meets" if report["meets_target"] else "MISSES"
    return "\n".join(
        [
            "bench_live: call finished -> websocket frame at the client "
            f"({report['channel_layer']} channel layer, {report['warmup_events']} warm-up events "
            "not counted)",
            f"  transport: {report['client']}",
            line(f"{small['calls_per_event']} calls per event", small),
            line(f"{large['calls_per_event']} calls per event", large),
            f"  p95 {small['p95_ms']:.2f} ms {verdict} the {report['target_p95_ms']:g} ms target",
        ]
    )
