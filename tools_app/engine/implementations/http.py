"""The ``http`` implementation: send the arguments to an HTTP endpoint, guarded against SSRF.

``{"url", "method": "POST", "headers": {...}, "timeout_s", "max_response_bytes": 1_000_000}``.
POST/PUT/PATCH send the arguments as a JSON body, GET/DELETE as a query string; every request
carries ``Idempotency-Key: <tool_call_id>`` so an upstream can drop the duplicates retries cause.
The response's JSON (or text) is the result; a non-2xx status is ``UPSTREAM_ERROR`` (429 and 5xx
retryable, a small ``Retry-After`` honoured); connection failures are retryable.

SSRF guard: the host is resolved once, every resolved address is checked against the
`HttpPolicy` (loopback, private, link-local, unique-local, multicast, reserved, unspecified and
cloud-metadata addresses are refused with ``DENIED`` unless the policy permits them), and the
request then goes to that exact IP — the URL is rewritten to the address while the ``Host``
header and the TLS SNI/certificate check keep the name — so a second DNS answer cannot swap the
target. Proxies from the environment are ignored for the same reason. Redirects are not followed
automatically: each hop (at most 5) is checked the same way, and configured headers are dropped
when a redirect leaves the original origin; a redirect's user-info (``http://user:pass@host/``) is
dropped, so a foreign server cannot make the tool send credentials. Header values never appear
in errors or events, and an upstream echoing one (``401 {"error": "invalid key <value>"}``) finds
it redacted, whole or in part (`secret_text.redact_secrets`), in everything the call returns or
raises: the result, the error message and details, exception text. Responses are read as a
stream and abandoned past `max_response_bytes`.

The same policy guards providers: `PinnedTransport` is an httpx transport doing the check and the
pinning for any client (the openai SDK's included), and `refuse_redirect_elsewhere` is a response
hook that stops a client following a redirect to another host.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

try:  # the openai SDK brings httpx2, the maintained successor of httpx, with the same API
    import httpx2 as httpx
except ImportError:  # pragma: no cover - environments with the original package
    import httpx  # type: ignore[no-redef]

from ..errors import ErrorCode, ToolFailure
from ..secret_text import header_secrets, redact_secrets, redact_secrets_in
from .base import CallContext, ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CONFIG_KEYS = frozenset({"url", "method", "headers", "timeout_s", "max_response_bytes"})
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_MAX_RESPONSE_BYTES = 1_000_000
DEFAULT_TIMEOUT_S = 30.0
ERROR_BODY_CHARS = 500
MAX_HEADERS = 20
# RFC 7230 token characters.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # \Z: also whole with .match()
# No configured header, of an HTTP tool or a model provider, may set these: the studio frames
# every request itself (Host, the body's length), and the rest belong to one hop of a connection,
# not to the request (RFC 9110 section 7.6.1), as does every Proxy-* header.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
    }
)
RESERVED_HEADER_PREFIX = "proxy-"
# The engine sets this on every call of an HTTP tool.
TOOL_SETS_HEADERS = frozenset({"idempotency-key"})
# Printable ASCII and tabs only: no CR/LF (header injection), no other bytes upstreams mangle.
NOT_HEADER_TEXT = re.compile(r"[^\t\x20-\x7e]")

# Instance metadata and credential services: refused under every policy but one naming the exact
# address. Some are public addresses (Azure's WireServer), so they are checked before anything.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean and others
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS Pod Identity
        "fd00:ec2::23",  # AWS EKS Pod Identity over IPv6
        "168.63.129.16",  # Azure WireServer
        "192.0.0.192",  # Oracle Cloud Classic
        "100.100.100.200",  # Alibaba Cloud
    )
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_problem(address: IPAddress) -> str | None:
    """Why connecting to `address` is refused by default, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(embedded)
            if inner is not None:
                return f"{inner} (embedded in {address})"
    if address in CLOUD_METADATA:
        return "cloud metadata address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local address"
    if address.is_reserved:
        return "reserved address"
    if address.is_private:
        return "private address"
    if not address.is_global:
        return "not a globally routable address"
    return None


