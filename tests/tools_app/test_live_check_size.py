"""The live check's answer grows with the schema, not with every hint and argument in it."""

from __future__ import annotations

import json

CHECK = "/t/acme/c/travel/check/"


def test_a_schema_with_a_thousand_arguments_gets_a_bounded_answer(people, catalog):
    properties = {f"field_{n}": {"type": "string"} for n in range(1_200)}
    parameters = json.dumps({"type": "object", "properties": properties})
    response = people.client_for("editor").post(
        CHECK, {"name": "wide", "parameters": parameters}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2402 hints" in page  # two per argument: no description, no constraints
    # one card per kind of hint, each listing at most 100 of its findings
    assert page.count('<li class="warning hint-group"') == 3  # the two above, and token cost
    assert page.count('<code class="path">') <= 200
    assert 'id="findings-more"' in page
    assert "The first 100 of 1200 arguments." in page
    # The tools entry echoes the schema once, pretty-printed; the hints and the preview are
    # capped (uncapped, this answer was over 1 MB).
    assert len(response.content) < 250_000
