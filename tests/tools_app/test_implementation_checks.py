"""The editor asks each implementation to check its own config and shows the answer on the field."""

from __future__ import annotations

import pytest

from tests.tools_app.test_tool_editor import form_data
from tools_app.engine.implementations import ConfigError, HttpImplementation, MockImplementation
from tools_app.forms import ToolForm


@pytest.fixture(autouse=True)
def allowed_modules(settings):
    settings.FCSTUDIO_TOOL_MODULES = ["tools_app.demo_tools"]


def errors_of(catalog, **overrides: str) -> dict[str, list[str]]:
    form = ToolForm(form_data(**overrides), catalog=catalog)
    assert not form.is_valid()
    return form.errors


def test_http_a_url_that_is_not_http_is_refused_on_the_url_field(catalog):
    errors = errors_of(catalog, implementation_kind="http", http_url="ftp://files.example.com/")
    assert errors == {"http_url": ["http url must be an absolute http:// or https:// URL"]}


def test_http_a_reserved_header_is_refused_on_the_headers_field(catalog):
    errors = errors_of(
        catalog,
        implementation_kind="http",
        http_url="https://hooks.example.com/",
        http_headers="X-Ok: 1\nContent-Length: 12345",
    )
    assert errors == {"http_headers": ["Line 2: the studio sets Content-Length itself."]}


def test_http_an_empty_url_is_told_once(catalog):
    errors = errors_of(catalog, implementation_kind="http", http_url="")
    assert errors == {"http_url": ["An HTTP tool needs the URL to call."]}


def test_mock_a_reversed_latency_range_is_refused_on_the_latency_field(catalog):
    errors = errors_of(catalog, mock_latency_ms="300-100")
    assert errors == {
        "mock_latency_ms": ["mock latency_ms: the range's lower end comes first (0 <= min <= max)"]
    }


def test_mock_the_latency_cap_is_the_engines(catalog):
    errors = errors_of(catalog, mock_latency_ms="700000")
    assert errors == {"mock_latency_ms": ["mock latency is capped at 600,000 ms"]}
    with pytest.raises(ConfigError, match="capped") as refused:
        MockImplementation.from_config({"latency_ms": [0, 700_000]})
    assert refused.value.key == "latency_ms"


def test_python_a_module_not_allowed_is_refused_on_the_callable_field(catalog):
    errors = errors_of(catalog, implementation_kind="python", python_callable="os:system")
    assert errors == {
        "python_callable": [
            "Refused: module 'os' is not in the allowed modules "
            "(FCSTUDIO_TOOL_MODULES: tools_app.demo_tools)."
        ]
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-A": "ok\r\nInjected: yes"}, "http header 'X-A': the value of X-A has a line break"),
        ({"X-A": "café-secret"}, "http header 'X-A': the value of X-A has a line break"),
        ({"X-A": ""}, "http header 'X-A': give X-A a value."),
        ({"Bad Name": "secret-value"}, "http header 'Bad Name': a header name holds only"),
        ({"X-A": "secret-1", "x-a": "secret-2"}, "http header 'x-a': x-a is given twice"),
        ({f"X-{i}": "v" for i in range(21)}, "At most 20 headers; there are 21."),
    ],
)
def test_the_engine_holds_the_header_rules_and_never_quotes_a_value(headers, message):
    config = {"url": "https://hooks.example.com/", "headers": headers}
    with pytest.raises(ConfigError) as refused:
        HttpImplementation.from_config(config)
    assert str(refused.value).startswith(message)
    assert refused.value.key == "headers"
    assert not any(value in str(refused.value) for value in headers.values() if len(value) > 1)
