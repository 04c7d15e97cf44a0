"""Random input through the editor's live check, the editor's save and the importer: never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
