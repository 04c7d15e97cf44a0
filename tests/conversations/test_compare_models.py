"""Compare models: one conversation run against several provider/model pairs, side by side."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations import compose
from conversations.models import Comparison, Conversation, Provider, RunStart, RunStatus
from conversations.providers import set_api_key
from fcstudio.models import Team
from tests.support.openai_server import Reply

from .test_runner import THREE_CITIES, start
from .test_runner import run as run_to_the_end


@pytest.fixture
def second_provider(team, model_server) -> Provider:
    record = Provider(
        team=team, name="Second", base_url=model_server.base_url, default_model="other-model"
    )
    set_api_key(record, "sk-test-key-123456")
    record.save()
    return record


@pytest.fixture
def source(team, people, provider, tool) -> Conversation:
    return start(team, people, provider, [tool])


def new_url(conversation) -> str:
    return reverse(
        "comparison_new", kwargs={"team": conversation.team.slug, "conversation": conversation.pk}
    )


def page_url(comparison) -> str:
    return reverse("comparison", kwargs={"team": comparison.team.slug, "comparison": comparison.pk})


def pairs_form(source, *pairs, cut=None) -> dict:
    data = {"cut": cut if cut is not None else source.messages.get(role="user").pk}
    for n, (provider, model) in enumerate(pairs, start=1):
        data[f"provider_{n}"] = provider.pk if provider else ""
        data[f"model_{n}"] = model
    return data


def test_an_editor_runs_two_models_and_reads_what_differed(
    people, source, provider, second_provider, model_server
):
    model_server.script(
        Reply(tool_calls=THREE_CITIES), Reply(content="Sunny everywhere."), Reply(content="Ask me.")
    )
    form = pairs_form(source, (provider, "test-model"), (second_provider, ""))

    response = people.client_for("editor").post(new_url(source), form, follow=True)

    comparison = Comparison.objects.get()
    assert response.redirect_chain == [(page_url(comparison), 302)]
    first, second = comparison.runs.order_by("pk")
    assert [(run.provider, run.model, run.status) for run in (first, second)] == [
        (provider, "test-model", RunStatus.FINISHED),
        (second_provider, "other-model", RunStatus.FINISHED),
    ]
    assert [r["body"]["model"] for r in model_server.requests] == ["test-model"] * 2 + [
        "other-model"
    ]
    assert (first.forked_from, second.forked_from) == (source, source)
    assert [m.role for m in second.messages.all()] == ["system", "user", "assistant"]
    source.refresh_from_db()
    assert (source.status, source.messages.count()) == (RunStatus.DRAFT, 2)

    page = response.content.decode()
    assert "Scripted / test-model" in page and "Second / other-model" in page
    table = response.context["table"]
    assert [cell.text for cell in table.row("Tools called").cells] == [
        "get_weather \N{MULTIPLICATION SIGN}3",
        "none",
    ]
    assert [cell.text for cell in table.row("Arguments of get_weather").cells][1] == "not called"
    assert [cell.text for cell in table.row("Final answer").cells] == [
        "Sunny everywhere.",
        "Ask me.",
    ]
    assert [cell.text for cell in table.row("Rounds").cells] == ["2", "1"]
    assert 'hx-trigger="every 1s"' not in page  # every run ended: nothing to poll for
    for run in (first, second):
        assert reverse("conversation", args=[source.team.slug, run.pk]) in page


def test_the_form_offers_the_last_user_message_and_the_sources_pair(people, source, provider):
    page = people.client_for("editor").get(new_url(source))

    form = page.context["form"]
    assert form["cut"].value() == source.messages.get(role="user").pk
    assert (form["provider_1"].value(), form["model_1"].value()) == (provider.pk, "test-model")
    assert 'list="compare-models"' in page.content.decode()


def test_fewer_than_two_pairs_is_refused(people, source, provider, model_server):
    client = people.client_for("editor")

    none = client.post(new_url(source), pairs_form(source))
    one = client.post(new_url(source), pairs_form(source, (provider, "")))

    for response in (none, one):
        assert "Pick at least 2 provider and model pairs to compare." in response.content.decode()
    assert Comparison.objects.count() == 0
    assert Conversation.objects.count() == 1
    assert model_server.requests == []


def test_another_teams_provider_is_refused(people, source, provider, model_server):
    other = Team.objects.create(name="Other", slug="other")
    foreign = Provider.objects.create(team=other, name="Theirs", base_url=model_server.base_url)

    response = people.client_for("editor").post(
        new_url(source), pairs_form(source, (provider, ""), (foreign, "m"))
    )

    assert response.context["form"].errors["provider_2"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert Comparison.objects.count() == 0
    assert model_server.requests == []


def test_a_model_without_a_provider_or_a_provider_without_a_model_is_refused(
    people, source, provider, team, model_server
):
    bare = Provider.objects.create(team=team, name="Bare", base_url=model_server.base_url)

    response = people.client_for("editor").post(
        new_url(source), pairs_form(source, (None, "gpt-x"), (bare, ""), (provider, ""))
    )

    errors = response.context["form"].errors
    assert errors["provider_1"] == ["Pick the provider to ask this model."]
    assert errors["model_2"] == ["Name a model: Bare has no default."]
    assert Comparison.objects.count() == 0


def test_a_message_of_another_conversation_is_refused(
    people, team, source, provider, second_provider, model_server
):
    other = start(team, people, provider, [])

    response = people.client_for("editor").post(
        new_url(source),
        pairs_form(source, (provider, ""), (second_provider, ""), cut=other.messages.last().pk),
    )

    assert "cut" in response.context["form"].errors
    assert Comparison.objects.count() == 0
    assert model_server.requests == []


def test_a_comparison_the_run_quota_cannot_start_whole_starts_nothing(
    people, team, source, provider, second_provider, model_server, settings
):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 2
    RunStart.objects.create(team=team)

    response = people.client_for("editor").post(
        new_url(source), pairs_form(source, (provider, ""), (second_provider, ""))
    )

    page = response.content.decode()
    assert "Nothing was started. Run not started: this team has started 2 runs" in page
    assert Comparison.objects.count() == 0
    assert Conversation.objects.count() == 1
    assert RunStart.objects.filter(team=team).count() == 1
    assert model_server.requests == []


def make_comparison(source, provider, second_provider) -> Comparison:
    comparison = Comparison.objects.create(
        team=source.team, source=source, title=source.title, message_count=2
    )
    comparison.runs.set(
        [
            Conversation.objects.create(
                team=source.team, title="a", provider=provider, model="test-model"
            ),
            Conversation.objects.create(
                team=source.team, title="b", provider=second_provider, model="other-model"
            ),
        ]
    )
    return comparison


def test_while_a_run_is_active_the_page_polls_its_body(people, source, provider, second_provider):
    comparison = make_comparison(source, provider, second_provider)
    comparison.runs.filter(title="a").update(status=RunStatus.RUNNING)

    response = people.client_for("viewer").get(page_url(comparison), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="comparison-body"')
    assert 'hx-trigger="every 1s"' in body
    assert "<h1>" not in body


def test_viewers_read_comparisons_but_do_not_start_them(
    people, source, provider, second_provider, model_server
):
    comparison = make_comparison(source, provider, second_provider)
    viewer = people.client_for("viewer")

    assert viewer.get(page_url(comparison)).status_code == 200
    assert viewer.get(new_url(source)).status_code == 403
    refused = viewer.post(new_url(source), pairs_form(source, (provider, ""), (provider, "")))
    assert refused.status_code == 403
    assert Comparison.objects.count() == 1
    assert model_server.requests == []


def test_outsiders_see_no_comparison(people, source, provider, second_provider, model_server):
    comparison = make_comparison(source, provider, second_provider)
    outsider = people.client_for("outsider")

    assert outsider.get(page_url(comparison)).status_code == 404
    assert outsider.get(new_url(source)).status_code == 404
    refused = outsider.post(new_url(source), pairs_form(source, (provider, ""), (provider, "")))
    assert refused.status_code == 404
    assert model_server.requests == []


def test_the_conversation_page_offers_compare_models_to_editors_only(people, source):
    link = f'href="{new_url(source)}"'
    detail = reverse("conversation", args=[source.team.slug, source.pk])

    assert link in people.client_for("editor").get(detail).content.decode()
    assert link not in people.client_for("viewer").get(detail).content.decode()


def test_the_source_and_each_run_link_to_their_comparison(
    people, source, provider, second_provider
):
    comparison = make_comparison(source, provider, second_provider)
    client = people.client_for("viewer")
    link = f'href="{page_url(comparison)}"'

    assert link in client.get(reverse("conversation", args=["acme", source.pk])).content.decode()
    for run in comparison.runs.all():
        page = client.get(reverse("conversation", args=["acme", run.pk])).content.decode()
        assert link in page and "this is one of the runs" in page


def test_a_run_starts_after_a_user_turn_or_a_tool_result_only(
    people, source, provider, second_provider, model_server
):
    system = source.messages.get(role="system")

    response = people.client_for("editor").post(
        new_url(source), pairs_form(source, (provider, ""), (second_provider, ""), cut=system.pk)
    )

    assert "cut" in response.context["form"].errors
    assert Comparison.objects.count() == 0


def test_runs_start_from_the_chosen_message_not_the_whole_history(
    people, source, provider, second_provider, model_server
):
    model_server.script(Reply(content="First."), Reply(content="A."), Reply(content="B."))
    run_to_the_end(source)
    compose.send_user_message(source, "And tomorrow?", people.editor)
    first_turn = source.messages.filter(role="user").first()
    client = people.client_for("editor")
    assert client.get(new_url(source)).context["form"]["cut"].value() == (
        source.messages.filter(role="user").last().pk
    )

    client.post(
        new_url(source),
        pairs_form(source, (provider, ""), (second_provider, ""), cut=first_turn.pk),
    )

    comparison = Comparison.objects.get()
    assert comparison.message_count == 2
    sent = [r["body"]["messages"] for r in model_server.requests[1:]]
    assert [[m["role"] for m in messages] for messages in sent] == [["system", "user"]] * 2
    assert [fork.messages.last().content for fork in comparison.runs.order_by("pk")] == ["A.", "B."]


def test_a_server_that_sends_no_usage_reads_unknown_tokens(
    people, source, provider, second_provider, model_server
):
    model_server.script(Reply(content="A."), Reply(content="B.", usage=None))

    response = people.client_for("editor").post(
        new_url(source), pairs_form(source, (provider, ""), (second_provider, "")), follow=True
    )

    table = response.context["table"]
    assert [cell.text for cell in table.row("Prompt tokens").cells] == ["11", "unknown"]
    assert [cell.text for cell in table.row("Completion tokens").cells] == ["7", "unknown"]
