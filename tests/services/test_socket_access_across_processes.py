"""A membership removed in another process closes a socket here, through Redis.

The team page, the admin and the websocket may be served by different processes; the removal is
made by a separate Python process on this session's test database, and the socket served by
this one hears of it over the Redis channel layer (a prefix of this test's own).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from conversations import compose, live
from conversations.consumers import CLOSE_FORBIDDEN
from fcstudio.models import Membership
from fcstudio.routing import websocket_urlpatterns
from tests.conftest import service_unavailable
from tests.support.live_studio import database_url

pytestmark = [pytest.mark.services, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REMOVE = (
    "import django; django.setup()\n"
    "from fcstudio.models import Membership\n"
    "Membership.objects.get(pk=int({pk})).delete()\n"
)


@pytest.fixture
def redis_layer(settings, tmp_path) -> dict[str, str]:
    url = django_settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {url} is unreachable: {exc}")
    tag = uuid.uuid4().hex[:10]
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"fcstudio-test-{tag}:"},
        }
    }
    settings.CHANNEL_LAYERS = layers
    module = f"access_test_settings_{tag}"
    (tmp_path / f"{module}.py").write_text(
        f"from fcstudio.settings import *  # noqa: F403\n\nCHANNEL_LAYERS = {layers!r}\n",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": url,
        "DJANGO_SETTINGS_MODULE": module,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }


async def test_a_removal_in_another_process_closes_the_socket(team, people, provider, redis_layer):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    membership = await Membership.objects.aget(user=people.viewer, team=team)
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.viewer
    try:
        assert (await socket.connect())[0]
        await socket.receive_from(timeout=5)  # the catch-up snapshot

        remover = await asyncio.create_subprocess_exec(
            sys.executable, "-c", REMOVE.format(pk=membership.pk), cwd=ROOT, env=redis_layer
        )
        assert await asyncio.wait_for(remover.wait(), timeout=60) == 0

        closed = await socket.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
        await live.publish(conversation.pk, live.StatusChanged("running"))
        assert await socket.receive_nothing(timeout=0.5)
    finally:
        await get_channel_layer().close_pools()
