"""Ed25519 signatures on change batches: only central can tell a lane what to release.

Central holds the private key; every edge is configured with central's public key(s). A key id
travels with each batch so keys can be rotated: edges trust every key listed in their config
until the old one is removed.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kakou.sync.messages import ChangeBatch


class SignatureError(Exception):
    """A batch that is unsigned, signed by an unknown key, or tampered with."""


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip()))


def load_or_create_private(path: Path) -> Ed25519PrivateKey:
    """Central's signing key; created once (mode 0600) so restarts keep the same identity."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SignatureError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return key


def sign(batch: ChangeBatch, private: Ed25519PrivateKey) -> ChangeBatch:
    unsigned = batch.model_copy(update={"key_id": key_id(private.public_key()), "signature": ""})
    sig = private.sign(unsigned.signing_bytes())
    return unsigned.model_copy(update={"signature": base64.b64encode(sig).decode()})


def verify(batch: ChangeBatch, trusted: dict[str, Ed25519PublicKey]) -> None:
    """Raise SignatureError unless `batch` carries a valid signature by one of `trusted`."""
    if not batch.signature:
        raise SignatureError("unsigned change batch")
    public = trusted.get(batch.key_id)
    if public is None:
        raise SignatureError(f"change batch signed by unknown key {batch.key_id!r}")
    try:
        public.verify(base64.b64decode(batch.signature), batch.signing_bytes())
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("change batch signature does not verify (tampered?)") from exc
