"""How much a request may ask of the server, refused before any work starts.

A view declares the largest body it accepts with `body_limit`; `RequestSizeMiddleware` reads the
declaration and the Content-Length header before CSRF (which parses the body) and before the
view, so an oversized request costs a header comparison. Fields that survive the body check but
are longer than their form allows are caught by `overlong_fields`, before a form's checks run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

KB = 1024
MB = 1024 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH"}


View = TypeVar("View", bound=Callable[..., Any])  # a view, plain or async


def body_limit(
    max_bytes: int, refusal: Callable[[int, int], HttpResponse] | None = None
) -> Callable[[View], View]:
    """Declare the largest request body `view` accepts; the middleware enforces it.

    `refusal(length, max_bytes)` answers an oversized body, for a view whose clients want its
    own kind of error (an API's JSON); else `refuse` does.
    """

    def declare(view: View) -> View:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        view.body_refusal = refusal  # type: ignore[attr-defined]
        return view

    return declare


def size_text(count: int) -> str:
    if count >= MB:
        return f"{count / MB:.1f} MB"
    if count >= KB:
        return f"{count / KB:.0f} KB"
    return f"{count} bytes"


def refuse(request: HttpRequest, message: str) -> HttpResponse:
    """The answer to a request that asks too much: said where the person looks.

    An htmx swap gets a 413 whose fragment replaces the element it targeted (keeping its id,
    so the next swap still finds it); a form posted from a page goes back to that page, which
    shows the message; anything else gets a plain 413.
    """
    # HtmxMiddleware sets `request.htmx`; a request that did not pass through it has none.
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if htmx:
        target = htmx.target or ""
        response = HttpResponse(
            format_html(
                '<div id="{}" class="panel too-large" role="alert"><p class="error">{}</p></div>',
                target,
                message,
            ),
            status=413,
        )
        response["HX-Reswap"] = "outerHTML"
        return response
    back = request.META.get("HTTP_REFERER", "")
    if back and hasattr(request, "_messages") and _same_site(request, back):
        messages.error(request, message)
        return HttpResponseRedirect(back, status=303)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _same_site(request: HttpRequest, url: str) -> bool:
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


class RequestSizeMiddleware:
    """Refuse a body larger than its view declared, from the Content-Length header alone.

    A body without a Content-Length (chunked) is refused with 411 by views that declare a
    limit: its size would only be known by reading it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        limit = getattr(view, "max_body_bytes", None)
        if limit is None or request.method not in BODY_METHODS:
            return None
        header = request.META.get("CONTENT_LENGTH") or ""
        if not header.strip():
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                return HttpResponse("Send a Content-Length.", status=411)
            return None
        try:
            length = int(header)
        except ValueError:
            return HttpResponse("The Content-Length is not a number.", status=400)
        if length > limit:
            refusal = getattr(view, "body_refusal", None)
            if refusal is not None:
                response: HttpResponse = refusal(length, limit)
                return response
            return refuse(
                request,
                f"The request is {size_text(length)}; this page accepts at most "
                f"{size_text(limit)}. Nothing was done.",
            )
        return None


def overlong_fields(form_class: type[forms.Form], data: Mapping[str, Any]) -> list[str]:
    """One message per posted field longer than the form's `max_length` for it.

    For forms whose checks run before field validation would stop them (a live check).
    """
    problems = []
    for name, field in form_class.base_fields.items():
        limit = getattr(field, "max_length", None)
        value = data.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            label = field.label or name.replace("_", " ").capitalize()
            problems.append(f"{label} is {len(value):,} characters; the limit is {limit:,}.")
    return problems


# -- before Django ---------------------------------------------------------------------------
# Under ASGI, Django reads a request's whole body (into a temporary file) before any middleware
# or view runs, so `body_limit` can refuse a body only once it has arrived. `BodyCap` is the
# ASGI app in front of Django: a body larger than any view at its path accepts is refused from
# its Content-Length, unread, and a body without one is read only up to that size.

AsgiApp = Callable[..., Any]


class BodyCap:
    """Refuse, before Django, a body over `caps[prefix]` for paths under `prefix` (the first
    that matches), else over `default()` (read per request, so that settings changed at run
    time hold); `refusals[prefix]` makes that path's 413 body (an API's JSON), else it is plain
    text."""

    def __init__(
        self,
        app: AsgiApp,
        default: Callable[[], int],
        caps: Mapping[str, int] | None = None,
        refusals: Mapping[str, Callable[[int, int], bytes]] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.caps = dict(caps or {})
        self.refusals = dict(refusals or {})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            return await self.app(scope, receive, send)
        prefix = next((p for p in self.caps if scope["path"].startswith(p)), "")
        cap = self.caps[prefix] if prefix else self.default()
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None:
            if declared.strip().isdigit() and int(declared) > cap:
                return await self._refuse(send, prefix, int(declared), cap)
            return await self.app(scope, receive, send)
        # No length (chunked): read it here, at most `cap`, and hand Django what came.
        parts: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            parts.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > cap:
                return await self._refuse(send, prefix, size, cap)
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return parts.pop(0) if parts else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, prefix: str, length: int, cap: int) -> None:
        refusal = self.refusals.get(prefix)
        if refusal is not None:
            body, kind = refusal(length, cap), b"application/json"
        else:
            body = (
                f"The request body is {size_text(length)}; at most {size_text(cap)} is accepted."
            ).encode()
            kind = b"text/plain; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
