"""Lane officer login by PIN: salted scrypt hashes in the config, short-lived session tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from kakou.edge.config import OfficerSection

TOKEN_TTL_S = 8 * 3600  # one shift


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


@dataclass
class OfficerSessions:
    officers: dict[str, OfficerSection]
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def login(self, officer_id: str, pin: str) -> str | None:
        officer = self.officers.get(officer_id)
        if officer is None or not check_pin(pin, officer.pin_hash):
            return None
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (officer_id, time.monotonic() + TOKEN_TTL_S)
        return token

    def verify(self, officer_id: str, pin: str) -> bool:
        """The officer exists and this is their PIN (a confirmation: no session is opened)."""
        officer = self.officers.get(officer_id)
        return officer is not None and check_pin(pin, officer.pin_hash)

    def logout(self, token: str) -> None:
        self._tokens.pop(token, None)

    def officer_for(self, token: str) -> str | None:
        entry = self._tokens.get(token)
        if entry is None or entry[1] < time.monotonic():
            self._tokens.pop(token, None)
            return None
        return entry[0]
