"""JSON Schema patterns matched in linear time, with RE2.

A schema's ``pattern`` or ``patternProperties`` is written by whoever wrote the tool, and the
string it is matched against by the model: with a backtracking engine (Python's ``re``, which
jsonschema uses), ``^(a+)+$`` against ``"aaaa…a!"`` takes time doubling per character and
stalls the whole event loop. Here every schema pattern is compiled once (cached) by RE2, whose
matching time is linear in the input, and `Validator` is Draft 2020-12 with every keyword that
matches a pattern (``pattern``, ``patternProperties``, ``additionalProperties``,
``unevaluatedProperties``, ``format: regex``) overridden to use it.

ECMA-262 patterns RE2 cannot express (backreferences, lookahead, lookbehind) are refused with a
clear message (`UnsupportedPattern`), never handed to ``re``: at save time the editor reports
them, at run time the call gets ``EXECUTION_ERROR`` naming the pattern. ``\\uXXXX`` escapes,
which ECMA-262 has and RE2 spells ``\\x{XXXX}``, are translated.

RE2's time is linear in the text but also grows with the pattern: a program near RE2's memory
bound (``"[a-z]{1000}" * 68``) exhausts its DFA's cache and falls back to simulating the NFA,
about half a microsecond a character per hundred instructions, seconds for a long string. A pattern
that compiles to more than `MAX_PROGRAM_SIZE` instructions is refused like an unsupported one
(``^[a-z]{1,64}$`` is 129, ``^\\p{L}+$`` 1,199): reported at save and import, the tool's error at
run time.

This module must not import Django.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import re2
import referencing
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError

from .unique_items import unique_items

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern on stderr
_OPTIONS.max_mem = 8 << 20  # RE2's own default, spelled out: a bound on the compiled size

# A string the model sends under ``format: regex`` is compiled to check it and dropped: never
# cached (each distinct one would keep its program, megabytes, for the life of the process) and
# within a small budget.
_ARGUMENT_OPTIONS = re2.Options()
_ARGUMENT_OPTIONS.log_errors = False
_ARGUMENT_OPTIONS.max_mem = 1 << 20

MAX_PROGRAM_SIZE = 5_000

_HEX = frozenset("0123456789abcdefABCDEF")


class UnsupportedPattern(ValueError):
    """A pattern RE2 cannot compile; the message says why and what is not supported."""


def translate(pattern: str) -> str:
    """ECMA-262 escapes RE2 spells differently (``\\uXXXX`` → ``\\x{XXXX}``)."""
    if "\\u" not in pattern:
        return pattern
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            follower = pattern[i + 1]
            digits = pattern[i + 2 : i + 6]
            if follower == "u" and len(digits) == 4 and set(digits) <= _HEX:
                out.append(f"\\x{{{digits}}}")
                i += 6
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _reason(message: str) -> str:
    if "invalid perl operator: (?=" in message or "invalid perl operator: (?!" in message:
        return "lookahead ((?=…), (?!…)) is not supported"
    if "invalid perl operator: (?<" in message:
        return "lookbehind ((?<=…), (?<!…)) is not supported"
    if "invalid escape sequence: \\" in message and message.rstrip()[-1:].isdigit():
        return "backreferences (\\1, …) are not supported"
    return message


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> tuple[Any, str | None]:
    return _compile(pattern, _OPTIONS)


def _compile(pattern: str, options: Any) -> tuple[Any, str | None]:
    try:
        program = re2.compile(translate(pattern), options=options)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return None, _unsupported(_reason(message))
    except (UnicodeEncodeError, TypeError) as exc:
        return None, _unsupported(f"it is not text RE2 can read ({type(exc).__name__})")
    if program.programsize > MAX_PROGRAM_SIZE:
        return None, too_large(program.programsize)
    return program, None


def _unsupported(reason: str) -> str:
    return (
        f"{reason}. Patterns are matched with RE2 (linear time): backreferences and lookaround "
        "are not available."
    )


def too_large(size: int) -> str:
    """Why a pattern of `size` RE2 instructions is refused."""
    return (
        f"this pattern is too large: RE2 compiles it to {size:,} instructions, more than "
        f"{MAX_PROGRAM_SIZE:,}, and its matching time grows with its size times the text's "
        "length. Write long repeats as a short pattern with minLength or maxLength."
    )


def compile_pattern(pattern: str) -> Any:
    """The RE2 program for `pattern`, compiled once; raise `UnsupportedPattern` if none."""
    program, reason = _compiled(pattern)
    if program is None:
        raise UnsupportedPattern(f"the pattern {_shown(pattern)} cannot be used: {reason}")
    return program


def check_argument_pattern(pattern: str) -> None:
    """Raise `UnsupportedPattern` unless RE2 compiles `pattern`, a value the model sent (not
    cached, within a small memory budget)."""
    program, reason = _compile(pattern, _ARGUMENT_OPTIONS)
    if program is None:
        raise UnsupportedPattern(f"the pattern {_shown(pattern)} cannot be used: {reason}")


def _shown(pattern: str) -> str:
    shown = repr(pattern)
    return shown if len(shown) <= 80 else shown[:79] + "…"


def problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None when RE2 compiles it."""
    try:
        compile_pattern(pattern)
    except UnsupportedPattern as exc:
        return str(exc)
    return None


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text` (JSON Schema's unanchored semantics)."""
    try:
        return compile_pattern(pattern).search(text) is not None
    except UnicodeEncodeError:
        # A lone surrogate: untrusted text is cleaned before it gets here, so this is a string
        # built by code. It matches nothing rather than raising.
        return False


# -- jsonschema keywords ------------------------------------------------------------------------


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in properties and not any(search(pattern, key) for pattern in patterns)
    ]


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # jsonschema's own joins the patternProperties into one `re` search: replaced whole.
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            listed = ", ".join(repr(extra) for extra in sorted(extras, key=str))
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )


def _valid(errors: Iterator[ValidationError]) -> bool:
    return next(errors, None) is None


def _evaluated_keys(validator: Any, instance: dict[str, Any], schema: Any) -> list[str]:
    """jsonschema's `find_evaluated_property_keys_by_schema`, with patterns matched by RE2."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[str] = []
    for keyword in ("$ref", "$dynamicRef"):
        reference = schema.get(keyword)
        if reference is not None:
            resolved = validator._resolver.lookup(reference)
            keys += _evaluated_keys(
                validator.evolve(schema=resolved.contents, _resolver=resolved.resolver),
                instance,
                resolved.contents,
            )
    properties = schema.get("properties")
    if validator.is_type(properties, "object"):
        keys += properties.keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        subschema = schema.get(keyword)
        if subschema is not None:
            keys += (
                key
                for key, value in instance.items()
                if _valid(validator.descend(value, subschema))
            )
    if "patternProperties" in schema:
        keys += (
            key
            for key in instance
            if any(search(pattern, key) for pattern in schema["patternProperties"])
        )
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys += _evaluated_keys(validator, instance, subschema)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if _valid(validator.descend(instance, subschema)):
                keys += _evaluated_keys(validator, instance, subschema)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"])
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"])
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"])
    return keys


def _unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    failing = [
        key
        for key in instance
        if key not in evaluated
        and not _valid(validator.descend(instance[key], unevaluated, path=key, schema_path=key))
    ]
    if not failing:
        return
    listed = ", ".join(repr(key) for key in sorted(failing, key=str))
    verb = "was" if len(failing) == 1 else "were"
    if unevaluated is False:
        yield ValidationError(
            f"Unevaluated properties are not allowed ({listed} {verb} unexpected)"
        )
    else:
        yield ValidationError(
            "Unevaluated properties are not valid under the given schema "
            f"({listed} {verb} unevaluated and invalid)"
        )


# Arguments' formats: ``format: regex`` compiles the model's string without caching it.
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)

# Schemas' formats (the meta-schema's ``pattern``): the tool's own patterns, compiled once.
SCHEMA_FORMAT_CHECKER = FormatChecker(formats=())
SCHEMA_FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)


@FORMAT_CHECKER.checks("regex", raises=UnsupportedPattern)
def _is_argument_regex(instance: object) -> bool:
    if isinstance(instance, str):
        check_argument_pattern(instance)
    return True


@SCHEMA_FORMAT_CHECKER.checks("regex", raises=UnsupportedPattern)
def _is_schema_regex(instance: object) -> bool:
    if isinstance(instance, str):
        compile_pattern(instance)
    return True


# References resolve within the schema (and the specifications' own meta-schemas), never by a
# fetch: jsonschema's default registry opens any `$ref` URL it meets (file:// too) with urlopen,
# outside the outbound policy and without a timeout. A reference to anything else is
# unresolvable, which makes the schema the tool's error (`validation.check_arguments`).
LOCAL_REFERENCES: referencing.Registry[Any] = referencing.Registry()


def Validator(schema: Any, **kwargs: Any) -> Any:
    """The engine's Draft 2020-12 validator: RE2 for patterns, linear ``uniqueItems``, no remote
    references."""
    kwargs.setdefault("registry", LOCAL_REFERENCES)
    return _Validator(schema, **kwargs)


_Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
        "uniqueItems": unique_items,  # linear: jsonschema's compares every pair of mixed items
    },
    format_checker=FORMAT_CHECKER,
)


def meta_validator() -> Any:
    """A validator of schemas (the Draft 2020-12 meta-schema) whose ``format: regex`` is RE2's."""
    return Validator(Draft202012Validator.META_SCHEMA, format_checker=SCHEMA_FORMAT_CHECKER)


def unsupported_pattern_message(error: ValidationError | SchemaError) -> str | None:
    """The clear message for a meta-schema error about a pattern RE2 refuses, else None."""
    if error.validator == "format" and error.validator_value == "regex":
        if isinstance(error.cause, UnsupportedPattern):
            return str(error.cause)
        return f"the pattern {error.instance!r} is not a regular expression"
    return None
