"""``manage.py bench_scale``: many runs at once through each dispatcher, on the real services.

What a team sees when it scales out: N runs started together, through ``inline`` (one Daphne
process drives them on its event loop), ``celery`` (two ``celery -A fcstudio worker`` processes,
each with its threads pool) and, when asked, ``channels`` (one ``manage.py runworker
fcstudio-runs``). Each run is the issue's shape: two model calls of about 200 ms (the built-in
demo model, deterministic, behind an OpenAI-compatible HTTP server in a thread of this process,
answering after a 200 ms delay) and, between them, three parallel calls of a mock tool of 100 ms.

Runs are started the way people start them: ``--clients`` HTTP clients at once POST the Run
endpoint of a real Daphne server (a subprocess, as ``make run`` starts it) with a logged-in
session cookie and a CSRF token, so the connection pool, dispatch, the broker and the workers
all do their real work. Workers are subprocesses started with the README's commands and always
stopped (SIGTERM to their process group, SIGKILL after a grace period).

For each dispatcher and N, one column of the table:

- runs/s: N over the time from the first POST to the last run's final message;
- queue wait p50/p95: the run's ``RunStart`` (written when Run is accepted) to its first model
  call (``ModelCall.started_at``), from the records;
- run latency p50/p95: ``RunStart`` to the run's last message;
- errors: Run requests not answered 2xx/3xx, plus runs that did not finish (failed, stopped,
  still active at the deadline, or never queued);
- dropped live frames: ``could not publish`` warnings in the server's and workers' logs during
  the burst (each is a live frame that did not go out);
- watched pages behind: ``--watch`` (8) of the burst's conversations are open as pages are, on a
  websocket with the session cookie (``bench_live``'s client), from before Run is pressed; a page
  that has not shown its run finished 10 s after the database did is behind, and why is printed
  under the table (closed by the server, or the finished frame never came);
- database connections held afterwards: ``pg_stat_activity`` rows of the server and workers
  (recognised by their ``application_name``) once every run has finished;
- CPU seconds per run: user + system time of the server and workers and every process under
  them (``/proc/<pid>/stat``; psutil is not a dependency) during the burst, over N.

A few warm-up runs first (not counted) bring the processes up to speed and prove the workers
answer. Everything runs in a database of its own (``fcstudio_bench`` by default, created and
migrated when missing, on the server of ``DATABASE_URL``, or of the local PostgreSQL when that is
not PostgreSQL) and a Redis database of its own (13 by default, on the server of ``REDIS_URL`` or
the local one, flushed first), so dev data is never touched; the command re-runs itself in that
database (``--here``). ``--skip-unavailable`` (``make bench``) says why and exits 0 when a server
does not answer. Figures on a shared machine are indicative only.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib
import json
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from tempfile import mkdtemp
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection
from django.db.models import Max, Min

from conversations import compose, demo_model
from conversations.models import (
    ACTIVE_STATUSES,
    Conversation,
    Message,
    ModelCall,
    Provider,
    RunStart,
)
from conversations.providers import set_api_key
from fcstudio.models import Membership, Role, Team
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

from .bench_live import MiniWebSocket, WebSocketClosed, percentile

ROOT = Path(__file__).resolve().parents[3]
DISPATCHERS = ("inline", "celery", "channels")
MODEL_DELAY_S = 0.2
TOOL_LATENCY_MS = 100
PROMPT = "Weather in Oslo, Rome and Paris?"  # the demo model calls get_weather once per city
TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WARMUP_RUNS = 2
START_TIMEOUT_S = 60.0
POLL_S = 0.1
GRACE_S = 10.0
APP_PREFIX = "fcstudio-bench-"
DROPPED_FRAME = "could not publish"
FINISHED = "finished"
FINISHED_BADGE = 'class="badge status-finished"'
WATCH_GRACE_S = 10.0  # how long a page may lag the database once every run has finished
# Used when DATABASE_URL is not PostgreSQL or REDIS_URL is unset (the services tests' servers).
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


# -- statistics and the table (pure) ------------------------------------------------------------


class BurstFailed(Exception):
    """A burst that could not be measured; the bench goes on with the next one."""


@dataclass(frozen=True)
class RunRecord:
    """One run as the database recorded it."""

    status: str
    queued_at: datetime | None  # Run accepted (RunStart)
    started_at: datetime | None  # first model call
    finished_at: datetime | None  # last message


@dataclass
class Result:
    dispatch: str
    runs: int
    clients: int
    elapsed_s: float
    runs_per_s: float
    queue_wait_p50_ms: float | None
    queue_wait_p95_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    http_errors: int
    unfinished: int
    dropped_frames: int
    watched: int
    pages_behind: int
    db_connections: int
    cpu_s_per_run: float
    failure: str = ""  # why the burst could not be measured (a process died, a deadline)
    pages_note: str = ""  # why watched pages fell behind

    @property
    def errors(self) -> int:
        return self.http_errors + self.unfinished

    @property
    def pages_behind_of_watched(self) -> str:
        return f"{self.pages_behind}/{self.watched}"


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000


def _p(values: Sequence[float], q: float) -> float | None:
    return round(percentile(sorted(values), q), 1) if values else None


def summarise(
    dispatch: str,
    records: Sequence[RunRecord],
    *,
    clients: int,
    elapsed_s: float,
    http_errors: int,
    dropped_frames: int,
    watched: int,
    pages_behind: int,
    db_connections: int,
    cpu_s: float,
) -> Result:
    """One column of the table from the runs' records and what was counted around them."""
    finished = [r for r in records if r.status == FINISHED]
    waits = [w for r in finished if (w := _ms(r.queued_at, r.started_at)) is not None]
    latencies = [t for r in finished if (t := _ms(r.queued_at, r.finished_at)) is not None]
    runs = len(records)
    return Result(
        dispatch=dispatch,
        runs=runs,
        clients=clients,
        elapsed_s=round(elapsed_s, 2),
        runs_per_s=round(len(finished) / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        queue_wait_p50_ms=_p(waits, 50),
        queue_wait_p95_ms=_p(waits, 95),
        latency_p50_ms=_p(latencies, 50),
        latency_p95_ms=_p(latencies, 95),
        http_errors=http_errors,
        unfinished=runs - len(finished),
        dropped_frames=dropped_frames,
        watched=watched,
        pages_behind=pages_behind,
        db_connections=db_connections,
        cpu_s_per_run=round(cpu_s / runs, 4) if runs else 0.0,
    )


ROWS: tuple[tuple[str, str, str], ...] = (
    ("runs/s", "runs_per_s", "{:.2f}"),
    ("wall time (s)", "elapsed_s", "{:.1f}"),
    ("queue wait p50 (ms)", "queue_wait_p50_ms", "{:.0f}"),
    ("queue wait p95 (ms)", "queue_wait_p95_ms", "{:.0f}"),
    ("run latency p50 (ms)", "latency_p50_ms", "{:.0f}"),
    ("run latency p95 (ms)", "latency_p95_ms", "{:.0f}"),
    ("errors", "errors", "{:d}"),
    ("  Run requests refused", "http_errors", "{:d}"),
    ("  runs not finished", "unfinished", "{:d}"),
    ("dropped live frames", "dropped_frames", "{:d}"),
    ("watched pages behind", "pages_behind_of_watched", "{}"),
    ("db connections held", "db_connections", "{:d}"),
    ("CPU s per run", "cpu_s_per_run", "{:.3f}"),
)


def format_table(results: Sequence[Result]) -> str:
    """Metrics down, one column per dispatcher and N, aligned for a terminal."""
    headers = [f"{r.dispatch} N={r.runs}" + ("*" if r.failure else "") for r in results]
    body = []
    for label, attribute, shape in ROWS:
        cells = []
        for result in results:
            value = getattr(result, attribute)
            if value is None or (result.failure and attribute not in ("errors", "unfinished")):
                cells.append("-")
            else:
                cells.append(shape.format(value))
        body.append((label, cells))
    label_width = max(len(label) for label, _ in body)
    widths = [
        max(len(headers[i]), *(len(cells[i]) for _, cells in body)) for i in range(len(results))
    ]
    lines = [
        "  ".join([" " * label_width, *(h.rjust(w) for h, w in zip(headers, widths, strict=True))])
    ]
    for label, cells in body:
        lines.append(
            "  ".join(
                [
                    label.ljust(label_width),
                    *(c.rjust(w) for c, w in zip(cells, widths, strict=True)),
                ]
            )
        )
    lines += [f"* {r.dispatch} N={r.runs} failed: {r.failure}" for r in results if r.failure]
    lines += [
        f"{r.dispatch} N={r.runs} pages behind: {r.pages_note}" for r in results if r.pages_note
    ]
    return "\n".join(line.rstrip() for line in lines)


def failed(dispatch: str, runs: int, clients: int, reason: str) -> Result:
    """A column for a burst that could not be measured: every run counts as an error."""
    return Result(
        dispatch=dispatch,
        runs=runs,
        clients=clients,
        elapsed_s=0.0,
        runs_per_s=0.0,
        queue_wait_p50_ms=None,
        queue_wait_p95_ms=None,
        latency_p50_ms=None,
        latency_p95_ms=None,
        http_errors=0,
        unfinished=runs,
        dropped_frames=0,
        watched=0,
        pages_behind=0,
        db_connections=0,
        cpu_s_per_run=0.0,
        failure=reason,
    )


def parse_runs(value: str) -> list[int]:
    try:
        runs = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(f"--runs takes numbers separated by commas, not {value!r}.") from exc
    if not runs or min(runs) < 1:
        raise CommandError("--runs needs at least one number, each at least 1.")
    return runs


def parse_dispatch(value: str) -> list[str]:
    modes = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [m for m in modes if m not in DISPATCHERS]
    if not modes or unknown:
        raise CommandError(f"--dispatch takes some of {', '.join(DISPATCHERS)}, not {value!r}.")
    return modes


def with_database(url: str, name: str) -> str:
    """The same server's URL for another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# -- processes ----------------------------------------------------------------------------------


def cpu_seconds(roots: Iterable[int]) -> float:
    """User + system seconds of the processes `roots` and every live process under them, plus
    what their reaped children used (cutime, cstime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        stats[int(entry)] = (int(fields[1]), fields)  # ppid, the fields after the name
    tree = set(roots) & set(stats)
    grown = True
    while grown:
        children = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        tree |= children
        grown = bool(children)
    total = 0
    for pid in tree:
        fields = stats[pid][1]
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / ticks


class Service:
    """A subprocess in a process group of its own, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**env, "PGAPPNAME": f"{APP_PREFIX}{name}"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def last_line(self) -> str:
        """The last line of its output: what a process that died said last."""
        lines = self.output().strip().splitlines()
        return lines[-1].strip() if lines else f"exit {self.process.poll()}, no output"

    def count(self, text: str) -> int:
        return self.output().count(text)

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=GRACE_S)
        # Children a SIGTERM'd parent left behind (a Celery pool, tool processes).
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(service: Service, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise BurstFailed(
                    f"{service.name} did not start listening on {port} ({service.last_line()})"
                ) from None
            time.sleep(POLL_S)


class DemoUpstream:
    """The built-in demo model behind plain HTTP, answering after `delay_s`: the provider."""

    def __init__(self, delay_s: float) -> None:
        delay = delay_s

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    request = demo_model.parse_request(raw)
                    answer = demo_model.answer(request)
                except demo_model.DemoRequestError as exc:
                    self._send(exc.status, json.dumps(exc.body()).encode(), "application/json")
                    return
                time.sleep(delay)
                if request.stream:
                    body = b"".join(demo_model.sse_events(request, answer))
                    self._send(200, body, "text/event-stream")
                else:
                    completion = demo_model.completion(request, answer)
                    self._send(200, json.dumps(completion).encode(), "application/json")

            def do_GET(self) -> None:
                self._send(200, json.dumps(demo_model.models_list()).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> DemoUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# -- the workload -------------------------------------------------------------------------------


@dataclass
class Workspace:
    """A throwaway team with an editor's session, a provider, a 100 ms mock tool."""

    team: Team
    user: Any
    session_key: str
    csrf_token: str
    provider: Provider
    tool: Tool

    @classmethod
    def create(cls, base_url: str) -> Workspace:
        tag = uuid.uuid4().hex[:10]
        team = Team.objects.create(name=f"bench_scale {tag}", slug=f"bench-scale-{tag}")
        user = get_user_model().objects.create_user(f"bench-scale-{tag}")
        Membership.objects.create(team=team, user=user, role=Role.EDITOR)
        store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        provider = Provider(
            team=team, name="Demo upstream", base_url=base_url, default_model="bench", timeout_s=60
        )
        set_api_key(provider, "sk-bench")
        provider.save()
        catalog = Catalog.objects.create(team=team, name="Bench", slug="bench")
        tool = Tool(
            catalog=catalog,
            name="get_weather",
            description="Current weather for a city.",
            parameters=TOOL_PARAMETERS,
            implementation_config={"latency_ms": TOOL_LATENCY_MS},
        )
        catalog_ops.save_tool(tool, author=user, message="bench_scale")
        alphabet = string.ascii_letters + string.digits
        csrf = "".join(secrets.choice(alphabet) for _ in range(32))
        return cls(team, user, str(store.session_key), csrf, provider, tool)

    def conversations(self, count: int) -> list[int]:
        data = {
            "provider": self.provider,
            "model": "",
            "user": PROMPT,
            "tools": [self.tool],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "strategy": "asyncio",
            "max_rounds": 4,
        }
        return [compose.create_conversation(self.team, self.user, data).pk for _ in range(count)]

    def run_path(self, conversation_id: int) -> str:
        return f"/t/{self.team.slug}/conversations/{conversation_id}/run/"

    def headers(self) -> dict[str, str]:
        return {
            "Cookie": (
                f"{settings.SESSION_COOKIE_NAME}={self.session_key}; "
                f"{settings.CSRF_COOKIE_NAME}={self.csrf_token}"
            ),
            "X-CSRFToken": self.csrf_token,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "0",
        }

    def delete(self) -> None:
        importlib.import_module(settings.SESSION_ENGINE).SessionStore(self.session_key).delete()
        self.team.delete()
        self.user.delete()


def post_runs(port: int, paths: Sequence[str], headers: dict[str, str], clients: int) -> int:
    """POST Run for every path from `clients` keep-alive connections at once; the refusals."""
    queue = list(reversed(paths))
    lock = threading.Lock()

    def client() -> int:
        refused = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                with lock:
                    if not queue:
                        return refused
                    path = queue.pop()
                try:
                    conn.request("POST", path, body=b"", headers=headers)
                    response = conn.getresponse()
                    response.read()
                    refused += response.status >= 400
                except (OSError, http.client.HTTPException):
                    refused += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return sum(pool.map(lambda _: client(), range(clients)))


def wait_done(ids: Sequence[int], timeout: float, services: Sequence[Service]) -> None:
    """Until no run is queued or running, or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        # Every accepted Run is queued by now; a refused one stays a draft and counts as an error.
        if not Conversation.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).exists():
            return
        dead = [s for s in services if s.process.poll() is not None]
        if dead:
            raise BurstFailed(
                "; ".join(f"{s.name} exited during the burst ({s.last_line()})" for s in dead)
            )
        time.sleep(POLL_S)


def records(ids: Sequence[int]) -> list[RunRecord]:
    close_old_connections()
    queued = dict(
        RunStart.objects.filter(conversation_id__in=ids)
        .values_list("conversation_id")
        .annotate(first=Min("started_at"))
    )
    started = dict(
        ModelCall.objects.filter(conversation_id__in=ids)
        .values_list("conversation_id")
        .annotate(first=Min("started_at"))
    )
    finished = dict(
        Message.objects.filter(conversation_id__in=ids)
        .values_list("conversation_id")
        .annotate(last=Max("created_at"))
    )
    status = dict(Conversation.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [RunRecord(status[pk], queued.get(pk), started.get(pk), finished.get(pk)) for pk in ids]


@dataclass
class Watch:
    """What a page watching one run over its websocket saw."""

    frames: int = 0
    saw_finished: bool = False
    ended: str = ""  # why the socket ended early, if it did


class Watchers:
    """Pages open on some of the burst's conversations, as people watching their runs: each
    reads frames until one shows the run finished; one that never does is a page left behind."""

    def __init__(self, port: int, workspace: Workspace, ids: Sequence[int]) -> None:
        self.port = port
        self.workspace = workspace
        self.ids = list(ids)
        self.watches = {pk: Watch() for pk in self.ids}
        self.connected = threading.Event()
        self.runs_done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-scale-watchers", daemon=True)

    def __enter__(self) -> Watchers:
        self.thread.start()
        if not self.connected.wait(START_TIMEOUT_S):
            raise BurstFailed("the watching pages could not connect")
        return self

    def __exit__(self, *exc: object) -> None:
        self.runs_done.set()
        self.thread.join(timeout=WATCH_GRACE_S + 10)

    @property
    def behind(self) -> int:
        return sum(not w.saw_finished for w in self.watches.values())

    def why_behind(self) -> str:
        """Pages behind, grouped by why: "2 x no finished frame, 1 x WebSocketClosed(…)"."""
        reasons = Counter(
            w.ended or f"no finished frame within {WATCH_GRACE_S:g} s of the run's end"
            for w in self.watches.values()
            if not w.saw_finished
        )
        return ", ".join(f"{count} x {reason}" for reason, count in reasons.most_common())

    def _run(self) -> None:
        asyncio.run(self._watch_all())

    async def _watch_all(self) -> None:
        sockets = []
        origin = f"http://127.0.0.1:{self.port}"
        cookie = f"{settings.SESSION_COOKIE_NAME}={self.workspace.session_key}"
        try:
            for pk in self.ids:
                path = f"/ws/t/{self.workspace.team.slug}/conversations/{pk}/"
                try:
                    socket_ = await MiniWebSocket.connect(
                        "127.0.0.1", self.port, path, {"Origin": origin, "Cookie": cookie}
                    )
                    await asyncio.wait_for(socket_.recv(), START_TIMEOUT_S)  # the snapshot
                except (OSError, TimeoutError, WebSocketClosed, asyncio.IncompleteReadError) as e:
                    self.watches[pk].ended = f"connect: {e!r}"
                    continue
                sockets.append((pk, socket_))
            self.connected.set()
            await asyncio.gather(*(self._watch(pk, socket_) for pk, socket_ in sockets))
        finally:
            self.connected.set()
            for _, socket_ in sockets:
                socket_.writer.close()

    async def _watch(self, pk: int, socket_: MiniWebSocket) -> None:
        watch = self.watches[pk]
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(None, self.runs_done.wait)
        try:
            while not watch.saw_finished:
                receive = asyncio.ensure_future(socket_.recv())
                either: set[asyncio.Future[Any]] = {receive, done}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    # Every run has finished in the database: the page gets a grace period.
                    try:
                        frame = await asyncio.wait_for(receive, WATCH_GRACE_S)
                    except TimeoutError:
                        return
                else:
                    frame = receive.result()
                watch.frames += 1
                watch.saw_finished = FINISHED_BADGE in frame
        except (OSError, WebSocketClosed, asyncio.IncompleteReadError) as exc:
            watch.ended = repr(exc)


def held_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE %s",
            [f"{APP_PREFIX}%"],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def database_url() -> str:
    """The configured database as a URL another process can be given."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


@dataclass
class Bench:
    redis_url: str
    clients: int
    celery_processes: int
    watch: int
    logs: Path
    upstream_url: str

    def env(self, mode: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis_url,
            "FCSTUDIO_DISPATCH": mode,
            "DJANGO_SETTINGS_MODULE": "fcstudio.settings",
            "PYTHONUNBUFFERED": "1",
        }

    def services(self, mode: str, port: int) -> list[Service]:
        env = self.env(mode)
        bin_dir = Path(sys.executable).parent
        started = [
            Service(
                "daphne",
                [
                    str(bin_dir / "daphne"),
                    *("-b", "127.0.0.1", "-p", str(port)),
                    "fcstudio.asgi:application",
                ],
                env,
                self.logs / f"{mode}-daphne.log",
            )
        ]
        if mode == "celery":
            # As the README deploys them: one worker process per core, each with its threads
            # pool (FCSTUDIO_WORKER_MAX_RUNS runs on one event loop). `--concurrency` of a
            # threads pool is threads, not processes: one worker with 2 drove 2 runs at a time.
            for index in range(1, self.celery_processes + 1):
                argv = [
                    *(sys.executable, "-m", "celery", "-A", "fcstudio", "worker"),
                    *("-n", f"bench-{index}@%h"),
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                ]
                log = self.logs / f"celery-{index}.log"
                started.append(Service(f"celery-{index}", argv, env, log))
        elif mode == "channels":
            argv = [sys.executable, "manage.py", "runworker", "fcstudio-runs"]
            started.append(Service("runworker", argv, env, self.logs / "runworker.log"))
        return started

    def measure(self, mode: str, runs: int) -> Result:
        import redis

        with redis.Redis.from_url(self.redis_url) as client:
            client.flushdb()
        workspace = Workspace.create(self.upstream_url)
        port = free_port()
        services: list[Service] = []
        try:
            services = self.services(mode, port)
            wait_listening(services[0], port)
            headers = workspace.headers()
            warmup = workspace.conversations(WARMUP_RUNS)
            refused = post_runs(port, [workspace.run_path(i) for i in warmup], headers, WARMUP_RUNS)
            wait_done(warmup, START_TIMEOUT_S, services)
            warm = records(warmup)
            if refused or any(r.status != FINISHED for r in warm):
                states = ", ".join(r.status for r in warm)
                raise BurstFailed(f"the warm-up runs did not finish ({states}); see {self.logs}")
            ids = workspace.conversations(runs)
            paths = [workspace.run_path(i) for i in ids]
            roots = [s.pid for s in services]
            dropped_before = sum(s.count(DROPPED_FRAME) for s in services)
            cpu_before = cpu_seconds(roots)
            started = time.perf_counter()
            with Watchers(port, workspace, ids[: self.watch]) as watchers:
                refused = post_runs(port, paths, headers, self.clients)
                wait_done(ids, max(120.0, runs * 2.0), services)
            measured = records(ids)
            ends = [r.finished_at for r in measured if r.finished_at is not None]
            first_post = min((r.queued_at for r in measured if r.queued_at), default=None)
            elapsed = time.perf_counter() - started
            if ends and first_post is not None:
                elapsed = min(elapsed, (max(ends) - first_post).total_seconds())
            cpu = cpu_seconds(roots) - cpu_before
            dropped = sum(s.count(DROPPED_FRAME) for s in services) - dropped_before
            held = held_connections()
            result = summarise(
                mode,
                measured,
                clients=self.clients,
                elapsed_s=elapsed,
                http_errors=refused,
                dropped_frames=dropped,
                watched=len(watchers.ids),
                pages_behind=watchers.behind,
                db_connections=held,
                cpu_s=cpu,
            )
            result.pages_note = watchers.why_behind()
            return result
        finally:
            for service in services:
                service.stop()
            close_old_connections()
            workspace.delete()


def rerun_arguments(options: dict[str, Any]) -> list[str]:
    arguments = [
        *("--runs", options["runs"], "--dispatch", options["dispatch"]),
        *("--clients", str(options["clients"])),
        *("--celery-processes", str(options["celery_processes"])),
        *("--redis-db", str(options["redis_db"])),
        *("--watch", str(options["watch"])),
    ]
    return [*arguments, "--json"] if options["json"] else arguments


# -- the command --------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "N runs started through the Run endpoint of a real Daphne by concurrent clients, through "
        "each dispatcher with real workers, on PostgreSQL and Redis: runs/s, queue wait, "
        "latency, errors, dropped live frames, connections held, CPU per run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", default="50,200", help="Burst sizes, comma separated.")
        parser.add_argument(
            "--dispatch",
            default="inline,celery",
            help=f"Dispatchers, comma separated, of {', '.join(DISPATCHERS)}.",
        )
        parser.add_argument("--clients", type=int, default=16, help="Concurrent HTTP clients.")
        parser.add_argument(
            "--celery-processes", type=int, default=2, help="Celery worker processes."
        )
        parser.add_argument(
            "--watch",
            type=int,
            default=8,
            help="Conversations of each burst watched over a websocket, as open pages.",
        )
        parser.add_argument(
            "--database",
            default="fcstudio_bench",
            help="The bench's own database on DATABASE_URL's server (created when missing).",
        )
        parser.add_argument("--redis-db", type=int, default=13, help="The bench's Redis database.")
        parser.add_argument(
            "--here",
            action="store_true",
            help="Use the configured database as it is (tests; the command re-runs itself so).",
        )
        parser.add_argument(
            "--skip-unavailable",
            action="store_true",
            help="Say why and exit 0 when PostgreSQL or Redis does not answer (make bench).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        runs = parse_runs(options["runs"])
        modes = parse_dispatch(options["dispatch"])
        if options["clients"] < 1 or options["celery_processes"] < 1:
            raise CommandError("--clients and --celery-processes must be at least 1.")
        if not options["here"]:
            self._rerun_in_bench_database(options)
            return
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise CommandError("bench_scale --here needs DATABASE_URL on PostgreSQL and REDIS_URL.")
        redis_url = with_redis_db(settings.REDIS_URL, options["redis_db"])
        logs = Path(mkdtemp(prefix="bench_scale-"))
        results = []
        with DemoUpstream(MODEL_DELAY_S) as upstream:
            bench = Bench(
                redis_url=redis_url,
                clients=options["clients"],
                celery_processes=options["celery_processes"],
                watch=options["watch"],
                logs=logs,
                upstream_url=upstream.base_url,
            )
            for count in runs:
                for mode in modes:
                    try:
                        results.append(bench.measure(mode, count))
                    except BurstFailed as exc:
                        results.append(failed(mode, count, options["clients"], str(exc)))
        if options["json"]:
            self.stdout.write(json.dumps([asdict(r) | {"errors": r.errors} for r in results]))
            return
        self.stdout.write(
            f"bench_scale: each run 2 model calls of {MODEL_DELAY_S * 1000:.0f} ms and 3 tool "
            f"calls of {TOOL_LATENCY_MS} ms; started by {options['clients']} clients through "
            f"the Run endpoint; celery = {options['celery_processes']} worker processes; "
            f"PostgreSQL {connection.settings_dict['NAME']}, Redis db {options['redis_db']}; "
            f"pool max {settings.FCSTUDIO_DB_POOL_MAX} per process; logs in {logs}"
        )
        self.stdout.write(format_table(results))

    def _rerun_in_bench_database(self, options: dict[str, Any]) -> None:
        """Create and migrate the bench's database, then run the bench in it (`--here`)."""
        name = options["database"]
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise CommandError(f"--database {name!r}: lowercase letters, digits and _ only.")
        server = database_url() if connection.vendor == "postgresql" else DEFAULT_POSTGRES_URL
        redis_url = with_redis_db(settings.REDIS_URL or DEFAULT_REDIS_URL, options["redis_db"])
        problem = unavailable(with_database(server, "postgres"), redis_url)
        if problem:
            if options["skip_unavailable"]:
                self.stdout.write(f"bench_scale skipped: {problem}")
                return
            raise CommandError(problem)
        ensure_database(with_database(server, "postgres"), name)
        env = {**os.environ, "DATABASE_URL": with_database(server, name), "REDIS_URL": redis_url}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        arguments = rerun_arguments(options)
        result = subprocess.run([*manage, "bench_scale", "--here", *arguments], env=env)
        if result.returncode:
            raise CommandError(f"bench_scale in {name} exited with {result.returncode}.")


def with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def unavailable(postgres_url: str, redis_url: str) -> str:
    """Why the bench cannot run on these servers ("" when both answer)."""
    import psycopg
    import redis

    try:
        psycopg.connect(postgres_url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {server(postgres_url)} does not answer ({exc})".strip()
    try:
        with redis.Redis.from_url(redis_url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.RedisError as exc:
        return f"Redis at {server(redis_url)} does not answer ({exc})"
    return ""


def server(url: str) -> str:
    """A server's host and port, never the user and password the URL may carry."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    return f"{host}:{port}" if port else host


def ensure_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
