"""Lane officer PINs as they travel and are stored: a salted scrypt hash, never the PIN. Central
hashes a PIN it issues (kakou.central.lane_officers), the lane checks one against it
(kakou.edge.officers): the format is part of the contract, so it lives here."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, salt_hex, _ = stored.split("$")
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(hash_pin(pin, bytes.fromhex(salt_hex)), stored)
