"""The Guard lab: hostile argument sets against the guards in the editor; the tool never runs."""

from __future__ import annotations

import json
import re

from conversations.models import Batch
from tools_app.engine import GuardSet
from tools_app.engine.guard_lab import hostile_cases, run_lab, string_targets, user_cases

LAB = "/t/acme/c/travel/tools/get_weather/guard-lab/"
PATH_GUARD = json.dumps([{"kind": "path", "pointer": "/city"}])


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="(stopped|through|unusable)">', html)


def test_the_corpus_is_placed_in_every_string_and_array_property():
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string"}},
            "options": {"type": "object", "properties": {"cmd": {"type": "string"}}},
            "count": {"type": "integer"},
        },
    }
    strings, arrays = string_targets(parameters)
    assert strings == [("path",), ("files", 0), ("options", "cmd")]
    assert arrays == [("files",)]
    cases = hostile_cases(parameters)
    assert {case.pointer for case in cases} == {"/path", "/files/0", "/options/cmd", "/files"}
    traversal = next(c for c in cases if c.pointer == "/files/0" and c.label == "../ climb")
    assert traversal.arguments == {"files": ["../../../etc/passwd"]}
    assert {c.category for c in cases} >= {"traversal", "control", "shell", "sql", "url", "size"}


def test_the_report_says_what_was_stopped_by_which_guard_and_what_got_through():
    guards = GuardSet.from_config([{"kind": "path", "pointer": "/path"}])
    report = run_lab(guards, hostile_cases({"properties": {"path": {"type": "string"}}}))
    stopped = {o.case.label: o.violation.kind for o in report.outcomes if o.stopped}
    assert stopped == {
        "../ climb": "path",
        "..\\ climb": "path",
        "%2e%2e/ encoded climb": "path",
        "absolute path": "path",
    }
    assert report.stopped == 4 and report.through == len(report.outcomes) - 4


def test_user_lines_are_checked_and_unusable_ones_say_why():
    cases = user_cases('{"path": "a/../../b"}\n\nnot json\n[1, 2]\n')
    assert [(c.label, c.problem[:8]) for c in cases] == [
        ("your line 1", ""),
        ("your line 2", "not JSON"),
        ("your line 3", "not a JS"),
    ]
    report = run_lab(GuardSet.from_config([{"kind": "path"}]), cases)
    assert [o.stopped for o in report.outcomes] == [True, False, False]
    assert report.through == 0


def test_an_editor_runs_the_lab_and_gets_the_result_table(people, tool):
    response = people.client_for("editor").post(
        LAB, {"guards": PATH_GUARD, "lines": '{"city": "..\\\\windows"}'}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="guard-lab-result"')
    found = rows(html)
    assert found.count("stopped") == 5  # four traversal spellings on /city, and the user's line
    assert found.count("through") == len(found) - 5
    assert "the path climbs out of its directory with a &#x27;..&#x27; segment" in html
    assert Batch.objects.count() == 0  # nothing ran


def test_bad_guards_in_the_editor_are_reported_not_run(people, tool):
    bad = json.dumps([{"kind": "url", "schemes": []}])
    html = people.client_for("editor").post(LAB, {"guards": bad}).content.decode()
    assert "Guards: guard 1 (url): &#x27;schemes&#x27; must name at least one scheme" in html
    assert rows(html) == []


def test_without_guards_everything_gets_through(people, tool):
    html = people.client_for("editor").post(LAB, {"guards": ""}).content.decode()
    assert set(rows(html)) == {"through"}


def test_the_lab_is_on_the_tool_page_for_editors_only(people, tool):
    page = "/t/acme/c/travel/tools/get_weather/"
    assert 'id="guard-lab"' in people.client_for("editor").get(page).content.decode()
    assert 'id="guard-lab"' not in people.client_for("viewer").get(page).content.decode()


def test_viewers_and_outsiders_cannot_run_the_lab(people, tool):
    assert people.client_for("viewer").post(LAB, {"guards": PATH_GUARD}).status_code == 403
    assert people.client_for("outsider").post(LAB, {"guards": PATH_GUARD}).status_code == 404
    assert people.client_for("editor").get(LAB).status_code == 405
