"""TLS stays verified for every base URL; plain http is refused unless the host is loopback.

The server is real: HTTPS with a self-signed certificate on this machine's non-loopback address
(and on loopback), so the client's refusal comes from certificate verification in a real
handshake. Trusting the certificate makes the same client succeed, which shows the refusal was
verification and nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acdflow.eightbyeight import ApiError, ConfigurationError, EightByEightClient, EightByEightSettings
from acdflow.eightbyeight.settings import settings_from_connection
from tests.client.scripted_server import AGENTS_PATH, TOKEN_PATH, Answer, Script, serve

SECRET = "tls-test-secret-5531"
EXTRA = {"region": "us", "timezone": "UTC"}


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # TEST-NET-1: routing only, UDP connect sends nothing
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    ip = ipaddress.ip_address(address)
    return None if ip.is_loopback or ip.is_unspecified else address


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def self_signed(directory: Path, addresses: list[str]) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acdflow test 8x8")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_path, key_path)


HOSTS = ["127.0.0.1", non_loopback_address()]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("tls"), [h for h in HOSTS if h])


@pytest.fixture(params=HOSTS, ids=["loopback", "non-loopback"])
def https_8x8(request: pytest.FixtureRequest, certificate: Certificate) -> Iterator[tuple[str, Script]]:
    host = request.param
    if host is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    script = Script()
    script.add(AGENTS_PATH, Answer(body=[], headers={"X-Total-Pages": "0"}))
    with serve(script, host=host, tls=certificate.server_context()) as url:
        yield url, script


def _no_ca_bundle_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


def _clients(url: str) -> dict[str, EightByEightClient]:
    """The ways a client gets configured; none may switch verification off."""
    direct = EightByEightSettings(
        "id", SECRET, "us", "UTC", base_url=url, max_attempts=2, backoff_base_s=0.001
    )
    # Extras that would disable verification in other tools are not settings of this one.
    extra: dict[str, Any] = {**EXTRA, "verify": False, "verify_ssl": "false", "insecure": True, "ssl": "off"}
    from_connection = settings_from_connection("id", SECRET, url, extra, conn_id="eightbyeight_tls")
    return {"direct": EightByEightClient(direct), "connection": EightByEightClient(from_connection)}


def test_an_untrusted_certificate_is_refused_at_once_for_every_configuration(
    https_8x8: tuple[str, Script], certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = https_8x8
    _no_ca_bundle_from_environment(monkeypatch)
    for how, client in _clients(url).items():
        with client, pytest.raises(ApiError) as caught:
            client.check_access()
        message = str(caught.value)
        assert "TLS verification failed" in message, how
        assert SECRET not in message
        assert client.stats.requests_sent == 1, how  # a certificate problem is not retried
    assert script.requests == []  # no request ever got past the handshake

    # The same clients succeed once the certificate is trusted: the refusal was verification.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate.cert_path))
    for client in _clients(url).values():
        with client:
            client.check_access()
    assert [p for _, p, _ in script.requests] == [TOKEN_PATH, AGENTS_PATH] * 2


def test_an_empty_ca_bundle_variable_does_not_switch_verification_off(
    https_8x8: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = https_8x8
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    with _clients(url)["direct"] as client, pytest.raises(ApiError, match="TLS verification failed"):
        client.authenticate()
    assert script.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://api.8x8.com",
        "HTTP://api.8x8.com",
        "http://10.0.0.5:8808",
        "http://192.0.2.2:8808",
        "http://0.0.0.0:8808",
        "http://127.0.0.1.nip.io:8808",
        "http://localhost.evil.example:8808",
        "http://[::ffff:10.0.0.1]:8808",
        "http://2130706433:8808",  # 127.0.0.1 written as one number: not recognised, so refused
    ],
)
def test_plain_http_to_anything_but_loopback_is_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as direct:
        EightByEightSettings("id", SECRET, "us", "UTC", base_url=url)
    with pytest.raises(ConfigurationError) as connection:
        settings_from_connection("id", SECRET, url, EXTRA, conn_id="eightbyeight_acme")
    assert direct.value.fields == ("base_url",)
    assert connection.value.fields == ("host",)
    for error in (direct.value, connection.value):
        assert "plain http would expose the client secret and tokens; use https" in str(error)
        assert SECRET not in str(error)
    assert "Airflow connection 'eightbyeight_acme'" in str(connection.value)