@dataclass(frozen=True)
class HttpPolicy:
    """Which non-public targets an HTTP tool may reach.

    `allowed_hosts` holds host names, IP addresses or networks (``"10.1.0.0/16"``) an admin
    allowed explicitly. `allow_private` opens every non-public address except cloud metadata,
    which only an explicit entry of its exact IP address opens. `advice` is added to refusals of
    a non-public address: it names the setting that would allow one.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    advice: str = ""

    def refusal(self, host: str, address: IPAddress) -> str | None:
        problem = address_problem(address)
        if problem is None:
            return None
        if str(address) in self.allowed_hosts:
            return None
        if address in CLOUD_METADATA or "cloud metadata" in problem:
            return problem
        if self.allow_private or host.lower() in self._hosts or self._in_allowed_network(address):
            return None
        return problem

    @property
    def _hosts(self) -> frozenset[str]:
        return frozenset(entry.lower().strip("[]") for entry in self.allowed_hosts)

    def _in_allowed_network(self, address: IPAddress) -> bool:
        for entry in self.allowed_hosts:
            if "/" not in entry:
                continue
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if address.version == network.version and address in network:
                return True
        return False


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ToolFailure(
            ErrorCode.UPSTREAM_ERROR,
            f"could not resolve host {host!r}: {exc.strerror or exc}",
            {"host": host},
            retryable=exc.errno == socket.EAI_AGAIN,
        ) from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ToolFailure(ErrorCode.UPSTREAM_ERROR, f"host {host!r} has no address", {"host": host})
    return addresses


class OutboundRefused(httpx.ConnectError):
    """The policy refused a target before any byte was sent to it."""

    def __init__(self, message: str, *, host: str, reason: str, address: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.reason = reason
        self.address = address


def refusal_message(policy: HttpPolicy, host: str, address: IPAddress, problem: str) -> str:
    message = f"refused to connect to {host!r}: it resolves to a {problem}"
    if policy.advice and "cloud metadata" not in problem:
        message += f"; {policy.advice}"
    return message


async def permitted_addresses(policy: HttpPolicy, host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to, once the policy permits every one of them: the one
    check every outbound connection makes (`ToolFailure` when the name does not resolve,
    `OutboundRefused` naming the first address refused)."""
    addresses = await resolve_host(host, port)
    for address in addresses:
        problem = policy.refusal(host, address)
        if problem is not None:
            raise OutboundRefused(
                refusal_message(policy, host, address, problem),
                host=host,
                reason=problem,
                address=str(address),
            )
    return addresses


