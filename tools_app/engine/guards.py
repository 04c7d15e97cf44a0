"""Declarative argument guards: per-tool checks of validated arguments before a call runs.

A tool's guards are a JSON list, versioned with the tool, e.g.::

    [{"kind": "path", "pointer": "/path"},
     {"kind": "sql", "pointer": "/query"},
     {"kind": "control_chars"}]

`parse_guards` turns that list into frozen guard definitions (raising `GuardConfigError` with the
guard's position for a bad one), and `GuardSet` compiles them once per `ToolSpec`. The executor
checks ``spec.guards`` after schema validation and before the guard hook and approval: a call
that trips a guard never runs; its result is DENIED with details naming the guard kind, the JSON
pointer of the offending value and the reason.

A guard's ``pointer`` selects values with a JSON pointer in which a ``*`` segment matches any
array item or object member (``/files/*``); no pointer (or ``""``) selects the whole arguments
object. String guards check every string at or under the selected values, ``max_items`` every
array. Guards are a second line of defence, not a sandbox: an SQL guard cannot tell a
side-effecting function from a pure one; give the tool a read-only database role as well.

Patterns use RE2 (linear time). This module must not import Django.
"""

from __future__ import annotations

import functools
import re
import re._compiler as re_compiler  # type: ignore[import-not-found]
import re._constants as re_constants  # type: ignore[import-not-found]
import re._parser as re_parser  # type: ignore[import-not-found]
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import re2
from sqlparse import keywords as sql_keywords
from sqlparse import lexer as sql_lexer
from sqlparse import tokens as sql_tokens

from .errors import ErrorCode, ToolError
from .patterns import MAX_PROGRAM_SIZE, too_large

