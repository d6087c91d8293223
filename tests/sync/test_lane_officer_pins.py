"""Lane officer PINs managed at central (issue 15): issued, changed and revoked there, reaching the
lane through the signed downlink (a real broker) as salted hashes only; the lane's logins follow."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import central_and_edge

from kakou.broker import MosquittoBroker
from kakou.central import lane_officers
from kakou.central.lane_officers import LaneOfficerIn
from kakou.central.tables_sync import ChangeRow
from kakou.edge.config import OfficerSection
from kakou.edge.officers import OfficerSessions, hash_pin
from kakou.waiting import eventually

PIN, NEW_PIN = "246813", "975312"


async def test_a_pin_issued_changed_and_revoked_at_central_rules_the_lane_logins(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    async with central_and_edge(mosquitto, tmp_path, key) as (central, edge):
        # The lane's config file has an officer of the same id: central's word overrides it.
        local = {"officer9": OfficerSection(id="officer9", name="old", pin_hash=hash_pin("111111"))}
        sessions = OfficerSessions(local, lookup=edge.store.officer_pin)
        assert sessions.login("officer9", "111111")  # before central manages them: the config file
        v = lane_officers.set_pin(central.central, "sec", "officer9", LaneOfficerIn(name="王芳", pin=PIN)).version
        await eventually(lambda: edge.store.knowledge_version >= v, 15, what="the PIN at the lane")
        assert sessions.login("officer9", "111111") is None
        token = sessions.login("officer9", PIN)
        assert token and sessions.officer_for(token) == "officer9"
        # Only the salted hash travelled and is kept, at central and at the lane.
        stored = edge.store.query("SELECT data FROM knowledge WHERE kind = 'officer'")[0][0]
        assert PIN not in stored and '"pin_hash": "scrypt$' in stored
        with central.central.sessions() as s:
            assert all(PIN not in str(r.data) for r in s.query(ChangeRow))

        v = lane_officers.set_pin(central.central, "sec", "officer9", LaneOfficerIn(name="王芳", pin=NEW_PIN)).version
        await eventually(lambda: edge.store.knowledge_version >= v, 15, what="the new PIN at the lane")
        assert sessions.login("officer9", PIN) is None
        assert sessions.login("officer9", NEW_PIN)

        v = lane_officers.revoke(central.central, "sec", "officer9").version
        await eventually(lambda: edge.store.knowledge_version >= v, 15, what="the revocation at the lane")
        assert sessions.officer_for(token) is None  # the open session ends
        assert sessions.login("officer9", NEW_PIN) is None
        assert sessions.login("officer9", "111111") is None  # nor does the config file's entry come back
        assert [(o.officer, o.revoked) for o in lane_officers.list_officers(central.central)] == [("officer9", True)]
