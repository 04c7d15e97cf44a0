"""The demo model's HTTP face: `POST chat/completions` (plain or streamed) and `GET models`,
OpenAI-compatible, under `/demo-model/v1/`.

Public on purpose: it answers from the request alone (`conversations.demo_model`), costs little
and touches no data, so it needs no session, no CSRF token and accepts any bearer key. Parsing and
answering run in a worker thread, so a large body never holds up the event loop; a body over
`MAX_BODY_BYTES` is refused unread, since anyone may send one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from fcstudio.limits import MB, body_limit, size_text

from . import demo_model

# A demo conversation at its largest is some 300 KB: 128 tools of real schemas (the largest of
# BFCL's, 90 KB), six rounds of eight calls with 4 KB results, a 4,000-character prompt.
MAX_BODY_BYTES = 1 * MB


def _error(status: int, message: str, *, code: str | None = None) -> JsonResponse:
    return JsonResponse(demo_model.error_body(message, code=code), status=status)


def _too_large(length: int, limit: int = MAX_BODY_BYTES) -> JsonResponse:
    return JsonResponse(json.loads(too_large_body(length, limit)), status=413)


def too_large_body(length: int, limit: int = MAX_BODY_BYTES) -> bytes:
    """The 413's JSON, also sent before Django by `fcstudio.limits.BodyCap` (fcstudio.asgi)."""
    message = (
        f"The request body is {size_text(length)}; the demo model accepts at most "
        f"{size_text(limit)}."
    )
    return json.dumps(demo_model.error_body(message, code="request_too_large")).encode()


def _answer(raw: bytes) -> tuple[demo_model.DemoRequest, demo_model.DemoAnswer]:
    request = demo_model.parse_request(raw)
    return request, demo_model.answer(request)


@csrf_exempt
@body_limit(MAX_BODY_BYTES, _too_large)
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return _error(405, f"Method {request.method} not allowed: POST a chat completion request.")
    try:
        raw = request.body
    except RequestDataTooBig:
        return _error(413, "The request body is too large.", code="request_too_large")
    if len(raw) > MAX_BODY_BYTES:  # sent without a Content-Length
        return _too_large(len(raw))
    try:
        parsed, answer = await sync_to_async(_answer, thread_sensitive=False)(raw)
    except demo_model.DemoRequestError as exc:
        return JsonResponse(exc.body(), status=exc.status)
    created = int(time.time())
    if not parsed.stream:
        return JsonResponse(demo_model.completion(parsed, answer, created=created))
    events = list(demo_model.sse_events(parsed, answer, created=created))

    async def stream() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


@csrf_exempt
async def models(request: HttpRequest) -> HttpResponseBase:
    if request.method != "GET":
        return _error(405, f"Method {request.method} not allowed: GET the model list.")
    return JsonResponse(demo_model.models_list())
