"""The TLS option: our Mosquitto (production config: passwords, ACL) with a TLS listener.

A throwaway CA and broker certificate are made here with `cryptography`; nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import ssl
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from sync_harness import CentralProc, EdgeProc, both_ways

from kakou.broker import MosquittoBroker, TlsFiles
from kakou.enrol import central_user, enrol_node
from kakou.netutil import free_port
from kakou.sync.mqtt import BrokerConfig


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def make_tls(d: Path) -> TlsFiles:
    """A CA and a broker certificate for 127.0.0.1 / localhost, valid for a day."""
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kakou test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(d / "ca.crt", d / "broker.crt", d / "broker.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, files.key)
    return files


async def test_edge_and_central_over_tls_and_a_client_without_the_ca_is_refused(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    tls = make_tls(tmp_path / "tls")
    pw = tmp_path / "passwd"
    _p, secret = central_user(pw, tmp_path / "central")
    node = enrol_node("n1", tmp_path / "nodes", pw, tls_ca=tls.ca)  # the node's config names the CA
    broker = MosquittoBroker(free_port(), tmp_path / "broker", template="secure.conf", password_file=pw, tls=tls)
    await broker.start()
    user, password = secret.read_text().strip().split(":", 1)
    central_cfg = BrokerConfig(port=broker.port, username=user, password=password, tls_ca=tls.ca)
    node_cfg = BrokerConfig.model_validate({**tomllib.loads(node.config.read_text())["broker"], "port": broker.port})
    assert node_cfg.tls_ca is not None and node_cfg.tls_ca.read_bytes() == tls.ca.read_bytes()
    central = await CentralProc.start(tmp_path / "central.db", central_cfg, key)
    edge = EdgeProc.open("n1", tmp_path / "n1.db", node_cfg, [key]).start()
    try:
        await both_ways(central, edge, "over TLS")

        # The right password but no CA to trust the broker with (the system's CAs), or another CA
        # entirely: refused at the handshake.
        other = make_tls(tmp_path / "other")
        for identifier, context in (
            ("no-ca", ssl.create_default_context()),
            ("wrong-ca", ssl.create_default_context(cafile=str(other.ca))),
        ):
            with pytest.raises(aiomqtt.MqttError, match=r"(?i)certificate"):
                async with aiomqtt.Client(
                    "127.0.0.1",
                    broker.port,
                    username="n1",
                    password=node.password,
                    identifier=identifier,
                    tls_context=context,
                    timeout=5,
                ):
                    pass
        # Plain MQTT on the TLS listener gets no session.
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username="n1", password=node.password, identifier="plain", timeout=5
            ):
                pass
        assert central.count("n1") == 3
    finally:
        await edge.stop()
        await central.stop()
        await broker.stop()
