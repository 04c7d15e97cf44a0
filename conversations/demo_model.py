"""The built-in demo model: a deterministic stand-in for an LLM behind an OpenAI-compatible Chat
Completions endpoint, so that a fresh studio runs a tool-calling conversation with no API key.

It owns reading a request body (OpenAI-style errors for what is invalid), deciding the answer and
shaping it as a `chat.completion` or as the `chat.completion.chunk` events OpenAI streams. The
answer: after a user message, parallel calls to the offered tools whose name, description and
parameter names share words with the prompt, one call per city (or other item) the prompt names,
arguments from the prompt and the schema; after tool results, a text answer summarising them.
It must not import Django, touch data or call anything: the same request gets the same answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from .example_arguments import example_arguments

MODEL_ID = "fcstudio-demo-deterministic"
PROVIDER_NAME = "Demo model (built in, deterministic)"
LABEL = "[Demo model: deterministic, no LLM]"
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MAX_CALLS = 8  # per turn, however many items a prompt names
MAX_PROMPT_CHARS = 4_000  # only the start of a long prompt is read
MAX_RESULT_CHARS = 160
MAX_ENUM_VALUES = 200
MAX_TOOLS = 128  # OpenAI's limit
MAX_PROPERTIES = 100  # read from the prompt; the rest take schema values
# Candidates kept per free string property: a property takes its first one that no other of its
# tool's (at most MAX_PROPERTIES) properties took, so it is always among these.
MAX_CANDIDATES = MAX_PROPERTIES
# Enum and example values looked for in the prompt per request, over all tools and properties;
# the rest are taken as not named. A real catalog's values fit many times over.
MAX_VALUES_LOOKED_UP = 2_000

# Words that say nothing about which tool fits, nor name a city or an item.
_STOP_WORDS = """
a about all also an and any are as at be book but by can check compare could current currently
day do does e eg for from g get give hello hey hi how i if in is it its just let like list
look me my now of on or please right s show so some tell than that the then there these this
to today tomorrow what whats when where which who why will with would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# Lowercase words that may sit inside a place name: "Rio de Janeiro", "Isle of Man".
CONNECTORS = frozenset({"de", "da", "del", "do", "dos", "la", "le", "van", "von", "of"})
TEXT_PROPERTIES = frozenset({"body", "content", "message", "prompt", "query", "question", "text"})
EXPRESSION_WORDS = frozenset({"arithmetic", "expression", "formula", "math"})

TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*|\S")
WORD = re.compile(r"[^\W_]+")
CAMEL = re.compile(r"([a-z0-9])([A-Z])")
QUOTED = re.compile(r"[\"“`]([^\"”`\n]{1,200})[\"”`]")
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
URI = re.compile(r"https?://[^\s\"'<>]{1,500}")
ARITHMETIC = re.compile(r"[\d(][\d\s.()+\-*/%^]{0,200}[\d)]")
OPERATOR = re.compile(r"\d\s*(?:\*\*|//|[+\-*/%^])\s*[\d(]")
NUMBER = re.compile(r"(?<![\w.])-?\d{1,15}(?:\.\d{1,15})?(?![\w.])")


