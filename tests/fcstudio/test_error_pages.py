"""403, 404 and 500 are pages of the studio: they say what happened and offer a way back."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.test import Client


def test_a_viewer_refused_a_write_reads_why_and_can_go_back_to_the_team(people, catalog):
    response = people.client_for("viewer").post("/t/acme/c/travel/new/", {"name": "x"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "This needs the editor role in Acme." in page
    assert 'href="/t/acme/"' in page
    assert 'class="topbar"' in page
    assert "/static/css/studio.css" in page


def test_a_write_refused_for_a_role_shows_the_role_now_and_what_was_typed(people, catalog):
    # A page drawn for an editor, sent after the person was made a viewer: the text they typed
    # is on the refusal, to copy, not lost with it.
    data = {"content": "A long prompt <typed> before the change"}
    response = people.client_for("viewer").post("/t/acme/conversations/1/send/", data)
    page = response.content.decode()
    assert response.status_code == 403
    assert "This needs the editor role in Acme." in page
    assert "Your role in Acme is viewer; it may have changed since" in page
    assert "vera · Viewer" in page
    assert "A long prompt &lt;typed&gt; before the change</textarea>" in page
    assert 'href="/t/acme/conversations/1/">Back to the conversation</a>' in page


def test_an_outsider_gets_the_studio_404_without_learning_the_team_exists(people, catalog):
    response = people.client_for("outsider").get("/t/acme/c/travel/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "No such team." in page
    assert 'href="/t/acme/"' not in page
    assert 'href="/"' in page
    assert 'class="topbar"' in page


def test_an_unknown_address_says_so_in_plain_words(people):
    response = people.client_for("editor").get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "There is no page at this address." in page
    assert "Resolver404" not in page


def test_the_500_page_renders_with_an_empty_context():
    page = render_to_string("500.html")
    assert "Something went wrong" in page
    assert 'href="/"' in page
    assert 'href="/static/css/studio.css"' in page


def test_a_crashing_view_shows_the_500_page(db, settings):
    settings.ROOT_URLCONF = "tests.fcstudio.crashing_urls"
    client = Client(raise_request_exception=False)
    response = client.get("/crash/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
