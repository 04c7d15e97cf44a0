"""Hypothesis strategies for hostile values: what a model, a tool, a file or a form may send.

Lone surrogates (not characters: UTF-8 cannot encode them), NUL (PostgreSQL refuses it in text
and jsonb), non-finite numbers (``1e999`` parses to inf; jsonb and strict JSON refuse them), deep
nesting, and patterns that backtrack catastrophically. Shared by the fuzz tests of the engine,
the schema editor and importers, the provider stream and the views; `assert_clean` states what
every value the studio keeps must satisfy.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

from tools_app.engine.untrusted import is_clean_json

#: Characters that break storage or encoding, and a surrogate pair's halves (joined, they are
#: one character; alone, each is hostile).
HOSTILE_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"]

#: JSON text fragments a parser may meet: escapes of the same, numbers out of range, constants.
HOSTILE_JSON_TOKENS = [
    '"\\ud800"',
    '"\\u0000"',
    '"a\\ud83d"',
    '"\\ude00b"',
    '"\\ud83d\\ude00"',
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" * 5000,
]

#: Patterns whose backtracking time doubles per character on `EVIL_SUBJECT`, and patterns RE2
#: cannot express at all.
CATASTROPHIC_PATTERNS = ["^(a+)+$", "^(a|aa)+$", "^(a|a?)+$", "(x+x+)+y", "^(\\w+\\s?)*$"]
UNSUPPORTED_PATTERNS = ["(a)\\1", "^(?=a)", "(?!x)y", "(?<=a)b", "(?<!a)b"]
EVIL_SUBJECT = "a" * 40 + "!"

hostile_chars = st.sampled_from(HOSTILE_CHARS)

#: Text that mixes ordinary characters with hostile ones.
hostile_text = st.lists(st.one_of(st.characters(), hostile_chars, hostile_chars), max_size=16).map(
    "".join
)

hostile_numbers = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan]),
    st.floats(),
    st.integers(min_value=-(10**30), max_value=10**30),
)

hostile_scalars = st.one_of(
    st.none(), st.booleans(), hostile_numbers, hostile_text, st.sampled_from(HOSTILE_CHARS)
)

#: Python values (as a tool might return, or a lenient parser produce) holding hostile leaves
#: and keys.
hostile_values = st.recursive(
    hostile_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(hostile_text, st.text(max_size=4)), children, max_size=4),
    ),
    max_leaves=12,
)


def _splice(parts: list[str]) -> str:
    return "".join(parts)


#: JSON text with hostile escapes and numbers: an object of them, a bare token, text with raw
#: hostile characters, absurd nesting.
hostile_json_text = st.one_of(
    st.dictionaries(
        st.sampled_from(["x", "y", "\\ud800"]),
        st.sampled_from(HOSTILE_JSON_TOKENS),
        min_size=1,
        max_size=3,
    ).map(lambda d: "{" + ", ".join(f'"{k}": {v}' for k, v in d.items()) + "}"),
    hostile_values.map(lambda v: json.dumps(v)),  # ensure_ascii: escapes, NaN, Infinity
    hostile_values.map(lambda v: json.dumps(v, ensure_ascii=False)),  # raw hostile characters
    st.sampled_from(HOSTILE_JSON_TOKENS),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.lists(st.one_of(st.sampled_from(HOSTILE_JSON_TOKENS), hostile_text), max_size=4).map(
        _splice
    ),
)


def hostile_schema() -> st.SearchStrategy[dict[str, Any]]:
    """An object schema whose patterns backtrack or are beyond RE2, with hostile descriptions."""
    pattern = st.sampled_from(CATASTROPHIC_PATTERNS + UNSUPPORTED_PATTERNS + ["^a", "\\u0061"])
    prop = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={"pattern": pattern, "description": hostile_text, "format": st.just("regex")},
    )
    return st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(st.sampled_from(["s", "t"]), prop, max_size=2),
            "patternProperties": st.dictionaries(pattern, st.just({}), max_size=2),
            "additionalProperties": st.booleans(),
            "unevaluatedProperties": st.booleans(),
        },
    )


#: Argument objects meant to meet `hostile_schema`: evil subjects as values and keys.
evil_arguments = st.dictionaries(
    st.sampled_from(["s", "t", EVIL_SUBJECT, "aaa"]),
    st.one_of(st.just(EVIL_SUBJECT), st.text(alphabet="ax!", max_size=30)),
    max_size=3,
).map(json.dumps)


def assert_clean(value: Any) -> None:
    """What the studio keeps is UTF-8 text and fits jsonb: no lone surrogate, NUL or inf."""
    assert is_clean_json(value), value
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
