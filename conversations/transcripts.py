"""Reading transcripts other apps kept: OpenAI `messages`, request bodies, request/response logs.

Owns the formats an import accepts, how exchanges group into conversations, what is wrong in a
transcript (a call without a result, a result for no call, arguments the tool's schema refuses,
a tool not offered) and the schemas inferred for tools a transcript calls but never describes.
Everything here is untrusted input: it is parsed strictly (`untrusted.loads`) and cleaned once
(`untrusted.clean_json`) before anything else reads it.

This module must not import Django: the import view, the management command and the
conversation page's problems panel all call it, and it is tested alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tools_app.engine import untrusted
from tools_app.engine.arguments import parse_arguments
from tools_app.engine.calls import ToolSpec
from tools_app.engine.implementations.mock import MockImplementation
from tools_app.engine.validation import ValidatorCache, validate_arguments

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# Keys of a Chat Completions response; a body holding `choices` is a request plus its answer.
RESPONSE_KEYS = (
    "id",
    "object",
    "created",
    "choices",
    "usage",
    "system_fingerprint",
    "service_tier",
)
MAX_PROBLEMS = 200

_validators = ValidatorCache(maxsize=256)


class TranscriptError(ValueError):
    """The input as a whole cannot be imported; the message says why, for a person."""


@dataclass
class Exchange:
    """One request and its answer. `position` is the answer's index in the conversation's
    messages. `inferred` when the transcript held only the messages: the request is what the
    assistant must have been sent (the messages before it and the tools)."""

    request: dict[str, Any]
    answer: dict[str, Any] | None
    position: int
    usage: dict[str, Any] = field(default_factory=dict)
    finish_reason: str = ""
    inferred: bool = False
    timing: Timing | None = None


@dataclass(frozen=True)
class Timing:
    """What a log record says of when an exchange ran (`timing_of`). `duration_ms` None: when
    it started is known (a response's `created`), how long it took is not."""

    started_at: datetime | None
    duration_ms: float | None
    first_token_ms: float | None = None


@dataclass(frozen=True)
class Problem:
    kind: str  # "no_result", "unmatched_result", "invalid_arguments", "not_offered"
    message: str
    position: int | None = None  # the message it is about


@dataclass(frozen=True)
class ToolCandidate:
    """A tool a transcript uses: its schema as offered, or inferred from the calls seen."""

    name: str
    description: str
    parameters: dict[str, Any]
    inferred: bool
    calls: int


@dataclass
class ParsedConversation:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    exchanges: list[Exchange]

    @property
    def title(self) -> str:
        first = next((m.get("content") for m in self.messages if m.get("role") == "user"), None)
        text = " ".join(first.split())[:80] if isinstance(first, str) else ""
        return text or "Imported conversation"


@dataclass
class Transcript:
    format: str  # "messages", "body", "jsonl"
    conversations: list[ParsedConversation]


# -- parsing ------------------------------------------------------------------------------------


def parse_transcript(text: str, *, max_bytes: int) -> Transcript:
    """Every conversation in `text`; raises TranscriptError when the input is unusable."""
    if not isinstance(text, str):
        raise TranscriptError("Nothing to import: expected text.")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TranscriptError(f"The transcript is {size:,} bytes; the limit is {max_bytes:,}.")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise TranscriptError("Nothing to import: the text is empty.")
    try:
        value = _loads(text)
    except TranscriptError as whole:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise whole from None
        return Transcript(
            "jsonl", _grouped([_line_exchange(line, n) for n, line in lines_of(text)])
        )
    if isinstance(value, list):
        messages = _messages(value, "The array")
        return Transcript("messages", [_completed("", messages, [], [])])
    if not isinstance(value, dict):
        raise TranscriptError(
            f"A transcript is a messages array or a JSON object; this is {_kind(value)}."
        )
    request, response = _split(value, "The object")
    if response is None:
        messages = _messages(request.get("messages"), "“messages”")
        tools = _tools(request.get("tools"))
        return Transcript("body", [_completed(_model(request), messages, tools, [])])
    exchange = _exchange(request, response, "The object")
    exchange.timing = timing_of(value, response)
    return Transcript("body", _grouped([exchange]))


def lines_of(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _loads(text: str) -> Any:
    try:
        return untrusted.clean_json(untrusted.loads(text))
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"This is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    except untrusted.NotRepresentable as exc:
        raise TranscriptError(f"This JSON holds what JSON cannot carry: {exc}.") from exc
    except ValueError as exc:
        raise TranscriptError(f"This is not JSON: {exc}.") from exc
    except RecursionError as exc:
        raise TranscriptError("This JSON is nested too deeply.") from exc


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _split(value: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(request, response) of a logged exchange or of a body that carries its answer."""
    if "request" in value:
        request = value["request"]
        if not isinstance(request, dict):
            raise TranscriptError(f"{where}: “request” is {_kind(request)}, not an object.")
        response = value.get("response")
        if response is not None and not isinstance(response, dict):
            raise TranscriptError(f"{where}: “response” is {_kind(response)}, not an object.")
        return request, response
    if "messages" not in value:
        raise TranscriptError(
            f"{where} has neither “messages” nor “request”: not a Chat Completions transcript."
        )
    if "choices" in value:
        request = {k: v for k, v in value.items() if k not in RESPONSE_KEYS}
        return request, {k: v for k, v in value.items() if k in RESPONSE_KEYS}
    return value, None


# Where log formats keep an exchange's timing (LiteLLM, Langfuse, OpenTelemetry-ish exports and
# this studio's own export), on the record or its response. Durations in milliseconds or in
# seconds; moments as ISO 8601 text or epoch seconds (or milliseconds, when that large).
DURATION_MS_KEYS = ("duration_ms", "latency_ms", "response_ms", "elapsed_ms")
DURATION_S_KEYS = ("duration_s", "latency", "response_time")
START_KEYS = ("started_at", "start_time", "startTime", "request_time")
END_KEYS = ("ended_at", "end_time", "endTime", "finished_at")
FIRST_TOKEN_KEYS = ("completion_start_time", "completionStartTime")
# Beyond this, a number is not a plausible duration in milliseconds (a day).
MAX_DURATION_MS = 24 * 3600 * 1000.0


def timing_of(record: dict[str, Any], response: dict[str, Any] | None) -> Timing | None:
    """The timing a log record carries, or None when it carries none. Values that make no
    sense (negative, not numbers, an end before the start) count as absent, never as errors:
    an import is not refused for its timestamps."""
    places = [record, *([response] if response is not None else [])]
    start = _first(places, START_KEYS, _moment)
    end = _first(places, END_KEYS, _moment)
    duration = _first(places, DURATION_MS_KEYS, lambda v: _number(v, 1.0))
    if duration is None:
        duration = _first(places, DURATION_S_KEYS, lambda v: _number(v, 1000.0))
    if duration is None and start is not None and end is not None and end >= start:
        duration = (end - start).total_seconds() * 1000
    if duration is not None and not 0 <= duration <= MAX_DURATION_MS:
        duration = None
    if start is None and end is not None and duration is not None:
        try:
            start = end - timedelta(milliseconds=duration)
        except OverflowError:  # an end in year 1: the start stays unknown
            start = None
    if start is None and response is not None:
        start = _moment(response.get("created"))
    if start is None and duration is None:
        return None
    first = _first(places, FIRST_TOKEN_KEYS, _moment)
    first_ms = None
    if first is not None and start is not None and duration is not None:
        offset = (first - start).total_seconds() * 1000
        first_ms = offset if 0 <= offset <= duration else None
    return Timing(start, duration, first_ms)


def _first(places: list[dict[str, Any]], keys: Sequence[str], read: Any) -> Any:
    for place in places:
        for key in keys:
            if key in place:
                value = read(place[key])
                if value is not None:
                    return value
    return None


def _number(value: Any, scale: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) * scale
    return number if math.isfinite(number) and number >= 0 else None


def _moment(value: Any) -> datetime | None:
    try:
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _line_exchange(line: str, number: int) -> Exchange:
    where = f"Line {number}"
    try:
        value = _loads(line)
    except TranscriptError as exc:
        raise TranscriptError(f"{where}: {exc}") from exc
    if not isinstance(value, dict):
        raise TranscriptError(f"{where} is {_kind(value)}, not a request/response record.")
    request, response = _split(value, where)
    exchange = _exchange(request, response, where)
    exchange.timing = timing_of(value, response)
    return exchange


def _exchange(request: dict[str, Any], response: dict[str, Any] | None, where: str) -> Exchange:
    messages = _messages(request.get("messages"), f"{where}: “messages”")
    request = {**request, "messages": messages, "tools": _tools(request.get("tools"))}
    if not request["tools"]:
        del request["tools"]
    answer, usage, finish = _answer(response, where) if response is not None else (None, {}, "")
    return Exchange(request, answer, len(messages), usage=usage, finish_reason=finish)


def _answer(response: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, dict, str]:
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    if response.get("role") == "assistant":  # the assistant message itself
        return response, usage or {}, ""
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise TranscriptError(f"{where}: the response has no choices[0].")
    message = choices[0].get("message")
    if not isinstance(message, dict) or message.get("role", "assistant") != "assistant":
        raise TranscriptError(f"{where}: choices[0].message is not an assistant message.")
    finish = choices[0].get("finish_reason")
    return {"role": "assistant", **message}, usage or {}, str(finish or "")[:30]


def _messages(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise TranscriptError(f"{where} is {_kind(value)}, not an array of messages.")
    for index, message in enumerate(value):
        if not isinstance(message, dict):
            raise TranscriptError(f"Message {index + 1} is {_kind(message)}, not an object.")
        if message.get("role") not in ROLES:
            raise TranscriptError(
                f"Message {index + 1} has role {str(message.get('role'))[:20]!r}; "
                f"expected one of {', '.join(ROLES)}."
            )
        calls = message.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            raise TranscriptError(f"Message {index + 1}: “tool_calls” is not an array.")
    return list(value)


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TranscriptError(f"“tools” is {_kind(value)}, not an array.")
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranscriptError(f"Tool {index + 1} is not a function tool with a name.")
    return list(value)


def _model(request: dict[str, Any]) -> str:
    model = request.get("model")
    return model[:200] if isinstance(model, str) else ""


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two messages say the same to a model (SDKs echo answers with extra nulls)."""
    keys = ("role", "content", "tool_calls", "tool_call_id", "name")
    return all((a.get(k) or None) == (b.get(k) or None) for k in keys)


def _grouped(exchanges: list[Exchange]) -> list[ParsedConversation]:
    """Consecutive exchanges whose messages extend the conversation so far are one."""
    groups: list[tuple[list[dict[str, Any]], list[Exchange]]] = []
    for exchange in exchanges:
        sent = exchange.request["messages"]
        current = groups[-1] if groups else None
        if current is not None and len(sent) >= len(current[0]):
            if all(_same(a, b) for a, b in zip(current[0], sent, strict=False)):
                current[0].extend(sent[len(current[0]) :])
            else:
                current = None
        else:
            current = None
        if current is None:
            current = (list(sent), [])
            groups.append(current)
        exchange.position = len(current[0])
        if exchange.answer is not None:
            current[0].append(exchange.answer)
        current[1].append(exchange)
    result = []
    for messages, group in groups:
        tools: dict[str, dict[str, Any]] = {}
        for exchange in group:
            for tool in exchange.request.get("tools") or []:
                tools[tool["function"]["name"]] = tool
        result.append(_completed(_model(group[-1].request), messages, list(tools.values()), group))
    return result


def _completed(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], known: list[Exchange]
) -> ParsedConversation:
    """The conversation with an exchange for every assistant message: the recorded one where
    the transcript had it, else the request inferred from the messages before it."""
    by_position = {e.position: e for e in known if e.answer is not None}
    exchanges = [e for e in known if e.answer is None]
    for position, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        exchange = by_position.get(position)
        if exchange is None:
            request: dict[str, Any] = {"model": model, "messages": messages[:position]}
            if tools:
                request["tools"] = tools
            exchange = Exchange(request, message, position, inferred=True)
        exchanges.append(exchange)
    exchanges.sort(key=lambda e: e.position)
    return ParsedConversation(model, messages, tools, exchanges)


# -- what is wrong in it ----------------------------------------------------------------------


def calls_of(message: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(id, name, raw arguments) of an assistant message's function calls."""
    found = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        found.append(
            (str(call.get("id") or ""), str(function.get("name") or ""), function.get("arguments"))
        )
    return found


def find_problems(
    messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
) -> list[Problem]:
    """Orphans and inconsistencies, in the order they occur (at most MAX_PROBLEMS).

    The conversation page computes them on every view, so each distinct (tool, arguments) is
    checked once however often a transcript repeats it."""
    schemas = {
        t["function"]["name"]: t["function"].get("parameters") or {"type": "object"}
        for t in tools
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    }
    problems: list[Problem] = []
    calls: dict[str, int] = {}
    answered: set[str] = set()
    not_offered: set[str] = set()
    checked: dict[tuple[str, Any], str] = {}
    for position, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            if call_id not in calls:
                problems.append(
                    Problem(
                        "unmatched_result",
                        f"Message {position + 1}: a tool result for “{call_id}”, "
                        "which no earlier call has.",
                        position,
                    )
                )
            answered.add(call_id)
            continue
        if role != "assistant":
            continue
        for call_id, name, raw in calls_of(message):
            calls.setdefault(call_id, position)
            if name not in schemas and name not in not_offered:
                not_offered.add(name)
                problems.append(
                    Problem(
                        "not_offered",
                        f"Message {position + 1}: “{name}” is called but not offered in tools.",
                        position,
                    )
                )
            # Arguments that are not JSON are wrong whatever the tool; a schema is checked
            # only where the transcript offered one.
            key = (name, _arguments_key(raw))
            reason = checked.get(key)
            if reason is None:
                reason = _argument_problem(name, schemas.get(name), raw)
                if key[1] is not None:
                    checked[key] = reason
            if reason:
                problems.append(
                    Problem(
                        "invalid_arguments",
                        f"Message {position + 1}: “{name}” ({call_id}): {reason}",
                        position,
                    )
                )
    for call_id, position in calls.items():
        if call_id not in answered:
            problems.append(
                Problem(
                    "no_result",
                    f"Message {position + 1}: call “{call_id}” has no tool result.",
                    position,
                )
            )
    problems.sort(key=lambda p: -1 if p.position is None else p.position)
    return problems[:MAX_PROBLEMS]


def _arguments_key(raw: Any) -> str | None:
    """`raw` arguments as a key, None when they cannot be one (then checked each time)."""
    if raw is None:
        return "none"
    if isinstance(raw, str):
        return "text:" + raw
    try:
        return "json:" + json.dumps(
            raw, separators=(",", ":")
        )  # key order kept: messages follow it
    except (TypeError, ValueError, RecursionError):
        return None


def _argument_problem(name: str, schema: Any, raw: Any) -> str:
    arguments, error = parse_arguments(raw if isinstance(raw, (str, dict)) or raw is None else "")
    if error is not None:
        return error.message
    if schema is None:
        return ""
    if not isinstance(schema, dict):
        return "the tool's parameters are not a schema"
    spec = ToolSpec(name=name, parameters=schema, implementation=MockImplementation())
    error = validate_arguments(spec, arguments or {}, _validators)
    return error.message if error is not None else ""


# -- tools it uses ----------------------------------------------------------------------------


def tool_candidates(
    messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]
) -> list[ToolCandidate]:
    """Every tool the transcript offers or calls: as offered, else with a schema inferred from
    its calls (each argument's types across calls; required when present in every call)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        if message.get("role") != "assistant":
            continue
        for _, name, raw in calls_of(message):
            arguments, _error = parse_arguments(raw if isinstance(raw, (str, dict)) else None)
            seen.setdefault(name, []).append(arguments if isinstance(arguments, dict) else {})
    found: dict[str, ToolCandidate] = {}
    for tool in tools:
        function = tool["function"]
        name = function["name"]
        parameters = function.get("parameters")
        description = function.get("description")
        found[name] = ToolCandidate(
            name=name,
            description=description if isinstance(description, str) else "",
            parameters=parameters if isinstance(parameters, dict) else {"type": "object"},
            inferred=False,
            calls=len(seen.get(name, [])),
        )
    for name, every in seen.items():
        if name and name not in found:
            found[name] = ToolCandidate(name, "", infer_schema(every), True, len(every))
    return list(found.values())


def infer_schema(calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """An object schema covering every call's arguments."""
    types: dict[str, list[str]] = {}
    for arguments in calls:
        for key, value in arguments.items():
            kind = json_type(value)
            kinds = types.setdefault(key, [])
            if kind not in kinds:
                kinds.append(kind)
    properties: dict[str, Any] = {}
    for key, kinds in types.items():
        if "integer" in kinds and "number" in kinds:
            kinds = [k for k in kinds if k != "integer"]
        properties[key] = {"type": kinds[0] if len(kinds) == 1 else sorted(kinds)}
    required = [key for key in types if calls and all(key in a for a in calls)]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


__all__ = [
    "Exchange",
    "ParsedConversation",
    "Problem",
    "ToolCandidate",
    "Transcript",
    "TranscriptError",
    "calls_of",
    "find_problems",
    "infer_schema",
    "parse_transcript",
    "tool_candidates",
]
