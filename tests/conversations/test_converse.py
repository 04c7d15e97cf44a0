"""converse: a conversation run from the command line, recorded, summarised from the records."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from conversations.management.commands.converse import redact
from conversations.models import Conversation, Provider
from conversations.providers import provider_config
from fcstudio.models import Team
from tests.support.openai_server import Reply
from tools_app.models import Catalog

KEY = "sk-test-key-123456"
THREE_CITIES = [
    {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Rome"}'},
    {"id": "call_c", "name": "get_weather", "arguments": '{"city": "Lima"}'},
]


def converse(*args: str) -> tuple[str, str, int]:
    """stdout, stderr and the exit status of one run."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("converse", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return out.getvalue(), err.getvalue(), int(exc.code or 0)
    return out.getvalue(), err.getvalue(), 0


def test_a_run_prints_rounds_calls_speedup_and_the_final_answer(provider, tool, model_server):
    model_server.script(Reply(tool_calls=THREE_CITIES), Reply(content="Sunny everywhere."))
    out, err, code = converse(
        "--provider=Scripted", "--catalog=travel", "--prompt=Weather in Oslo, Rome and Lima?"
    )
    assert code == 0, err
    assert "rounds: 2" in out
    assert "tool calls: 3 (ok 3)" in out
    assert "speed-up: " in out and "tool wall time: " in out
    assert "final answer: Sunny everywhere." in out
    conversation = Conversation.objects.get()
    assert out.startswith(f"conversation {conversation.pk}: finished")
    assert conversation.team.slug == "acme" and conversation.model == "test-model"


def test_json_prints_one_object_with_exactly_the_documented_keys(provider, tool, model_server):
    model_server.script(Reply(tool_calls=THREE_CITIES), Reply(content="Done."))
    out, _, code = converse(
        "--provider=Scripted", "--catalog=travel", "--prompt=Weather?", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert list(report) == [
        "conversation_id",
        "status",
        "rounds",
        "calls",
        "wall_ms",
        "sum_call_ms",
        "speedup",
        "tokens",
        "final_answer",
        "failure",
    ]
    assert report["conversation_id"] == Conversation.objects.get().pk
    assert (report["status"], report["rounds"], report["calls"]) == ("finished", 2, {"ok": 3})
    assert report["wall_ms"] > 0 and report["sum_call_ms"] > 0 and report["speedup"] > 0
    assert (report["tokens"], report["final_answer"], report["failure"]) == (36, "Done.", None)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_reaches_the_server(provider, tool, model_server, option, expected):
    model_server.script(Reply(content="Hi."))
    _, err, code = converse(
        "--provider=Scripted", "--catalog=travel", "--prompt=Hi", f"--tool-choice={option}"
    )
    assert code == 0, err
    body = model_server.requests[0]["body"]
    assert body["tool_choice"] == expected
    assert body["parallel_tool_calls"] is True


def test_no_parallel_sends_parallel_tool_calls_false(provider, tool, model_server):
    model_server.script(Reply(content="Hi."))
    converse(
        "--provider=Scripted",
        "--catalog=travel",
        "--prompt=Hi",
        "--no-parallel",
        "--system=Be brief.",
        "--max-rounds=2",
        "--strategy=sequential",
    )
    body = model_server.requests[0]["body"]
    assert body["parallel_tool_calls"] is False
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    conversation = Conversation.objects.get()
    assert (conversation.max_rounds, conversation.strategy) == (2, "sequential")


def test_a_provider_error_exits_1_with_the_reason(provider, tool, model_server):
    model_server.script(Reply(status=500, content="upstream exploded"))
    out, err, code = converse("--provider=Scripted", "--catalog=travel", "--prompt=Hi", "--json")
    assert code == 1
    assert "Provider error" in err and "upstream exploded" in err
    report = json.loads(out)
    assert report["status"] == "failed" and "upstream exploded" in report["failure"]
    assert report["final_answer"] is None


def test_base_url_and_key_create_a_provider_once_and_never_print_the_key(team, tool, model_server):
    model_server.script(Reply(content="One."), Reply(content="Two."))
    for _ in range(2):
        out, err, code = converse(
            f"--base-url={model_server.base_url}",
            f"--api-key={KEY}",
            "--model=test-model",
            "--catalog=travel",
            "--prompt=Hi",
        )
        assert code == 0, err
        assert KEY not in out + err
    [created] = Provider.objects.filter(team=team)
    assert created.name == f"127.0.0.1:{model_server.port}"
    assert provider_config(created).api_key == KEY
    assert KEY not in created.api_key_encrypted
    assert model_server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"


def test_a_wrong_key_echoed_by_the_server_is_not_printed(team, tool, model_server):
    wrong = "sk-wrong-key-abcdefgh"
    out, err, code = converse(
        f"--base-url={model_server.base_url}",
        f"--api-key={wrong}",
        "--model=test-model",
        "--catalog=travel",
        "--prompt=Hi",
    )
    assert code == 1
    assert wrong not in out + err
    assert "Provider error" in err


def test_a_key_echoed_in_part_is_not_printed_either():
    """Servers that shorten the key they echo ("sk-wr…efgh") give away part of it."""
    echoed = "Incorrect API key provided: sk-w…efgh. Or: wrong-key-abcd."
    shown = redact(echoed, "sk-wrong-key-abcdefgh")
    assert "efgh" not in shown and "wrong-key-abcd" not in shown
    assert shown.startswith("Incorrect API key provided: ")


def test_unknown_catalog_is_a_command_error(provider, tool):
    with pytest.raises(CommandError, match="No team has catalog 'nope'"):
        converse("--provider=Scripted", "--catalog=nope", "--prompt=Hi")
    with pytest.raises(CommandError, match="has no catalog 'nope'"):
        converse("--team=acme", "--provider=Scripted", "--catalog=nope", "--prompt=Hi")


def test_an_ambiguous_team_asks_for_team(provider, tool, people):
    other = Team.objects.get(slug="elsewhere")
    Catalog.objects.create(team=other, name="Travel", slug="travel")
    with pytest.raises(CommandError, match=r"Several teams have catalog 'travel' \(acme, "):
        converse(
            "--catalog=travel", "--base-url=http://127.0.0.1:1/v1", "--api-key=k", "--prompt=Hi"
        )


def test_an_unknown_tool_choice_is_a_command_error(provider, tool):
    with pytest.raises(CommandError, match="neither auto, none, required nor a tool"):
        converse("--provider=Scripted", "--catalog=travel", "--prompt=Hi", "--tool-choice=fly")
    assert not Conversation.objects.exists()
