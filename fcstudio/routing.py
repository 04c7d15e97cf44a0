"""Websocket routes, and the origin check every socket passes before them.

Channels' `AllowedHostsOriginValidator` compares the Origin's host with ALLOWED_HOSTS only, so a
page served from another port or scheme of an allowed host (`http://127.0.0.1:9999` for a studio
on :8000, any local dev server) could open a socket with the person's session cookie. Here the
Origin must be exactly the site the socket was opened on, as Django's CSRF check requires of
unsafe requests: scheme, host and port of the request (its Host header, itself one of
ALLOWED_HOSTS), or one of CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path
from django.utils.http import is_same_domain

from conversations.consumers import ConversationConsumer

websocket_urlpatterns = [
    path(
        "ws/t/<slug:team>/conversations/<int:conversation>/",
        ConversationConsumer.as_asgi(),
    ),
]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin1"))
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        header, secure_value = proxy_header
        # Django spells it as a META key (HTTP_X_FORWARDED_PROTO); the scope has raw headers.
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        forwarded = _header(scope, name)
        if forwarded is not None:
            return forwarded.split(",")[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the socket's Origin is this site itself, or a trusted origin."""
    origin = _header(scope, b"origin")
    if not origin or origin == "null":
        return False
    origin = origin.lower()
    host = _header(scope, b"host")
    if host:
        domain, _ = split_domain_port(host)
        own = f"{'https' if _is_secure(scope) else 'http'}://{host.lower()}"
        if domain and validate_host(domain, _allowed_hosts()) and origin == own:
            return True
    trusted = [entry.lower() for entry in settings.CSRF_TRUSTED_ORIGINS]
    if origin in trusted:
        return True
    parts = urlsplit(origin)
    for entry in trusted:
        if "*" in entry:
            pattern = urlsplit(entry)
            if pattern.scheme == parts.scheme and is_same_domain(
                parts.netloc, pattern.netloc.replace("*", "", 1)
            ):
                return True
    return False


class SameOriginValidator:
    """ASGI middleware: refuse a websocket whose Origin is not this site (see the module)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websockets only.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
