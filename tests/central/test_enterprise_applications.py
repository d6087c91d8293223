"""Enterprise users (declarants, 002 申请): apply for release orders and vehicle changes of their own
enterprise, follow status and a refusal's reason, attach files; officers review them from the queue.
Another enterprise's order, and every officer endpoint, are refused with a clear 403."""

from __future__ import annotations

import hashlib

import pytest
from central_helpers import PASSWORD, Api, order_json

from kakou.central import auth
from kakou.central.auth import Role
from kakou.central.service import Central

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def declarants(central: Central, users: dict, api: Api) -> Api:
    for name, ent in (("acme1", "ACME-4403"), ("acme2", "ACME-4403"), ("beta1", "BETA-3301"), ("nobody", None)):
        auth.add_user(central, "test-setup", name, Role.DECLARANT, PASSWORD)
        r = api("admin").put(f"/api/v1/users/{name}/enterprise", json={"enterprise": ent})
        assert r.status_code == 204, r.text
    return api


def _order(no: str, plate: str = "粤B11111") -> dict:
    return order_json(no, plate, "out", hours=4)


def test_declarant_applies_follows_status_and_refusals_officers_review_from_the_queue(declarants: Api) -> None:
    api = declarants
    acme, rita, bob = api("acme1"), api("rita"), api("bob")
    a = acme.post("/api/v1/applications/release-orders", json=_order("SQ-1"))
    assert a.status_code == 201 and (a.json()["status"], a.json()["enterprise"]) == ("draft", "ACME-4403")
    assert acme.post("/api/v1/applications/release-orders", json=_order("SQ-2")).status_code == 201
    queue = rita.get("/api/v1/applications/queue").json()
    assert [(q["kind"], q["order_no"], q["applied_by"]) for q in queue] == [
        ("release_order", "SQ-1", "acme1"),
        ("release_order", "SQ-2", "acme1"),
    ]

    refused = rita.post("/api/v1/release-orders/SQ-1/review", json={"approve": False, "note": "随附单据不全"})
    assert refused.status_code == 200
    assert rita.post("/api/v1/release-orders/SQ-2/review", json={"approve": True}).json()["status"] == "active"
    mine = {x["order_no"]: x for x in api("acme2").get("/api/v1/applications").json()}  # same enterprise
    assert (mine["SQ-1"]["status"], mine["SQ-1"]["refusal_reason"]) == ("rejected", "随附单据不全")
    assert (mine["SQ-2"]["status"], mine["SQ-2"]["refusal_reason"]) == ("active", None)

    # A vehicle change: asked by the enterprise, refused with a reason, asked again, approved.
    ch = acme.post("/api/v1/applications/release-orders/SQ-2/vehicle", json={"plate": "粤B22222", "reason": "车辆故障"})
    assert ch.status_code == 200 and ch.json()["pending_plate"] == "粤B22222"
    assert [(q["kind"], q["new_plate"]) for q in rita.get("/api/v1/applications/queue").json()] == [
        ("vehicle_change", "粤B22222")
    ]
    assert acme.post("/api/v1/release-orders/SQ-2/vehicle/review", json={"approve": True}).status_code == 403
    rita.post("/api/v1/release-orders/SQ-2/vehicle/review", json={"approve": False, "note": "新车未备案"})
    got = acme.get("/api/v1/applications/release-orders/SQ-2").json()
    assert got["pending_plate"] is None and got["plate"] == "粤B11111"
    assert (got["vehicle_review"]["approved"], got["vehicle_review"]["note"]) == (False, "新车未备案")
    acme.post("/api/v1/applications/release-orders/SQ-2/vehicle", json={"plate": "粤B33333", "reason": "换车"})
    assert bob.post("/api/v1/release-orders/SQ-2/vehicle/review", json={"approve": True}).status_code == 200
    got = acme.get("/api/v1/applications/release-orders/SQ-2").json()
    assert got["plate"] == "粤B33333" and got["vehicle_review"]["approved"] is True
    assert rita.get("/api/v1/applications/queue").json() == []