ADDRESS_PROBLEM_EXTENSION = "fcstudio.address_problem"


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to addresses the policy permits, and to exactly
    the address it checked.

    Every request (each redirect hop included) resolves its host once, refuses with
    `OutboundRefused` when any resolved address is not permitted, then connects to the checked
    address with the Host header and TLS SNI/certificate check kept on the name. A response from
    a non-public (but permitted) address carries ``ADDRESS_PROBLEM_EXTENSION`` in its extensions,
    so a caller can decline to show what such a server said.
    """

    def __init__(self, policy: HttpPolicy, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.policy = policy
        self._inner = httpx.AsyncHTTPTransport(
            verify=ssl_context or shared_tls_context(), trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise OutboundRefused(
                f"refused a {url.scheme or 'relative'} URL", host="", reason="scheme"
            )
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await permitted_addresses(self.policy, host, port)
        except ToolFailure as exc:
            raise httpx.ConnectError(exc.message, request=request) from None
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host
        for position, address in enumerate(addresses):
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # Host was set from the name when the request was built
                stream=request.stream,
                extensions=extensions,
            )
            try:
                response = await self._inner.handle_async_request(pinned)
            except httpx.ConnectError:
                if position == len(addresses) - 1:
                    raise
                continue
            problem = address_problem(address)
            if problem is not None:
                response.extensions[ADDRESS_PROBLEM_EXTENSION] = problem
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._inner.aclose()


async def refuse_redirect_elsewhere(response: httpx.Response) -> None:
    """A response hook: a redirect to another host, or one carrying user-info, is not followed.

    Headers a client was configured with (API keys among them) would otherwise travel to a host
    nobody configured; the transport still checks every hop that does get followed.
    """
    location = response.headers.get("location")
    if not (response.is_redirect and location):
        return
    current = response.request.url
    try:
        target = current.join(location)
    except Exception:  # an unparsable Location: refuse it like any other bad target
        target = httpx.URL()
    if target.userinfo:
        raise OutboundRefused(
            "refused to follow a redirect that carries credentials in its URL",
            host=current.host,
            reason="redirect with user-info",
        )
    if target.host.lower() != current.host.lower():
        shown = target.host or "an invalid URL"
        raise OutboundRefused(
            f"refused to follow a redirect from {current.host!r} to another host ({shown!r})",
            host=target.host,
            reason="redirect to another host",
        )


_ssl_lock = threading.Lock()
_ssl_context: ssl.SSLContext | None = None


def shared_tls_context() -> ssl.SSLContext:
    """One TLS context for every request (building one costs milliseconds)."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            _ssl_context = httpx.create_ssl_context(trust_env=False)
        return _ssl_context


def reserved_header(name: str, also: Collection[str] = TOOL_SETS_HEADERS) -> bool:
    """Whether the studio sets header `name` itself, so that no configured header may: the
    names every outbound request reserves, and `also` (lower case) those its kind sets."""
    lowered = name.lower()
    if lowered in RESERVED_HEADERS or lowered in also:
        return True
    return lowered.startswith(RESERVED_HEADER_PREFIX)


def header_name_problem(name: str, also: Collection[str] = TOOL_SETS_HEADERS) -> str:
    """What is wrong with a configured header's name, or ``""`` (`also` as `reserved_header`)."""
    if not HEADER_NAME.fullmatch(name):
        return "a header name holds only letters, digits and !#$%&'*+-.^_`|~."
    if reserved_header(name, also):
        return f"the studio sets {name} itself."
    return ""


def header_value_problem(name: str, value: str) -> str:
    """What is wrong with a configured header's value, or ``""``; never quotes the value."""
    if not value:
        return f"give {name} a value."
    if NOT_HEADER_TEXT.search(value):
        return (
            f"the value of {name} has a line break, a control character or a character "
            "outside ASCII."
        )
    return ""


