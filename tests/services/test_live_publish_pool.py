"""More concurrent live publishes than the channel layer's Redis pool holds all arrive: each
waits for a pooled connection instead of failing with "Too many connections"."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from channels.layers import get_channel_layer

from conversations import live
from fcstudio.channel_layer import PooledRedisChannelLayer
from tests.conftest import service_unavailable

pytestmark = pytest.mark.services

POOL_SIZE = 2
PUBLISHES = 40


@pytest.fixture
def small_redis_pool(settings) -> None:
    url = settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {url} is unreachable: {exc}")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "fcstudio.channel_layer.PooledRedisChannelLayer",
            "CONFIG": {"hosts": [url], "max_connections": POOL_SIZE, "pool_timeout": 60},
        }
    }


@pytest.mark.asyncio
async def test_publishes_beyond_the_pool_all_arrive(small_redis_pool, caplog) -> None:
    layer = get_channel_layer()
    assert isinstance(layer, PooledRedisChannelLayer)
    conversation_id = uuid.uuid4().int % 1_000_000_000
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation_id), channel)
    try:
        await asyncio.gather(
            *(
                live.publish(conversation_id, live.StatusChanged("running", failure=str(n)))
                for n in range(PUBLISHES)
            )
        )
        received = [await asyncio.wait_for(layer.receive(channel), 30) for _ in range(PUBLISHES)]
    finally:
        await layer.group_discard(live.group_name(conversation_id), channel)
        await layer.close_pools()
    assert sorted(int(message["failure"]) for message in received) == list(range(PUBLISHES))
    assert "could not publish" not in caplog.text


@pytest.mark.asyncio
async def test_an_idle_receive_outlives_the_redis_read_timeout(settings) -> None:
    """A worker or socket waiting on a quiet channel keeps waiting: redis-py's default 5 s read
    timeout used to end channels-redis's 5 s blocking receive with a TimeoutError."""
    url = settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    layer = PooledRedisChannelLayer(hosts=[url])
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    # Past one whole server-side block (brpop_timeout) and the old read timeout: still waiting.
    done, _ = await asyncio.wait({waiting}, timeout=layer.brpop_timeout + 1.5)
    assert not done, waiting.exception()
    await layer.send(channel, {"type": "still.here"})
    assert await asyncio.wait_for(waiting, timeout=5) == {"type": "still.here"}
    await layer.flush()
