"""The calculator refuses, before computing it, any integer that would outgrow its bound.

One C-level computation (``round(7, -30000000)`` builds ``10 ** 30000000``) holds the interpreter
whatever the timeout, so every operation that can grow an integer checks its operands first.
"""

from __future__ import annotations

import pytest

from tools_app.demo_tools import MAX_INT_BITS, MAX_ROUND_DIGITS, calculate

TOO_LARGE = f"the result would be too large (over {MAX_INT_BITS} bits)"
HUGE = "((2 ** 1000) ** 3 * 2 ** 998)"  # 2 ** 3998: within the bound, twice it too
ROUND_DIGITS = f"round() takes a whole number of digits between -{MAX_ROUND_DIGITS}"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("round(7, -30000000)", ROUND_DIGITS),
        ("round(7.5, -30000000)", ROUND_DIGITS),
        ("round(1, 10 ** 9)", ROUND_DIGITS),
        ("round(7, 1.5)", ROUND_DIGITS),
        ("9**9**9", "exponent 387420489 is too large (limit 1000)"),
        ("2 ** 1000 * 2 ** 1000 * 2 ** 1000 * 2 ** 1000 * 2", TOO_LARGE),
        ("(2 ** 1000) ** 5", TOO_LARGE),
        ("(10 ** 700) * (10 ** 700)", TOO_LARGE),
        ("floor(1e308) * floor(1e308) * floor(1e308) * floor(1e308)", TOO_LARGE),
        (f"{HUGE} + {HUGE} + {HUGE}", TOO_LARGE),
        (f"-{HUGE} - {HUGE} - {HUGE}", TOO_LARGE),
        ("max(2 ** 1000, 1) ** 5", TOO_LARGE),
    ],
)
def test_growing_operations_are_refused_with_the_bound_they_hit(expression, message):
    with pytest.raises(ValueError) as refused:
        calculate(expression)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("round(123456, -3)", 123000),
        ("round(10 ** 300, -300)", 10**300),
        ("round(2.675, 2)", 2.67),
        ("(2 ** 1000) ** 3", 2**3000),
        ("2 ** 1000 * 2 ** 1000 * 2 ** 1000", 2**3000),
        ("floor(1e308) * 2", int(1e308) * 2),
        (f"{HUGE} + {HUGE}", 2**3999),
    ],
)
def test_large_results_within_the_bound_are_computed(expression, expected):
    assert calculate(expression) == expected