def check_headers(headers: Any) -> dict[str, str]:
    """The configured headers, each name and value checked; ConfigError on the first problem."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError("http headers must be an object of strings", "headers")
    if len(headers) > MAX_HEADERS:
        raise ConfigError(f"At most {MAX_HEADERS} headers; there are {len(headers)}.", "headers")
    seen: set[str] = set()
    for name, value in headers.items():
        problem = header_name_problem(name)
        if problem and reserved_header(name):
            raise ConfigError(f"http headers may not set {name}: {problem}", "headers")
        if not problem and name.lower() in seen:
            problem = f"{name} is given twice (header names ignore case)."
        problem = problem or header_value_problem(name, value)
        if problem:
            raise ConfigError(f"http header {name!r}: {problem}", "headers")
        seen.add(name.lower())
    return dict(headers)


class HttpImplementation:
    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        policy: HttpPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = httpx.URL(url)
        self.method = method.upper()
        self.headers = dict(headers or {})
        self.timeout_s = float(timeout_s)
        self.max_response_bytes = int(max_response_bytes)
        self.policy = policy or HttpPolicy()
        self.ssl_context = ssl_context  # None: the system's trust store

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, policy: HttpPolicy | None = None
    ) -> HttpImplementation:
        if not isinstance(config, Mapping):
            raise ConfigError("http config must be an object")
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"http config has unknown keys: {', '.join(sorted(unknown))}")
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError("http config needs a 'url'", "url")
        try:
            parsed = httpx.URL(url)
        except Exception as exc:
            raise ConfigError(f"http url is not a valid URL: {exc}", "url") from exc
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise ConfigError("http url must be an absolute http:// or https:// URL", "url")
        method = config.get("method", "POST")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise ConfigError(f"http method must be one of {', '.join(METHODS)}", "method")
        headers = check_headers(config.get("headers", {}) or {})
        timeout = config.get("timeout_s", DEFAULT_TIMEOUT_S)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ConfigError("http timeout_s must be a positive number", "timeout_s")
        cap = config.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
        if not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0:
            raise ConfigError(
                "http max_response_bytes must be a positive integer", "max_response_bytes"
            )
        return cls(
            url,
            method=method,
            headers=headers,
            timeout_s=timeout,
            max_response_bytes=cap,
            policy=policy,
        )

    @property
    def secrets(self) -> list[str]:
        """The configured values nothing this tool returns may show: header secrets (the rule
        providers follow), and a password in the URL's user-info with the Basic credential the
        client makes of it."""
        found = header_secrets(self.headers.values())
        password = self.url.password
        if password:
            basic = f"{self.url.username}:{password}".encode()
            found += header_secrets([password, base64.b64encode(basic).decode("ascii")])
        return found

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        """The result, with every echo of a secret redacted from it and from any failure."""
        secrets = self.secrets
        try:
            result = await self._invoke(arguments, context)
        except ToolFailure as exc:
            if not secrets:
                raise
            raise ToolFailure(
                exc.code,
                redact_secrets(exc.message, secrets),
                redact_secrets_in(exc.details, secrets),
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            ) from None
        except Exception as exc:
            if not secrets:
                raise
            # the engine would describe it with str(exc), which may quote a URL or a header
            text = redact_secrets(f"{type(exc).__name__}: {exc}", secrets)
            raise ToolFailure(
                ErrorCode.EXECUTION_ERROR, text, {"exception": type(exc).__name__}
            ) from None
        if not secrets:
            return result
        # in a worker thread: a large result full of "…" marks costs Python work per mark, and
        # the serving loop must not wait for it (the thread yields the interpreter meanwhile)
        return await asyncio.to_thread(redact_secrets_in, result, secrets)

    async def _invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        try:
            async with httpx.AsyncClient(
                verify=self.ssl_context or shared_tls_context(),
                trust_env=False,
                follow_redirects=False,
                timeout=self.timeout_s,
            ) as client:
                return await self._exchange(client, arguments, context)
        except httpx.TimeoutException as exc:
            raise ToolFailure(
                ErrorCode.TIMEOUT,
                f"the HTTP request timed out ({type(exc).__name__})",
                {"timeout_s": self.timeout_s},
                retryable=True,
            ) from exc
        except httpx.TransportError as exc:
            raise ToolFailure(
                ErrorCode.UPSTREAM_ERROR,
                f"connection failed: {type(exc).__name__}: {exc}",
                {},
                retryable=True,
            ) from exc

    async def _exchange(
        self, client: httpx.AsyncClient, arguments: dict[str, Any], context: CallContext
    ) -> Any:
        url = self.url
        method = self.method
        send_body = method in BODY_METHODS
        headers = dict(self.headers)
        origin = _origin(url)
        for hop in range(MAX_REDIRECTS + 1):
            host = url.raw_host.decode("ascii")
            port = url.port or (443 if url.scheme == "https" else 80)
            addresses = await self._checked_addresses(host, port)
            request_headers = {
                **headers,
                "Host": _host_header(host, url.port),
                "Idempotency-Key": context.call_id,
            }
            extensions = {"sni_hostname": host} if url.scheme == "https" else {}
            # arguments travel in the first request only; a Location is followed as given
            first_get = hop == 0 and not send_body
            # a tuple: httpx's list form is invariant in the value type, its tuple form is not
            target = url.copy_merge_params(tuple(query_params(arguments))) if first_get else url
            requests = [
                client.build_request(
                    method,
                    target.copy_with(host=str(address)),
                    headers=request_headers,
                    json=arguments if send_body else None,
                    extensions=extensions,
                )
                for address in addresses
            ]
            response = await self._send_to_first_reachable(client, requests)
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    if hop == MAX_REDIRECTS:
                        raise ToolFailure(
                            ErrorCode.UPSTREAM_ERROR,
                            f"more than {MAX_REDIRECTS} redirects",
                            {"status": response.status_code},
                        )
                    url = _redirect_target(url, location)
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method != "GET"
                    ):
                        method, send_body = "GET", False
                    if _origin(url) != origin:
                        headers = {}
                    continue
                body = await self._read_capped(response)
                return self._result(response, body)
            finally:
                await response.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """The resolved addresses, all of them permitted, or DENIED naming the first that is not."""
        addresses = await resolve_host(host, port)
        for address in addresses:
            problem = self.policy.refusal(host, address)
            if problem is not None:
                raise ToolFailure(
                    ErrorCode.DENIED,
                    refusal_message(self.policy, host, address, problem),
                    {"host": host, "address": str(address), "reason": problem},
                )
        return addresses

    @staticmethod
    async def _send_to_first_reachable(
        client: httpx.AsyncClient, requests: list[httpx.Request]
    ) -> httpx.Response:
        """Try the checked addresses in order (e.g. ::1, then 127.0.0.1 on a dual stack)."""
        for position, request in enumerate(requests):
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError:
                if position == len(requests) - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise _too_large(self.max_response_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise _too_large(self.max_response_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    def _result(self, response: httpx.Response, body: bytes) -> Any:
        status = response.status_code
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if not 200 <= status < 300:
            retryable = status == 429 or 500 <= status <= 599
            raise ToolFailure(
                ErrorCode.UPSTREAM_ERROR,
                f"the upstream answered HTTP {status}",
                # redacted before it is cut: a secret across the cut leaves no unredacted start
                {"status": status, "body": redact_secrets(text, self.secrets)[:ERROR_BODY_CHARS]},
                retryable=retryable,
                retry_after=retry_after_s(response.headers.get("retry-after")),
            )
        if not body:
            return None
        content_type = response.headers.get("content-type", "").lower()
        if "json" in content_type or not content_type:
            try:
                return json.loads(text)
            except ValueError:
                pass
        return text


def _too_large(cap: int) -> ToolFailure:
    return ToolFailure(
        ErrorCode.UPSTREAM_ERROR,
        f"response too large (more than {cap} bytes)",
        {"max_response_bytes": cap},
    )


def _origin(url: httpx.URL) -> tuple[str, bytes, int | None]:
    return (url.scheme, url.raw_host, url.port)


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        target = current.join(location)
    except Exception as exc:
        raise ToolFailure(
            ErrorCode.UPSTREAM_ERROR, "the upstream redirected to an invalid URL", {}
        ) from exc
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise ToolFailure(
            ErrorCode.DENIED,
            f"refused to follow a redirect to a {target.scheme or 'relative'} URL",
            {"reason": "redirect scheme"},
        )
    # user-info in a Location would become an Authorization header on the next hop
    return target.copy_with(userinfo=b"") if target.userinfo else target


def _host_header(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def query_params(arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Arguments as query parameters: lists repeat the key, objects travel as JSON."""
    params: list[tuple[str, str]] = []
    for key, value in arguments.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool):
                params.append((key, "true" if item else "false"))
            elif isinstance(item, (dict, list)):
                params.append((key, json.dumps(item, separators=(",", ":"))))
            else:
                params.append((key, str(item)))
    return params


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
