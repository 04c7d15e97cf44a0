"""parse_import: formats, per-entry repair and rejection."""

import json
from pathlib import Path

import pytest

from tools_app.importers import ImportFormatError, parse_import
from tools_app.schema import check_tool

BFCL = Path("/work/shared/data/bfcl")
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name."}},
        "required": ["city"],
    },
}


def test_openai_tools_array() -> None:
    closed = {**WEATHER["parameters"], "additionalProperties": False}
    entries = [
        {"type": "function", "function": WEATHER},
        {
            "type": "function",
            "function": {**WEATHER, "name": "w2", "parameters": closed, "strict": True},
        },
    ]
    result = parse_import(json.dumps(entries))
    assert result.format == "openai-tools"
    assert result.rejected == []
    assert [(t.name, t.original_name, t.strict, t.changes) for t in result.tools] == [
        ("get_weather", "", False, []),
        ("w2", "", True, []),
    ]
    assert result.tools[0].parameters == WEATHER["parameters"]


def test_strict_tool_must_meet_strict_rules() -> None:
    result = parse_import(json.dumps({"type": "function", "function": {**WEATHER, "strict": True}}))
    [rejection] = result.rejected
    assert rejection.reason.startswith("Strict mode: the object at the top level needs")


def test_shapes() -> None:
    assert parse_import(json.dumps([WEATHER])).format == "functions"
    assert parse_import(json.dumps(WEATHER)).format == "function"
    assert (
        parse_import(json.dumps({"type": "function", "function": WEATHER})).format == "openai-tools"
    )
    body = {"model": "gpt-4o", "messages": [], "tools": [{"type": "function", "function": WEATHER}]}
    result = parse_import(json.dumps(body))
    assert (result.format, [t.name for t in result.tools]) == ("request-body", ["get_weather"])
    lines = (
        json.dumps(WEATHER)
        + "\n\n"
        + json.dumps({"type": "function", "function": {**WEATHER, "name": "w2"}})
    )
    result = parse_import(lines)
    assert (result.format, [t.name for t in result.tools]) == (
        "jsonl-functions",
        ["get_weather", "w2"],
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Nothing to import: the text is empty."),
        ("  \n ", "Nothing to import: the text is empty."),
        ("[]", "The list is empty: there is nothing to import."),
        ("42", "The text is a number, not a tool definition"),
        ('{"model": "x"}', "No tool definition found"),
        (
            '[{"name": "a",}]',
            "Not valid JSON: Expecting property name enclosed in double quotes at line 1, "
            "column 15.",
        ),
        ("hello\nworld", "Not valid JSON: Expecting value at line 1, column 1."),
    ],
)
def test_unusable_input(text: str, message: str) -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse_import(text)
    assert str(caught.value).startswith(message)


def test_too_large() -> None:
    with pytest.raises(ImportFormatError, match=r"limit is 0\.0 MB"):
        parse_import(json.dumps(WEATHER), max_bytes=10)


def test_each_entry_stands_alone() -> None:
    entries = [
        WEATHER,
        5,
        {"description": "no name"},
        {"name": "bad_params", "parameters": "{not json"},
        {"name": "list_params", "parameters": [1]},
        {"type": "web_search"},
        {
            "name": "ok2",
            "parameters": '{"type": "dict", "properties": {"n": {"type": "int", "default": "3"}}}',
        },
    ]
    result = parse_import(json.dumps(entries))
    assert [t.name for t in result.tools] == ["get_weather", "ok2"]
    assert [(r.source_index, r.name, r.reason) for r in result.rejected] == [
        (1, "", "The entry is a number, not a function object."),
        (2, "", "The function has no name."),
        (
            3,
            "bad_params",
            "The parameters are a string that is not JSON: Expecting property name enclosed in "
            "double quotes at line 1, column 2.",
        ),
        (4, "list_params", "The parameters are a list, not a JSON Schema object."),
        (5, "", "The entry is a 'web_search' tool, not a function tool."),
    ]
    ok2 = result.tools[1]
    assert ok2.source_index == 6
    assert ok2.parameters == {
        "type": "object",
        "properties": {"n": {"type": "integer", "default": 3}},
    }
    assert ok2.changes == [
        "description missing",
        "parameters were a JSON string; parsed",
        "parameters /type: type 'dict' → 'object'",
        "parameters /properties/n/type: type 'int' → 'integer'",
        'parameters /properties/n/default: "3" → 3 to match the type',
    ]


