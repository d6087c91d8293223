"""The pass and release-order lists read plain columns and encode dicts (their hot path): they must
answer exactly what the documented models (PassOut, ReleaseOrderOut) make of the stored rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from central_helpers import Api, ingest, issue_order
from pydantic import TypeAdapter
from sqlalchemy import select

from kakou.central import ingest as central_ingest
from kakou.central import orders
from kakou.central.schemas import Page, PassOut, ReleaseOrderOut
from kakou.central.service import Central
from kakou.central.tables_sync import PassRow
from kakou.sync.messages import Envelope, PassRecord

NOW = datetime.now(UTC).replace(microsecond=0)
PASS = TypeAdapter(PassOut)  # the documented item of GET /api/v1/passes


def _model_page(central: Central, limit: int, offset: int, **filters: str) -> dict:
    total, rows = central_ingest.list_passes(central, limit, offset, **filters)
    items = [PASS.validate_python({k: getattr(r, k) for k in PassOut.__annotations__}) for r in rows]
    page = Page[PassOut](total=total, limit=limit, offset=offset, items=items)
    return json.loads(page.model_dump_json())


def _redelivered(central: Central, node: str, seq: int) -> Envelope:
    with central.read() as s:
        row = s.scalars(select(PassRow).where(PassRow.node == node, PassRow.seq == seq)).one()
    return Envelope(node=node, seq=seq, kind="pass", sent_at=NOW, body=PassRecord.model_validate(row.record))


def test_pass_pages_match_the_model_encoding_with_totals_filtered_or_not(api: Api, central: Central) -> None:
    for i in range(7):  # 4 passes of one plate on two nodes, 2 of another, 1 unread
        plate = "粤B00001" if i < 4 else ("粤B00002" if i < 6 else None)
        ingest(
            central,
            i + 1,
            plate,
            node=f"n{i % 2}",
            gross_kg=1000.5 + i,
            containers=[f"MSKU{i:06d}"],
            at=NOW - timedelta(minutes=i),
        )
    central_ingest.ingest_passes(central, [_redelivered(central, "n1", 2)] * 2)  # absorbed: no new pass
    client = api("alice")
    cases = [
        ({}, 50, 0),
        ({}, 3, 2),
        ({"plate": "粤B00001"}, 2, 0),
        ({"plate": "粤B00001"}, 2, 2),
        ({"plate": "粤B00001", "node": "n1"}, 50, 0),
        ({"plate": "粤B00001"}, 5, 9),  # past the end
        ({"plate": "粤B09999"}, 20, 0),
        ({"node": "n0"}, 20, 0),
        ({"node": "n1"}, 2, 9),
        ({"node": "n9"}, 20, 0),
    ]  # a node's total is its pass count, kept by ingest
    totals = []
    for filters, limit, offset in cases:
        r = client.get("/api/v1/passes", params={"limit": limit, "offset": offset, **filters})
        assert r.status_code == 200, r.text
        assert r.json() == _model_page(central, limit, offset, **filters), (filters, limit, offset)
        totals.append((r.json()["total"], len(r.json()["items"])))
    assert totals == [(7, 7), (7, 3), (4, 2), (4, 2), (2, 2), (4, 0), (0, 0), (4, 4), (3, 0), (0, 0)]
    newest = client.get("/api/v1/passes", params={"plate": "粤B00001", "limit": 1}).json()["items"][0]
    assert newest["record"]["gross_kg"] == 1000.5 and newest["decided_at"].startswith(NOW.isoformat()[:19])


def test_release_order_list_matches_the_model_encoding(api: Api, central: Central) -> None:
    for i in range(3):
        issue_order(
            api,
            {
                "order_no": f"RO{i}",
                "plate": f"粤B1000{i % 2}",
                "direction": "in",
                "containers": [f"MSKU{i:06d}"],
                "declared_gross_kg": 20000 + i,
                "valid_from": (NOW - timedelta(hours=1)).isoformat(),
                "valid_until": (NOW + timedelta(hours=8)).isoformat(),
            },
        )
    client = api("alice")
    adapter = TypeAdapter(list[ReleaseOrderOut])
    queries: list[dict[str, Any]] = [
        {"limit": 50},
        {"limit": 1, "offset": 1},
        {"plate": "粤B10000"},
        {"status": "active"},
        {"status": "draft"},
    ]
    for params in queries:
        r = client.get("/api/v1/release-orders", params=params)
        assert r.status_code == 200, r.text
        rows = orders.list_release_orders(
            central,
            int(params.get("limit", 50)),
            int(params.get("offset", 0)),
            params.get("plate"),
            params.get("status"),
        )
        assert r.json() == json.loads(adapter.dump_json([ReleaseOrderOut.model_validate(o) for o in rows])), params
    assert [o["order_no"] for o in client.get("/api/v1/release-orders", params={"plate": "粤B10000"}).json()] == [
        "RO2",
        "RO0",
    ]
    assert client.get("/api/v1/release-orders", params={"limit": 1}).json()[0]["declared_gross_kg"] == 20002.0
