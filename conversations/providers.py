"""A team's stored providers as the client needs them: secrets decrypted only here, and the
outbound policy the settings allow applied to every one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fcstudio import audit, outbound, secrets
from tools_app.engine.implementations.http import reserved_header

from .models import Provider
from .provider import PROVIDER_SETS_HEADERS, ProviderConfig


def set_api_key(provider: Provider, api_key: str) -> None:
    provider.api_key_encrypted = secrets.encrypt(api_key) if api_key else ""
    provider.api_key_hint = secrets.SET if api_key else ""  # that a key is set, nothing of it


def save_provider(
    provider: Provider,
    *,
    api_key: str = "",
    extra_headers: dict[str, str] | None = None,
    actor: Any = None,
) -> None:
    """Save a new or edited provider; an empty `api_key` or None headers keep the stored ones.

    The audit trail says what changed, and that a key was rotated, never the key.
    """
    created = provider.pk is None
    if api_key:
        set_api_key(provider, api_key)
    if extra_headers is not None:
        set_extra_headers(provider, extra_headers)
    provider.save()
    details: dict[str, Any] = {"base_url": provider.base_url, "model": provider.default_model}
    if extra_headers is not None:
        details["header_names"] = sorted(extra_headers)
    kind = audit.Kind.PROVIDER_CREATE if created else audit.Kind.PROVIDER_EDIT
    audit.record(provider.team_id, kind, actor, provider, details)
    if api_key and not created:
        audit.record(provider.team_id, audit.Kind.PROVIDER_KEY_ROTATE, actor, provider)


def set_extra_headers(provider: Provider, headers: dict[str, str]) -> None:
    provider.extra_headers_encrypted = secrets.encrypt(json.dumps(headers)) if headers else ""


def extra_headers(provider: Provider) -> dict[str, str]:
    """The stored extra headers but any the studio sets itself (stored before the form refused
    them)."""
    if not provider.extra_headers_encrypted:
        return {}
    stored = json.loads(secrets.decrypt(provider.extra_headers_encrypted))
    return {
        name: value
        for name, value in stored.items()
        if not reserved_header(name, PROVIDER_SETS_HEADERS)
    }


def provider_config(provider: Provider, *, model: str = "") -> ProviderConfig:
    """Raises secrets.SecretError when the stored key cannot be decrypted any more."""
    api_key = secrets.decrypt(provider.api_key_encrypted) if provider.api_key_encrypted else ""
    return ProviderConfig(
        base_url=provider.base_url,
        api_key=api_key or "not-needed",
        model=model or provider.default_model,
        timeout_s=provider.timeout_s,
        extra_headers=extra_headers(provider),
        policy=outbound.provider_policy(),
    )


# A provider may list thousands of models; the picker offers the first of them, by name.
KNOWN_MODELS_KEPT = 1000


def known_model_names(providers: Iterable[Provider]) -> list[str]:
    """The model ids these providers listed when tested, and their defaults: what a model
    field suggests."""
    names: set[str] = set()
    for provider in providers:
        names.update(m for m in provider.known_models or [] if isinstance(m, str))
        if provider.default_model:
            names.add(provider.default_model)
    return sorted(names)


def save_known_models(provider: Provider, model_ids: list[str]) -> None:
    """Keep the model ids Test connection fetched, for the model pickers' suggestions; ids too
    long for a conversation's model field, or with control characters, are left out."""
    kept = [
        model_id for model_id in model_ids if 0 < len(model_id) <= 200 and model_id.isprintable()
    ][:KNOWN_MODELS_KEPT]
    provider.known_models = kept
    provider.save(update_fields=["known_models"])
