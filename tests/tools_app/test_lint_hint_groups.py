"""Lint hints are grouped by kind: one card per kind names what it affects and says why once."""

from __future__ import annotations

import json

from tools_app.schema import WHY, check_tool, group_hints, lint

SIX_LOOSE_PROPERTIES = {
    "type": "object",
    "properties": {
        "days": {"type": "integer"},
        "limit": {"type": "number"},
        "offset": {"type": "integer"},
        "unit": {"type": "string"},
        "sort_order": {"type": "string"},
        "a/b": {"type": "number"},
    },
    "required": ["days"],
}


def test_fifteen_hints_on_six_properties_become_one_group_per_kind():
    warnings = lint("get_report", "A report of sales for a period.", SIX_LOOSE_PROPERTIES)
    groups = group_hints(warnings)
    assert len(warnings) > len(groups)
    assert [group.code for group in groups] == [
        "missing_description",
        "unbounded_number",
        "optional_without_default",
        "wants_enum",
    ]
    assert sum(len(group.findings) for group in groups) == len(warnings)
    unbounded = groups[1]
    assert unbounded.title == "Numbers without bounds"
    assert unbounded.why == WHY["unbounded_number"]
    assert unbounded.subjects == ["days", "limit", "offset", "a/b"]
    assert [f.path for f in unbounded.findings][-1] == "/properties/a~1b"


def test_a_hint_about_the_tool_itself_names_the_tool():
    (group,) = group_hints(lint("get_report", "", {"type": "object", "properties": {}}))
    assert (group.code, group.subjects) == ("missing_description", ["the tool"])


def test_no_warnings_no_groups():
    assert group_hints([]) == []


def test_the_editor_shows_one_collapsed_card_per_kind(people, catalog):
    response = people.client_for("editor").post(
        "/t/acme/c/travel/check/",
        {
            "name": "get_report",
            "description": "A report of sales for a period.",
            "parameters": json.dumps(SIX_LOOSE_PROPERTIES),
            "implementation_kind": "mock",
        },
    )
    page = response.content.decode()
    check = check_tool(
        name="get_report",
        description="A report of sales for a period.",
        parameters=SIX_LOOSE_PROPERTIES,
    )
    assert page.count('class="warning hint-group"') == len(check.hint_groups) == 4
    assert page.count("<details>") == 4 and "<details open" not in page
    assert page.count(WHY["unbounded_number"]) == 1
    assert f"{len(check.warnings)} hints" in page
