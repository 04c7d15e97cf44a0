"""Per-team hourly quotas: runs started, and model calls made by runs."""

from __future__ import annotations

from django.urls import reverse

from conversations import quotas
from conversations.models import ModelCall, RunStart, RunStatus
from fcstudio.models import Team
from tests.support.openai_server import Reply

from .test_runner import THREE_CITIES, run, start


def run_url(conversation) -> str:
    return reverse(
        "conversation_run",
        kwargs={"team": conversation.team.slug, "conversation": conversation.pk},
    )


def test_a_run_over_the_teams_hourly_quota_is_refused_with_the_reason_on_the_page(
    team, people, provider, model_server, settings
):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 1
    model_server.script(Reply(content="Hello."), Reply(content="Hello again."))
    first, second = start(team, people, provider, []), start(team, people, provider, [])
    client = people.client_for("editor")

    client.post(run_url(first))
    page = client.post(run_url(second), follow=True).content.decode()

    assert "Run not started: this team has started 1 runs in the last hour, its limit" in page
    second.refresh_from_db()
    assert second.status == RunStatus.DRAFT
    assert len(model_server.requests) == 1
    assert RunStart.objects.filter(team=team).count() == 1


def test_a_refused_htmx_run_refreshes_the_page_to_show_why(
    team, people, provider, model_server, settings
):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 1
    RunStart.objects.create(team=team)
    conversation = start(team, people, provider, [])

    response = people.client_for("editor").post(run_url(conversation), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert model_server.requests == []


def test_another_teams_runs_do_not_count(team, settings):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 1
    other = Team.objects.create(name="Other", slug="other")
    RunStart.objects.create(team=other)
    quotas.check_run_quota(team)  # does not raise


def test_zero_means_unlimited(team, people, provider, model_server, settings):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 0
    for _ in range(3):
        RunStart.objects.create(team=team)
    quotas.check_run_quota(team)
    assert quotas.model_call_refusal(team.pk) == ""


def test_outsider_cannot_start_a_run(team, people, provider, model_server):
    conversation = start(team, people, provider, [])
    assert people.client_for("outsider").post(run_url(conversation)).status_code == 404
    assert model_server.requests == []


def test_a_run_whose_model_call_quota_runs_out_fails_with_the_reason(
    team, people, provider, tool, model_server, settings
):
    settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = 1
    model_server.script(Reply(tool_calls=THREE_CITIES[:1]), Reply(content="Sunny."))
    conversation = start(team, people, provider, [tool])

    assert run(conversation) == RunStatus.FAILED

    assert conversation.failure.startswith(
        "The team's quota of 1 model calls per hour is used up, so the run stopped before its "
        "next model call"
    )
    assert len(model_server.requests) == 1  # the tools of round 0 ran; round 1 never asked
    assert ModelCall.objects.filter(conversation=conversation).count() == 1
    assert conversation.messages.filter(role="tool").count() == 1