MAX_SQL_CHARS = 10_000  # lexing costs about 2 µs a character, on the event loop
DEFAULT_SHELL_CHARACTERS = ";&|`$<>(){}[]*?!~#\\'\"\n\r"
# C0 and C1 controls, DEL, and the bidi overrides and isolates that disguise text
# ("Trojan Source"); tab, newline and carriage return are allowed unless asked otherwise.
_CONTROL = frozenset(
    [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_WHITESPACE = frozenset((0x09, 0x0A, 0x0D))


class GuardConfigError(ValueError):
    """A guard list that cannot be used; the message names the guard and what is wrong."""


@dataclass(frozen=True)
class Violation:
    """One value a guard refused."""

    kind: str
    pointer: str
    reason: str
    guard_pointer: str = ""

    def to_error(self) -> ToolError:
        where = self.pointer or "(arguments)"
        return ToolError(
            ErrorCode.DENIED,
            f"refused by the {self.kind} guard at {where}: {self.reason}",
            {
                "guard": self.kind,
                "pointer": self.pointer,
                "guard_pointer": self.guard_pointer,
                "reason": self.reason,
            },
        )


class Guard(Protocol):
    kind: ClassVar[str]
    checks: ClassVar[type]
    pointer: str

    def check(self, value: Any) -> str | None: ...


# --- the guard kinds --------------------------------------------------------------------------


@dataclass(frozen=True)
class PathGuard:
    """Path traversal: ``..`` segments (also percent-encoded or full-width), absolute paths."""

    kind: ClassVar[str] = "path"
    checks: ClassVar[type] = str
    pointer: str = ""
    allow_absolute: bool = False

    def check(self, value: str) -> str | None:
        for form in _path_forms(value):
            segments = form.replace("\\", "/").split("/")
            if any(_is_dot_dot(segment) for segment in segments):
                return "the path climbs out of its directory with a '..' segment"
            if not self.allow_absolute and _is_absolute(form):
                return "an absolute path where a relative one is expected"
        return None


@dataclass(frozen=True)
class ControlCharsGuard:
    """NUL and other control characters; tab, LF and CR pass unless `allow_whitespace` is off."""

    kind: ClassVar[str] = "control_chars"
    checks: ClassVar[type] = str
    pointer: str = ""
    allow_whitespace: bool = True

    def check(self, value: str) -> str | None:
        if value.isprintable():
            return None
        for char in value:
            code = ord(char)
            if code in _CONTROL and not (self.allow_whitespace and code in _WHITESPACE):
                name = "NUL" if code == 0 else f"U+{code:04X}"
                return f"control character {name}"
        return None


@dataclass(frozen=True)
class ShellGuard:
    """Shell metacharacters in command-like values; `allow` lists characters to permit."""

    kind: ClassVar[str] = "shell"
    checks: ClassVar[type] = str
    pointer: str = ""
    allow: str = ""
    _refused: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_refused", frozenset(DEFAULT_SHELL_CHARACTERS + "\x00") - set(self.allow)
        )

    def check(self, value: str) -> str | None:
        if self._refused.isdisjoint(value):
            return None
        char = next(c for c in value if c in self._refused)
        return f"shell metacharacter {char!r}"


@dataclass(frozen=True)
class SqlGuard:
    """Only one read-only SELECT (or WITH … SELECT), by SQL tokens rather than keyword search.

    Refused: more than one statement, comments (they can hide statements, e.g. MySQL's
    ``/*! … */``), any DML but SELECT (so writable CTEs and ``FOR UPDATE``), DDL, ``INTO``,
    backslashes and dollar quotes (dialects disagree on where such a string ends), and text the
    tokenizer cannot read.
    """

    kind: ClassVar[str] = "sql"
    checks: ClassVar[type] = str
    pointer: str = ""

    def check(self, value: str) -> str | None:
        if len(value) > MAX_SQL_CHARS:
            return f"the query is longer than {MAX_SQL_CHARS} characters"
        if "\\" in value:
            return "backslashes are refused (SQL dialects disagree on string escapes)"
        first = True
        ended = False
        kinds = _SQL_KINDS
        for ttype, text in sql_tokens_of(value):
            kind = kinds.get(ttype)
            if kind is None:
                kind = kinds[ttype] = _sql_kind(ttype)
            if kind == _SPACE:
                continue
            if kind == _COMMENT:
                return "comments are refused (they can hide statements)"
            if ended:
                return "more than one statement"
            if kind == _PUNCTUATION and text == ";":
                ended = True
                continue
            if kind == _ERROR:
                return f"unreadable SQL near {text[:20]!r}"
            if first:
                first = False
                if not (kind == _DML and text.upper() == "SELECT") and kind != _CTE:
                    return f"only a SELECT is allowed, not {text[:20]!r}"
                continue
            if kind == _DML:
                upper = text.upper()
                if upper != "SELECT":
                    return f"{upper} is not read-only"
            elif kind == _DDL:
                return f"{text.upper()} is not allowed in a query"
            elif kind == _KEYWORD and text.upper() == "INTO":
                return "SELECT … INTO writes a table"
            elif kind == _LITERAL and text.startswith("$"):
                return "dollar-quoted strings are refused (dialects disagree on them)"
        if first:
            return "the query is empty"
        return None


# What the SQL guard makes of a token type: sqlparse's `in` on types is slow, so each type is
# sorted once, into the first of these it belongs to (plain ints: an Enum member's lookup costs
# more than the comparison).
_SPACE, _COMMENT, _PUNCTUATION, _ERROR, _DML, _CTE, _DDL, _KEYWORD, _LITERAL, _OTHER = range(10)


_SQL_KINDS: dict[Any, int] = {}


def _sql_kind(ttype: Any) -> int:
    if ttype in sql_tokens.Whitespace or ttype is sql_tokens.Newline:
        return _SPACE
    if ttype in sql_tokens.Comment:
        return _COMMENT
    if ttype is sql_tokens.Punctuation:
        return _PUNCTUATION
    if ttype in sql_tokens.Error:
        return _ERROR
    if ttype in sql_tokens.DML:
        return _DML
    if ttype in sql_tokens.CTE:
        return _CTE
    if ttype in sql_tokens.DDL:
        return _DDL
    if ttype in sql_tokens.Keyword:
        return _KEYWORD
    if ttype is sql_tokens.Literal:
        return _LITERAL
    return _OTHER


def sql_tokens_of(text: str) -> Iterator[tuple[Any, str]]:
    """sqlparse's token stream for `text`.

    sqlparse's lexer tries its rules one regex at a time at each position (about 200 µs for a
    90-character query); without ``$`` or ``/*`` (whose spans it resolves separately) the same
    rules, in the same order, as one alternation give the same tokens several times faster, and
    faster again with only the rules that can begin with the character at hand (an ASCII one;
    any other gets every rule): a rule that cannot match there cannot change which one matches
    first (tests/engine/test_sql_tokens.py holds the two to the same output).
    """
    if "$" in text or "/*" in text:
        tokens: Iterator[tuple[Any, str]] = sql_lexer.tokenize(text)  # type: ignore[no-untyped-call]
        yield from tokens
        return
    by_char, match_any, actions, keyword = _sql_rules()
    get = by_char.get
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        # sqlparse's whitespace rules, inlined: a newline, else one whitespace character
        if char == " " or char == "\t":
            yield sql_tokens.Whitespace, char
            position += 1
            continue
        found = get(char, match_any)(text, position)
        if found is None:
            yield sql_tokens.Error, char
            position += 1
            continue
        action = actions[found.lastgroup or ""]
        value = found.group()
        if action is sql_keywords.PROCESS_AS_KEYWORD:
            yield keyword(value)
        else:
            yield action, value
        # sqlparse advances at least one character even for an empty match
        position = max(found.end(), position + 1)


_Matcher = Callable[[str, int], "re.Match[str] | None"]
_ASCII = frozenset(map(chr, range(128)))


@functools.cache
def _sql_rules() -> tuple[
    dict[str, _Matcher], _Matcher, dict[str, Any], Callable[[str], tuple[Any, str]]
]:
    rules = sql_keywords.SQL_REGEX
    flags = re.IGNORECASE | re.UNICODE

    def combined(indices: tuple[int, ...]) -> _Matcher:
        if not indices:
            return _no_match
        alternatives = (f"(?P<r{index}>{rules[index][0]})" for index in indices)
        return re.compile("|".join(alternatives), flags).match

    everything = tuple(range(len(rules)))
    starts = [_ascii_starts(rx, flags) for rx, _ in rules]
    matchers: dict[tuple[int, ...], _Matcher] = {}
    by_char = {}
    for char in sorted(_ASCII):
        indices = tuple(index for index in everything if char in starts[index])
        if indices not in matchers:
            matchers[indices] = combined(indices)
        by_char[char] = matchers[indices]
    actions = {f"r{index}": action for index, (_, action) in enumerate(rules)}
    lexer = sql_lexer.Lexer.get_default_instance()  # type: ignore[no-untyped-call]
    keyword: Callable[[str], tuple[Any, str]] = functools.lru_cache(maxsize=4096)(lexer.is_keyword)
    return by_char, combined(everything), actions, keyword


def _no_match(text: str, position: int) -> None:
    return None


def _ascii_starts(pattern: str, flags: int) -> frozenset[str]:
    """The ASCII characters a match of `pattern` may begin with (more, never fewer: every
    character whenever a match may be empty or the pattern is beyond this reading)."""
    parsed = re_parser.parse(pattern, flags)
    state = parsed.state

    def one_char(node: Any) -> frozenset[str]:
        single = re_compiler.compile(re_parser.SubPattern(state, [node]), flags)
        return frozenset(char for char in _ASCII if single.fullmatch(char))

    def first(items: Any) -> tuple[frozenset[str], bool]:
        found: frozenset[str] = frozenset()
        for node in items:
            chars, nullable = first_of(node)
            found |= chars
            if not nullable:
                return found, False
        return found, True

    def first_of(node: Any) -> tuple[frozenset[str], bool]:
        op, value = node
        if op in (re_constants.LITERAL, re_constants.NOT_LITERAL, re_constants.IN):
            return one_char(node), False
        if op is re_constants.ANY:
            return _ASCII, False
        if op is re_constants.SUBPATTERN and not value[1] and not value[2]:
            return first(value[3])
        if op is re_constants.BRANCH:
            branches = [first(branch) for branch in value[1]]
            return frozenset().union(*(c for c, _ in branches)), any(n for _, n in branches)
        if op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT):
            chars, nullable = first(value[2])
            return chars, nullable or value[0] == 0
        if op in (re_constants.ASSERT, re_constants.ASSERT_NOT, re_constants.AT):
            return frozenset(), True  # zero width: what follows begins the match
        return _ASCII, True

    chars, nullable = first(parsed)
    return _ASCII if nullable else chars


