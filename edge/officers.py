"""Lane officer login by PIN: salted scrypt hashes in the config, short-lived session tokens."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kakou.edge.config import OfficerSection
from kakou.sync.knowledge import OfficerPin
from kakou.sync.pins import check_pin, hash_pin

TOKEN_TTL_S = 8 * 3600  # one shift


# PIN guessing: an officer id is locked after LOCK_AFTER wrong PINs in a row for LOCK_FOR_S, and the
# node as a whole takes at most NODE_FAILURES wrong PINs per NODE_WINDOW_S (whoever they are for):
# all 10,000 four-digit PINs would take weeks instead of minutes.
LOCK_AFTER = 5
LOCK_FOR_S = 15 * 60
NODE_FAILURES = 10
NODE_WINDOW_S = 60.0
_DUMMY = hash_pin("0000", b"kakou-no-officer")  # an unknown officer costs the same scrypt as a known one


class PinLocked(Exception):
    """Too many wrong PINs: no login for `retry_after` seconds (answered 429)."""

    def __init__(self, retry_after: float, who: str) -> None:
        super().__init__(f"{who}: 错误次数过多，请 {int(retry_after // 60) + 1} 分钟后再试 / too many wrong PINs")
        self.retry_after = retry_after


@dataclass
class OfficerSessions:
    officers: dict[str, OfficerSection]
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    # Officers central manages (issued, changed, revoked; kakou.central.lane_officers), from the
    # node's knowledge: they take precedence over an officer of the same id in the config file.
    lookup: Callable[[str], OfficerPin | None] | None = None
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # officer → (in a row, locked until)
    _node_failures: list[float] = field(default_factory=list)  # times of the node's recent wrong PINs

    def login(self, officer_id: str, pin: str) -> str | None:
        if not self._attempt(officer_id, pin):
            return None
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (officer_id, time.monotonic() + TOKEN_TTL_S)
        return token

    def _attempt(self, officer_id: str, pin: str) -> bool:
        """Check an officer's PIN under the lockouts (raises PinLocked); a wrong one counts."""
        now = self.clock()
        self._node_failures = [t for t in self._node_failures if now - t < NODE_WINDOW_S]
        if len(self._node_failures) >= NODE_FAILURES:
            raise PinLocked(NODE_WINDOW_S - (now - self._node_failures[0]), "本车道终端 / this lane node")
        count, until = self._failures.get(officer_id, (0, 0.0))
        if until > now:
            raise PinLocked(until - now, officer_id)
        officer = self.officer(officer_id)
        ok = check_pin(pin, officer.pin_hash if officer else _DUMMY)
        if officer is None or not ok:
            self._node_failures.append(now)
            count += 1
            if len(self._failures) > 10_000:
                self._failures.clear()  # made-up ids must not grow memory without bound
            self._failures[officer_id] = (0, now + LOCK_FOR_S) if count >= LOCK_AFTER else (count, 0.0)
            return False
        self._failures.pop(officer_id, None)
        return True

    def verify(self, officer_id: str, pin: str) -> bool:
        """The officer exists and this is their PIN (a second officer's confirmation: no session is
        opened), under the same lockouts as a login (raises PinLocked)."""
        return self._attempt(officer_id, pin)

    def logout(self, token: str) -> None:
        self._tokens.pop(token, None)

    def officer_for(self, token: str) -> str | None:
        entry = self._tokens.get(token)
        if entry is None or entry[1] < time.monotonic() or self.officer(entry[0]) is None:  # revoked: ends
            self._tokens.pop(token, None)
            return None
        return entry[0]

    def officer(self, officer_id: str) -> OfficerSection | None:
        """The officer as central last said (revoked: None), else as the config file says."""
        central = self.lookup(officer_id) if self.lookup is not None else None
        if central is not None:
            if central.revoked or not central.pin_hash:
                return None
            return OfficerSection(id=officer_id, name=central.name, pin_hash=central.pin_hash)
        return self.officers.get(officer_id)
