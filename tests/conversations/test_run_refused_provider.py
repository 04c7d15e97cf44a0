"""A run against a provider the outbound policy refuses fails clearly, and nothing reaches it."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from conversations import compose
from conversations.models import ModelCall, RunStatus
from conversations.runner import run_conversation


def test_a_run_against_a_refused_provider_fails_with_kind_refused(
    team, people, provider, tool, model_server, settings
):
    settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE = False
    settings.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = []
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = []
    conversation = compose.create_conversation(
        team,
        people.editor,
        {
            "provider": provider,
            "model": "",
            "system": "",
            "user": "Weather in Oslo?",
            "tools": [tool],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "strategy": "asyncio",
            "max_rounds": 2,
        },
    )

    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FAILED

    conversation.refresh_from_db()
    assert conversation.failure.startswith("Provider error (refused)")
    assert "FCSTUDIO_PROVIDER_ALLOWED_HOSTS" in conversation.failure
    failed = ModelCall.objects.get(conversation=conversation)
    assert (failed.ok, failed.error_kind) == (False, "refused")
    assert model_server.requests == []
