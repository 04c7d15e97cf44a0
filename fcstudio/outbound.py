"""The outbound-request policy, one for HTTP tools and providers, built from settings.

The mechanism (resolve once, check every address, connect to the checked one, re-check redirects,
cloud metadata never) is Django-free and lives beside the HTTP tool in
`tools_app.engine.implementations.http`; this module only decides, from settings, which non-public
targets each kind of caller may reach. Nothing else reads these settings.

- HTTP tools: private, loopback and link-local targets only when `FCSTUDIO_HTTP_ALLOW_PRIVATE`
  is on or the host is listed in `FCSTUDIO_HTTP_ALLOWED_HOSTS`.
- Providers: local model servers (llama.cpp, vLLM, Ollama on 127.0.0.1 or a private network) are
  reachable in development (`FCSTUDIO_PROVIDER_ALLOW_PRIVATE`, on unless
  `FCSTUDIO_ENV=production`); in production only hosts listed in
  `FCSTUDIO_PROVIDER_ALLOWED_HOSTS` or `FCSTUDIO_HTTP_ALLOWED_HOSTS`.
"""

from __future__ import annotations

from django.conf import settings

from tools_app.engine.implementations.http import HttpPolicy


def tool_policy() -> HttpPolicy:
    return HttpPolicy(
        allow_private=settings.FCSTUDIO_HTTP_ALLOW_PRIVATE,
        allowed_hosts=frozenset(settings.FCSTUDIO_HTTP_ALLOWED_HOSTS),
        advice=(
            "an administrator can allow this host with FCSTUDIO_HTTP_ALLOWED_HOSTS "
            "(or every private target with FCSTUDIO_HTTP_ALLOW_PRIVATE)"
        ),
    )


def provider_policy() -> HttpPolicy:
    return HttpPolicy(
        allow_private=settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE,
        allowed_hosts=frozenset(
            [*settings.FCSTUDIO_PROVIDER_ALLOWED_HOSTS, *settings.FCSTUDIO_HTTP_ALLOWED_HOSTS]
        ),
        advice=(
            "to use a local or private model server, an administrator lists its host in "
            "FCSTUDIO_PROVIDER_ALLOWED_HOSTS"
        ),
    )
