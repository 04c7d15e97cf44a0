"""API tokens for the recording proxy: made and revoked by a team's admins.

A new token is shown once: the request that makes it redirects (so a reload makes no second
token) and keeps the token in the session for exactly the next page, which pops it; afterwards
the studio knows only its hash (`conversations.tokens`)."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role, Team
from fcstudio.secrets import decrypt, encrypt
from fcstudio.teams import TeamRequest, team_view

from .models import ApiToken, Provider
from .tokens import NAME_MAX_LENGTH, create_token, revoke_token

TOKEN_FORM_BYTES = 16 * KB
# The session key holding just-made tokens (encrypted, by token id, so two made at once are
# both shown) until the tokens page shows them, once, at most this many seconds later.
NEW_TOKEN_SESSION_KEY = "fcstudio.new_api_tokens"
NEW_TOKEN_KEPT_S = 120


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text=(
            f"What uses it, e.g. “support bot (staging)”; at most {NAME_MAX_LENGTH} characters."
        ),
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(),
        help_text="Requests made with this token are forwarded to this provider.",
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No maxlength in the page: a browser would cut a longer pasted name without a word;
        # the form refuses it instead, saying how long it was.
        self.fields["name"].widget.attrs.pop("maxlength", None)
        provider = self.fields["provider"]
        assert isinstance(provider, forms.ModelChoiceField)
        provider.queryset = Provider.objects.filter(team=team)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(TOKEN_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def api_tokens(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = ApiTokenForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        record, token = create_token(
            team, form.cleaned_data["provider"], name=form.cleaned_data["name"], user=request.user
        )
        made = request.session.get(NEW_TOKEN_SESSION_KEY)
        made = made if isinstance(made, dict) else {}
        made[str(record.pk)] = {"team": team.pk, "token": encrypt(token), "at": time.time()}
        request.session[NEW_TOKEN_SESSION_KEY] = made
        return redirect("api_tokens", team=team.slug)
    new_tokens = _kept_tokens(request, team) if request.method == "GET" else []
    context = {
        "form": form,
        "new_tokens": new_tokens,
        "tokens": ApiToken.objects.filter(team=team).select_related("provider", "created_by"),
        "proxy_url": settings.FCSTUDIO_PROXY_URL or request.build_absolute_uri("/v1"),
    }
    response = render(request, "conversations/api_tokens.html", context)
    if new_tokens:
        # Neither the browser's cache nor its back button keeps the one page that shows it.
        add_never_cache_headers(response)
    return response


def _kept_tokens(request: TeamRequest, team: Team) -> list[str]:
    """The tokens just made on this team's page, popped from the session (each shown once;
    one kept longer than `NEW_TOKEN_KEPT_S`, because the page was never opened, is dropped)."""
    made = request.session.get(NEW_TOKEN_SESSION_KEY)
    if not isinstance(made, dict):
        return []
    shown, kept = [], {}
    for token_id, entry in made.items():
        if not isinstance(entry, dict) or time.time() - entry.get("at", 0) > NEW_TOKEN_KEPT_S:
            continue
        if entry.get("team") == team.pk:
            shown.append(decrypt(entry["token"]))
        else:
            kept[token_id] = entry
    if kept:
        request.session[NEW_TOKEN_SESSION_KEY] = kept
    else:
        request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    return shown


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(TOKEN_FORM_BYTES)
@require_POST
def api_token_revoke(request: TeamRequest, token_id: int) -> HttpResponse:
    team = request.team
    record = get_object_or_404(ApiToken, team=team, pk=token_id)
    revoke_token(record, actor=request.user)
    messages.success(request, f"Token “{record.name}” revoked: apps using it are refused now.")
    return redirect("api_tokens", team=team.slug)
