"""The demo catalog's Python tools: time, unit conversion, arithmetic, and a sleep for latency.

Callable through the ``python`` implementation (allow the module ``tools_app.demo_tools``);
`DEMO_TOOL_SPECS` holds their JSON Schemas as OpenAI function objects for the demo catalog.
Each function raises a ValueError with a message meant for the model when its input is wrong.

`calculate` evaluates arithmetic by walking Python's ``ast`` — never ``eval`` — over numbers,
``+ - * / // % **``, unary signs, parentheses and a few math functions and constants. Every
operation that could build a huge integer (``+ - * **``, ``round`` with many digits) checks the
size of its result from its operands BEFORE computing it, so ``9**9**9`` or ``round(7, -10**7)``
is refused at once: one long C-level computation would hold the interpreter whatever the timeout.
The other operations cannot grow an integer (``// %``, ``min``, ``abs``) or work on floats, whose
overflow raises at once; integers stay under ``MAX_INT_BITS``, far below the int/str conversion
limit.
This module must not import Django.
"""

from __future__ import annotations

import ast
import asyncio
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 1000
MAX_INT_BITS = 4000
MAX_ROUND_DIGITS = 1000
MAX_SLEEP_MS = 60_000


def current_time(timezone: str = "UTC") -> dict[str, Any]:
    """The current time in an IANA time zone such as ``Europe/Paris``."""
    if not isinstance(timezone, str) or not timezone:
        raise ValueError("timezone must be an IANA time zone name such as 'Europe/Paris'")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {timezone!r}; use an IANA name such as 'Europe/Paris'"
        ) from exc
    now = datetime.now(UTC).astimezone(zone)
    offset = now.utcoffset()
    return {
        "timezone": timezone,
        "iso": now.isoformat(),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "utc_offset_minutes": int(offset.total_seconds() // 60) if offset is not None else 0,
    }


# --- unit conversion ---------------------------------------------------------------------

_LENGTH_M = {
    "mm": 0.001,
    "cm": 0.01,
    "m": 1.0,
    "km": 1000.0,
    "in": 0.0254,
    "ft": 0.3048,
    "yd": 0.9144,
    "mi": 1609.344,
}
_MASS_KG = {
    "mg": 1e-6,
    "g": 0.001,
    "kg": 1.0,
    "t": 1000.0,
    "oz": 0.028349523125,
    "lb": 0.45359237,
}
_TEMPERATURES = ("C", "F", "K")
_ALIASES = {
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "kilometer": "km",
    "kilometers": "km",
    "centimeter": "cm",
    "centimeters": "cm",
    "millimeter": "mm",
    "millimeters": "mm",
    "inch": "in",
    "inches": "in",
    "foot": "ft",
    "feet": "ft",
    "yard": "yd",
    "yards": "yd",
    "mile": "mi",
    "miles": "mi",
    "gram": "g",
    "grams": "g",
    "kilogram": "kg",
    "kilograms": "kg",
    "milligram": "mg",
    "milligrams": "mg",
    "tonne": "t",
    "tonnes": "t",
    "pound": "lb",
    "pounds": "lb",
    "lbs": "lb",
    "ounce": "oz",
    "ounces": "oz",
    "c": "C",
    "celsius": "C",
    "°c": "C",
    "f": "F",
    "fahrenheit": "F",
    "°f": "F",
    "k": "K",
    "kelvin": "K",
}
UNITS = [*_LENGTH_M, *_MASS_KG, *_TEMPERATURES]


def _unit(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError("units must be strings")
    key = name.strip()
    if key in _LENGTH_M or key in _MASS_KG or key in _TEMPERATURES:
        return key
    alias = _ALIASES.get(key.lower())
    if alias is None:
        raise ValueError(f"unknown unit {name!r}; known units: {', '.join(UNITS)}")
    return alias


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32) * 5 / 9 + 273.15
    return value


def _from_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value - 273.15
    if unit == "F":
        return (value - 273.15) * 9 / 5 + 32
    return value


def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    """Convert a length, mass or temperature between units."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("value must be a finite number")
    source, target = _unit(from_unit), _unit(to_unit)
    for table in (_LENGTH_M, _MASS_KG):
        if source in table and target in table:
            converted = value * table[source] / table[target]
            break
    else:
        if source in _TEMPERATURES and target in _TEMPERATURES:
            kelvin = _to_kelvin(value, source)
            if kelvin < 0:
                raise ValueError("that temperature is below absolute zero")
            converted = _from_kelvin(kelvin, target)
        else:
            raise ValueError(f"cannot convert {source} to {target}: they measure different things")
    return {"value": round(converted, 10), "unit": target, "from": {"value": value, "unit": source}}


# --- calculator --------------------------------------------------------------------------

_Number = int | float


def _int_bits(value: _Number) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _refuse_large(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise ValueError(f"the result would be too large (over {MAX_INT_BITS} bits)")


def _checked_add(a: _Number, b: _Number) -> _Number:
    _refuse_large(max(_int_bits(a), _int_bits(b)) + 1)
    return a + b


def _checked_sub(a: _Number, b: _Number) -> _Number:
    _refuse_large(max(_int_bits(a), _int_bits(b)) + 1)
    return a - b


def _checked_mul(a: _Number, b: _Number) -> _Number:
    if isinstance(a, int) and isinstance(b, int):
        _refuse_large(_int_bits(a) + _int_bits(b))
    return a * b


def _checked_pow(base: _Number, exponent: _Number) -> _Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"exponent {exponent} is too large (limit {MAX_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        _refuse_large(_int_bits(base) * exponent)
    if base == 0 and exponent < 0:
        raise ValueError("zero cannot be raised to a negative power")
    result = operator.pow(base, exponent)
    if not isinstance(result, (int, float)):  # a negative base to a fractional power: complex
        raise ValueError("the result is not a real number")
    return result


def _checked_round(number: _Number, ndigits: _Number | None = None) -> _Number:
    # round(7, -30000000) would build 10**30000000 before answering 0
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, float) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(
            f"round() takes a whole number of digits between -{MAX_ROUND_DIGITS} "
            f"and {MAX_ROUND_DIGITS}"
        )
    return round(number, ndigits)


def _checked_div(a: _Number, b: _Number) -> _Number:
    if b == 0:
        raise ValueError("division by zero")
    return a / b


def _checked_floordiv(a: _Number, b: _Number) -> _Number:
    if b == 0:
        raise ValueError("division by zero")
    return a // b


def _checked_mod(a: _Number, b: _Number) -> _Number:
    if b == 0:
        raise ValueError("modulo by zero")
    return a % b


_BINARY: dict[type[ast.operator], Callable[[_Number, _Number], _Number]] = {
    ast.Add: _checked_add,
    ast.Sub: _checked_sub,
    ast.Mult: _checked_mul,
    ast.Div: _checked_div,
    ast.FloorDiv: _checked_floordiv,
    ast.Mod: _checked_mod,
    ast.Pow: _checked_pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[_Number], _Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., _Number]] = {
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "exp": math.exp,
    "abs": abs,
    "round": _checked_round,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def calculate(expression: str) -> float | int:
    """Evaluate an arithmetic expression such as ``2 * (3 + 4) ** 2 / sqrt(16)``."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("expression must be a non-empty string")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError("not an arithmetic expression") from exc
    try:
        result = _evaluate(tree.body)
    except (OverflowError, ZeroDivisionError) as exc:
        raise ValueError(f"cannot compute that: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("expression is nested too deeply") from exc
    except TypeError as exc:
        raise ValueError(f"invalid use of a function: {exc}") from exc
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError("the result is not a finite number")
    return result


def _evaluate(node: ast.AST) -> _Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"only numbers are allowed, not {type(value).__name__} literals")
        _refuse_large(_int_bits(value))
        return value
    if isinstance(node, ast.BinOp):
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed")
        return operation(_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp):
        unary = _UNARY.get(type(node.op))
        if unary is None:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed")
        return unary(_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"unknown name {node.id!r}; constants: {', '.join(_CONSTANTS)}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ValueError(f"only these functions are allowed: {', '.join(_FUNCTIONS)}")
        if node.keywords or not node.args or len(node.args) > 8:
            raise ValueError(f"{node.func.id}() takes one or a few positional numbers")
        arguments = [_evaluate(argument) for argument in node.args]
        return _FUNCTIONS[node.func.id](*arguments)
    raise ValueError(f"{type(node).__name__} is not allowed in an arithmetic expression")


async def sleep(ms: float) -> dict[str, float]:
    """Wait `ms` milliseconds (at most a minute); for latency studies."""
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= MAX_SLEEP_MS:
        raise ValueError(f"ms must be a number between 0 and {MAX_SLEEP_MS}")
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


DEMO_TOOL_SPECS: list[dict[str, Any]] = [
    {
        "name": "current_time",
        "description": "Get the current date and time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA time zone name, e.g. 'Europe/Paris'.",
                    "default": "UTC",
                }
            },
            "additionalProperties": False,
        },
    },
    {
        "name": "convert_units",
        "description": "Convert a length, mass or temperature from one unit to another.",
        "parameters": {
            "type": "object",
            "properties": {
                "value": {"type": "number", "description": "The quantity to convert."},
                "from_unit": {"type": "string", "enum": UNITS, "description": "Unit of value."},
                "to_unit": {"type": "string", "enum": UNITS, "description": "Unit wanted."},
            },
            "required": ["value", "from_unit", "to_unit"],
            "additionalProperties": False,
        },
    },
    {
        "name": "calculate",
        "description": (
            "Evaluate an arithmetic expression: numbers, + - * / // % **, parentheses, "
            "sqrt, sin, cos, tan, log, exp, abs, round, floor, ceil, min, max, pi, e."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "For example '2 * (3 + 4) ** 2 / sqrt(16)'.",
                    "maxLength": MAX_EXPRESSION_CHARS,
                }
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
    },
    {
        "name": "sleep",
        "description": "Wait a number of milliseconds, then answer (for latency experiments).",
        "parameters": {
            "type": "object",
            "properties": {
                "ms": {"type": "number", "minimum": 0, "maximum": MAX_SLEEP_MS},
            },
            "required": ["ms"],
            "additionalProperties": False,
        },
    },
]
