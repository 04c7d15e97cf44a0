"""Lint suggests argument guards for properties that look like paths, commands, queries, URLs."""

from __future__ import annotations

from tools_app.schema import check_tool, lint

DESCRIPTION = "Reads one report from the shared drive and returns its text."


def params(properties):
    return {"type": "object", "properties": properties, "required": list(properties)}


def suggestions(parameters, guards=None):
    return [
        (f.path, f.message)
        for f in lint("read_report", DESCRIPTION, parameters, guards)
        if f.code == "wants_guard"
    ]


def test_paths_commands_queries_and_urls_get_a_guard_suggestion_with_its_pointer():
    found = suggestions(
        params(
            {
                "file_path": {"type": "string", "description": "Which report to read."},
                "command": {"type": "string", "description": "What to run afterwards."},
                "sql": {"type": "string", "description": "A filter over the report rows."},
                "callback": {"type": "string", "description": "The webhook URL to notify."},
                "title": {"type": "string", "description": "The report's title as shown."},
            }
        )
    )
    assert found == [
        (
            "/properties/file_path",
            'Property `file_path` looks like a file path; add a guard {"kind": "path", '
            '"pointer": "/file_path"}.',
        ),
        (
            "/properties/command",
            'Property `command` looks like a command; add a guard {"kind": "shell", '
            '"pointer": "/command"}.',
        ),
        (
            "/properties/sql",
            'Property `sql` looks like a query; add a guard {"kind": "sql", "pointer": "/sql"}.',
        ),
        (
            "/properties/callback",
            'Property `callback` looks like a URL; add a guard {"kind": "url", '
            '"pointer": "/callback"}.',
        ),
    ]


def test_arrays_and_nested_objects_get_wildcard_pointers():
    parameters = params(
        {
            "files": {"type": "array", "items": {"type": "string"}, "description": "Files."},
            "target": {
                "type": "object",
                "description": "Where to write.",
                "properties": {"path": {"type": "string", "description": "Output location."}},
            },
        }
    )
    assert [message.split("add a guard ")[1] for _, message in suggestions(parameters)] == [
        '{"kind": "path", "pointer": "/files/*"}.',
        '{"kind": "path", "pointer": "/target/path"}.',
    ]


def test_a_guard_already_covering_the_property_silences_the_suggestion():
    parameters = params({"path": {"type": "string", "description": "Which file to read."}})
    assert suggestions(parameters, [{"kind": "path", "pointer": "/path"}]) == []
    assert suggestions(parameters, [{"kind": "path"}]) == []
    assert len(suggestions(parameters, [{"kind": "sql", "pointer": "/path"}])) == 1


def test_the_suggestion_says_why_and_points_at_the_guards_field():
    check = check_tool(
        name="run_query",
        description=DESCRIPTION,
        parameters=params({"query": {"type": "string", "description": "SQL to run."}}),
    )
    [finding] = [f for f in check.warnings if f.code == "wants_guard"]
    assert finding.field == "guards"
    assert "one read-only SELECT" in finding.why
