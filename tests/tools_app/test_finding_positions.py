"""The checks panel says where each finding is, for the code editor to mark it at its line.

A JSON syntax error carries its line and column in the field's text; a schema error or a hint
carries the JSON pointer of what it is about (in the parameters); the list names the form.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

from tests.tools_app.test_tool_editor import CHECK, EDIT, form_data


class FindingItems(HTMLParser):
    """The attributes of each <li> with a data-level, and of the findings list itself."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, str | None]] = []
        self.list: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "ul" and found.get("id") == "findings":
            self.list = found
        if tag == "li" and "data-level" in found:
            self.items.append(found)


def findings(html: str) -> FindingItems:
    parser = FindingItems()
    parser.feed(html)
    return parser


def test_a_json_syntax_error_carries_its_line_and_column(people, tool):
    text = '{\n  "type": "object",\n  "properties": {,}\n}'
    response = people.client_for("editor").post(CHECK, form_data(parameters=text))
    page = findings(response.content.decode())
    assert page.list["data-findings-for"] == "tool-form"
    assert page.list["data-paths-in"] == "parameters"
    (error,) = [i for i in page.items if i.get("data-code") == "invalid_json"]
    assert error["data-level"] == "error"
    assert error["data-field"] == "parameters"
    assert (error["data-line"], error["data-column"]) == ("3", "18")
    assert "data-path" not in error
    assert error["data-message"] == (
        "Not valid JSON: Expecting property name enclosed in double quotes at line 3, column 18."
    )


def test_a_schema_error_and_a_hint_carry_the_pointer_of_what_they_are_about(people, tool):
    parameters = {
        "type": "object",
        "properties": {
            "city": {"type": "strin", "description": "City name, e.g. Lisbon."},
            "days": {"type": "integer", "description": "How many days ahead."},
        },
        "required": ["city"],
    }
    response = people.client_for("editor").post(CHECK, form_data(parameters=json.dumps(parameters)))
    page = findings(response.content.decode())
    (error,) = [i for i in page.items if i.get("data-code") == "not_a_schema"]
    assert error["data-path"] == "/properties/city/type"
    assert "data-line" not in error

    parameters["properties"]["city"]["type"] = "string"
    response = people.client_for("editor").post(CHECK, form_data(parameters=json.dumps(parameters)))
    hints = [i for i in findings(response.content.decode()).items if i["data-level"] == "warning"]
    # days is an integer without bounds
    assert ("/properties/days", "parameters") in {(h["data-path"], h["data-field"]) for h in hints}


def test_an_error_about_the_whole_schema_points_at_its_root(people, tool):
    response = people.client_for("editor").post(CHECK, form_data(parameters='{"type": "array"}'))
    page = findings(response.content.decode())
    (error,) = [i for i in page.items if i.get("data-code") == "top_level_not_object"]
    assert error["data-path"] == ""


def test_an_error_about_the_name_has_no_position(people, tool):
    response = people.client_for("editor").post(CHECK, form_data(name="has space"))
    (error,) = [i for i in findings(response.content.decode()).items if i["data-field"] == "name"]
    assert "data-path" not in error and "data-line" not in error


def test_the_editor_page_loads_the_code_editor_with_the_style_nonce(people, tool):
    response = people.client_for("viewer").get(EDIT)
    page = response.content.decode()
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'code_editor.js" nonce="{nonce}" defer' in page
    assert 'data-code-editor="json"' in page
    assert "style-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]


def test_the_live_check_is_for_editors_of_the_team(people, tool):
    assert people.client_for("viewer").post(CHECK, form_data()).status_code == 403
    assert people.client_for("outsider").post(CHECK, form_data()).status_code == 404
