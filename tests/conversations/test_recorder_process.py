"""The proxy's server records in a child process (`conversations.recorder_process`): what is
submitted lands in the parent's database (the test database here), a full queue drops the
record and never blocks, a child that dies loses only what it had not acknowledged (said in the
log) and the next exchange starts a new one, and closing waits for what was sent."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import signal
import sys
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async

from conversations import recorder_process
from conversations.models import Conversation, ModelCall, Provider
from conversations.providers import provider_config, set_api_key
from conversations.proxy import Exchange, Grant, _grant_for
from conversations.recorder_process import FRAME, RecorderProcess, _exchange, _fields, _frame
from conversations.tokens import create_token
from fcstudio.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _grant(team) -> Grant:
    provider = Provider(team=team, name="Upstream", base_url="http://127.0.0.1:9/v1")
    set_api_key(provider, "sk-test-key-123456")
    provider.save()
    _, plain = create_token(team, provider, name="app")
    found = _grant_for(plain)
    assert found is not None
    return found


def exchange(grant: Grant, question: str) -> Exchange:
    answer = {"role": "assistant", "content": f"Answer to {question}"}
    body = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": answer}]}
    return Exchange(
        grant=grant,
        request={"model": "m", "messages": [{"role": "user", "content": question}]},
        stream=False,
        status=200,
        started_at=T0,
        duration_ms=10.0,
        first_chunk_ms=None,
        body=json.dumps(body).encode(),
        conversation_key="",
    )


@sync_to_async
def questions() -> list[str]:
    return [
        c.messages.get(position=0).payload["content"] for c in Conversation.objects.order_by("pk")
    ]


async def test_exchanges_are_recorded_by_the_child_in_the_parents_database(team):
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    try:
        for index in range(60):  # more than one batch
            recorder.submit(exchange(grant, f"Q{index}?"))
        await recorder.drain()
        assert await questions() == [f"Q{index}?" for index in range(60)]
        assert await AuditEvent.objects.filter(kind="proxy.exchange").acount() == 60
        assert (recorder.dropped, recorder.lost) == (0, 0)
    finally:
        recorder.close()


async def test_a_full_queue_drops_the_record_not_the_caller(team, caplog):
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=2)
    try:
        with caplog.at_level(logging.WARNING, logger="conversations.recorder_process"):
            for question in ("A?", "B?", "C?", "D?"):
                recorder.submit(exchange(grant, question))  # no acknowledgement read meanwhile
        assert recorder.dropped == 2
        assert "recording queue full" in caplog.text
        await recorder.drain()
        assert await questions() == ["A?", "B?"]
        recorder.submit(exchange(grant, "E?"))  # room again once the child caught up
        await recorder.drain()
        assert await questions() == ["A?", "B?", "E?"]
    finally:
        recorder.close()


async def test_a_dead_child_loses_what_it_had_and_the_next_exchange_starts_another(team, caplog):
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    try:
        recorder.submit(exchange(grant, "Before?"))
        await recorder.drain()
        first = recorder._process
        assert first is not None
        first.send_signal(signal.SIGKILL)
        first.wait()
        with caplog.at_level(logging.ERROR, logger="conversations.recorder_process"):
            recorder.submit(exchange(grant, "Lost?"))  # into a pipe nobody reads
        assert recorder.lost == 1
        assert "1 proxied exchanges were not recorded" in caplog.text
        recorder.submit(exchange(grant, "After?"))
        await recorder.drain()
        assert recorder._process is not None and recorder._process is not first
        assert await questions() == ["Before?", "After?"]
    finally:
        recorder.close()


async def test_closing_waits_for_what_the_child_was_sent(team):
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    for question in ("One?", "Two?", "Three?"):
        recorder.submit(exchange(grant, question))
    process = recorder._process
    assert process is not None
    recorder.close()
    assert process.returncode == 0
    assert await questions() == ["One?", "Two?", "Three?"]


async def test_a_secret_in_an_unreachable_upstreams_error_is_not_recorded(team):
    """The child redacts as the in-process recorder does: the provider's key never lands."""
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    failed = exchange(grant, "Q?")
    failed.status, failed.body = 502, b""
    failed.failure = ("connection", "refused by http://x/?key=sk-test-key-123456")
    try:
        recorder.submit(failed)
        await recorder.drain()
    finally:
        recorder.close()
    conversation = await Conversation.objects.aget()
    call = await conversation.model_calls.aget()
    assert "sk-test-key-123456" not in call.error_message
    assert call.error_kind == "connection"


