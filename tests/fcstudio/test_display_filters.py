"""Recorded values shown as people read them: JSON, not Python reprs; durations with units."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from fcstudio.templatetags.studio import as_json, ms


def test_parsed_arguments_read_as_json_not_as_a_python_repr():
    assert as_json({"city": "Oslo", "days": 3, "metric": True, "at": None}) == (
        '{\n  "city": "Oslo",\n  "days": 3,\n  "metric": true,\n  "at": null\n}'
    )


def test_json_text_is_pretty_printed_and_keeps_its_characters():
    assert as_json('{"success": true, "result": {"city": "Zürich"}}') == (
        '{\n  "success": true,\n  "result": {\n    "city": "Zürich"\n  }\n}'
    )
    assert as_json("[1, 2]") == "[\n  1,\n  2\n]"


@pytest.mark.parametrize("text", ['{"city": ', "sunny, 21 degrees", "", "42", '"Oslo"'])
def test_text_that_is_not_a_json_object_or_array_is_shown_as_sent(text):
    assert as_json(text) == text


def test_in_a_template_the_json_is_escaped_once():
    page = Template("{% load studio %}<pre>{{ value|as_json }}</pre>").render(
        Context({"value": {"q": "<b>&"}})
    )
    assert page == "<pre>{\n  &quot;q&quot;: &quot;&lt;b&gt;&amp;&quot;\n}</pre>"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (0, "0.00 ms"),
        (0.4213, "0.42 ms"),
        (12.34, "12.3 ms"),
        (250.4, "250 ms"),
        (1250, "1.25 s"),
        (9994.9, "9.99 s"),
        (9995, "10.0 s"),
        (15001.6, "15.0 s"),
        (125_400, "125.4 s"),
    ],
)
def test_durations_carry_the_precision_their_size_deserves(value, shown):
    assert ms(value) == shown
