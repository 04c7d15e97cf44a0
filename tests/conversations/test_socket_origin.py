"""The websocket opens only for a page of this very site: scheme, host and port must match the
request's Host (itself one of ALLOWED_HOSTS), or the origin is one of CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from conversations import compose
from fcstudio.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(team, people, provider):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    return compose.create_conversation(team, people.editor, data)


@pytest.fixture
def session_cookie(people) -> bytes:
    client = Client()
    client.force_login(people.viewer)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(conversation, cookie: bytes, origin: bytes, host: bytes = b"127.0.0.1:8000"):
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    headers = [(b"host", host), (b"origin", origin), (b"cookie", cookie)]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    await socket.disconnect()
    return connected


async def test_the_sites_own_origin_is_accepted(conversation, session_cookie):
    assert await connect(conversation, session_cookie, b"http://127.0.0.1:8000") is True


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",
        b"http://127.0.0.1",
        b"https://127.0.0.1:8000",
        b"http://localhost:8000",
        b"http://evil.example:8000",
        b"null",
    ],
)
async def test_any_other_origin_is_refused(conversation, session_cookie, origin):
    assert await connect(conversation, session_cookie, origin) is False


async def test_a_host_outside_allowed_hosts_is_refused_even_with_its_own_origin(
    conversation, session_cookie
):
    origin, host = b"http://evil.example:8000", b"evil.example:8000"
    assert await connect(conversation, session_cookie, origin, host=host) is False


async def test_a_trusted_origin_is_accepted_behind_a_proxy(conversation, session_cookie, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://studio.example.com"]
    origin = b"https://studio.example.com"
    assert await connect(conversation, session_cookie, origin, host=b"127.0.0.1:8000") is True
    assert await connect(conversation, session_cookie, b"https://studio.example.com:8443") is False


async def test_behind_a_tls_proxy_the_origin_is_https(conversation, session_cookie, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    host = b"studio.example.com"
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    for origin, expected in (
        (b"https://studio.example.com", True),
        (b"http://studio.example.com", False),
    ):
        headers = [
            (b"host", host),
            (b"origin", origin),
            (b"x-forwarded-proto", b"https"),
            (b"cookie", session_cookie),
        ]
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await socket.connect()
        await socket.disconnect()
        assert connected is expected