class DemoRequestError(Exception):
    """A request OpenAI would refuse; `body()` is the error object it would send."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status

    def body(self) -> dict[str, Any]:
        return error_body(self.message, param=self.param, code=self.code)


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


@dataclass(frozen=True)
class OfferedTool:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class DemoRequest:
    messages: list[dict[str, Any]]
    tools: list[OfferedTool]
    tool_choice: str  # auto, none, required, or "function" with `forced_name`
    forced_name: str = ""
    parallel_tool_calls: bool = True
    stream: bool = False
    include_usage: bool = False


@dataclass(frozen=True)
class DemoToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


@dataclass
class DemoAnswer:
    content: str | None
    tool_calls: list[DemoToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


# -- reading a request ---------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise DemoRequestError(f"The JSON body holds {name}, which is not JSON.")


def parse_request(raw: bytes | str) -> DemoRequest:
    """A Chat Completions body, checked as OpenAI checks it; DemoRequestError when it is not one."""
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise DemoRequestError(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)"
        ) from None
    if not isinstance(body, dict):
        raise DemoRequestError("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DemoRequestError(
            "Missing required parameter: 'messages'."
            if messages is None
            else "Invalid 'messages': expected a non-empty array.",
            param="messages",
            code="missing_required_parameter" if messages is None else "invalid_value",
        )
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise DemoRequestError(
                f"Invalid type for 'messages[{position}]': expected an object.",
                param=f"messages[{position}]",
                code="invalid_type",
            )
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise DemoRequestError(
                f"Invalid value for 'messages[{position}].role': supported values are "
                + ", ".join(f"'{r}'" for r in sorted(ROLES))
                + ".",
                param=f"messages[{position}].role",
                code="invalid_value",
            )
    tools = _read_tools(body.get("tools"))
    choice, forced = _read_tool_choice(body.get("tool_choice"), tools)
    parallel = _read_bool(body, "parallel_tool_calls", True)
    stream = _read_bool(body, "stream", False)
    options = body.get("stream_options")
    if options is not None and not stream:
        raise DemoRequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    if options is not None and not isinstance(options, dict):
        raise DemoRequestError(
            "Invalid type for 'stream_options': expected an object.",
            param="stream_options",
            code="invalid_type",
        )
    return DemoRequest(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        forced_name=forced,
        parallel_tool_calls=parallel,
        stream=stream,
        include_usage=bool(options and options.get("include_usage") is True),
    )


def _read_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise DemoRequestError(
            f"Invalid type for '{name}': expected a boolean.", param=name, code="invalid_type"
        )
    return value


def _read_tools(tools: Any) -> list[OfferedTool]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise DemoRequestError(
            "Invalid type for 'tools': expected an array.", param="tools", code="invalid_type"
        )
    if len(tools) > MAX_TOOLS:
        raise DemoRequestError(
            f"Invalid 'tools': array too long. Expected an array with maximum length "
            f"{MAX_TOOLS}, but got an array with length {len(tools)} instead.",
            param="tools",
            code="array_above_max_length",
        )
    offered = []
    for position, entry in enumerate(tools):
        function = entry.get("function") if isinstance(entry, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(entry, dict) or entry.get("type") != "function" or not name:
            raise DemoRequestError(
                f"Invalid value for 'tools[{position}]': expected "
                '{"type": "function", "function": {"name": ...}}.',
                param=f"tools[{position}]",
                code="invalid_value",
            )
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise DemoRequestError(
                f"Invalid 'tools[{position}].function.name': a string of letters, digits, "
                "underscores and dashes, at most 64 long.",
                param=f"tools[{position}].function.name",
                code="invalid_value",
            )
        description = function.get("description") if isinstance(function, dict) else None
        parameters = function.get("parameters") if isinstance(function, dict) else None
        offered.append(
            OfferedTool(
                name=name,
                description=description if isinstance(description, str) else "",
                parameters=parameters if isinstance(parameters, dict) else {},
            )
        )
    return offered


def _read_tool_choice(choice: Any, tools: list[OfferedTool]) -> tuple[str, str]:
    if choice is None:
        return ("auto" if tools else "none"), ""
    if choice in ("auto", "none", "required"):
        if choice == "required" and not tools:
            raise DemoRequestError(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
                code="invalid_value",
            )
        return str(choice), ""
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if (
        not isinstance(choice, dict)
        or choice.get("type") != "function"
        or not isinstance(name, str)
    ):
        raise DemoRequestError(
            "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}.',
            param="tool_choice",
            code="invalid_value",
        )
    if name not in {tool.name for tool in tools}:
        raise DemoRequestError(
            f"Invalid value for 'tool_choice': no function named {name[:64]!r} was specified "
            "in the 'tools' parameter.",
            param="tool_choice",
            code="invalid_value",
        )
    return "function", name


# -- deciding the answer -------------------------------------------------------------------------


def answer(request: DemoRequest) -> DemoAnswer:
    """The turn the demo model takes after `request.messages`."""
    messages = request.messages
    last_user = _last_index(messages, "user")
    prompt = _text(messages[last_user].get("content"))[:MAX_PROMPT_CHARS] if last_user >= 0 else ""
    since_user = messages[last_user + 1 :]
    results = [m for m in since_user if m.get("role") == "tool"]
    last_role = messages[-1].get("role")

    calls: list[tuple[str, dict[str, Any]]] = []
    if request.tool_choice != "none" and request.tools and last_role in ("user", "tool"):
        planned = plan_calls(request, prompt)
        done = _calls_made(since_user)
        remaining = [call for call in planned if _call_key(*call) not in done]
        forced = request.tool_choice in ("required", "function")
        calls = remaining or (planned[:1] if forced else [])
        if not request.parallel_tool_calls:
            calls = calls[:1]
    round_number = sum(1 for m in messages if m.get("role") == "assistant")
    if calls:
        drafted = [
            DemoToolCall(
                id=f"call_demo_{round_number}_{position}",
                name=name,
                arguments=json.dumps(arguments, ensure_ascii=False),
            )
            for position, (name, arguments) in enumerate(calls)
        ]
        result = DemoAnswer(content=None, tool_calls=drafted, finish_reason="tool_calls")
    else:
        result = DemoAnswer(content=_text_answer(request, prompt, since_user, results, last_role))
    result.usage = _usage(request, result)
    return result


def plan_calls(request: DemoRequest, prompt: str) -> list[tuple[str, dict[str, Any]]]:
    """Every call the prompt asks for, in the order the tools were offered (at most MAX_CALLS)."""
    if request.tool_choice == "function":
        chosen = [tool for tool in request.tools if tool.name == request.forced_name][:1]
    else:
        scores = [(score_tool(tool, prompt), tool) for tool in request.tools]
        best = max(score for score, _ in scores)
        chosen = [tool for score, tool in scores if score > 0 and score * 2 >= best]
        if not chosen and request.tool_choice == "required":
            chosen = [next(tool for score, tool in scores if score == best)]
    # A capitalised word naming another offered tool ("Flights from Oslo…") is not an item.
    named = {tool.name: _words(tool.name) for tool in request.tools[:MAX_TOOLS]}
    planned: list[tuple[str, dict[str, Any]]] = []
    values = PromptValues(prompt)
    for tool in chosen:
        if len(planned) >= MAX_CALLS:  # every tool adds at least one call
            break
        others = set().union(*(words for name, words in named.items() if name != tool.name))
        planned.extend(
            (tool.name, arguments) for arguments in arguments_for(tool, prompt, others, values)
        )
    return planned[:MAX_CALLS]


def score_tool(tool: OfferedTool, prompt: str) -> int:
    """Words the prompt shares with the tool: twice for its name, once for its description and
    parameter names; an arithmetic expression fits a tool that takes one."""
    words = _words(prompt)
    score = 2 * len(words & _words(tool.name)) + len(words & _words(tool.description))
    score += len(words & _words(" ".join(_properties(tool.parameters))))
    if any(_wants_expression(name, prop) for name, prop in _properties(tool.parameters).items()):
        score += 2 * bool(_expressions(prompt))
    return score


def arguments_for(
    tool: OfferedTool,
    prompt: str,
    tool_words: set[str] | None = None,
    values: PromptValues | None = None,
) -> list[dict[str, Any]]:
    """One set of arguments per item the prompt names (one set when it names none); words of
    `tool_words` (the other offered tools' names) are never taken for an item. `values` looks
    schema values up in the prompt, within the request's budget (shared by its tools).

    Required properties (and those with a default) are always filled: from the prompt when it
    holds a fitting value, else from the schema's examples, default, enum or type. An optional
    enum is set when the prompt names one of its values.
    """
    values = values if values is not None else PromptValues(prompt)
    properties = _properties(tool.parameters)
    base = example_arguments(tool.parameters)
    vocabulary = _words(tool.name) | _words(tool.description) | _words(" ".join(properties))
    vocabulary |= tool_words or set()
    phrases = _phrases(prompt, vocabulary)
    numbers = _numbers(prompt)
    free: list[str] = []
    for name, prop in properties.items():
        value = _from_prompt(name, prop, prompt, numbers, values)
        if value is not None:
            base[name] = value
        elif name in base and _is_free_string(name, prop):
            free.append(name)
        elif _is_free_string(name, prop):  # optional: set only when the prompt names an example
            named = _mentioned_examples(prop, values)
            if named:
                base[name] = named[0]
    if not free:
        return [base]
    candidates = {
        name: _candidates(name, properties[name], prompt, phrases, values) for name in free
    }
    if len(free) == 1:
        [name] = free
        return [{**base, name: value} for value in candidates[name][:MAX_CALLS]] or [base]
    used: set[str] = set()
    for name in free:
        value = next((v for v in candidates[name] if v not in used), None)
        if value is not None:
            base[name] = value
            used.add(value)
    return [base]


def _from_prompt(
    name: str, prop: dict[str, Any], prompt: str, numbers: list[float], values: PromptValues
) -> Any:
    """A value the prompt states for a property that is not free text, or None."""
    enum = prop.get("enum")
    if isinstance(enum, list):
        strings = (value for value in enum[:MAX_ENUM_VALUES] if isinstance(value, str) and value)
        return next(values.named(strings), None)
    kind = prop.get("type")
    fmt = prop.get("format")
    if kind == "string" and fmt in ("date", "date-time", "email", "uri"):
        pattern = {"date": DATE, "date-time": DATE_TIME, "email": EMAIL, "uri": URI}[fmt]
        found = pattern.search(prompt)
        return found.group(0) if found else None
    if kind in ("integer", "number") and numbers:
        number = numbers.pop(0)
        low, high = prop.get("minimum"), prop.get("maximum")
        if _is_number(low):
            number = max(number, low)
        if _is_number(high):
            number = min(number, high)
        return int(number) if kind == "integer" else number
    return None


def _candidates(
    name: str, prop: dict[str, Any], prompt: str, phrases: list[str], values: PromptValues
) -> list[str]:
    """Values the prompt offers a free string property, best first, without repeats (a value
    contained, ignoring case, in one kept before it), the first MAX_CANDIDATES of them.

    They are the examples the prompt names, then the values read from the prompt that no kept
    example contains. Those are the same for every property (of every tool with the same
    phrases), so they are de-duplicated once per request, not once per property: a value
    contained in a value before it in either list is contained in a kept one, so the answer is
    the one a single pass over both lists gives."""
    examples = _Distinct(_mentioned_examples(prop, values))
    kept = list(itertools.islice(examples, MAX_CANDIDATES))
    if _wants_expression(name, prop):
        shared = values.distinct(("expressions", prompt), lambda: _expressions(prompt))
    elif name.lower() in TEXT_PROPERTIES:
        shared = values.distinct(("text", prompt), lambda: [prompt.strip()[:500]])
    else:
        shared = values.distinct(
            ("names", prompt, *phrases),
            lambda: [m.group(1).strip() for m in QUOTED.finditer(prompt)] + phrases,
        )
    named = [lowered for _, lowered in kept]
    for entry in shared:
        if len(kept) >= MAX_CANDIDATES:
            break
        if not any(_contains(example, entry[1]) for example in named):
            kept.append(entry)
    return [value for value, _ in kept]


class _Distinct:
    """Values in order without repeats: a value contained, ignoring case, in one kept before it
    (or empty) is dropped. The source is read only as far as the kept values are asked for, and
    each value is compared with the kept ones only, an exact repeat not at all."""

    def __init__(self, source: Iterable[str]) -> None:
        self._source = iter(source)
        self._seen: set[str] = set()
        self.kept: list[tuple[str, str]] = []  # (value, lower-cased)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        position = 0
        while position < len(self.kept) or self._keep_one_more():
            yield self.kept[position]
            position += 1

    def _keep_one_more(self) -> bool:
        for value in self._source:
            lowered = value.lower()
            if not value or lowered in self._seen:
                continue
            self._seen.add(lowered)
            if not any(_contains(kept, lowered) for _, kept in self.kept):
                self.kept.append((value, lowered))
                return True
        return False


def _contains(kept: str, value: str) -> bool:
    """The step of de-duplication whose count bounds a request's work (both lower-cased)."""
    return value in kept


# -- reading prompts and schemas -----------------------------------------------------------------


def _properties(parameters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return {}
    found = ((name, prop) for name, prop in properties.items() if isinstance(prop, dict))
    return dict(itertools.islice(found, MAX_PROPERTIES))


def _mentioned_examples(prop: dict[str, Any], values: PromptValues) -> list[str]:
    examples = prop.get("examples")
    if not isinstance(examples, list):
        return []
    return list(values.named(e for e in examples[:MAX_ENUM_VALUES] if isinstance(e, str)))


def _is_free_string(name: str, prop: dict[str, Any]) -> bool:
    return prop.get("type", "string") == "string" and "enum" not in prop and "format" not in prop


def _wants_expression(name: str, prop: dict[str, Any]) -> bool:
    description = prop.get("description")
    words = _words(name) | _words(description if isinstance(description, str) else "")
    return bool(words & EXPRESSION_WORDS)


def _expressions(prompt: str) -> list[str]:
    return [
        match.group(0).strip()
        for match in ARITHMETIC.finditer(prompt)
        if OPERATOR.search(match.group(0)) and not DATE.fullmatch(match.group(0).strip())
    ]


def _words(text: str) -> set[str]:
    """Lowercase words without stop words, plurals folded ("flights" meets "flight")."""
    text = CAMEL.sub(r"\1 \2", text[:MAX_PROMPT_CHARS])
    words = set()
    for word in WORD.findall(text.lower()):
        if word in STOP_WORDS or word.isdigit():
            continue
        words.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return words


def _phrases(prompt: str, vocabulary: set[str]) -> list[str]:
    """Names in the prompt: runs of capitalised words ("Oslo", "New York", "Rio de Janeiro",
    "OSL") that are neither stop words nor words of the tool itself."""
    phrases: list[str] = []
    run: list[str] = []
    pending: list[str] = []  # connectors seen after a capitalised word

    def close() -> None:
        if run:
            phrases.append(" ".join(run))
        run.clear()
        pending.clear()

    for token in TOKEN.findall(prompt):
        folded = token.lower().replace("'", "").replace("\u2019", "")
        stem = folded[:-1] if len(folded) > 3 and folded.endswith("s") else folded
        capitalised = token[:1].isupper() and folded not in STOP_WORDS and stem not in vocabulary
        if capitalised:
            run.extend(pending)
            pending.clear()
            run.append(token)
        elif run and folded in CONNECTORS:
            pending.append(token)
        else:
            close()
    close()
    return phrases


def _numbers(prompt: str) -> list[float]:
    """Numbers the prompt states, left to right; those inside dates and expressions are not
    counts."""
    text = DATE_TIME.sub(" ", prompt)
    text = DATE.sub(" ", text)
    for expression in _expressions(text):
        text = text.replace(expression, " ")
    numbers = []
    for match in NUMBER.finditer(text):
        value = float(match.group(0))
        numbers.append(int(value) if value.is_integer() else value)
    return numbers


class PromptValues:
    """The prompt read once for the schema values a request may name (enums, examples): lower-
    cased, with the set of its words, and a budget of values looked up, so that a request
    offering thousands of values costs no more than one offering a few."""

    def __init__(self, prompt: str, budget: int = MAX_VALUES_LOOKED_UP) -> None:
        self.text = prompt.lower()
        self.words = frozenset(WORD.findall(self.text))
        self.budget = budget
        self._distinct: dict[tuple[str, ...], _Distinct] = {}

    def distinct(self, key: tuple[str, ...], source: Callable[[], Iterable[str]]) -> _Distinct:
        """The values `source` gives, without repeats, read once per request for `key`."""
        if key not in self._distinct:
            self._distinct[key] = _Distinct(source())
        return self._distinct[key]

    def named(self, candidates: Iterable[str]) -> Iterator[str]:
        """The candidates the prompt names, in order, while the budget lasts."""
        for value in candidates:
            if self.budget <= 0:
                return
            self.budget -= 1
            if _mentions(self, value):
                yield value


def _mentions(values: PromptValues, value: str) -> bool:
    r"""Whether the prompt names `value`, ignoring case, not inside a longer word: as
    `(?<!\w)value(?!\w)` would say, without compiling a pattern per value."""
    if len(value) > 200:
        return False
    value = value.lower()
    if not values.words.issuperset(WORD.findall(value)):
        return False
    text = values.text
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        if not _is_word_char(text, start - 1) and not _is_word_char(text, end):
            return True
        start = text.find(value, start + 1)
    return False


def _is_word_char(text: str, position: int) -> bool:
    if position < 0 or position >= len(text):
        return False
    char = text[position]
    return char.isalnum() or char == "_"


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _last_index(messages: list[dict[str, Any]], role: str) -> int:
    for position in range(len(messages) - 1, -1, -1):
        if messages[position].get("role") == role:
            return position
    return -1


def _call_key(name: str, arguments: Any) -> str:
    return name + "\x00" + json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def _calls_made(messages: list[dict[str, Any]]) -> set[str]:
    """The calls assistant turns already made (name and arguments), so none is made twice."""
    made = set()
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                with contextlib.suppress(ValueError, RecursionError):
                    arguments = json.loads(arguments)
            made.add(_call_key(str(function.get("name")), arguments))
    return made


def _text_answer(
    request: DemoRequest,
    prompt: str,
    since_user: list[dict[str, Any]],
    results: list[dict[str, Any]],
    last_role: Any,
) -> str:
    if results:
        names = {}
        for message in since_user:
            calls = message.get("tool_calls") if message.get("role") == "assistant" else None
            for call in calls if isinstance(calls, list) else []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(call, dict) and isinstance(function, dict):
                    names[call.get("id")] = (function.get("name"), function.get("arguments"))
        lines = [f"{LABEL} Here is what the tools returned:"]
        for message in results:
            name, arguments = names.get(message.get("tool_call_id"), ("a tool", ""))
            shown = _shorten(arguments if isinstance(arguments, str) else "", 80)
            lines.append(
                f"- {_shorten(str(name), 64)}({shown}) returned "
                f"{_shorten(_text(message.get('content')), MAX_RESULT_CHARS)}."
            )
        return "\n".join(lines)
    if last_role not in ("user", "tool"):
        return f"{LABEL} Nothing to answer: the last message is not from the user."
    if not prompt.strip():
        return f"{LABEL} The user message is empty; ask about the weather in a city or two."
    if request.tools and request.tool_choice != "none":
        offered = ", ".join(tool.name for tool in request.tools[:10])
        return (
            f"{LABEL} None of the offered tools ({_shorten(offered, 200)}) fits "
            f"“{_shorten(prompt, 80)}”. Name a tool's subject in the prompt, e.g. the weather."
        )
    return f"{LABEL} You said: “{_shorten(prompt, 200)}”. With tools offered I would call them."


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _usage(request: DemoRequest, result: DemoAnswer) -> dict[str, int]:
    """Token counts estimated as one per four characters: deterministic, never 0."""
    sent = json.dumps(request.messages) + json.dumps([t.parameters for t in request.tools])
    produced = (result.content or "") + "".join(c.name + c.arguments for c in result.tool_calls)
    prompt_tokens = len(sent) // 4 + 1
    completion_tokens = len(produced) // 4 + 1
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


# -- shaping the response ------------------------------------------------------------------------


def completion_id(request: DemoRequest) -> str:
    digest = hashlib.sha256(json.dumps(request.messages, sort_keys=True).encode()).hexdigest()
    return f"chatcmpl-demo-{digest[:24]}"


def completion(request: DemoRequest, result: DemoAnswer, *, created: int = 0) -> dict[str, Any]:
    """The plain `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": result.content, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls
        ]
    return {
        "id": completion_id(request),
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": result.finish_reason,
            }
        ],
        "usage": result.usage,
    }


def chunks(
    request: DemoRequest, result: DemoAnswer, *, created: int = 0
) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk` objects OpenAI would stream for this answer: the role, text in
    pieces or each tool call (id and name first, arguments in fragments, by `index`), the
    finish_reason, then the usage chunk when `stream_options.include_usage` asked for it."""
    head = {
        "id": completion_id(request),
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "system_fingerprint": None,
    }
    usage = {"usage": None} if request.include_usage else {}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**head, "choices": [choice], **usage}

    yield chunk(
        {"role": "assistant", "content": None if result.tool_calls else "", "refusal": None}
    )
    for piece in re.findall(r"\S+\s*|\s+", result.content or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(result.tool_calls):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
        )
        for fragment in _fragments(call.arguments, 3):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield chunk({}, result.finish_reason)
    if request.include_usage:
        yield {**head, "choices": [], "usage": result.usage}


def sse_events(request: DemoRequest, result: DemoAnswer, *, created: int = 0) -> Iterator[bytes]:
    """The stream's bytes: one `data:` event per chunk, then `data: [DONE]`."""
    for item in chunks(request, result, created=created):
        yield b"data: " + json.dumps(item).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _fragments(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[start : start + size] for start in range(0, len(text), size)]


def models_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "id": MODEL_ID,
                "object": "model",
                "created": 0,
                "owned_by": "fcstudio (built-in deterministic demo, no LLM)",
            }
        ],
    }
