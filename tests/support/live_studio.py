"""A live Daphne serving the studio from the test database, for tests that need a real server,
and the proxy's own server (`serve_proxy`) likewise.

Forked from the test process once its settings are in place (so a test's `settings` changes
hold in the server), like the browser tests' server but per test. Use with the transactional
database, so that both processes see committed rows.
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import quote

from fcstudio.forking import renew_after_fork


def database_url() -> str:
    """This session's test database, as a URL another process can be given."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


def _serve_test_database() -> None:
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    renew_after_fork()  # what earlier async tests left in the parent does not survive the fork
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        settings.DATABASES["default"]["NAME"] = test_name


def _application(static: bool = False) -> Any:
    from channels.routing import get_default_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = get_default_application()
    return ASGIStaticFilesHandler(application) if static else application


@contextmanager
def serve_studio(*, static: bool = False) -> Iterator[str]:
    """The base URL of a Daphne process serving the studio (and its static files, with
    `static`, as the browser tests need); stopped on exit."""
    from daphne.testing import DaphneProcess
    from django.db import connections

    connections.close_all()
    server = DaphneProcess("127.0.0.1", partial(_application, static), setup=_serve_test_database)
    server.start()
    try:
        while not server.ready.wait(timeout=1):
            if not server.is_alive():
                raise RuntimeError(f"the test server stopped: {server.errors.get(timeout=1)}")
        yield f"http://127.0.0.1:{server.port.value}"
    finally:
        server.terminate()
        server.join(timeout=10)


def _serve_proxy(listening: socket.socket) -> None:
    from conversations.management.commands.serve_proxy import serve

    _serve_test_database()
    serve(sock=listening)


@contextmanager
def serve_proxy() -> Iterator[str]:
    """The base URL of the proxy's own server (uvicorn, recording in its child process) on the
    test database; stopped on exit as a service manager stops it (SIGTERM), so what it had to
    record is recorded once this returns."""
    import httpx2 as httpx
    from django.db import connections

    connections.close_all()
    listening = socket.create_server(("127.0.0.1", 0))
    server = multiprocessing.get_context("fork").Process(target=_serve_proxy, args=(listening,))
    server.start()
    base_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    try:
        # The socket listens already, so a request waits in its backlog until the server takes
        # it; this one only makes sure a server is there to take it (not one that died).
        while True:
            if not server.is_alive():
                raise RuntimeError(f"the proxy's server stopped ({server.exitcode})")
            try:
                httpx.get(f"{base_url}/v1/models", timeout=1)
                break
            except httpx.TimeoutException:
                continue
        yield base_url
    finally:
        server.terminate()
        server.join(timeout=30)
        if server.is_alive():
            server.kill()
            server.join()
        listening.close()
