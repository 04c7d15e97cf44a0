"""A free string property's candidates are de-duplicated once per request, not once per property:
the answers are those of the old pass over every value, and a body of 8 tools of 100 free
properties with a prompt of 570 names costs thousands of comparisons, not 130 million."""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import demo_model


def old_candidates(
    name: str,
    prop: dict[str, Any],
    prompt: str,
    phrases: list[str],
    values: demo_model.PromptValues,
) -> list[str]:
    """The implementation before, kept to compare with: every value against every value kept."""
    found = demo_model._mentioned_examples(prop, values)
    if demo_model._wants_expression(name, prop):
        found += demo_model._expressions(prompt)
    elif name.lower() in demo_model.TEXT_PROPERTIES:
        found.append(prompt.strip()[:500])
    else:
        found += [match.group(1).strip() for match in demo_model.QUOTED.finditer(prompt)]
        found += phrases
    unique: list[str] = []
    for value in found:
        if value and not any(demo_model._contains(kept.lower(), value.lower()) for kept in unique):
            unique.append(value)
    return unique


# Letters whose lower case is longer or depends on context, quotes, operators and separators.
PROMPT = st.text(alphabet=st.sampled_from(list('aAbBOoİΣ\u03c3ß "“”`,-+*1(é')), max_size=60)
NAMES = st.sampled_from(["city", "Query", "expression", "origin", "text"])
PROPS = st.fixed_dictionaries(
    {"type": st.just("string")},
    optional={
        "description": st.sampled_from(["A math formula.", "Where to."]),
        "examples": st.lists(st.text(alphabet="aAbB İ\u03c3,1", max_size=8), max_size=12),
    },
)


@settings(max_examples=500, deadline=None)
@given(
    prompt=PROMPT,
    phrases=st.lists(st.text(alphabet="aAbBİΣ\u03c3ß ,", max_size=6), max_size=12),
    properties=st.lists(st.tuples(NAMES, PROPS), min_size=1, max_size=5),
    budget=st.integers(min_value=0, max_value=40),
)
def test_the_candidates_are_the_old_ones(prompt, phrases, properties, budget):
    """Properties read in turn with one request's values (so sharing its de-duplicated values
    and its budget) get the old candidates, cut at MAX_CANDIDATES, and spend the same budget."""
    new_values = demo_model.PromptValues(prompt, budget)
    old_values = demo_model.PromptValues(prompt, budget)
    for name, prop in properties:
        new = demo_model._candidates(name, prop, prompt, phrases, new_values)
        old = old_candidates(name, prop, prompt, phrases, old_values)
        assert new == old[: demo_model.MAX_CANDIDATES]
        assert new_values.budget == old_values.budget


@pytest.mark.parametrize(
    ("prompt", "examples", "expected"),
    [
        # A name inside a named example is a repeat, whatever its case; one containing it is not.
        ("Weather in New York and York", ["new york"], ["new york", "Weather"]),
        ("Weather in York and New York", ["york"], ["york", "Weather", "New York"]),
        # Quoted strings come before names; the first spelling stays.
        ('Ship "OSLO" to Oslo and oslo', [], ["OSLO", "Ship"]),
        # Examples repeat each other too, and a long prompt keeps only the first 100 values.
        ("A B", ["a", "A", "a b"], ["a", "a b"]),
        (", ".join(f"Name{n:03}" for n in range(150)), [], [f"Name{n:03}" for n in range(100)]),
    ],
)
def test_a_table_of_candidates(prompt, examples, expected):
    prop = {"type": "string", "examples": examples}
    phrases = demo_model._phrases(prompt, set())
    values = demo_model.PromptValues(prompt)

    got = demo_model._candidates("city", prop, prompt, phrases, values)

    assert got == expected
    assert (
        got == old_candidates("city", prop, prompt, phrases, demo_model.PromptValues(prompt))[:100]
    )


def request_body(tools: int, properties: int, names: int) -> bytes:
    """`tools` weather tools of `properties` required plain strings, and a prompt naming
    `names` places."""
    words = ["Q" + "".join(c) for c in itertools.product(string.ascii_lowercase, repeat=3)]
    prompt = "Weather " + ", ".join(words[:names])
    props = {f"p{n}": {"type": "string"} for n in range(properties)}
    parameters = {"type": "object", "properties": props, "required": list(props)}
    offered = [
        {"type": "function", "function": {"name": f"weather_{n}", "parameters": parameters}}
        for n in range(tools)
    ]
    body = {"messages": [{"role": "user", "content": prompt}], "tools": offered}
    return json.dumps(body).encode()


def calls(body: bytes) -> list[tuple[str, str]]:
    answer = demo_model.answer(demo_model.parse_request(body))
    return [(call.name, call.arguments) for call in answer.tool_calls]


@pytest.mark.parametrize(
    ("tools", "properties", "names"), [(1, 1, 12), (3, 2, 20), (2, 100, 150), (8, 30, 40)]
)
def test_a_request_gets_the_old_answer(monkeypatch, tools, properties, names):
    """Cutting at MAX_CANDIDATES changes no answer, with more values than properties or fewer."""
    body = request_body(tools, properties, names)
    new = calls(body)
    monkeypatch.setattr(demo_model, "_candidates", old_candidates)
    assert new == calls(body)


# 8 tools of 100 free properties: de-duplicating up to 100 kept values for each is 8 times 100²/2
# comparisons at most; the old pass made some 130 million.
COMPARISONS = 40_400


class TooMuchWork(Exception):
    pass


def count_comparisons(monkeypatch) -> list[int]:
    count = [0]
    contains = demo_model._contains

    def counting(kept: str, value: str) -> bool:
        count[0] += 1
        if count[0] > COMPARISONS:
            raise TooMuchWork
        return contains(kept, value)

    monkeypatch.setattr(demo_model, "_contains", counting)
    return count


def test_the_attack_body_costs_a_bounded_number_of_comparisons(monkeypatch):
    body = request_body(8, 100, 570)
    assert 25_000 < len(body) < 35_000
    count = count_comparisons(monkeypatch)

    answer = demo_model.answer(demo_model.parse_request(body))

    assert 0 < count[0] <= COMPARISONS
    first = json.loads(answer.tool_calls[0].arguments)
    assert [first[f"p{n}"] for n in (0, 1, 99)] == ["Qaaa", "Qaab", "Qadv"]


def test_the_old_pass_over_the_attack_body_exceeds_the_bound(monkeypatch):
    """The bound above is one the old implementation breaks (it is stopped there)."""
    count_comparisons(monkeypatch)
    monkeypatch.setattr(demo_model, "_candidates", old_candidates)

    with pytest.raises(TooMuchWork):
        demo_model.answer(demo_model.parse_request(request_body(8, 100, 570)))
