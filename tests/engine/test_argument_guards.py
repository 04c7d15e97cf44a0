"""Each guard kind against hostile values, and what must still pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools_app.engine.guards import (
    ControlCharsGuard,
    GuardSet,
    MaxItemsGuard,
    MaxLengthGuard,
    PathGuard,
    PatternGuard,
    ShellGuard,
    SqlGuard,
    UrlGuard,
    parse_guards,
)

ALL_KINDS = [
    {"kind": "path"},
    {"kind": "control_chars"},
    {"kind": "shell"},
    {"kind": "sql"},
    {"kind": "url", "schemes": ["https"], "hosts": ["*.example.com"]},
    {"kind": "max_length", "max": 50},
    {"kind": "max_items", "max": 3},
    {"kind": "pattern", "allow": "^[a-z]*$", "deny": "secret"},
]


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "a/../../b",
        "..\\..\\windows\\win.ini",
        "a\\..\\b",
        "%2e%2e/etc",
        "%2e%2e%2fetc",
        "..%2fetc",
        "%252e%252e%252fetc",
        "\uff0e\uff0e/etc",  # full-width dots, NFKC "../"
        "a/.. /b",
        "a/.../b",
        "..",
    ],
)
def test_the_path_guard_refuses_traversal(path):
    assert "'..' segment" in PathGuard().check(path)


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "\\\\server\\share", "C:\\Windows", "c:/x", "~/.ssh/id_rsa", "%2fetc"]
)
def test_the_path_guard_refuses_absolute_paths_unless_allowed(path):
    assert PathGuard().check(path) == "an absolute path where a relative one is expected"
    assert PathGuard(allow_absolute=True).check(path) is None


@pytest.mark.parametrize("path", ["reports/2024.csv", "a/b..c/d", ".hidden", "./x", "..a", "a.."])
def test_the_path_guard_lets_plain_relative_paths_through(path):
    assert PathGuard().check(path) is None


@pytest.mark.parametrize(
    ("value", "named"),
    [("a\x00b", "NUL"), ("\x1b[2J", "U+001B"), ("x\x7f", "U+007F"), ("\u202eexe.txt", "U+202E")],
)
def test_the_control_chars_guard_names_the_character(value, named):
    assert ControlCharsGuard().check(value) == f"control character {named}"


def test_the_control_chars_guard_allows_whitespace_unless_told_not_to():
    assert ControlCharsGuard().check("line one\n\tline two\r\n") is None
    assert ControlCharsGuard(allow_whitespace=False).check("a\nb") == "control character U+000A"
    assert ControlCharsGuard().check("naïve café 日本") is None


@pytest.mark.parametrize(
    "command", ["ls; rm -rf /", "echo $(id)", "echo `id`", "a && b", "a | b", "a > /etc/x", "a\nb"]
)
def test_the_shell_guard_refuses_metacharacters(command):
    assert ShellGuard().check(command).startswith("shell metacharacter")


def test_the_shell_guard_allows_plain_words_and_chosen_characters():
    assert ShellGuard().check("git log --oneline -n 5") is None
    assert ShellGuard().check("a*b") == "shell metacharacter '*'"
    assert ShellGuard(allow="*").check("a*b") is None


@pytest.mark.parametrize(
    "query",
    [
        "select 1",
        "SELECT id, name FROM users WHERE name = 'x' ORDER BY id LIMIT 10;",
        "select 'DROP TABLE' as s",
        "select 'a; DROP TABLE x; --' as s",
        "WITH recent AS (SELECT * FROM t) SELECT count(*) FROM recent",
    ],
)
def test_the_sql_guard_lets_one_read_only_select_through(query):
    assert SqlGuard().check(query) is None


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT 1; DROP TABLE x", "more than one statement"),
        ("SELECT 1; SELECT 2", "more than one statement"),
        ("SELECT 1 -- \n; DROP TABLE x", "comments are refused (they can hide statements)"),
        ("SELECT 1 /*! ; DROP TABLE x */", "comments are refused (they can hide statements)"),
        ("DROP TABLE x", "only a SELECT is allowed, not 'DROP'"),
        ("delete from t", "only a SELECT is allowed, not 'delete'"),
        ("SELECT a INTO b FROM t", "SELECT … INTO writes a table"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE is not read-only"),
        ("SELECT * FROM t FOR UPDATE", "UPDATE is not read-only"),
        ("SELECT '\\'; DROP TABLE x; --'", "backslashes are refused"),
        ("select $$a; drop table x$$", "dollar-quoted strings are refused"),
        ("SELECT 'unterminated", "unreadable SQL"),
        ("   ", "the query is empty"),
    ],
)
def test_the_sql_guard_refuses_anything_but_one_select(query, reason):
    assert SqlGuard().check(query).startswith(reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
        ("http://api.example.com/", "scheme 'http' is not allowed"),
        ("https://evil.test/", "host 'evil.test' is not in the allow-list"),
        ("https://example.com.evil.test/", "host 'example.com.evil.test' is not in"),
        ("https://api.example.com@evil.test/", "credentials in the URL are refused"),
        ("https://evil.test\\@api.example.com/", "backslashes, whitespace"),
        ("https:///path", "the URL has no host"),
        ("https://api.example.com:99999/", "not a URL"),
    ],
)
def test_the_url_guard_refuses_schemes_and_hosts_outside_its_lists(url, reason):
    guard = parse_guards([{"kind": "url", "hosts": ["*.example.com"]}])[0]
    assert guard.check(url).startswith(reason)


def test_the_url_guard_allows_listed_hosts():
    guard = UrlGuard(schemes=("https",), hosts=("*.example.com", "api.test"))
    assert guard.check("https://docs.example.com/a?b=c") is None
    assert guard.check("https://API.test./x") is None
    assert UrlGuard().check("https://anywhere.test/") is None


def test_sizes_and_patterns():
    assert MaxLengthGuard(max=3).check("abcd") == "4 characters, more than 3"
    assert MaxLengthGuard(max=3).check("abc") is None
    assert MaxItemsGuard(max=2).check([1, 2, 3]) == "3 items, more than 2"
    guard = PatternGuard(allow="^[a-z]+$", deny="admin")
    assert guard.check("report") is None
    assert guard.check("Report") == "does not match the allowed pattern '^[a-z]+$'"
    assert guard.check("sysadmin") == "matches the denied pattern 'admin'"


def test_pointers_select_properties_array_items_and_everything():
    guards = GuardSet.from_config(
        [
            {"kind": "path", "pointer": "/files/*"},
            {"kind": "max_items", "pointer": "/files", "max": 3},
            {"kind": "control_chars"},
        ]
    )
    assert guards.check({"files": ["a", "b/c"], "note": "ok"}) is None
    violation = guards.check({"files": ["a", "../b"]})
    assert (violation.kind, violation.pointer, violation.guard_pointer) == (
        "path",
        "/files/1",
        "/files/*",
    )
    assert guards.check({"files": ["a"] * 4}).pointer == "/files"
    deep = guards.check({"x": [{"y": ["ok", {"a/b": "z\x00"}]}]})
    assert (deep.kind, deep.pointer) == ("control_chars", "/x/0/y/1/a~1b")


def test_a_violation_becomes_a_denied_error_naming_guard_and_pointer():
    violation = GuardSet.from_config([{"kind": "path", "pointer": "/path"}]).check({"path": "/x"})
    error = violation.to_error()
    assert error.code.value == "DENIED"
    assert error.message == (
        "refused by the path guard at /path: an absolute path where a relative one is expected"
    )
    assert error.details == {
        "guard": "path",
        "pointer": "/path",
        "guard_pointer": "/path",
        "reason": "an absolute path where a relative one is expected",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.text())
def test_random_strings_never_crash_a_guard(text):
    for entry in ALL_KINDS:
        guard = parse_guards([entry])[0]
        value = [text] * 5 if entry["kind"] == "max_items" else text
        reason = guard.check(value)
        assert reason is None or isinstance(reason, str)


@given(json_values)
def test_random_arguments_never_crash_a_guard_set(arguments):
    guards = GuardSet([guard for entry in ALL_KINDS for guard in parse_guards([entry])])
    violation = guards.check({"a": arguments})
    assert violation is None or violation.pointer.startswith("/a")


@given(st.text(alphabet="./\\%2eEfF5c~ \uff0e", max_size=12))
def test_no_traversal_spelling_gets_through_when_decoded(path):
    import unicodedata
    import urllib.parse

    decoded = path
    for _ in range(3):
        decoded = urllib.parse.unquote(decoded)
    decoded = unicodedata.normalize("NFKC", decoded).replace("\\", "/")
    if ".." in decoded.split("/"):
        assert PathGuard(allow_absolute=True).check(path) is not None