@dataclass(frozen=True)
class UrlGuard:
    """URLs limited to `schemes` and, when given, `hosts` (``example.com`` or ``*.example.com``).

    Refuses credentials in the URL and backslashes or whitespace, on which URL parsers disagree
    about the host.
    """

    kind: ClassVar[str] = "url"
    checks: ClassVar[type] = str
    pointer: str = ""
    schemes: tuple[str, ...] = ("https",)
    hosts: tuple[str, ...] = ()

    def check(self, value: str) -> str | None:
        if "\\" in value or any(c.isspace() or not c.isprintable() for c in value):
            return "backslashes, whitespace and control characters are refused in URLs"
        try:
            parts = urllib.parse.urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 (raises ValueError for a bad port)
        except ValueError as exc:
            return f"not a URL ({exc})"
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            allowed = ", ".join(self.schemes)
            return f"scheme {scheme or '(none)'!r} is not allowed (allowed: {allowed})"
        if "@" in parts.netloc:
            return "credentials in the URL are refused"
        if not host:
            return "the URL has no host"
        host = host.rstrip(".")
        if self.hosts and not any(_host_matches(host, allowed) for allowed in self.hosts):
            return f"host {host!r} is not in the allow-list"
        return None


@dataclass(frozen=True)
class MaxLengthGuard:
    kind: ClassVar[str] = "max_length"
    checks: ClassVar[type] = str
    pointer: str = ""
    max: int = 0

    def check(self, value: str) -> str | None:
        if len(value) > self.max:
            return f"{len(value)} characters, more than {self.max}"
        return None


