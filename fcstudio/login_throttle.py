"""Log-in throttling: django-axes counts failed log-ins per user name and address.

Axes's backend refuses an `authenticate` call without a request; a call from code (a
management command, a shell, a test's `Client.login`) has no address to count, so it is
left to the next backend rather than being an error.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottle(AxesStandaloneBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def locked_out(request: HttpRequest, *_: Any) -> HttpResponse:
    """The page a locked-out log-in gets (AXES_LOCKOUT_CALLABLE), in minutes, not timedeltas.

    Axes calls it with (request, response, credentials) or, from its async middleware,
    (request, credentials): neither is needed here.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "username": str(
            request.POST.get(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"), "")
        )[:150],
        "minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
