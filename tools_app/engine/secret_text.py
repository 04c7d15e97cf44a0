"""Keeping known secrets out of text that leaves the studio, not even in part.

One rule for every place that holds a secret and shows or sends what an outside server said: a
provider (its API key, its extra headers) and an HTTP tool (its configured header values). An
echo of a secret is replaced by `REDACTED` whole, as any run of `SECRET_FRAGMENT_CHARS` of its
characters, and as its first or last `SECRET_EDGE_CHARS` or more beside an ellipsis ("sk-p…",
"•••abcd"). A secret shorter than `SECRET_FRAGMENT_CHARS` is redacted only whole.

Which values count as secrets is the caller's: `header_secrets` is the rule for header values
(short ones are more likely words, "json" or "on", than secrets).

This module must not import Django (the engine uses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

REDACTED = "[redacted]"
SECRET_FRAGMENT_CHARS = 8  # this many characters of a secret in a row are redacted anywhere
SECRET_EDGE_CHARS = 4  # a secret's start or end this long beside an ellipsis ("sk-p…") too
HEADER_SECRET_MIN_CHARS = 8  # shorter header values are taken for words, not secrets
# "…", "...", "***", "•••", and the first and last as JSON escapes them (an error body's raw text)
_ELLIPSIS = re.compile(r"…|\.{3,}|\*{3,}|•{3,}|\\u2026|(?:\\u2022){3,}", re.IGNORECASE)
_HIDDEN_RUN = re.compile(b"\x01+")


def header_secrets(values: Iterable[str]) -> list[str]:
    """The secrets among header values: each value of 8 or more characters, and the credential
    after a scheme ("Bearer <token>") when that is 8 or more characters itself."""
    found = []
    for value in values:
        value = value.strip()
        scheme, _, credential = value.partition(" ")
        credential = credential.strip()
        if len(value) >= HEADER_SECRET_MIN_CHARS:
            found.append(value)
        if credential and scheme.isalpha() and len(credential) >= HEADER_SECRET_MIN_CHARS:
            found.append(credential)
    return found


def redact_secrets(text: str, secrets: Sequence[str]) -> str:
    """`text` with every echo of each of `secrets` replaced by `REDACTED`: whole, any run of
    `SECRET_FRAGMENT_CHARS` of its characters, and its first or last `SECRET_EDGE_CHARS` or
    more beside an ellipsis."""
    secrets = [secret for secret in secrets if secret]
    if not text or not secrets:
        return text
    hidden = bytearray(len(text))
    marks = list(_ELLIPSIS.finditer(text))
    for secret in secrets:
        size = min(SECRET_FRAGMENT_CHARS, len(secret))
        for start in range(len(secret) - size + 1):
            window = secret[start : start + size]
            at = text.find(window)
            while at != -1:
                hidden[at : at + size] = b"\x01" * size
                at = text.find(window, at + 1)
        if not marks:
            continue
        heads, tails = _edge_sizes(secret)
        for mark in marks:
            head = longest_edge(text, mark.start(), secret, before=True, sizes=heads)
            hidden[mark.start() - head : mark.start()] = b"\x01" * head
            tail = longest_edge(text, mark.end(), secret, before=False, sizes=tails)
            hidden[mark.end() : mark.end() + tail] = b"\x01" * tail
    if not any(hidden):
        return text
    pieces, position = [], 0
    for run in _HIDDEN_RUN.finditer(bytes(hidden)):
        pieces.append(text[position : run.start()])
        pieces.append(REDACTED)
        position = run.end()
    pieces.append(text[position:])
    return "".join(pieces)


def redact_secrets_in(value: Any, secrets: Sequence[str]) -> Any:
    """A JSON value with `redact_secrets` applied to every string in it, object keys included
    (a number whose digits hold a secret becomes the redacted string); `value` itself when
    there was nothing to redact."""
    secrets = [secret for secret in secrets if secret]
    if not secrets or value is None or isinstance(value, bool):
        return value
    texts: list[str] = []
    _collect_texts(value, texts, 0)
    # One pass over everything first: a match inside one string is a match in the joined text
    # (NUL, never part of a header value, keeps strings apart), so most values stop here.
    joined = "\x00".join(texts)
    if redact_secrets(joined, secrets) == joined:
        return value
    return _redacted(value, secrets, 0)


MAX_DEPTH = 200  # deeper JSON than any real response; below it every string counts as one text


def _collect_texts(value: Any, texts: list[str], depth: int) -> None:
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        texts.append(str(value))
    elif depth > MAX_DEPTH:
        texts.append(repr(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            texts.append(str(key))
            _collect_texts(item, texts, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_texts(item, texts, depth + 1)
    else:
        texts.append(str(value))


def _redacted(value: Any, secrets: Sequence[str], depth: int) -> Any:
    if isinstance(value, str):
        return redact_secrets(value, secrets)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        shown = redact_secrets(str(value), secrets)
        return value if shown == str(value) else shown
    if depth > MAX_DEPTH:
        shown = redact_secrets(repr(value), secrets)
        return value if shown == repr(value) else REDACTED
    if isinstance(value, dict):
        return {
            redact_secrets(str(key), secrets): _redacted(item, secrets, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redacted(item, secrets, depth + 1) for item in value]
    shown = redact_secrets(str(value), secrets)
    return value if shown == str(value) else shown


EdgeSizes = dict[str, list[int]]


def _edge_sizes(secret: str) -> tuple[EdgeSizes, EdgeSizes]:
    """For each character, the lengths (longest first, at least `SECRET_EDGE_CHARS`) of the
    secret's starts that end with it and of its ends that begin with it: at a mark, only those
    need comparing (one per mark and character on a random key, not every length)."""
    heads: EdgeSizes = {}
    tails: EdgeSizes = {}
    for size in range(len(secret), SECRET_EDGE_CHARS - 1, -1):
        heads.setdefault(secret[size - 1], []).append(size)
        tails.setdefault(secret[-size], []).append(size)
    return heads, tails


def longest_edge(
    text: str, at: int, secret: str, *, before: bool, sizes: EdgeSizes | None = None
) -> int:
    """How many characters of the secret's start end at `at` (or of its end begin there), at
    least `SECRET_EDGE_CHARS` of them, or 0. `sizes`, from `_edge_sizes` (heads before a mark,
    tails after one), skips the lengths the character beside the mark rules out."""
    if sizes is None:
        candidates: Iterable[int] = range(len(secret), SECRET_EDGE_CHARS - 1, -1)
    else:
        beside = text[at - 1 : at] if before else text[at : at + 1]
        candidates = sizes.get(beside, ())
    for size in candidates:
        if before and at >= size and text[at - size : at] == secret[:size]:
            return size
        if not before and text[at : at + size] == secret[-size:]:
            return size
    return 0
