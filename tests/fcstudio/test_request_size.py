"""Every endpoint refuses a request larger than it allows before doing any of the work."""

from __future__ import annotations

import pytest

from conversations import compose
from conversations import views as lab_views
from conversations.models import Conversation, Message, Provider
from tools_app import catalog as catalog_ops
from tools_app import schema
from tools_app.models import Tool

CHECK = "/t/acme/c/travel/check/"
NEW_TOOL = "/t/acme/c/travel/new/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "checks"}


@pytest.fixture
def no_work(monkeypatch):
    """Every piece of work an oversized request could start, made to fail the test if called."""
    called: list[str] = []

    def forbidden(name):
        def record(*args, **kwargs):
            called.append(name)
            raise AssertionError(f"{name} was called for an oversized request")

        return record

    monkeypatch.setattr(schema, "check_tool", forbidden("check_tool"))
    monkeypatch.setattr(catalog_ops, "import_text", forbidden("import_text"))
    monkeypatch.setattr(lab_views, "run_batch", forbidden("run_batch"))
    monkeypatch.setattr(compose, "add_message", forbidden("add_message"))
    monkeypatch.setattr(compose, "edit_message", forbidden("edit_message"))
    monkeypatch.setattr(compose, "create_conversation", forbidden("create_conversation"))
    return called


def huge_schema(characters: int) -> str:
    head, tail = '{"type": "object", "description": "', '"}'
    return head + "x" * (characters - len(head) - len(tail)) + tail


def test_a_megabytes_schema_to_the_live_check_is_refused_from_its_size(people, catalog, no_work):
    parameters = huge_schema(2_900_000)
    response = people.client_for("editor").post(
        CHECK, {"name": "big", "parameters": parameters}, **HTMX
    )
    assert response.status_code == 413
    assert len(response.content) < 1_000
    page = response.content.decode()
    assert 'id="checks"' in page and "this page accepts at most 2.0 MB" in page
    assert response["HX-Reswap"] == "outerHTML"
    assert no_work == []


def test_a_schema_over_its_field_limit_is_not_checked(people, catalog, no_work):
    parameters = huge_schema(300_000)
    response = people.client_for("editor").post(
        CHECK, {"name": "big", "parameters": parameters}, **HTMX
    )
    assert response.status_code == 413
    assert len(response.content) < 2_000
    page = response.content.decode()
    assert 'id="checks"' in page
    assert "Parameters is 300,000 characters; the limit is 200,000. Not checked." in page
    assert no_work == []


def test_saving_an_oversized_schema_is_refused_on_the_editor_page(people, tool, no_work):
    url = "/t/acme/c/travel/tools/get_weather/"
    data = {"name": "get_weather", "parameters": huge_schema(300_000)}
    response = people.client_for("editor").post(url, data)
    assert response.status_code == 413
    page = response.content.decode()
    assert "Parameters is 300,000 characters; the limit is 200,000. Nothing was saved." in page
    assert len(response.content) < 100_000
    tool.refresh_from_db()
    assert tool.version == 1


def post_raw(client, url: str, size: int, **extra):
    body = "x=" + "a" * (size - 2)
    return client.post(url, body, content_type="application/x-www-form-urlencoded", **extra)


@pytest.fixture
def conversation(team, provider, people):
    record = Conversation.objects.create(team=team, title="C", provider=provider, model="m")
    Message.objects.create(
        conversation=record, position=0, role="user", payload={"role": "user", "content": "hi"}
    )
    return record


