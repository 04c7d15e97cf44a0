"""Sensitive values redacted before they leave a call's own record.

A call's arguments and a tool's settings stay whole in their own rows (a team sees the
arguments of its own calls). Everything written or sent elsewhere (audit rows, exports,
exports of the audit trail) goes through `redact` first: the value of a key that looks like a
secret (password, token, api_key, secret, authorization, cookie; in any case, at any depth)
and of any property its tool's schema marks `"x-sensitive": true` is replaced by a mark
(`PREFIX`, 12 hex digits, `SUFFIX`) of a keyed hash (HMAC-SHA256 under a key derived from
SECRET_KEY), so two rows holding the same secret can still be matched without showing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import lru_cache
from typing import Any

from django.conf import settings

SECRET_KEY_NAME = re.compile(
    r"pass(word|wd)|token|api[_-]?key|secret|authori[sz]ation|cookie", re.IGNORECASE
)
SENSITIVE = "x-sensitive"
PREFIX = "\u2039redacted:"  # single angle quotes: a mark no JSON value is mistaken for
SUFFIX = "\u203a"


def looks_secret(key: str) -> bool:
    return bool(SECRET_KEY_NAME.search(key))


def mark(value: Any) -> str:
    """The redacted form of `value`: equal values give equal marks, under this SECRET_KEY."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    digest = hmac.new(_key(settings.SECRET_KEY), text.encode("utf-8", "replace"), hashlib.sha256)
    return f"{PREFIX}{digest.hexdigest()[:12]}{SUFFIX}"


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"fcstudio-redaction\x00" + secret_key.encode("utf-8")).digest()


def redact(value: Any, schema: Any = None) -> Any:
    """A copy of `value` with secret-looking keys and the schema's sensitive properties marked."""
    return _redact(value, schema if isinstance(schema, dict) else {}, 0)


MAX_DEPTH = 64


def _redact(value: Any, schema: dict[str, Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return mark(value)  # deeper than any real argument: nothing below is shown
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra = schema.get("additionalProperties")
        redacted = {}
        for key, item in value.items():
            sub = properties.get(key, extra)
            sub = sub if isinstance(sub, dict) else {}
            if looks_secret(str(key)) or sub.get(SENSITIVE) is True:
                redacted[key] = mark(item)
            else:
                redacted[key] = _redact(item, sub, depth + 1)
        return redacted
    if isinstance(value, list):
        items = schema.get("items")
        sub = items if isinstance(items, dict) else {}
        return [_redact(item, sub, depth + 1) for item in value]
    if schema.get(SENSITIVE) is True:
        return mark(value)
    return value


def redact_arguments(text: str, schema: Any = None) -> str:
    """Arguments as a model sent them (JSON text), redacted; text that is not a JSON object
    cannot be told apart from a secret and is marked whole."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return mark(text) if text else text
    if not isinstance(parsed, (dict, list)):
        return mark(text)
    return json.dumps(redact(parsed, schema), ensure_ascii=False)


def redact_messages(
    messages: list[dict[str, Any]], schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    """Chat messages fit to leave the studio: each tool call's arguments redacted against its
    tool's parameters (`schemas`, by tool name), and secret-looking keys of tool results."""
    shown = []
    for message in messages:
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if isinstance(calls, list):
            message = {**message, "tool_calls": [_redacted_call(call, schemas) for call in calls]}
        elif isinstance(message, dict) and message.get("role") == "tool":
            content = message.get("content")
            if isinstance(content, str):
                message = {**message, "content": _redacted_result(content)}
        shown.append(message)
    return shown


def _redacted_call(call: Any, schemas: dict[str, Any]) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    arguments = redact_arguments(function["arguments"], schemas.get(str(function.get("name"))))
    return {**call, "function": {**function, "arguments": arguments}}


def _redacted_result(content: str) -> str:
    try:
        parsed = json.loads(content)
    except (ValueError, RecursionError):
        return content
    redacted = redact(parsed)
    return content if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
