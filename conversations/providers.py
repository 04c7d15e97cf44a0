"""A team's stored providers as the client needs them: secrets decrypted only here, and the
outbound policy the settings allow applied to every one."""

from __future__ import annotations

import json

from fcstudio import outbound, secrets

from .models import Provider
from .provider import ProviderConfig


def set_api_key(provider: Provider, api_key: str) -> None:
    provider.api_key_encrypted = secrets.encrypt(api_key) if api_key else ""
    provider.api_key_hint = secrets.mask(api_key) if api_key else ""


def set_extra_headers(provider: Provider, headers: dict[str, str]) -> None:
    provider.extra_headers_encrypted = secrets.encrypt(json.dumps(headers)) if headers else ""


def extra_headers(provider: Provider) -> dict[str, str]:
    if not provider.extra_headers_encrypted:
        return {}
    return json.loads(secrets.decrypt(provider.extra_headers_encrypted))


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
