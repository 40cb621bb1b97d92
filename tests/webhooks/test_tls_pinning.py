"""The pinned connection with TLS, against a real https receiver on 127.0.0.1: the delivery connects to the
address the guard checked while TLS sends the URL's name (SNI) and checks the certificate against that name,
not the address. (The guard is told to take 127.0.0.1 as public here: it is the only address a test may
connect to.)"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts.models import User
from tests.factories import ItemFactory, ListFactory
from tests.webhooks.conftest import LoopbackOnlyTransport, StubResolver, make_webhook
from tests.webhooks.receiver import Receiver, running
from webhooks import delivery, guard
from webhooks.delivery import deliver_due
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "hooks.example.com"


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch, resolver: StubResolver) -> None:
    refused = guard.refused_address
    stand_in = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(guard, "refused_address", lambda address: address != stand_in and refused(address))
    resolver.names[NAME] = ["127.0.0.1"]


@pytest.fixture
def https_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Receiver, list[Any]]]:
    """An https receiver whose certificate names NAME (trusted by the delivery client, nothing else), and
    the server names its clients asked for (SNI)."""
    cert, key = _certificate(tmp_path, NAME)
    server_names: list[Any] = []
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)

    def note_name(sock: Any, name: str | None, context: Any) -> None:
        server_names.append(name)

    server.sni_callback = note_name
    trusted = ssl.create_default_context(cafile=str(cert))

    class Trusting(LoopbackOnlyTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport(retries=0, verify=trusted)

    monkeypatch.setattr(delivery, "make_transport", Trusting)
    delivery.close_transports()
    with running(tls=server) as receiver:
        yield receiver, server_names


def _an_event(user: User, url: str) -> None:
    make_webhook(user, url, ["item.created"])
    ItemFactory(list=ListFactory(user=user), user=user)


@pytest.mark.usefixtures("loopback_is_public")
def test_the_pinned_address_is_reached_with_the_names_sni_host_and_certificate(
    user: User, https_receiver: tuple[Receiver, list[Any]]
) -> None:
    receiver, server_names = https_receiver
    _an_event(user, f"https://{NAME}:{receiver.port}/hook")
    assert deliver_due() == 1
    [request] = receiver.wait_for(1)
    assert request.headers["host"] == f"{NAME}:{receiver.port}"
    assert server_names == [NAME]
    assert Delivery.objects.get().status == "succeeded"


@pytest.mark.usefixtures("loopback_is_public")
def test_a_certificate_for_another_name_fails_although_the_address_is_the_checked_one(
    user: User, https_receiver: tuple[Receiver, list[Any]], resolver: StubResolver
) -> None:
    receiver, _ = https_receiver
    resolver.names["other.example.com"] = ["127.0.0.1"]
    _an_event(user, f"https://other.example.com:{receiver.port}/hook")
    assert deliver_due() == 1
    assert receiver.count == 0
    delivery_row = Delivery.objects.get()
    assert (delivery_row.status, delivery_row.attempts, delivery_row.last_status_code) == ("pending", 1, None)
    assert "certificate" in delivery_row.last_error.lower()