def test_names_made_legal_and_unique() -> None:
    long = "x" * 70
    entries = [
        {"name": "a.b"},
        {"name": "a_b", "description": "another"},
        {"name": "y" * 64},
        {"name": long},
        {"name": "taken"},
    ]
    result = parse_import(json.dumps(entries), taken={"taken"})
    assert [(t.name, t.original_name) for t in result.tools] == [
        ("a_b", "a.b"),
        ("a_b_2", "a_b"),
        ("y" * 64, ""),
        ("x" * 64, long),
        ("taken_2", "taken"),
    ]
    assert result.tools[0].changes[0] == (
        "renamed from 'a.b' (OpenAI names allow only letters, digits, '_' and '-')"
    )
    assert result.tools[1].changes[0] == "renamed from 'a_b' (the name is already taken)"
    assert result.tools[0].parameters == {"type": "object", "properties": {}}
    assert "parameters missing; the tool takes no arguments" in result.tools[0].changes


def test_identical_duplicates_import_once() -> None:
    result = parse_import(json.dumps([WEATHER, WEATHER, {**WEATHER, "description": "Other."}]))
    assert [t.name for t in result.tools] == ["get_weather", "get_weather_2"]
    assert result.tools[0].changes == ["appeared 2 times identically; imported once"]
    assert result.normalised_count == 2  # the second was renamed
    assert parse_import(json.dumps([WEATHER])).normalised_count == 0


def test_jsonl_with_a_broken_line() -> None:
    text = json.dumps(WEATHER) + "\n{broken\n" + json.dumps({**WEATHER, "name": "w2"})
    result = parse_import(text)
    assert [t.name for t in result.tools] == ["get_weather", "w2"]
    [rejection] = result.rejected
    assert rejection.source_label == "line 2"
    assert rejection.reason.startswith("Not valid JSON: Expecting property name")


def expected_unique(path: Path) -> tuple[int, int]:
    """(functions in the file, distinct definitions), counted independently of the importer."""
    functions = [f for line in path.read_text().splitlines() for f in json.loads(line)["function"]]
    return len(functions), len({json.dumps(f, sort_keys=True) for f in functions})


@pytest.mark.parametrize("filename", ["BFCL_v4_parallel.json", "BFCL_v4_simple_python.json"])
def test_bfcl_files_import_without_rejections(filename: str) -> None:
    path = BFCL / filename
    total, unique = expected_unique(path)
    result = parse_import(path.read_text())
    assert result.format == "bfcl-lines"
    assert result.rejected == []
    assert len(result.tools) == unique
    names = [t.name for t in result.tools]
    assert len(set(names)) == len(names)
    merged = sum(
        int(c.split()[1]) - 1 for t in result.tools for c in t.changes if c.startswith("appeared")
    )
    assert unique + merged == total
    for tool in result.tools:
        assert check_tool(
            name=tool.name, description=tool.description, parameters=tool.parameters
        ).ok
    if filename == "BFCL_v4_parallel.json":
        assert (total, unique) == (200, 198)
        spotify = result.tools[0]
        assert (spotify.name, spotify.original_name) == ("spotify_play", "spotify.play")
    else:
        assert (total, unique) == (400, 400)


@pytest.mark.parametrize(
    "filename", ["BFCL_v4_parallel.answers.json", "BFCL_v4_simple_python.answers.json"]
)
def test_bfcl_answers_are_one_clear_error_not_a_rejection_per_line(filename: str) -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse_import((BFCL / filename).read_text())
    assert str(caught.value) == (
        "No tool definition found: this looks like BFCL possible answers (the ground-truth "
        "calls for each prompt). No entry has a name, parameters or function (the entries' "
        "keys: id, ground_truth)."
    )


@pytest.mark.parametrize(
    ("text", "looks_like"),
    [
        (
            '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]',
            "a conversation transcript",
        ),
        ('{"city": "Oslo"}\n{"city": "Lima"}', "data, not tool definitions"),
    ],
)
def test_input_with_no_definition_anywhere_says_what_it_looks_like(
    text: str, looks_like: str
) -> None:
    with pytest.raises(ImportFormatError, match=f"this looks like {looks_like}"):
        parse_import(text)


def test_one_definition_among_other_entries_still_imports_entry_by_entry() -> None:
    result = parse_import(json.dumps([{"id": 1}, WEATHER]))
    assert [t.name for t in result.tools] == ["get_weather"]
    assert [r.reason for r in result.rejected] == ["The function has no name."]