TOOL_PAGE = "/t/acme/c/travel/tools/get_weather/"
LAB = "/t/acme/c/travel/lab/"
CONVERSATION = "/t/acme/conversations/{conversation}/"
# (where the form posts, the page it is on, the largest body it takes)
LIMITS = [
    (NEW_TOOL, NEW_TOOL, 2 * 1024 * 1024),
    (TOOL_PAGE, TOOL_PAGE, 2 * 1024 * 1024),
    ("/t/acme/c/travel/import/", "/t/acme/c/travel/import/", 5 * 1024 * 1024 + 64 * 1024),
    ("/t/acme/c/travel/tools/get_weather/try/", TOOL_PAGE, 1024 * 1024),
    (LAB, LAB, 4 * 1024 * 1024),
    ("/t/acme/c/travel/lab/fill/", LAB, 4 * 1024 * 1024),
    ("/t/acme/providers/", "/t/acme/providers/", 64 * 1024),
    ("/t/acme/providers/{provider}/", "/t/acme/providers/{provider}/", 64 * 1024),
    ("/t/acme/conversations/new/", "/t/acme/conversations/new/", 1024 * 1024),
    ("/t/acme/conversations/{conversation}/messages/", CONVERSATION, 2 * 1024 * 1024),
    ("/t/acme/conversations/{conversation}/messages/0/", CONVERSATION, 2 * 1024 * 1024),
    ("/t/acme/conversations/{conversation}/fork/", CONVERSATION, 64 * 1024),
    ("/t/acme/", "/t/acme/", 64 * 1024),
]


def fill(pattern: str, conversation: Conversation) -> str:
    return pattern.format(provider=conversation.provider_id, conversation=conversation.pk)


@pytest.mark.parametrize(("endpoint", "page", "limit"), LIMITS)
def test_each_form_refuses_a_body_over_its_limit_on_its_page(
    endpoint, page, limit, people, tool, conversation, no_work, monkeypatch
):
    url, back = fill(endpoint, conversation), "http://testserver" + fill(page, conversation)
    client = people.client_for("admin")
    providers = Provider.objects.count()
    response = post_raw(client, url, limit + 1, HTTP_REFERER=back)
    assert response.status_code == 303
    assert response["Location"] == back
    assert no_work == []
    monkeypatch.undo()  # the page shown next does its ordinary work
    shown = client.get(back).content.decode()
    assert "this page accepts at most" in shown and "Nothing was done." in shown
    assert Provider.objects.count() == providers
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(("endpoint", "page", "limit"), LIMITS)
def test_a_body_within_the_limit_reaches_the_view(endpoint, page, limit, people, conversation):
    url = fill(endpoint, conversation)
    response = post_raw(people.client_for("admin"), url, 64 * 1024, HTTP_REFERER=url)
    assert response.status_code not in (411, 413)
    assert response.status_code != 303 or response["Location"] != url


def test_without_a_page_to_go_back_to_the_answer_is_a_plain_413(people, tool):
    response = post_raw(people.client_for("editor"), TOOL_PAGE, 3 * 1024 * 1024)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == (
        "The request is 3.0 MB; this page accepts at most 2.0 MB. Nothing was done."
    )


def test_a_referer_on_another_site_is_not_followed(people, tool):
    extra = {"HTTP_REFERER": "https://elsewhere.example/"}
    response = post_raw(people.client_for("editor"), TOOL_PAGE, 3 * 1024 * 1024, **extra)
    assert response.status_code == 413


def test_an_htmx_request_gets_413_with_the_message_in_its_target(people, tool):
    url = "/t/acme/c/travel/tools/get_weather/try/"
    extra = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "try-result"}
    response = post_raw(people.client_for("editor"), url, 2 * 1024 * 1024, **extra)
    assert response.status_code == 413
    assert response.content.decode() == (
        '<div id="try-result" class="panel too-large" role="alert"><p class="error">'
        "The request is 2.0 MB; this page accepts at most 1.0 MB. Nothing was done.</p></div>"
    )


def test_a_chunked_body_without_a_length_is_refused(people, catalog):
    response = people.client_for("editor").generic(
        "POST",
        CHECK,
        b"",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411


def test_the_outsider_is_refused_the_same_way_without_learning_anything(people, catalog):
    response = post_raw(people.client_for("outsider"), CHECK, 3 * 1024 * 1024, **HTMX)
    assert response.status_code == 413
    assert "Acme" not in response.content.decode()


def test_a_refused_save_creates_no_tool(people, catalog, no_work):
    extra = {"HTTP_REFERER": "http://testserver" + NEW_TOOL}
    response = post_raw(people.client_for("editor"), NEW_TOOL, 3 * 1024 * 1024, **extra)
    assert response.status_code == 303
    assert Tool.objects.count() == 0