@dataclass(frozen=True)
class MaxItemsGuard:
    kind: ClassVar[str] = "max_items"
    checks: ClassVar[type] = list
    pointer: str = ""
    max: int = 0

    def check(self, value: list[Any]) -> str | None:
        if len(value) > self.max:
            return f"{len(value)} items, more than {self.max}"
        return None


@dataclass(frozen=True)
class PatternGuard:
    """RE2 patterns: a value must contain a match of `allow` and no match of `deny`.

    Anchor `allow` (``^…$``) to constrain the whole value.
    """

    kind: ClassVar[str] = "pattern"
    checks: ClassVar[type] = str
    pointer: str = ""
    allow: str | None = None
    deny: str | None = None
    _allow: Any = field(default=None, repr=False, compare=False)
    _deny: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", compile_pattern(self.allow, "allow"))
        object.__setattr__(self, "_deny", compile_pattern(self.deny, "deny"))

    def check(self, value: str) -> str | None:
        text = _encodable(value)
        if self._allow is not None and self._allow.search(text) is None:
            return f"does not match the allowed pattern {self.allow!r}"
        if self._deny is not None and self._deny.search(text) is not None:
            return f"matches the denied pattern {self.deny!r}"
        return None


GUARD_TYPES: dict[str, type[Any]] = {
    kind.kind: kind
    for kind in (
        PathGuard,
        ControlCharsGuard,
        ShellGuard,
        SqlGuard,
        UrlGuard,
        MaxLengthGuard,
        MaxItemsGuard,
        PatternGuard,
    )
}
GUARD_KINDS: tuple[str, ...] = tuple(GUARD_TYPES)


def compile_pattern(pattern: str | None, label: str = "pattern") -> Any:
    """An RE2 regexp, or GuardConfigError saying why RE2 cannot compile it."""
    if pattern is None:
        return None
    options = re2.Options()
    options.log_errors = False
    try:
        program = re2.compile(_encodable(pattern), options=options)
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise GuardConfigError(
            f"{label} pattern {pattern!r} is not a linear-time (RE2) pattern: {message}"
        ) from None
    if program.programsize > MAX_PROGRAM_SIZE:
        raise GuardConfigError(f"{label} pattern: {too_large(program.programsize)}")
    return program


