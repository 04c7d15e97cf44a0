"""The structural diff a replay shows: changes by JSON pointer, in document order."""

from __future__ import annotations

from conversations.json_diff import Change, json_diff


def test_equal_values_have_no_changes():
    value = {"a": [1, {"b": None}], "c": "x"}
    assert json_diff(value, {"c": "x", "a": [1.0, {"b": None}]}) == []


def test_object_keys_added_removed_and_changed():
    old = {"temp": 21, "unit": "C", "city": "Paris"}
    new = {"temp": 19, "city": "Paris", "wind": 3}
    assert json_diff(old, new) == [
        Change("changed", "/temp", old=21, new=19),
        Change("removed", "/unit", old="C"),
        Change("added", "/wind", new=3),
    ]


def test_arrays_compare_by_index():
    assert json_diff([1, [2, 3]], [1, [2, 4], 5]) == [
        Change("changed", "/1/1", old=3, new=4),
        Change("added", "/2", new=5),
    ]
    assert json_diff([1, 2], [1]) == [Change("removed", "/1", old=2)]


def test_a_different_type_is_one_change_at_its_pointer():
    assert json_diff({"a": {"b": 1}}, {"a": [1]}) == [
        Change("changed", "/a", old={"b": 1}, new=[1])
    ]
    assert json_diff(1, True) == [Change("changed", "", old=1, new=True)]
    assert json_diff(None, {"x": 1}) == [Change("changed", "", old=None, new={"x": 1})]


def test_pointer_tokens_are_escaped():
    assert json_diff({"a/b~c": 1}, {"a/b~c": 2}) == [Change("changed", "/a~1b~0c", old=1, new=2)]


def test_changes_are_capped():
    old = {str(i): i for i in range(10)}
    new = {str(i): -i - 1 for i in range(10)}
    assert len(json_diff(old, new, max_changes=3)) == 3


def test_deep_nesting_is_reported_without_recursing_without_bound():
    old: object = 1
    new: object = 2
    for _ in range(200):
        old, new = [old], [new]
    [change] = json_diff(old, new)
    assert change.kind == "changed"
    assert change.pointer == "/0" * 64