def test_another_enterprise_and_officer_endpoints_are_refused(declarants: Api) -> None:
    api = declarants
    assert api("acme1").post("/api/v1/applications/release-orders", json=_order("SQ-9")).status_code == 201
    api("rita").post("/api/v1/release-orders/SQ-9/review", json={"approve": True})
    beta = api("beta1")
    for r in (
        beta.get("/api/v1/applications/release-orders/SQ-9"),
        beta.post("/api/v1/applications/release-orders/SQ-9/vehicle", json={"plate": "粤B9", "reason": "x"}),
        beta.post(
            "/api/v1/applications/release-orders/SQ-9/attachments",
            params={"filename": "a.pdf"},
            content=PDF,
            headers={"Content-Type": "application/pdf"},
        ),
    ):
        assert r.status_code == 403 and "not an application of enterprise BETA-3301" in r.json()["title"]
    assert beta.get("/api/v1/applications").json() == []
    for r in (
        beta.get("/api/v1/release-orders"),
        beta.get("/api/v1/declarations"),
        beta.get("/api/v1/passes"),
        beta.post("/api/v1/release-orders", json=_order("SQ-X")),
        beta.get("/api/v1/applications/queue"),
    ):
        assert r.status_code == 403, r.url
    assert "企业用户" in beta.get("/api/v1/release-orders").json()["title"]
    r = api("nobody").post("/api/v1/applications/release-orders", json=_order("SQ-N"))
    assert r.status_code == 403 and "belongs to no enterprise" in r.json()["title"]
    every = api("alice").get("/api/v1/applications").json()  # an officer: every enterprise's applications
    assert [(a["order_no"], a["enterprise"]) for a in every] == [("SQ-9", "ACME-4403")]
    assert api("admin").put("/api/v1/users/ghost/enterprise", json={"enterprise": "X"}).status_code == 404
    assert api("admin").put("/api/v1/users/acme1/enterprise", json={"enterprise": "no spaces"}).status_code == 422
    assert api("alice").get("/api/v1/release-orders/SQ-N").status_code == 404  # nothing half-stored


def test_attachments_are_bounded_by_type_and_size_and_scoped(declarants: Api) -> None:
    api = declarants
    acme = api("acme1")
    acme.post("/api/v1/applications/release-orders", json=_order("SQ-5"))
    up = acme.post(
        "/api/v1/applications/release-orders/SQ-5/attachments",
        params={"filename": "../../发票 01.pdf"},
        content=PDF,
        headers={"Content-Type": "application/pdf"},
    )
    assert up.status_code == 201, up.text
    att = up.json()
    assert (att["filename"], att["size"], att["sha256"]) == ("发票 01.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    for who in ("acme2", "rita", "alice"):
        got = api(who).get(f"/api/v1/applications/attachments/{att['id']}")
        assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert api("beta1").get(f"/api/v1/applications/attachments/{att['id']}").status_code == 403
    assert api("fred").get(f"/api/v1/applications/attachments/{att['id']}").status_code == 403  # field staff

    def send(data: bytes, ctype: str) -> int:
        return acme.post(
            "/api/v1/applications/release-orders/SQ-5/attachments",
            params={"filename": "f"},
            content=data,
            headers={"Content-Type": ctype},
        ).status_code

    assert send(b"MZ\x90\x00 an exe", "application/x-msdownload") == 422
    assert send(PDF, "image/png") == 422  # the content is not what it says
    assert send(PNG, "image/png") == 201
    assert send(b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf") == 422  # just over 5 MiB
    assert send(b"%PDF-" + b"0" * (6 * 1024 * 1024), "application/pdf") == 413  # refused before it is read
    assert [a["filename"] for a in acme.get("/api/v1/applications/release-orders/SQ-5").json()["attachments"]] == [
        "发票 01.pdf",
        "f",
    ]
    assert api("rita").get("/api/v1/applications/queue").json()[0]["attachments"] == 2
