"""Lane officer PINs at central's API (issue 15): the security administrator issues, changes and
revokes them; PINs are six to eight digits and not trivial; neither PIN nor hash is ever shown."""

from __future__ import annotations

from central_helpers import PASSWORD, Api

from kakou.central import auth
from kakou.central.auth import Role
from kakou.central.service import Central


def test_the_security_administrator_manages_lane_pins(api: Api, central: Central) -> None:
    auth.add_user(central, "cli", "sec", Role.SECURITY_ADMIN, PASSWORD)
    sec = api("sec")
    r = sec.put("/api/v1/lane-officers/officer7", json={"name": "李雷", "pin": "482915"})
    assert r.status_code == 200, r.text
    assert r.json()["officer"] == "officer7" and "pin" not in r.text and "scrypt" not in r.text
    for pin in ("1234", "123456", "666666", "12345a", "987654"):
        assert sec.put("/api/v1/lane-officers/officer7", json={"pin": pin}).status_code == 422, pin
    assert sec.put("/api/v1/lane-officers/bad%20id", json={"pin": "482915"}).status_code == 422
    listed = sec.get("/api/v1/lane-officers").json()
    assert listed == [
        {
            "officer": "officer7",
            "name": "李雷",
            "revoked": False,
            "changed_at": listed[0]["changed_at"],
            "version": listed[0]["version"],
        }
    ]
    assert sec.post("/api/v1/lane-officers/officer7/revoke").json()["revoked"] is True
    assert sec.post("/api/v1/lane-officers/nobody/revoke").status_code == 404
    # Not an officer's or a reviewer's business; and the audit log has who did it, never the hash.
    assert api("alice").put("/api/v1/lane-officers/officer8", json={"pin": "482915"}).status_code == 403
    entries = api("admin").get("/api/v1/audit", params={"target": "lane_officer:officer7"}).json()
    assert [e["action"] for e in entries] == ["lane_officer.revoke", "lane_officer.pin"]
    assert all("scrypt" not in str(e["detail"]) and "482915" not in str(e["detail"]) for e in entries)
