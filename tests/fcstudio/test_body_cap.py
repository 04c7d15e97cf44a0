"""Under ASGI, Django reads a whole body before any middleware or view sees it; the ASGI app in
front of it (`fcstudio.limits.BodyCap`, wired in fcstudio.asgi) refuses a body larger than any
view at its path takes, unread, so anyone (the demo model needs no login) cannot make the server
receive and spool megabytes it will refuse anyway."""

from __future__ import annotations

import asyncio
import json

import pytest

from fcstudio.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
DEMO = "/demo-model/v1/chat/completions"
MB = 1024 * 1024


async def post(path: str, parts: list[bytes], length: int | None) -> tuple[dict, bytes, int]:
    """(response start, body, how many of `parts` the app read)."""
    left = list(parts)
    sent: list[dict] = []

    async def receive() -> dict:
        if left:
            part = left.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(left)}
        await asyncio.Event().wait()  # the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body, len(parts) - len(left)


async def test_a_declared_oversized_body_is_refused_unread():
    parts = [b"x" * MB for _ in range(4)]
    start, body, read = await post(DEMO, parts, length=4 * MB)
    assert start["status"] == 413 and read == 0
    assert json.loads(body)["error"]["code"] == "request_too_large"


async def test_a_body_without_a_length_is_read_only_up_to_the_cap():
    parts = [b"x" * (256 * 1024) for _ in range(40)]  # 10 MB, chunked
    start, body, read = await post(DEMO, parts, length=None)
    assert start["status"] == 413
    assert read == 5  # 1.25 MB read: just past the demo model's 1 MB
    assert json.loads(body)["error"]["code"] == "request_too_large"


async def test_other_paths_take_at_most_twice_an_import(settings):
    """Up to there, each page refuses what its own form does not take, where the person looks."""
    settings.FCSTUDIO_MAX_IMPORT_BYTES = MB
    start, body, read = await post("/accounts/login/", [b"x"], length=3 * MB)
    assert (start["status"], read) == (413, 0)
    assert body.decode().startswith("The request body is 3.0 MB; at most 2.1 MB is accepted.")


async def test_a_body_within_the_cap_reaches_the_view_whole():
    ask = {"model": "fcstudio-demo-deterministic", "messages": [{"role": "user", "content": "Hi"}]}
    raw = json.dumps(ask).encode()
    for length in (len(raw), None):  # declared, and chunked (read here, handed on)
        start, body, read = await post(DEMO, [raw[:10], raw[10:]], length=length)
        assert start["status"] == 200, body
        assert json.loads(body)["object"] == "chat.completion"
        assert read == 2
