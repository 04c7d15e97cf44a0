"""A draft frame that is being kept (for pages that join later) when the run is stopped is not
sent afterwards: it would land after the stop's redraw and put the answer "being written" back
on the page."""

from __future__ import annotations

import asyncio

import pytest

from conversations import live

pytestmark = pytest.mark.asyncio


async def test_a_frame_discarded_while_it_is_kept_is_never_published(monkeypatch):
    published: list[live.LiveEvent] = []

    async def publish(conversation_id: int, event: live.LiveEvent) -> None:
        published.append(event)

    monkeypatch.setattr(live, "publish", publish)
    keeping, release = asyncio.Event(), asyncio.Event()

    async def keep(event: live.LiveEvent) -> None:
        keeping.set()
        await release.wait()

    frames = live.Frames(1, interval=0.0, keep=keep)
    picture = live.DraftDelta(round=0, text="Let me check")
    sending = asyncio.create_task(frames.offer(lambda: picture))
    await keeping.wait()  # the frame is being kept
    frames.discard()  # the run is stopped meanwhile
    release.set()
    await sending
    assert published == []

    await frames.offer(lambda: picture)  # a later picture is sent as before
    release.set()
    assert published == [picture]
