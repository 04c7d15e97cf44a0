"""Random input through the editor's live check, the editor's save and the importer: never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hostile import assert_clean, hostile_json_text, hostile_text
from tools_app.models import Tool

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
texts = st.one_of(st.text(max_size=200), json_values.map(json.dumps))
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(name=st.text(max_size=80), parameters=texts, response=texts, latency=st.text(max_size=12))
def test_the_editor_answers_any_input(people, tool, name, parameters, response, latency):
    client = people.client_for("editor")
    data = {
        "name": name,
        "description": "Fuzzed.",
        "parameters": parameters,
        "implementation_kind": "mock",
        "mock_response": response,
        "mock_latency_ms": latency,
        "http_method": "POST",
        "timeout_s": "5",
        "retries": "0",
    }
    assert client.post("/t/acme/c/travel/check/", data).status_code == 200
    assert client.post("/t/acme/c/travel/new/", data).status_code in (200, 302)


@FUZZ
@given(text=texts)
def test_the_importer_answers_any_input(people, catalog, text):
    before = Tool.objects.count()
    response = people.client_for("editor").post("/t/acme/c/travel/import/", {"text": text})
    assert response.status_code == 200
    page = response.content.decode()
    assert ('id="import-report"' in page) or ('id="import-errors"' in page or "errorlist" in page)
    assert Tool.objects.count() >= before


HOSTILE = settings(FUZZ, max_examples=20)


def as_sent(text: str) -> str:
    """What a browser can post: UTF-8, so a raw lone surrogate cannot be sent (its escape can)."""
    return text.encode("utf-8", "replace").decode("utf-8")


@HOSTILE
@given(parameters=hostile_json_text, response=hostile_json_text, description=hostile_text)
def test_the_editor_stores_hostile_json_clean_and_renders_it(
    people, tool, parameters, response, description
):
    client = people.client_for("editor")
    data = {
        "name": "hostile",
        "description": as_sent(description),
        "parameters": as_sent(parameters),
        "implementation_kind": "mock",
        "mock_response": as_sent(response),
        "mock_latency_ms": "0",
        "http_method": "POST",
        "timeout_s": "5",
        "retries": "0",
    }
    assert client.post("/t/acme/c/travel/check/", data).status_code == 200
    assert client.post("/t/acme/c/travel/new/", data).status_code in (200, 302)
    saved = Tool.objects.filter(name="hostile").first()
    if saved is not None:
        assert_clean([saved.description, saved.parameters, saved.implementation_config])
        assert client.get("/t/acme/c/travel/tools/hostile/").status_code == 200
        saved.delete()


@HOSTILE
@given(text=hostile_json_text, description=hostile_text)
def test_the_importer_stores_hostile_json_clean(people, catalog, text, description):
    client = people.client_for("editor")
    entry = {"type": "function", "function": {"name": "imported", "description": description}}
    for source in (text, json.dumps([entry])):
        response = client.post(
            "/t/acme/c/travel/import/", {"text": as_sent(source), "confirm": "1"}
        )
        assert response.status_code in (200, 302)
    for saved in Tool.objects.filter(catalog=catalog):
        assert_clean([saved.name, saved.description, saved.parameters])
        page = client.get(f"/t/acme/c/travel/tools/{saved.name}/")
        assert page.status_code == 200
