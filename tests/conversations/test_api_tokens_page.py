"""The team's API tokens page: admins make a token (shown once) and revoke it; nobody else
sees the page, and an outsider is not told the team exists."""

from __future__ import annotations

import re

from django.urls import reverse

from conversations import recording
from conversations.models import ApiToken
from conversations.token_views import NEW_TOKEN_KEPT_S, NEW_TOKEN_SESSION_KEY
from conversations.tokens import create_token, find_token

URL = reverse("api_tokens", kwargs={"team": "acme"})


def test_an_admin_creates_a_token_shown_once(people, provider):
    client = people.client_for("admin")
    response = client.post(URL, {"name": "support bot", "provider": provider.pk}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    page = response.content.decode()
    token = re.search(r"fcs_[A-Za-z0-9_-]{43}", page).group(0)
    assert "shown only this once" in page
    assert "no-store" in response["Cache-Control"]
    assert find_token(token).name == "support bot"
    assert token not in client.get(URL).content.decode()
    assert ApiToken.objects.get().created_by == people.admin


def test_reloading_after_create_makes_no_second_token_and_hides_the_first(people, provider):
    client = people.client_for("admin")
    created = client.post(URL, {"name": "support bot", "provider": provider.pk})
    assert created.status_code == 302 and created["Location"] == URL
    first = client.get(URL).content.decode()
    assert re.search(r"fcs_[A-Za-z0-9_-]{43}", first)
    reloaded = client.get(URL).content.decode()
    assert ApiToken.objects.count() == 1
    assert not re.search(r"fcs_[A-Za-z0-9_-]{43}", reloaded)
    assert "shown only this once" not in reloaded


def test_a_new_token_waits_for_its_own_teams_page(people, team, provider):
    other = people.outsider.memberships.get().team
    client = people.client_for("admin")
    other.memberships.create(user=people.admin, role="admin")
    client.post(URL, {"name": "support bot", "provider": provider.pk})
    elsewhere = reverse("api_tokens", kwargs={"team": other.slug})
    assert "shown only this once" not in client.get(elsewhere).content.decode()
    assert "shown only this once" in client.get(URL).content.decode()


def test_a_provider_of_another_team_cannot_be_chosen(people, provider):
    other = people.outsider.memberships.get().team.providers.create(
        name="Theirs", base_url="http://127.0.0.1:9/v1"
    )
    response = people.client_for("admin").post(URL, {"name": "x", "provider": other.pk})
    assert response.status_code == 200 and not ApiToken.objects.exists()


def test_an_admin_revokes_a_token(people, team, provider):
    record, token = create_token(team, provider, name="old")
    revoke = reverse("api_token_revoke", kwargs={"team": "acme", "token_id": record.pk})
    response = people.client_for("admin").post(revoke)
    assert response.status_code == 302
    assert find_token(token) is None
    assert "revoked" in people.client_for("admin").get(URL).content.decode()


def test_only_admins_see_the_page(people, provider):
    assert people.client_for("editor").get(URL).status_code == 403
    assert people.client_for("viewer").get(URL).status_code == 403
    assert people.client_for("outsider").get(URL).status_code == 404
    assert (
        people.client_for("editor").post(URL, {"name": "x", "provider": provider.pk}).status_code
        == 403
    )
    assert not ApiToken.objects.exists()


def test_an_outsider_cannot_revoke(people, team, provider):
    record, token = create_token(team, provider, name="keep")
    revoke = reverse("api_token_revoke", kwargs={"team": "acme", "token_id": record.pk})
    assert people.client_for("outsider").post(revoke).status_code == 404
    assert people.client_for("editor").post(revoke).status_code == 403
    assert find_token(token) is not None


def test_the_page_names_the_proxys_own_server_when_one_is_configured(people, settings):
    assert (
        "<code>http://testserver/v1</code>" in people.client_for("admin").get(URL).content.decode()
    )
    settings.FCSTUDIO_PROXY_URL = "http://127.0.0.1:8001/v1"
    page = people.client_for("admin").get(URL).content.decode()
    assert "<code>http://127.0.0.1:8001/v1</code>" in page


def test_a_name_too_long_is_refused_saying_so_not_cut(people, provider):
    client = people.client_for("admin")
    page = client.get(URL).content.decode()
    assert 'maxlength="100"' not in page and "at most 100 characters" in page
    response = client.post(URL, {"name": "n" * 144, "provider": provider.pk})
    assert response.status_code == 200
    assert "at most 100 characters (it has 144)" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert client.post(URL, {"name": "n" * 100, "provider": provider.pk}).status_code == 302
    assert ApiToken.objects.get().name == "n" * 100


def test_long_names_are_marked_to_wrap(people, team, provider):
    record, _ = create_token(team, provider, name="n" * 100)
    page = people.client_for("admin").get(URL).content.decode()
    assert f'<td class="long-name">{"n" * 100}</td>' in page
    conversation = recording.open_recorded_conversation(
        team, title="Recorded", model="m", provider=provider, api_token_id=record.pk
    )
    detail = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    assert f'<span class="badge long-name" id="recorded">recorded through token “{"n" * 100}”' in (
        people.client_for("viewer").get(detail).content.decode()
    )


def test_two_tokens_made_before_the_page_shows_are_both_shown(people, provider):
    """Two tabs each make a token: the page that opens next shows both, once."""
    client = people.client_for("admin")
    client.post(URL, {"name": "first", "provider": provider.pk})
    client.post(URL, {"name": "second", "provider": provider.pk})
    page = client.get(URL).content.decode()
    shown = re.findall(r"fcs_[A-Za-z0-9_-]{43}", page)
    assert sorted(find_token(token).name for token in shown) == ["first", "second"]
    assert "Tokens created" in page and "they are shown only this once" in page


def test_a_new_token_waits_in_the_session_encrypted_and_not_for_long(people, provider):
    client = people.client_for("admin")
    client.post(URL, {"name": "support bot", "provider": provider.pk})
    kept = client.session[NEW_TOKEN_SESSION_KEY]
    [entry] = kept.values()
    assert "fcs_" not in str(kept)  # not in clear in the session store
    entry["at"] -= NEW_TOKEN_KEPT_S + 1  # the page was not opened in time
    session = client.session
    session[NEW_TOKEN_SESSION_KEY] = kept
    session.save()
    assert "shown only this once" not in client.get(URL).content.decode()
    assert NEW_TOKEN_SESSION_KEY not in client.session
