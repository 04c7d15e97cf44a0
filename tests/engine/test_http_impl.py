"""The http implementation against a real server on 127.0.0.1, and the SSRF guard.

Refused targets are refused before any connection: the tests never connect anywhere but the
local server (its hit counter shows when nothing reached it).
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    HttpPolicy,
    execute_batch_sync,
    implementation_from_config,
)
from tools_app.engine.implementations import http as http_impl
from tools_app.engine.implementations.http import address_problem, query_params, retry_after_s

from .support import FAST_RETRIES, Recorder, body, call, echo_spec

LOCAL = HttpPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
SECRET = "Bearer s3cret-token-value"


class Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: list[str] = []
        self.authorizations: list[str | None] = []  # as received: results may not show them
        self.failures_left: dict[str, int] = {}
        self.release = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        content_type = "application/json" if not isinstance(payload, bytes) else "text/plain"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        self.server.hits.append(url.path)
        if hasattr(self.server, "authorizations"):  # test_http_tls serves this handler too
            self.server.authorizations.append(self.headers.get("Authorization"))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = parse_qs(url.query)
        if url.path == "/echo":
            self._send(
                200,
                {
                    "method": self.command,
                    "query": query,
                    "body": json.loads(raw) if raw else None,
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "host": self.headers.get("Host"),
                    "authorization": self.headers.get("Authorization"),
                },
            )
        elif url.path.startswith("/echo-key/"):  # a webhook quoting the key it was sent
            key = self.headers.get("X-Api-Key") or ""
            self._send(
                int(url.path.rsplit("/", 1)[1]),
                {
                    "error": f"invalid key {key}",
                    "hint": f"{key[:6]}…{key[-4:]}",
                    "masked": f"•••{key[-4:]}",
                    "middle": key[5:13],
                    f"key:{key}": "as a name too",
                    "authorization": self.headers.get("Authorization"),
                },
            )
        elif url.path == "/text":
            self._send(200, b"plain words")
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            self._send(status, {"problem": "upstream says no"})
        elif url.path == "/flaky":
            left = self.server.failures_left.get("flaky", 0)
            if left:
                self.server.failures_left["flaky"] = left - 1
                self._send(503, {"retry": True}, {"Retry-After": "0"})
            else:
                self._send(200, {"finally": "ok"})
        elif url.path == "/big":
            self._send(200, b"x" * 50_000)
        elif url.path == "/big-stream":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"y" * 1000)
        elif url.path == "/redirect":
            self.send_response(int(query.get("status", ["302"])[0]))
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/hang":
            self.server.release.wait(10)
            self._send(200, {"late": True})
        else:
            self._send(404, {"error": "no such path"})


def serve() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    yield from serve()


@pytest.fixture
def other_upstream() -> Iterator[Upstream]:
    yield from serve()


def http_spec(config: dict[str, Any], policy: HttpPolicy = LOCAL, **options: Any):
    impl = implementation_from_config("http", config, http_policy=policy)
    return echo_spec("remote", implementation=impl, **options)


def run(config, arguments=None, policy=LOCAL, **options):
    recorder = Recorder()
    spec_options = {k: options.pop(k) for k in ("retries", "timeout_s") if k in options}
    [result] = execute_batch_sync(
        [call("call_abc", "remote", arguments or {})],
        [http_spec(config, policy, **spec_options)],
        ExecutionOptions(retry_policy=FAST_RETRIES, on_event=recorder, **options),
    ).results
    return result, recorder


def test_post_sends_json_with_the_idempotency_key_and_returns_json(upstream):
    result, _ = run(
        {"url": f"{upstream.base}/echo", "headers": {"Authorization": SECRET}},
        {"city": "Oslo", "days": 3},
    )
    assert result.ok, result.content
    assert result.result["method"] == "POST"
    assert result.result["body"] == {"city": "Oslo", "days": 3}
    assert result.result["idempotency_key"] == "call_abc"
    assert result.result["host"] == f"127.0.0.1:{upstream.server_address[1]}"
    assert upstream.authorizations == [SECRET]
    assert result.result["authorization"] == "[redacted]"  # sent, never shown back


def test_get_sends_the_arguments_as_a_query_string(upstream):
    result, _ = run(
        {"url": f"{upstream.base}/echo?fixed=1", "method": "GET"},
        {"city": "Oslo", "tags": ["a", "b"], "exact": True, "filter": {"min": 1}, "skip": None},
    )
    assert result.result["method"] == "GET"
    assert result.result["query"] == {
        "fixed": ["1"],
        "city": ["Oslo"],
        "tags": ["a", "b"],
        "exact": ["true"],
        "filter": ['{"min":1}'],
    }
    assert result.result["body"] is None


def test_a_text_response_is_a_string_result(upstream):
    result, _ = run({"url": f"{upstream.base}/text"})
    assert body(result) == {"success": True, "result": "plain words"}


def test_5xx_is_retried_then_reported_as_upstream_error(upstream):
    result, recorder = run({"url": f"{upstream.base}/status/500"}, retries=2)
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.error.details["status"] == 500
    assert "upstream says no" in result.error.details["body"]
    assert result.attempts == 3
    assert upstream.hits == ["/status/500"] * 3
    assert len(recorder.of("call_retrying")) == 2


def test_a_transient_503_with_retry_after_recovers(upstream):
    upstream.failures_left["flaky"] = 1
    result, _ = run({"url": f"{upstream.base}/flaky"}, retries=1)
    assert body(result) == {"success": True, "result": {"finally": "ok"}}
    assert result.attempts == 2


@pytest.mark.parametrize("status", [400, 404, 422])
def test_4xx_is_not_retried(upstream, status):
    result, _ = run({"url": f"{upstream.base}/status/{status}"}, retries=3)
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.attempts == 1


def test_429_is_retried(upstream):
    result, _ = run({"url": f"{upstream.base}/status/429"}, retries=1)
    assert result.attempts == 2
    assert result.error.details["status"] == 429


def test_header_values_never_reach_errors_or_events(upstream):
    result, recorder = run(
        {"url": f"{upstream.base}/status/500", "headers": {"Authorization": SECRET}}, retries=1
    )
    assert result.status == "error"
    everything = result.content + json.dumps([e.to_dict() for e in recorder.events], default=str)
    assert "s3cret" not in everything


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_an_oversized_response_is_cut_off(upstream, path):
    result, _ = run({"url": f"{upstream.base}{path}", "max_response_bytes": 10_000})
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.error.message == "response too large (more than 10000 bytes)"


def test_a_refused_connection_is_a_retryable_upstream_error(upstream):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there any more
    result, _ = run({"url": f"http://127.0.0.1:{port}/"}, retries=1)
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.error.message.startswith("connection failed")
    assert result.attempts == 2


def test_a_hanging_upstream_times_out(upstream):
    result, _ = run({"url": f"{upstream.base}/hang"}, timeout_s=0.2)
    assert result.error.code is ErrorCode.TIMEOUT
    upstream.release.set()


# --- the SSRF guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "policy", "reason"),
    [
        ("http://127.0.0.1:{port}/echo", HttpPolicy(), "loopback address"),
        ("http://10.0.0.1/", LOCAL, "private address"),
        ("http://192.168.1.1/", LOCAL, "private address"),
        ("http://169.254.169.254/latest/meta-data/", LOCAL, "cloud metadata address"),
        ("http://169.254.169.254/", HttpPolicy(allow_private=True), "cloud metadata address"),
        ("http://[fd00:ec2::254]/", HttpPolicy(allow_private=True), "cloud metadata address"),
        ("http://[::1]:{port}/", LOCAL, "loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/", HttpPolicy(), "loopback address"),
        ("http://localhost:{port}/echo", HttpPolicy(), "loopback address"),
        ("http://0.0.0.0:{port}/", LOCAL, "unspecified address"),
        ("http://169.254.10.10/", LOCAL, "link-local address"),
        ("http://[fc00::1]/", LOCAL, "unique-local address"),
        ("http://224.0.0.1/", LOCAL, "multicast address"),
    ],
)
def test_non_public_targets_are_refused_before_connecting(upstream, url, policy, reason):
    result, _ = run({"url": url.format(port=upstream.server_address[1])}, policy=policy)
    assert result.error.code is ErrorCode.DENIED
    assert result.error.details["reason"].startswith(reason)
    assert "refused to connect" in result.error.message
    assert upstream.hits == []


def test_a_redirect_to_a_refused_target_is_refused(upstream):
    url = f"{upstream.base}/redirect?to=http://10.0.0.1/admin"
    result, _ = run({"url": url})
    assert result.error.code is ErrorCode.DENIED
    assert result.error.details == {
        "host": "10.0.0.1",
        "address": "10.0.0.1",
        "reason": "private address",
    }
    assert upstream.hits == ["/redirect"]


def test_allowed_redirects_are_followed_and_re_checked(upstream):
    url = f"{upstream.base}/redirect?to=/echo"
    result, _ = run({"url": url}, {"x": 1})
    assert result.ok
    assert result.result["method"] == "GET"  # 302 after POST becomes a GET, like browsers do
    assert result.result["query"] == {}
    assert result.result["body"] is None
    assert upstream.hits == ["/redirect", "/echo"]


def test_307_keeps_method_and_body(upstream):
    result, _ = run({"url": f"{upstream.base}/redirect?status=307&to=/echo"}, {"x": 1})
    assert result.result["method"] == "POST"
    assert result.result["body"] == {"x": 1}
    assert result.result["idempotency_key"] == "call_abc"


def test_configured_headers_are_dropped_on_a_cross_origin_redirect(upstream, other_upstream):
    url = f"{upstream.base}/redirect?to={other_upstream.base}/echo"
    result, _ = run({"url": url, "headers": {"Authorization": SECRET}})
    assert result.ok
    assert result.result["authorization"] is None
    assert result.result["idempotency_key"] == "call_abc"


@pytest.mark.parametrize("same_origin", [True, False])
def test_user_info_in_a_redirect_never_becomes_credentials(upstream, other_upstream, same_origin):
    target = upstream if same_origin else other_upstream
    port = target.server_address[1]
    url = f"{upstream.base}/redirect?status=307&to=http://mallory:stolen@127.0.0.1:{port}/echo"
    result, _ = run({"url": url})
    assert result.ok, result.content
    assert result.result["authorization"] is None
    assert result.result["host"] == f"127.0.0.1:{port}"
    assert target.hits[-1] == "/echo"


def test_redirect_loops_stop_after_five_hops(upstream):
    result, _ = run({"url": f"{upstream.base}/loop"})
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.error.message == "more than 5 redirects"
    assert upstream.hits == ["/loop"] * 6


def test_redirects_to_other_schemes_are_refused(upstream):
    result, _ = run({"url": f"{upstream.base}/redirect?to=file:///etc/passwd"})
    assert result.error.code is ErrorCode.DENIED


def test_the_resolved_address_is_the_one_connected_to(upstream, monkeypatch):
    lookups = []

    async def fake_resolve(host: str, port: int):
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(http_impl, "resolve_host", fake_resolve)
    port = upstream.server_address[1]
    policy = HttpPolicy(allowed_hosts=frozenset({"api.example.test"}))
    result, _ = run({"url": f"http://api.example.test:{port}/echo"}, policy=policy)
    assert result.ok, result.content
    assert lookups == ["api.example.test"]  # resolved once
    assert result.result["host"] == f"api.example.test:{port}"  # the name stays in Host
    assert upstream.hits == ["/echo"]  # and the connection went to the checked address


def test_a_host_is_refused_if_any_of_its_addresses_is(monkeypatch):
    async def fake_resolve(host: str, port: int):
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")]

    monkeypatch.setattr(http_impl, "resolve_host", fake_resolve)
    result, _ = run({"url": "http://rebind.example.test/"}, policy=HttpPolicy())
    assert result.error.code is ErrorCode.DENIED
    assert result.error.details["address"] == "10.1.2.3"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.2", "loopback address"),
        ("::1", "loopback address"),
        ("10.0.0.1", "private address"),
        ("172.16.0.1", "private address"),
        ("100.64.0.1", "not a globally routable address"),
        ("169.254.169.254", "cloud metadata address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("fe80::1", "link-local address"),
        ("fd12:3456::1", "unique-local address"),
        ("ff02::1", "multicast address"),
        ("240.0.0.1", "reserved address"),
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("::ffff:10.0.0.1", "private address (embedded in ::ffff:a00:1)"),
        ("2002:7f00:1::", "loopback address (embedded in 2002:7f00:1::)"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata address (embedded in 64:ff9b::a9fe:a9fe)"),
    ],
)
def test_address_classification(address, problem):
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # AWS, GCP, Azure IMDS, OpenStack, DigitalOcean...
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS Pod Identity
        "fd00:ec2::23",  # AWS EKS Pod Identity over IPv6
        "168.63.129.16",  # Azure WireServer (a public address)
        "192.0.0.192",  # Oracle Cloud Classic
        "100.100.100.200",  # Alibaba Cloud
    ],
)
def test_every_cloud_metadata_address_is_refused_even_with_private_addresses_allowed(address):
    refusal = HttpPolicy(allow_private=True).refusal("h", ipaddress.ip_address(address))
    assert refusal is not None and "cloud metadata" in refusal


def test_policy_allows_exact_hosts_addresses_and_networks_but_metadata_only_by_address():
    policy = HttpPolicy(allowed_hosts=frozenset({"intranet.local", "10.0.0.0/8", "192.168.1.5"}))
    ip = ipaddress.ip_address
    assert policy.refusal("intranet.local", ip("172.16.0.9")) is None
    assert policy.refusal("x", ip("10.9.9.9")) is None
    assert policy.refusal("x", ip("192.168.1.5")) is None
    assert policy.refusal("x", ip("192.168.1.6")) == "private address"
    assert policy.refusal("intranet.local", ip("169.254.169.254")) == "cloud metadata address"
    assert (
        HttpPolicy(allowed_hosts=frozenset({"169.254.169.254"})).refusal("m", ip("169.254.169.254"))
        is None
    )
    assert HttpPolicy(allow_private=True).refusal("x", ip("127.0.0.1")) is None


def test_query_params_and_retry_after_parsing():
    assert query_params({"a": [1, True], "b": None, "c": {"d": 1}}) == [
        ("a", "1"),
        ("a", "true"),
        ("c", '{"d":1}'),
    ]
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs a 'url'"),
        ({"url": "ftp://example.com/"}, "http:// or https://"),
        ({"url": "/relative"}, "http:// or https://"),
        ({"url": "https://example.com", "method": "TRACE"}, "method must be one of"),
        (
            {"url": "https://example.com", "headers": {"X": 1}},
            "headers must be an object of strings",
        ),
        ({"url": "https://example.com", "headers": {"Host": "evil"}}, "may not set Host"),
        ({"url": "https://example.com", "timeout_s": 0}, "timeout_s"),
        ({"url": "https://example.com", "max_response_bytes": -5}, "max_response_bytes"),
        ({"url": "https://example.com", "verify": False}, "unknown keys: verify"),
    ],
)
def test_bad_config_raises_a_clear_value_error(config, message):
    with pytest.raises(ValueError, match=message):
        implementation_from_config("http", config)


# -- secrets an upstream echoes --------------------------------------------------------------------

API_KEY = "whk-live-9f3a7c21d4e8b056"


def leaked_runs(text: str, secret: str, size: int = 8) -> list[str]:
    """Every run of `size` characters of `secret` that appears in `text`."""
    runs = {secret[start : start + size] for start in range(len(secret) - size + 1)}
    return sorted(run for run in runs if run in text)


def everything(result: Any, recorder: Recorder) -> str:
    events = json.dumps([e.to_dict() for e in recorder.events], default=str, ensure_ascii=False)
    return result.content + events


@pytest.mark.parametrize("status", [401, 500])
def test_a_header_secret_an_upstream_echoes_in_an_error_is_redacted(upstream, status):
    result, recorder = run(
        {"url": f"{upstream.base}/echo-key/{status}", "headers": {"X-Api-Key": API_KEY}},
        retries=1,
    )
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    shown = json.dumps(result.error.details, ensure_ascii=False) + everything(result, recorder)
    assert leaked_runs(shown, API_KEY) == []
    assert API_KEY[-4:] not in shown  # not even the tail a hint shows ("•••b056")
    assert API_KEY[:6] not in shown
    details = json.loads(result.error.details["body"])
    assert details["error"] == "invalid key [redacted]"
    assert details["hint"] == "[redacted]…[redacted]"
    assert details["masked"] == "•••[redacted]"
    assert details["middle"] == "[redacted]"


def test_a_header_secret_an_upstream_echoes_in_a_result_is_redacted(upstream):
    result, recorder = run(
        {"url": f"{upstream.base}/echo-key/200", "headers": {"X-Api-Key": API_KEY}}
    )
    assert result.ok
    assert leaked_runs(everything(result, recorder), API_KEY) == []
    assert result.result["error"] == "invalid key [redacted]"
    assert result.result["key:[redacted]"] == "as a name too"
    assert result.result["hint"] == "[redacted]…[redacted]"
    assert result.result["masked"] == "•••[redacted]"


def test_a_bearer_token_is_redacted_alone_as_well(upstream):
    token = "tok-0123456789abcdef"
    result, _ = run(
        {"url": f"{upstream.base}/echo-key/200", "headers": {"Authorization": f"Bearer {token}"}}
    )
    assert result.result["authorization"] == "[redacted]"
    assert leaked_runs(result.content, token) == []


def test_short_header_values_are_words_not_secrets_as_for_providers(upstream):
    # Under 8 characters a header value ("json", "on", "v2") is shown, as a provider's is:
    # redacting it would cut every word it matches out of every result.
    result, _ = run({"url": f"{upstream.base}/echo-key/200", "headers": {"X-Api-Key": "on"}})
    assert result.result["error"] == "invalid key on"
    assert "[redacted]" not in result.content


def test_a_url_password_and_its_basic_credential_are_redacted(upstream):
    password = "pa55word-for-hook"
    url = f"http://hook:{password}@127.0.0.1:{upstream.server_address[1]}/echo-key/200"
    result, _ = run({"url": url})
    assert upstream.authorizations[0].startswith("Basic ")  # the client sent it as Basic auth
    assert result.result["authorization"] == "Basic [redacted]"
    assert leaked_runs(result.content, password) == []
    assert leaked_runs(result.content, upstream.authorizations[0].split()[1]) == []


@pytest.mark.parametrize(
    "raised",
    [
        lambda text: http_impl.httpx.ConnectError(f"cannot connect: {text}"),
        lambda text: RuntimeError(f"unexpected: {text}"),
    ],
    ids=["connection error", "any other exception"],
)
def test_exception_text_quoting_a_secret_is_redacted(upstream, monkeypatch, raised):
    async def failing(self, client, arguments, context):
        raise raised(f"http://127.0.0.1/?key={API_KEY}")

    monkeypatch.setattr(http_impl.HttpImplementation, "_exchange", failing)
    result, recorder = run(
        {"url": f"{upstream.base}/echo", "headers": {"X-Api-Key": API_KEY}}, retries=1
    )
    assert result.status == "error"
    shown = json.dumps(result.error.to_dict(), ensure_ascii=False) + everything(result, recorder)
    assert leaked_runs(shown, API_KEY) == []
    assert "key=[redacted]" in result.error.message
