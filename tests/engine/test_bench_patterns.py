"""The pattern benchmark measures both engines on the same inputs and says so."""

from __future__ import annotations

from django.core.management import call_command

from tools_app.engine import bench_patterns


def test_the_report_has_both_engines_for_benign_and_hostile_input():
    report = bench_patterns.run(calls=20, hostile_chars=(10,))
    assert report["benign_re2_us"] > 0 and report["benign_re_us"] > 0
    [row] = report["hostile"]
    assert row["chars"] == 11 and row["re2_us"] > 0 and row["re_us"] > 0
    text = bench_patterns.format_report(report)
    assert text.startswith("schema pattern, per call (N=20): RE2 ")
    assert "^(a+)+$ against 11 chars: RE2 " in text


def test_the_command_prints_the_report(capsys):
    call_command("bench_patterns", calls=10)
    assert "schema pattern, per call (N=10)" in capsys.readouterr().out
