"""A tool's guard list: what parses, and the error a person sees for each bad list."""

from __future__ import annotations

import pytest

from tools_app.engine.guards import GuardConfigError, GuardSet, PathGuard, UrlGuard, parse_guards


def test_a_good_list_parses_into_typed_guards():
    guards = parse_guards(
        [
            {"kind": "path", "pointer": "/path"},
            {"kind": "url", "pointer": "/u", "schemes": ["HTTPS"], "hosts": ["API.example.com."]},
        ]
    )
    assert guards == (
        PathGuard(pointer="/path"),
        UrlGuard(pointer="/u", schemes=("https",), hosts=("api.example.com",)),
    )


def test_no_guards_compile_to_none():
    assert GuardSet.from_config([]) is None
    assert GuardSet.from_config(None) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "path"}, "guards must be a JSON list of objects"),
        (["path"], "guard 1: must be an object with a 'kind'"),
        ([{"kind": "paths"}], "guard 1: unknown kind 'paths'; choose one of path, control_chars"),
        ([{"kind": "path"}, {"kind": "sql", "dialect": "x"}], "guard 2 (sql): unknown option"),
        ([{"kind": "path", "pointer": "path"}], "guard 1 (path): 'pointer' must be a JSON pointer"),
        ([{"kind": "path", "pointer": "/a~2"}], "guard 1 (path): bad '~' escape"),
        ([{"kind": "path", "allow_absolute": "yes"}], "'allow_absolute' must be true or false"),
        ([{"kind": "max_length"}], "guard 1 (max_length): 'max' is required"),
        ([{"kind": "max_items", "max": -1}], "'max' must be a whole number of at least 0"),
        ([{"kind": "max_items", "max": True}], "'max' must be a whole number of at least 0"),
        ([{"kind": "url", "hosts": "example.com"}], "'hosts' must be a list of non-empty strings"),
        ([{"kind": "url", "schemes": []}], "'schemes' must name at least one scheme"),
        ([{"kind": "pattern"}], "guard 1 (pattern): give an 'allow' or a 'deny' pattern"),
        ([{"kind": "pattern", "deny": 3}], "'deny' must be a string"),
        ([{"kind": "path"}] * 101, "at most 100 guards per tool"),
    ],
)
def test_bad_lists_are_refused_with_a_clear_message(config, message):
    with pytest.raises(GuardConfigError) as caught:
        parse_guards(config)
    assert message in str(caught.value)


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=x)", "(?<!a)b", "("])
def test_patterns_re2_cannot_compile_are_refused_at_parse_time(pattern):
    with pytest.raises(GuardConfigError) as caught:
        parse_guards([{"kind": "pattern", "pointer": "/q", "allow": pattern}])
    assert str(caught.value).startswith(
        f"guard 1 (pattern): allow pattern {pattern!r} is not a linear-time (RE2) pattern"
    )
