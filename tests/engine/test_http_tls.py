"""HTTPS to a pinned address: the connection goes to the checked IP while TLS verifies the name.

A local TLS server on 127.0.0.1 presents a certificate for ``api.example.test`` only (not for
the IP), signed by a throwaway CA; the request succeeds only if SNI and the certificate check
use the host name while the socket connects to the resolved address.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tools_app.engine import ErrorCode, HttpImplementation, HttpPolicy, execute_batch_sync
from tools_app.engine.implementations import http as http_impl

from .support import call, echo_spec
from .test_http_impl import Handler

NAME = "api.example.test"


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, ssl.SSLContext]]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fcstudio test CA")])
    ca_cert = _certificate("fcstudio test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(NAME, key, ca_name, ca_key, ca=False)
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits = []  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    client_context = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    try:
        yield server, client_context
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pinned_resolver(monkeypatch):
    async def resolve(host: str, port: int):
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(http_impl, "resolve_host", resolve)


def https_call(url: str, context: ssl.SSLContext):
    impl = HttpImplementation(
        url, policy=HttpPolicy(allowed_hosts=frozenset({NAME})), ssl_context=context
    )
    [result] = execute_batch_sync(
        [call("call_tls", "remote", {"q": 1})], [echo_spec("remote", implementation=impl)]
    ).results
    return result


def test_https_connects_to_the_checked_ip_and_verifies_the_host_name(tls_upstream, pinned_resolver):
    server, context = tls_upstream
    result = https_call(f"https://{NAME}:{server.server_address[1]}/echo", context)
    assert result.ok, result.content
    assert result.result["host"] == f"{NAME}:{server.server_address[1]}"
    assert result.result["idempotency_key"] == "call_tls"


def test_a_certificate_for_another_name_is_refused(tls_upstream, monkeypatch):
    server, context = tls_upstream

    async def resolve(host: str, port: int):
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(http_impl, "resolve_host", resolve)
    impl = HttpImplementation(
        f"https://other.example.test:{server.server_address[1]}/echo",
        policy=HttpPolicy(allowed_hosts=frozenset({"other.example.test"})),
        ssl_context=context,
    )
    [result] = execute_batch_sync(
        [call("c1", "remote")], [echo_spec("remote", implementation=impl)]
    ).results
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert server.hits == []  # type: ignore[attr-defined]