async def test_an_exchange_crosses_the_pipe_unchanged(team):
    grant = await sync_to_async(_grant)(team)
    sent = exchange(grant, "Q?")
    sent.started_at = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    sent.failure = ("timeout", "slow")
    kind, fields = pickle.loads(_frame(("exchange", _fields(sent)))[FRAME.size :])
    assert kind == "exchange"
    assert _exchange(fields, {grant.token_id: grant}) == sent


async def test_a_grant_that_changed_is_sent_again(team):
    """A provider's new key reaches the child before the next exchange, so the child redacts
    the key the upstream was actually called with."""
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    try:
        recorder.submit(exchange(grant, "Before?"))
        await recorder.drain()

        def new_key() -> Grant:
            provider = Provider.objects.get()
            set_api_key(provider, "sk-rotated-key-987654")
            provider.save()
            return dataclasses.replace(grant, config=provider_config(provider))

        rotated = await sync_to_async(new_key)()
        failed = exchange(rotated, "After?")
        failed.status, failed.body = 502, b""
        failed.failure = ("connection", "refused http://x/?key=sk-rotated-key-987654")
        recorder.submit(failed)
        await recorder.drain()
    finally:
        recorder.close()
    call = await ModelCall.objects.aget(error_kind="connection")
    assert "sk-rotated-key-987654" not in call.error_message


async def test_a_child_gone_while_a_new_grant_is_sent_counts_the_exchange_lost(team, caplog):
    """The grant and its exchange go down the pipe together: when the child is gone, the
    exchange is counted lost, nothing waits for it, and the next one starts a new child."""
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    try:
        recorder.submit(exchange(grant, "Before?"))
        await recorder.drain()
        first = recorder._process
        first.send_signal(signal.SIGKILL)
        first.wait()
        changed = dataclasses.replace(grant)  # a fresh grant object: it is sent again
        with caplog.at_level(logging.ERROR, logger="conversations.recorder_process"):
            recorder.submit(exchange(changed, "Lost?"))
        assert (recorder.lost, recorder._process, recorder._send_fd) == (1, None, -1)
        await recorder.drain()  # returns: nothing is waiting
        recorder.submit(exchange(changed, "After?"))
        await recorder.drain()
        assert await questions() == ["Before?", "After?"]
    finally:
        recorder.close()


async def test_a_child_that_cannot_start_is_not_started_again_at_once(team, caplog, monkeypatch):
    monkeypatch.setattr(recorder_process, "CHILD", [sys.executable, "-c", "import sys"])
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    with caplog.at_level(logging.ERROR, logger="conversations.recorder_process"):
        recorder.submit(exchange(grant, "First?"))
        await recorder.drain()  # the child exits without a word: its exchange is lost
        assert (recorder.lost, recorder._process) == (1, None)
        recorder.submit(exchange(grant, "Second?"))  # within the back-off: no new child
        assert (recorder.lost, recorder._process) == (2, None)
    assert "failed early: exchanges are not recorded for 1 s" in caplog.text


async def test_closing_gives_up_on_a_stuck_child_and_says_what_was_lost(team, caplog, monkeypatch):
    stuck = [sys.executable, "-c", "import time; time.sleep(120)"]  # never reads its pipe
    monkeypatch.setattr(recorder_process, "CHILD", stuck)
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=100)
    for question in ("A?", "B?"):
        recorder.submit(exchange(grant, question))
    process = recorder._process
    with caplog.at_level(logging.WARNING, logger="conversations.recorder_process"):
        recorder.close(timeout=0.5)
    assert process.returncode == -signal.SIGKILL
    assert recorder.lost == 2
    assert "2 proxied exchanges were not recorded" in caplog.text


async def test_the_request_crosses_as_its_bytes_and_is_parsed_again(team):
    grant = await sync_to_async(_grant)(team)
    sent = exchange(grant, "Q?")
    sent.sent = json.dumps(sent.request, ensure_ascii=False).encode()
    _, fields = pickle.loads(_frame(("exchange", _fields(sent)))[FRAME.size :])
    assert fields[1] == sent.sent  # bytes, not the parsed messages
    assert _exchange(fields, {grant.token_id: grant}) == sent


async def test_a_full_queue_says_so_once_in_a_while_not_per_exchange(team, caplog):
    grant = await sync_to_async(_grant)(team)
    recorder = RecorderProcess(size=1)
    try:
        with caplog.at_level(logging.WARNING, logger="conversations.recorder_process"):
            for index in range(50):
                recorder.submit(exchange(grant, f"Q{index}?"))
        assert recorder.dropped == 49
        lines = [r for r in caplog.records if "recording queue full" in r.getMessage()]
        assert len(lines) == 1 and "1 exchange(s) not recorded" in lines[0].getMessage()
        await recorder.drain()
    finally:
        recorder.close()
