"""An import of many tools with one name renames them x, x_2, x_3, … in n look-ups of the taken
names, not n²/2: legal_name remembers where each name's search for a free suffix stopped."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator

from tools_app import importers
from tools_app.importers import parse_import
from tools_app.schema import legal_name


class CountingNames(Collection[str]):
    """A view of a set of taken names that counts the membership checks made through it."""

    checks = 0

    def __init__(self, names: Collection[str]) -> None:
        self.names = names

    def __contains__(self, name: object) -> bool:
        CountingNames.checks += 1
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def same_named(count: int, name: str = "x") -> str:
    # Each differs (identical entries are imported once), all named alike.
    return json.dumps([{"name": name, "description": f"Tool {n}."} for n in range(count)])


def test_n_tools_of_one_name_cost_a_few_checks_each(monkeypatch):
    monkeypatch.setattr(CountingNames, "checks", 0)
    monkeypatch.setattr(
        importers,
        "legal_name",
        lambda name, taken, *rest: legal_name(name, CountingNames(taken), *rest),
    )

    result = parse_import(same_named(2_000))

    assert [tool.name for tool in result.tools] == ["x"] + [f"x_{n}" for n in range(2, 2_001)]
    assert CountingNames.checks <= 3 * 2_000


def test_the_names_are_those_of_the_search_from_two():
    result = parse_import(same_named(4, "a.b"), taken={"a_b", "a_b_3"})
    assert [tool.name for tool in result.tools] == ["a_b_2", "a_b_4", "a_b_5", "a_b_6"]

    long = "x" * 70
    result = parse_import(same_named(11, long), taken={"x" * 64})
    assert [tool.name for tool in result.tools] == [
        *(f"{'x' * 62}_{n}" for n in range(2, 10)),
        "x" * 61 + "_10",
        "x" * 61 + "_11",
        "x" * 61 + "_12",
    ]


def test_a_suffix_offered_but_not_taken_is_offered_again():
    next_suffix: dict[str, int] = {}
    taken = {"x", "x_2"}
    assert legal_name("x", taken, next_suffix) == "x_3"
    assert legal_name("x", taken, next_suffix) == "x_3"
    taken.add("x_3")
    assert legal_name("x", taken, next_suffix) == "x_4"