# --- parsing and compiling a guard list --------------------------------------------------------


_OPTIONS: dict[str, dict[str, str]] = {
    "path": {"allow_absolute": "bool"},
    "control_chars": {"allow_whitespace": "bool"},
    "shell": {"allow": "str"},
    "sql": {},
    "url": {"schemes": "strings", "hosts": "strings"},
    "max_length": {"max": "count"},
    "max_items": {"max": "count"},
    "pattern": {"allow": "pattern", "deny": "pattern"},
}
_REQUIRED = {"max_length": ("max",), "max_items": ("max",)}
MAX_GUARDS = 100


def parse_guards(config: Any) -> tuple[Guard, ...]:
    """The guard definitions of a JSON guard list; GuardConfigError for a bad list."""
    if config is None:
        return ()
    if not isinstance(config, list):
        raise GuardConfigError("guards must be a JSON list of objects")
    if len(config) > MAX_GUARDS:
        raise GuardConfigError(f"at most {MAX_GUARDS} guards per tool")
    return tuple(_parse_one(index, entry) for index, entry in enumerate(config, start=1))


def _parse_one(index: int, entry: Any) -> Guard:
    if not isinstance(entry, dict):
        raise GuardConfigError(f"guard {index}: must be an object with a 'kind'")
    kind = entry.get("kind")
    if kind not in GUARD_TYPES:
        raise GuardConfigError(
            f"guard {index}: unknown kind {kind!r}; choose one of {', '.join(GUARD_KINDS)}"
        )
    label = f"guard {index} ({kind})"
    options = _OPTIONS[kind]
    values: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "kind":
            continue
        if key == "pointer":
            values["pointer"] = _check_pointer(label, value)
            continue
        expected = options.get(key)
        if expected is None:
            known = ", ".join(["pointer", *options]) or "pointer"
            raise GuardConfigError(f"{label}: unknown option {key!r} (options: {known})")
        values[key] = _check_option(label, key, expected, value)
    for key in _REQUIRED.get(kind, ()):
        if key not in values:
            raise GuardConfigError(f"{label}: {key!r} is required")
    if kind == "pattern" and "allow" not in values and "deny" not in values:
        raise GuardConfigError(f"{label}: give an 'allow' or a 'deny' pattern")
    if kind == "url":
        values["schemes"] = tuple(s.lower() for s in values.get("schemes", ("https",)))
        values["hosts"] = tuple(h.lower().rstrip(".") for h in values.get("hosts", ()))
        if not values["schemes"]:
            raise GuardConfigError(f"{label}: 'schemes' must name at least one scheme")
    try:
        guard: Guard = GUARD_TYPES[kind](**values)
    except GuardConfigError as exc:
        raise GuardConfigError(f"{label}: {exc}") from None
    return guard


def _check_pointer(label: str, value: Any) -> str:
    if not isinstance(value, str) or (value and not value.startswith("/")):
        raise GuardConfigError(
            f"{label}: 'pointer' must be a JSON pointer such as '/path' or '/files/*' "
            "(or '' for every value)"
        )
    for segment in value.split("/")[1:]:
        if "~" in segment.replace("~0", "").replace("~1", ""):
            raise GuardConfigError(f"{label}: bad '~' escape in pointer {value!r}")
    return value


def _check_option(label: str, key: str, expected: str, value: Any) -> Any:
    if expected == "bool" and not isinstance(value, bool):
        raise GuardConfigError(f"{label}: {key!r} must be true or false")
    if expected in ("str", "pattern") and not isinstance(value, str):
        raise GuardConfigError(f"{label}: {key!r} must be a string")
    if expected == "count" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise GuardConfigError(f"{label}: {key!r} must be a whole number of at least 0")
    if expected == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise GuardConfigError(f"{label}: {key!r} must be a list of non-empty strings")
        return tuple(value)
    return value


@dataclass(frozen=True)
class _Compiled:
    guard: Guard
    segments: tuple[str, ...]
    wildcard: bool


