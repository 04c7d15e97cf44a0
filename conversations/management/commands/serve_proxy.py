"""``manage.py serve_proxy [--host H] [--port P]``: the recording proxy on a server of its own.

The studio's Daphne also answers `/v1/`, but Daphne (Twisted's HTTP under asyncio) costs about
as much per request as the proxy's whole budget (DESIGN.md: at most 1 ms added at p50). This
serves the same ASGI app (`conversations.proxy.application`, nothing of Django's request
machinery) from uvicorn on uvloop with the httptools parser, and records in a child process
(`conversations.recorder_process`), so the serving process does nothing but relay. `make run`
starts it beside Daphne on port 8001; `FCSTUDIO_PROXY_URL` tells the API tokens page where it is.
Anything but `/v1/chat/completions` and `/v1/models` is an OpenAI-style 404.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from conversations import proxy


def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    sock: socket.socket | None = None,
    application: Any = proxy.application,
) -> None:
    """Serve the proxy until SIGINT or SIGTERM, then let the recorder finish. `sock`, a
    listening socket, is served instead of binding host and port, and `application` may wrap
    the proxy's (tests and the bench)."""
    connections.close_all()  # the recorder's child opens its own; this process needs one rarely
    proxy.record_in_a_child_process()
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        interface="asgi3",
        proxy_headers=False,
        server_header=False,
        date_header=False,  # the upstream's own Date is relayed
        access_log=False,
        log_level="warning",
        # A stop waits this long for answers under way (a model's stream may take a while),
        # then cuts them off: it never waits forever.
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )
    try:
        _Server(config).run(sockets=None if sock is None else [sock])
    finally:
        proxy.close_recorders()  # when the server failed to start; else done already


GRACEFUL_STOP_S = 20


class _Server(uvicorn.Server):
    """uvicorn's server, which lets the recorders finish before a stop signal takes effect.

    uvicorn stops gracefully on SIGINT or SIGTERM, restores the handlers it found and raises the
    signal again, which (by default) ends the process at once. The recorders are closed while
    its handlers are still in place, so the stop waits for them (at most their timeout)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                proxy.close_recorders()


class Command(BaseCommand):
    help = "Serve the recording proxy (/v1/) alone, on uvicorn, recording in a child process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            f"Recording proxy on http://{options['host']}:{options['port']}/v1 "
            "(an app's base_url; its key is a studio API token)."
        )
        # Ctrl-C ends in a KeyboardInterrupt once uvicorn stopped and the recorder finished.
        with contextlib.suppress(KeyboardInterrupt):
            serve(options["host"], options["port"])
