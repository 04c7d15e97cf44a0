"""Redis as the channel layer and the Celery broker, exercised for real."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from fcstudio.celery import app
from tests.conftest import service_unavailable

pytestmark = pytest.mark.services


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {url} is unreachable: {exc}")
    return url


@pytest.mark.asyncio
async def test_channel_layer_group_round_trip(redis_url: str) -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    group = f"conv-test-{uuid.uuid4().hex}"
    event = {"type": "execution.finished", "tool_call_id": "call_1", "elapsed_ms": 12.5}
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        await layer.group_send(group, event)
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
    finally:
        await layer.group_discard(group, channel)
        await layer.close_pools()
    assert received == event


def test_celery_broker_is_redis(redis_url: str) -> None:
    assert app.conf.broker_url == redis_url
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1)
        assert (broker.transport.driver_type, broker.connected) == ("redis", True)