class GuardSet:
    """A tool's guards, compiled once; `check` gives the first violation or None."""

    __slots__ = ("_compiled", "guards")

    def __init__(self, guards: tuple[Guard, ...]) -> None:
        self.guards = guards
        self._compiled = tuple(
            _Compiled(guard, segments, "*" in segments)
            for guard in guards
            for segments in [_segments(guard.pointer)]
        )

    @classmethod
    def from_config(cls, config: Any) -> GuardSet | None:
        """None for an empty list; GuardConfigError for a bad one."""
        guards = parse_guards(config)
        return cls(guards) if guards else None

    def __len__(self) -> int:
        return len(self.guards)

    def check(self, arguments: Any) -> Violation | None:
        for compiled in self._compiled:
            guard = compiled.guard
            for path, selected in _select(arguments, compiled.segments, compiled.wildcard):
                for where, value in _values_under(selected, path, guard.checks):
                    reason = guard.check(value)
                    if reason is not None:
                        return Violation(guard.kind, _pointer(where), reason, guard.pointer)
        return None


# --- selecting values --------------------------------------------------------------------------


def _segments(pointer: str) -> tuple[str, ...]:
    if not pointer:
        return ()
    return tuple(s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:])


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _select(
    value: Any, segments: tuple[str, ...], wildcard: bool
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not wildcard:
        path: list[str | int] = []
        for segment in segments:
            if isinstance(value, dict):
                if segment not in value:
                    return
                value = value[segment]
                path.append(segment)
            elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
                value = value[int(segment)]
                path.append(int(segment))
            else:
                return
        yield tuple(path), value
        return
    frontier: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    for segment in segments:
        following: list[tuple[tuple[str | int, ...], Any]] = []
        for where, current in frontier:
            if isinstance(current, dict):
                if segment == "*":
                    following.extend(((*where, k), v) for k, v in current.items())
                elif segment in current:
                    following.append(((*where, segment), current[segment]))
            elif isinstance(current, list):
                if segment == "*":
                    following.extend(((*where, i), v) for i, v in enumerate(current))
                elif segment.isdigit() and int(segment) < len(current):
                    following.append(((*where, int(segment)), current[int(segment)]))
        frontier = following
    yield from frontier


def _values_under(
    value: Any, path: tuple[str | int, ...], checks: type
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value of type `checks` at or under `value`, in document order (iteratively: nesting
    may be deep)."""
    if isinstance(value, checks):
        yield path, value
    if not isinstance(value, (dict, list)):
        return
    stack: list[tuple[tuple[str | int, ...], Iterator[tuple[Any, Any]]]] = [(path, _items(value))]
    while stack:
        where, members = stack[-1]
        for key, child in members:
            if isinstance(child, checks):
                yield (*where, key), child
            if isinstance(child, (dict, list)):
                stack.append(((*where, key), _items(child)))
                break
        else:
            stack.pop()


def _items(container: dict[str, Any] | list[Any]) -> Iterator[tuple[Any, Any]]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


# --- helpers -----------------------------------------------------------------------------------


def _encodable(text: str) -> str:
    """`text` with lone surrogates replaced, since RE2 works on UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _path_forms(value: str) -> Iterator[str]:
    """The value, then its percent-decodings (up to three layers), then its NFKC form."""
    yield value
    current = value
    for _ in range(3):
        if "%" not in current:
            break
        decoded = urllib.parse.unquote(current, errors="replace")
        if decoded == current:
            break
        current = decoded
        yield current
    if not current.isascii():
        normalised = unicodedata.normalize("NFKC", _encodable(current))
        if normalised != current:
            yield normalised


def _is_dot_dot(segment: str) -> bool:
    # Windows drops trailing dots and spaces from a name, so ".. " and "..." act as "..".
    return segment.startswith("..") and not segment.strip(". ")


def _is_absolute(path: str) -> bool:
    if path.startswith(("/", "\\", "~")):
        return True
    return len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha()


def _host_matches(host: str, allowed: str) -> bool:
    if allowed.startswith("*."):
        return host.endswith(allowed[1:]) and len(host) > len(allowed) - 1
    return host == allowed
