"""The one redaction rule providers and HTTP tools share (tools_app.engine.secret_text)."""

from __future__ import annotations

from tools_app.engine.secret_text import header_secrets, redact_secrets, redact_secrets_in

KEY = "sk-live-0123456789abcdef"


def test_whole_fragments_and_edges_beside_an_ellipsis_are_redacted():
    assert redact_secrets(f"bad key {KEY}.", [KEY]) == "bad key [redacted]."
    assert redact_secrets(f"part {KEY[6:14]} of it", [KEY]) == "part [redacted] of it"
    assert redact_secrets(f"key {KEY[:5]}…{KEY[-4:]}", [KEY]) == "key [redacted]…[redacted]"
    assert redact_secrets(f"key ••••{KEY[-4:]}", [KEY]) == "key ••••[redacted]"
    assert redact_secrets(f"key ***{KEY[-4:]}", [KEY]) == "key ***[redacted]"
    assert redact_secrets(f"4 alone: {KEY[-4:]}", [KEY]) == f"4 alone: {KEY[-4:]}"  # no hint


def test_an_ellipsis_as_json_escapes_it_still_marks_a_hint():
    raw = '{"hint": "\\u2022\\u2022\\u2022' + KEY[-4:] + '", "k": "' + KEY[:4] + '\\u2026"}'
    shown = redact_secrets(raw, [KEY])
    assert KEY[-4:] not in shown and KEY[:4] not in shown
    assert shown == '{"hint": "\\u2022\\u2022\\u2022[redacted]", "k": "[redacted]\\u2026"}'


def test_json_values_are_redacted_in_strings_keys_and_numbers():
    digits = "4111111111111111"
    value = {"a": [f"x{KEY}", 1, None, True], f"k{KEY}": {"n": int(digits)}, "ok": "fine"}
    assert redact_secrets_in(value, [KEY, digits]) == {
        "a": ["x[redacted]", 1, None, True],
        "k[redacted]": {"n": "[redacted]"},
        "ok": "fine",
    }
    clean = {"nothing": ["to", "hide"]}
    assert redact_secrets_in(clean, [KEY]) is clean


def test_header_secrets_take_long_values_and_credentials_after_a_scheme():
    assert header_secrets(["on", "json", "Bearer tok-0123456789", " spaced-value-1 "]) == [
        "Bearer tok-0123456789",
        "tok-0123456789",
        "spaced-value-1",
    ]
    assert header_secrets(["Bearer short"]) == ["Bearer short"]  # 12 in all, credential 5


def test_many_ellipses_cost_a_few_comparisons_each(monkeypatch):
    """An upstream's refusal or a tool's result full of "…" (a foreign server's text, redacted on
    the event loop): at each mark only the lengths the neighbouring character allows are
    compared, not every length of the key."""
    import tools_app.engine.secret_text as secret_text

    long_key = "sk-proj-" + "".join(chr(0x41 + (n * 7) % 26) for n in range(160))
    compared = []
    made = secret_text._edge_sizes

    class Counting(dict):
        def get(self, key, default=None):
            sizes = super().get(key, default)
            compared.append(len(sizes or ()))
            return sizes

    monkeypatch.setattr(
        secret_text, "_edge_sizes", lambda secret: tuple(Counting(d) for d in made(secret))
    )
    text = "a… ... P*** " * 5_000
    assert redact_secrets(text, [long_key]) == text
    marks = 15_000
    assert len(compared) == 2 * marks
    assert sum(compared) <= 2 * marks * 10  # at most a handful of lengths per mark and side
    assert redact_secrets(f"key {long_key[:9]}…", [long_key]) == "key [redacted]…"
