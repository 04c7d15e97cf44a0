"""API tokens for the recording proxy: made and revoked by a team's admins.

A new token is shown once, in the answer to the request that made it; afterwards the studio
knows only its hash (`conversations.tokens`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role, Team
from fcstudio.teams import TeamRequest, team_view

from .models import ApiToken, Provider
from .tokens import create_token, revoke_token

TOKEN_FORM_BYTES = 16 * KB


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “support bot (staging)”.")
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(),
        help_text="Requests made with this token are forwarded to this provider.",
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider = self.fields["provider"]
        assert isinstance(provider, forms.ModelChoiceField)
        provider.queryset = Provider.objects.filter(team=team)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(TOKEN_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def api_tokens(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = ApiTokenForm(request.POST or None, team=team)
    new_token = ""
    if request.method == "POST" and form.is_valid():
        _, new_token = create_token(
            team, form.cleaned_data["provider"], name=form.cleaned_data["name"], user=request.user
        )
        form = ApiTokenForm(team=team)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(team=team).select_related("provider", "created_by"),
        "proxy_url": settings.FCSTUDIO_PROXY_URL or request.build_absolute_uri("/v1"),
    }
    return render(request, "conversations/api_tokens.html", context)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(TOKEN_FORM_BYTES)
@require_POST
def api_token_revoke(request: TeamRequest, token_id: int) -> HttpResponse:
    team = request.team
    record = get_object_or_404(ApiToken, team=team, pk=token_id)
    revoke_token(record, actor=request.user)
    messages.success(request, f"Token “{record.name}” revoked: apps using it are refused now.")
    return redirect("api_tokens", team=team.slug)
