"""A conversation through each dispatcher, on PostgreSQL and Redis, with real worker processes.

`inline` runs in this process; `channels` in `manage.py runworker fcstudio-runs`; `celery` in
`celery worker`. Workers are subprocesses pointed at this session's test database. Each test
gets its own channel-layer prefix and Celery queue (through a generated settings module), so
sessions sharing the Redis database, or messages left by an aborted run, never mix.

Then what a killed worker (`kill -9`) leaves: the reaper marks the run failed with a reason
naming the worker, and closes its batch and calls; with Celery the lost task comes back (acks_late)
and a second worker resumes the run, or skips it once the reaper has marked it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from conversations import compose, dispatch
from conversations.leases import (
    STALE_AFTER,
    TAKEOVER_AFTER,
    claim_run,
    reap_stale_runs,
    worker_identity,
)
from conversations.models import (
    ACTIVE_STATUSES,
    Batch,
    Conversation,
    ModelCall,
    RunStatus,
    ToolExecution,
)
from conversations.tasks import run_conversation_task
from tests.conftest import service_unavailable
from tests.support.live_studio import database_url
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0  # how long another process may take to do what a test waits for
POLL_S = 0.05

TWO_CITIES = [
    {"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"id": "call_rome", "name": "get_weather", "arguments": '{"city": "Rome"}'},
]
FINAL = "Oslo is cold, Rome is warm."


# -- services and isolation -----------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    if connection.vendor != "postgresql":
        service_unavailable(
            f"DATABASE_URL is not PostgreSQL (the database is {connection.vendor}); "
            "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/fcstudio"
        )
    url = django_settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {url} is unreachable: {exc}")
    return url


class Isolation:
    """A channel-layer prefix and a Celery queue of this test's own, in both processes."""

    def __init__(self, redis_url: str, directory: Path) -> None:
        tag = uuid.uuid4().hex[:10]
        self.redis_url = redis_url
        self.prefix = f"fcstudio-test-{tag}:"
        self.queue = f"fcstudio-test-{tag}"
        self.settings_dir = directory
        self.settings_module = f"dispatch_test_settings_{tag}"
        self.channel_layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [redis_url], "prefix": self.prefix},
            }
        }
        # A message whose worker vanished is visible again after 1 s and every worker looks for
        # such messages each second (production keeps kombu's defaults: an hour, and a
        # sweep every 100 s): the test's stand-in for waiting.
        transport = {
            "visibility_timeout": 1,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
        (directory / f"{self.settings_module}.py").write_text(
            "from fcstudio.settings import *  # noqa: F403\n\n"
            f"CHANNEL_LAYERS = {self.channel_layers!r}\n"
            f"CELERY_TASK_DEFAULT_QUEUE = {self.queue!r}\n"
            f"CELERY_BROKER_TRANSPORT_OPTIONS = {transport!r}\n",
            encoding="utf-8",
        )

    def env(self, dispatch_mode: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis_url,
            "FCSTUDIO_DISPATCH": dispatch_mode,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "PYTHONPATH": os.pathsep.join([str(self.settings_dir), str(ROOT)]),
            "PYTHONUNBUFFERED": "1",
        }


@pytest.fixture
def isolation(redis_url: str, tmp_path: Path, settings: Any, monkeypatch) -> Iterator[Isolation]:
    isolated = Isolation(redis_url, tmp_path)
    # This process sends to the same prefix (channels resets its layers on setting_changed)...
    settings.CHANNEL_LAYERS = isolated.channel_layers
    # ...and publishes runs to the same queue (Celery caches a task's options; reset them).
    monkeypatch.setattr(run_conversation_task, "queue", isolated.queue, raising=False)
    monkeypatch.setattr(run_conversation_task, "_exec_options", None)
    yield isolated
    monkeypatch.undo()
    run_conversation_task._exec_options = None
    with redis.Redis.from_url(redis_url) as client:
        client.delete(
            isolated.queue,
            f"_kombu.binding.{isolated.queue}",
            f"_kombu.binding_permanent.{isolated.queue}",
            f"{isolated.prefix}{dispatch.RUNS_CHANNEL}",
        )


# -- worker processes -------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def identity(self) -> str:
        """What `leases.worker_identity()` says inside the worker: host:pid."""
        return f"{socket.gethostname()}:{self.process.pid}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """kill -9: no shutdown, no acknowledgement, no last heartbeat."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Workers:
    def __init__(self, isolation: Isolation, directory: Path) -> None:
        self.isolation = isolation
        self.directory = directory
        self.started: list[Worker] = []

    def _start(
        self, name: str, argv: list[str], mode: str, env: dict[str, str] | None = None
    ) -> Worker:
        log = self.directory / f"{name}-{len(self.started)}.log"
        worker = Worker(name, argv, self.isolation.env(mode) | (env or {}), log)
        self.started.append(worker)
        return worker

    def channels(self) -> Worker:
        argv = [sys.executable, "manage.py", "runworker", dispatch.RUNS_CHANNEL]
        return self._start("runworker", argv, "channels")

    def celery(self, threads: int = 4, max_runs: int | None = None) -> Worker:
        """One worker process (the configured `threads` pool), driving up to `max_runs` runs
        (FCSTUDIO_WORKER_MAX_RUNS) at once."""
        queue = self.isolation.queue
        argv = [
            sys.executable, "-m", "celery", "-A", "fcstudio", "worker",
            f"--concurrency={threads}", "-Q", queue,
            "-n", f"{queue}-{len(self.started)}@%h",
            "--without-heartbeat", "--without-mingle", "--without-gossip",
            "--loglevel=INFO",
        ]  # fmt: skip
        env = {"FCSTUDIO_WORKER_MAX_RUNS": str(max_runs or threads)}
        return self._start("celery", argv, "celery", env)

    def logs(self) -> str:
        return "\n".join(
            f"----- {w.name} pid {w.process.pid} (exit {w.process.poll()}) -----\n{w.output()}"
            for w in self.started
        )


@pytest.fixture
def workers(isolation: Isolation, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(isolation, tmp_path)
    try:
        yield started
    finally:
        for worker in started.started:
            worker.stop()
        print(started.logs())  # shown when the test failed


def wait_for(
    condition: Callable[[], Any], what: str, workers: Workers, timeout: float = DEADLINE_S
) -> Any:
    """Poll until `condition()` is truthy; fail with the workers' output after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:g} s waiting for {what}.\n{workers.logs()}")
        time.sleep(POLL_S)


# -- the conversation ---------------------------------------------------------------------------


@pytest.fixture
def slow_tool(catalog, people) -> Tool:
    """A tool whose calls take 20 s: time enough to kill a worker in the middle of a batch."""
    forecast = Tool(
        catalog=catalog,
        name="get_forecast",
        description="Tomorrow's weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        implementation_config={"latency_ms": 20_000},
    )
    catalog_ops.save_tool(forecast, author=people.editor, message="Slow on purpose")
    return forecast


def new_conversation(team, people, provider, tools) -> Conversation:
    return compose.create_conversation(
        team,
        people.editor,
        {
            "provider": provider,
            "model": "",
            "system": "You are a travel assistant.",
            "user": "Weather in Oslo and Rome?",
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "strategy": "asyncio",
            "max_rounds": 4,
        },
    )


def status_of(conversation: Conversation) -> tuple[str, str]:
    return Conversation.objects.values_list("status", "worker").get(pk=conversation.pk)


def assert_ran_two_cities(conversation: Conversation, model_server, worker: str) -> None:
    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == (RunStatus.FINISHED, "")
    assert conversation.worker == worker
    messages = list(conversation.messages.all())
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert [m.payload["tool_call_id"] for m in messages if m.role == "tool"] == [
        "call_oslo",
        "call_rome",
    ]
    assert all(json.loads(m.payload["content"])["success"] for m in messages if m.role == "tool")
    assert messages[-1].payload == {"role": "assistant", "content": FINAL}
    sent = [m for m in model_server.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in sent] == ["call_oslo", "call_rome"]

    batch = Batch.objects.get(conversation=conversation, status="finished")
    assert (batch.round, batch.source) == (0, "conversation")
    executions = list(batch.executions.order_by("position"))
    assert [(e.tool_call_id, e.status, e.error_code) for e in executions] == [
        ("call_oslo", "ok", ""),
        ("call_rome", "ok", ""),
    ]
    assert ModelCall.objects.filter(conversation=conversation, ok=True).count() == 2


def assert_nothing_left_running() -> None:
    assert not Conversation.objects.filter(status__in=ACTIVE_STATUSES).exists()
    assert not Batch.objects.filter(status="running").exists()
    assert not ToolExecution.objects.filter(status__in=["queued", "running"]).exists()


# -- one conversation through each dispatcher --------------------------------------------------


def test_inline_run_on_postgresql(team, people, provider, tool, model_server, redis_url, settings):
    settings.FCSTUDIO_DISPATCH = "inline"
    model_server.script(Reply(tool_calls=TWO_CITIES), Reply(content=FINAL))
    conversation = new_conversation(team, people, provider, [tool])
    assert dispatch.start_run(conversation) is True  # no server loop here: runs to the end
    assert_ran_two_cities(conversation, model_server, worker_identity())


def test_channels_worker_runs_the_conversation(
    team, people, provider, tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "channels"
    model_server.script(Reply(tool_calls=TWO_CITIES), Reply(content=FINAL))
    conversation = new_conversation(team, people, provider, [tool])
    worker = workers.channels()
    assert dispatch.start_run(conversation) is True
    assert status_of(conversation)[0] == RunStatus.QUEUED
    wait_for(lambda: status_of(conversation)[0] == RunStatus.FINISHED, "the run", workers)
    assert worker.identity != worker_identity()
    assert_ran_two_cities(conversation, model_server, worker.identity)


def test_celery_worker_runs_the_conversation(
    team, people, provider, tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    model_server.script(Reply(tool_calls=TWO_CITIES), Reply(content=FINAL))
    conversation = new_conversation(team, people, provider, [tool])
    worker = workers.celery()
    assert dispatch.start_run(conversation) is True
    wait_for(lambda: status_of(conversation)[0] == RunStatus.FINISHED, "the run", workers)
    assert_ran_two_cities(conversation, model_server, worker.identity)


# -- a worker killed mid-run -----------------------------------------------------------------


def kill_in_the_middle_of_the_batch(conversation: Conversation, worker: Worker, workers) -> None:
    def batch_running() -> bool:
        return status_of(conversation) == (RunStatus.RUNNING, worker.identity) and (
            Batch.objects.filter(conversation=conversation, status="running").exists()
        )

    wait_for(batch_running, f"{worker.name} to start the batch", workers)
    worker.kill()


def assert_marked_failed_by_the_reaper(conversation: Conversation, worker: Worker) -> str:
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
    assert f"The worker {worker.identity} stopped responding" in conversation.failure
    batch = Batch.objects.get(conversation=conversation)
    assert (batch.status, batch.failure) == ("failed", conversation.failure)
    assert [(e.status, e.error_code) for e in batch.executions.order_by("position")] == [
        ("error", "CANCELLED"),
        ("error", "CANCELLED"),
    ]
    assert set(batch.executions.values_list("error_message", flat=True)) == {conversation.failure}
    # The record so far is kept: the assistant's calls, the finished model call.
    assert [m.role for m in conversation.messages.all()] == ["system", "user", "assistant"]
    assert ModelCall.objects.get(conversation=conversation).ok
    assert_nothing_left_running()
    return conversation.failure


def slow_calls() -> list[dict[str, str]]:
    return [dict(call, name="get_forecast") for call in TWO_CITIES]


def test_a_killed_channels_worker_leaves_the_run_marked_with_a_reason(
    team, people, provider, slow_tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "channels"
    model_server.script(Reply(tool_calls=slow_calls()), Reply(content="never asked"))
    conversation = new_conversation(team, people, provider, [slow_tool])
    worker = workers.channels()
    dispatch.start_run(conversation)
    kill_in_the_middle_of_the_batch(conversation, worker, workers)

    # The worker is gone, but its last heartbeat is recent: not reaped yet...
    out = StringIO()
    call_command("reap_runs", stdout=out)
    assert json.loads(out.getvalue()) == {"reaped": 0}
    assert status_of(conversation) == (RunStatus.RUNNING, worker.identity)
    # ...until the heartbeat is older than the threshold (here: any age at all).
    out = StringIO()
    call_command("reap_runs", "--stale-seconds", "0", stdout=out)
    assert json.loads(out.getvalue()) == {"reaped": 1}
    assert_marked_failed_by_the_reaper(conversation, worker)
    assert len(model_server.requests) == 1


def test_a_lost_celery_task_comes_back_and_a_second_worker_resumes_the_run(
    team, people, provider, tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    model_server.script(
        Reply(content="the first worker never reads this", delay_s=20),
        Reply(tool_calls=TWO_CITIES),
        Reply(content=FINAL),
    )
    conversation = new_conversation(team, people, provider, [tool])
    first = workers.celery()
    dispatch.start_run(conversation)
    wait_for(
        lambda: (
            len(model_server.requests) == 1
            and status_of(conversation) == (RunStatus.RUNNING, first.identity)
        ),
        "the first worker to ask the model",
        workers,
    )
    first.kill()  # mid model call: the task was never acknowledged
    # Its heartbeat stops; rather than wait TAKEOVER_AFTER for it to age, age it.
    Conversation.objects.filter(pk=conversation.pk).update(
        heartbeat_at=timezone.now() - TAKEOVER_AFTER - timedelta(seconds=1)
    )
    second = workers.celery()
    wait_for(lambda: status_of(conversation)[0] == RunStatus.FINISHED, "the resumed run", workers)

    assert_ran_two_cities(conversation, model_server, second.identity)
    assert len(model_server.requests) == 3
    interrupted, *finished = ModelCall.objects.filter(conversation=conversation).order_by("pk")
    assert (interrupted.round, interrupted.ok, interrupted.error_kind) == (0, False, "interrupted")
    assert interrupted.error_message == (
        f"The worker {first.identity} stopped responding; {second.identity} resumed the run."
    )
    assert [(call.round, call.ok) for call in finished] == [(0, True), (1, True)]
    assert_nothing_left_running()


def test_a_celery_task_for_a_run_the_reaper_marked_is_skipped_when_it_comes_back(
    team, people, provider, slow_tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    model_server.script(Reply(tool_calls=slow_calls()), Reply(content="never asked"))
    conversation = new_conversation(team, people, provider, [slow_tool])
    first = workers.celery()
    dispatch.start_run(conversation)
    kill_in_the_middle_of_the_batch(conversation, first, workers)

    assert reap_stale_runs(now=timezone.now() + STALE_AFTER + timedelta(seconds=1)) == 1
    failure = assert_marked_failed_by_the_reaper(conversation, first)

    # The unacknowledged task is delivered again, to a second worker, which leaves the run be.
    second = workers.celery()
    wait_for(lambda: "'skipped'" in second.output(), "the second worker to skip the run", workers)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == (RunStatus.FAILED, failure)
    assert conversation.worker == first.identity
    assert len(model_server.requests) == 1
    assert conversation.messages.count() == 3
    assert_nothing_left_running()


# -- the claim under contention ------------------------------------------------------------------


def claim_race(conversation: Conversation, contenders: int = 8) -> list[str]:
    """`contenders` threads, each on its own PostgreSQL connection, claim the run at once."""
    start = threading.Barrier(contenders)
    winners: list[str] = []

    def contend(name: str) -> None:
        try:
            start.wait(timeout=10)
            if claim_run(conversation.pk, name):
                winners.append(name)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=contend, args=(f"host:{n}",)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S)
    return winners


def test_of_many_workers_claiming_a_run_at_once_one_wins(team, people, provider, redis_url):
    conversation = new_conversation(team, people, provider, [])
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.QUEUED)
    (winner,) = claim_race(conversation)
    assert status_of(conversation) == (RunStatus.RUNNING, winner)

    # The winner dies; its run is taken over, again by exactly one of many.
    Conversation.objects.filter(pk=conversation.pk).update(
        heartbeat_at=timezone.now() - TAKEOVER_AFTER - timedelta(seconds=1)
    )
    (heir,) = claim_race(conversation)
    assert status_of(conversation) == (RunStatus.RUNNING, heir)
