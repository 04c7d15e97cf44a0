"""Studio API tokens: made, found and revoked here, for the UI, the command and the proxy.

A token is `fcs_` and 43 characters of `secrets.token_urlsafe` (256 bits): high enough entropy
that one unsalted sha256 is a safe thing to store and to look a token up by. The token itself
exists only in the answer to whoever made it; nothing here stores or logs it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from fcstudio import audit
from fcstudio.models import Team

from .models import ApiToken, Provider

PREFIX = "fcs_"
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length or 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    team: Team, provider: Provider, *, name: str, user: Any = None
) -> tuple[ApiToken, str]:
    """A new token for `team`, forwarding to `provider` (one of the team's): (record, token)."""
    if provider.team_id != team.pk:
        raise ValueError("The provider belongs to another team.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"The name has {len(name)} characters; at most {NAME_MAX_LENGTH} fit.")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        team=team,
        provider=provider,
        name=name,
        token_hash=token_hash(token),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    details = {"provider": provider.name}
    audit.record(team, audit.Kind.TOKEN_CREATE, user, record, details)
    return record, token


def find_token(token: str) -> ApiToken | None:
    """The live token `token` is, with its team and provider; None when unknown or revoked."""
    if not token.startswith(PREFIX):
        return None
    return (
        ApiToken.objects.select_related("team", "provider")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )


def revoke_token(record: ApiToken, *, actor: Any = None) -> None:
    """Saved (not updated) so that the proxy in this process forgets the token at once."""
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
        audit.record(record.team_id, audit.Kind.TOKEN_REVOKE, actor, record)
