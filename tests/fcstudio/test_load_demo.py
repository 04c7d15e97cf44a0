"""load_demo: the workspace `make run` opens on, created once and refreshed without new versions."""

from __future__ import annotations

import io
import re

from django.core.management import call_command
from django.test import Client

from conversations.models import Conversation, Provider
from conversations.providers import provider_config
from fcstudio.management.commands.load_demo import DEMO_TOOLS
from fcstudio.models import Membership, Role
from tools_app.models import Catalog, ToolVersion


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_creates_a_workspace_to_log_in_to(db) -> None:
    output = load_demo()
    [password] = re.findall(r"user: demo  password: (\S+)", output)
    assert Client().login(username="demo", password=password)
    membership = Membership.objects.get(user__username="demo")
    assert (membership.team.slug, membership.role) == ("demo", Role.ADMIN)
    starter = Catalog.objects.get(team__slug="demo", slug="starter")
    assert sorted(starter.tools.values_list("name", "version")) == sorted(
        (spec["name"], 1) for spec in DEMO_TOOLS
    )
    assert sorted(
        ToolVersion.objects.filter(tool__catalog=starter).values_list("tool__name", "number")
    ) == sorted((spec["name"], 1) for spec in DEMO_TOOLS)


def test_running_twice_changes_no_versions(db) -> None:
    load_demo()
    before = sorted(ToolVersion.objects.values_list("tool__catalog__slug", "tool__name", "number"))
    load_demo()
    after = sorted(ToolVersion.objects.values_list("tool__catalog__slug", "tool__name", "number"))
    assert after == before
    assert {number for _, _, number in after} == {1}
    assert Membership.objects.filter(user__username="demo").count() == 1


def test_a_provider_from_the_environment_is_created_then_updated(db, monkeypatch) -> None:
    key = "sk-env-key-0123456789"
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    output = load_demo()
    assert "Provider 'OpenAI (from environment)' created" in output
    assert key not in output
    provider = Provider.objects.get(team__slug="demo", name="OpenAI (from environment)")
    assert (provider.base_url, provider.default_model) == (
        "https://llm.example.com/v1",
        "gpt-4o-mini",
    )
    assert provider_config(provider).api_key == key

    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1")
    output = load_demo()
    assert "Provider 'OpenAI (from environment)' updated" in output
    [provider] = Provider.objects.filter(team__slug="demo", name="OpenAI (from environment)")
    assert provider.default_model == "gpt-4.1"


def test_without_the_environment_no_provider_and_a_hint(db, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-only-a-key-without-url")
    output = load_demo()
    assert not Provider.objects.exclude(name="Demo model (built in, deterministic)").exists()
    assert "No provider from the environment" in output
    assert "OPENAI_BASE_URL and OPENAI_API_KEY" in output and "add_provider" in output


def test_the_demo_model_provider_and_a_ready_conversation_are_created_once(db, settings) -> None:
    settings.FCSTUDIO_PUBLIC_URL = "http://127.0.0.1:8000"
    output = load_demo()
    provider = Provider.objects.get(team__slug="demo", name="Demo model (built in, deterministic)")
    assert (provider.base_url, provider.default_model) == (
        "http://127.0.0.1:8000/demo-model/v1",
        "fcstudio-demo-deterministic",
    )
    [conversation] = Conversation.objects.filter(team__slug="demo")
    assert conversation.title == "Demo model: Weather in Oslo, Lima and Osaka?"
    assert (conversation.provider, conversation.model) == (provider, provider.default_model)
    assert (conversation.tool_choice, conversation.parallel_tool_calls) == ("auto", True)
    assert [m.payload["content"] for m in conversation.messages.filter(role="user")] == [
        "Weather in Oslo, Lima and Osaka?"
    ]
    assert sorted(v.tool.name for v in conversation.tool_versions.all()) == sorted(
        spec["name"] for spec in DEMO_TOOLS
    )
    assert f"/t/demo/conversations/{conversation.pk}/ and press Run" in output

    settings.FCSTUDIO_PUBLIC_URL = "http://studio.internal:9000"
    load_demo()
    provider.refresh_from_db()
    assert provider.base_url == "http://studio.internal:9000/demo-model/v1"
    assert list(Conversation.objects.filter(team__slug="demo")) == [conversation]


def test_without_a_public_url_no_demo_provider(db, settings) -> None:
    settings.FCSTUDIO_PUBLIC_URL = ""
    output = load_demo()
    assert not Provider.objects.exists() and not Conversation.objects.exists()
    assert "No demo model provider: FCSTUDIO_PUBLIC_URL is not set" in output
