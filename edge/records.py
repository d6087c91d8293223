"""What the lane keeps besides passes: interventions, images on disk, cache lookups, statistics.

Tables live in the node's SQLite store (edge/store.py) beside passes and the outbox.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.edge.decision import Knowledge, Parameters
from kakou.edge.inspections import latest_mark
from kakou.edge.knowledge import (
    KIND_APPOINTMENT,
    KIND_CARRIER,
    KIND_CONTAINER,
    KIND_CONTROL_ORDER,
    KIND_DRIVER,
    KIND_LANE,
    KIND_TRANSIT,
    KIND_VEHICLE,
    KIND_YARD,
    AppointmentReg,
    CarrierReg,
    ContainerReg,
    ControlOrder,
    DriverReg,
    EntryWeighing,
    LaneSettingsView,
    OtherOrder,
    TransitView,
    VehicleReg,
    YardReg,
    parse_release_orders,
    parse_rows,
)
from kakou.edge.store import EdgeStore
from kakou.sync import rates
from kakou.sync.checks import DEVICE_CODES, failed_with
from kakou.sync.knowledge import RiskRule

Action = Literal[
    "login", "manual_entry", "override", "inspection_result", "release_on_documents", "backfill", "control_disposal"
]  # central disposed of a control-order hit and released the vehicle


class Intervention(BaseModel):
    """Any officer action that replaced an automatic step (人工干预): who, when, why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    lane: str
    pass_id: str | None
    officer: str
    action: Action
    reason: str
    data: dict[str, Any] = Field(default_factory=dict)


class LaneRecords:
    def __init__(self, store: EdgeStore, image_dir: Path) -> None:
        self.store = store
        self.image_dir = image_dir

    # -- knowledge lookups ----------------------------------------------------------------
    def knowledge_for(
        self,
        plate: str | None,
        ic_card: str | None,
        containers: list[str] | tuple[str, ...] = (),
        entry_weighing: bool = False,
        yard: str | None = None,
    ) -> Knowledge:
        """The cache slice for one vehicle. `entry_weighing`: also its weighing on entry here (the
        measured tare of an exit lane), if its last weighed pass at this node was a release inward."""
        q = self.store.query
        with self.store.tx():  # one consistent snapshot of the cache and its version
            version = self.store.knowledge_version
            orders = (
                parse_release_orders(
                    q("SELECT data FROM knowledge WHERE kind = 'release_order' AND plate = ?", (plate,))
                )
                if plate
                else []
            )
            controls = parse_rows(ControlOrder, q("SELECT data FROM knowledge WHERE kind = ?", (KIND_CONTROL_ORDER,)))
            vehicle = None
            if plate:
                vs = parse_rows(
                    VehicleReg, q("SELECT data FROM knowledge WHERE kind = ? AND plate = ?", (KIND_VEHICLE, plate))
                )
                vehicle = vs[0] if vs else None
            carrier_grade = None
            if vehicle is not None and vehicle.carrier:
                rows = q(
                    "SELECT json_extract(data, '$.credit_grade') FROM knowledge WHERE kind = 'carrier' AND key = ?",
                    (vehicle.carrier,),
                )
                carrier_grade = rows[0][0] if rows else None
            rules = parse_rows(RiskRule, q("SELECT data FROM knowledge WHERE kind = 'risk_rule'"))
            driver = None
            if ic_card:
                ds = parse_rows(
                    DriverReg,
                    q(
                        "SELECT data FROM knowledge WHERE kind = ? AND json_extract(data, '$.ic_card') = ?",
                        (KIND_DRIVER, ic_card),
                    ),
                )
                driver = ds[0] if ds else None
            boxes = (
                parse_rows(
                    ContainerReg,
                    q(
                        f"SELECT data FROM knowledge WHERE kind = ? AND key IN ({','.join('?' * len(containers))})",
                        (KIND_CONTAINER, *containers),
                    ),
                )
                if containers
                else []
            )
            entry = self._entry_weighing(plate) if entry_weighing and plate else None
            transits = self.transits_for(plate, containers)
            inspected = latest_mark(q, plate, datetime.now(UTC))
            legality = self._legality(vehicle, plate, containers, yard)
        return Knowledge(
            version=version,
            release_orders=orders,
            control_orders=controls,
            vehicle=vehicle,
            driver=driver,
            carrier_grade=carrier_grade,
            risk_rules=rules,
            containers=boxes,
            entry_weighing=entry,
            transits=transits,
            inspection=inspected,
            **legality,
        )

    def transits_for(self, plate: str | None, containers: list[str] | tuple[str, ...] = ()) -> list[TransitView]:
        """The open transits (转关) to this site of this plate or carrying one of these containers."""
        marks = ",".join("?" * len(containers))
        by_box = (
            f" OR EXISTS (SELECT 1 FROM json_each(data, '$.containers') WHERE value IN ({marks}))" if containers else ""
        )
        return parse_rows(
            TransitView,
            self.store.query(
                f"SELECT data FROM knowledge WHERE kind = ? AND (plate = ?{by_box}) ORDER BY key",
                (KIND_TRANSIT, plate or "", *containers),
            ),
        )

    def _legality(
        self, vehicle: VehicleReg | None, plate: str | None, containers: list[str] | tuple[str, ...], yard: str | None
    ) -> dict[str, Any]:
        """The registrations legality and the lane's settings need: the vehicle's carrier, the lane's
        yard, the plate's appointments, and other vehicles' orders that list a container seen."""
        q = self.store.query
        out: dict[str, Any] = {}
        if vehicle is not None and vehicle.carrier:
            cs = parse_rows(
                CarrierReg, q("SELECT data FROM knowledge WHERE kind = ? AND key = ?", (KIND_CARRIER, vehicle.carrier))
            )
            out["carrier"] = cs[0] if cs else None
        if yard:
            ys = parse_rows(YardReg, q("SELECT data FROM knowledge WHERE kind = ? AND key = ?", (KIND_YARD, yard)))
            out["yard"] = ys[0] if ys else None
        if plate:
            rows = q("SELECT data FROM knowledge WHERE kind = ? AND plate = ? LIMIT 20", (KIND_APPOINTMENT, plate))
            out["appointments"] = parse_rows(AppointmentReg, rows)
        if containers:
            rows = q(
                f"SELECT DISTINCT oc.container, k.key, k.plate, json_extract(k.data, '$.direction'), "
                f"json_extract(k.data, '$.valid_until') FROM order_containers oc JOIN knowledge k "
                f"ON k.kind = 'release_order' AND k.key = oc.key "
                f"WHERE oc.container IN ({','.join('?' * len(containers))}) AND k.plate IS NOT ? LIMIT 20",
                (*containers, plate),
            )
            out["other_orders"] = parse_rows(
                OtherOrder,
                [
                    (
                        json.dumps(
                            {"container": c, "order_no": no, "plate": p or "", "direction": d, "valid_until": until}
                        ),
                    )
                    for c, no, p, d, until in rows
                ],
            )
        return out

    def _entry_weighing(self, plate: str) -> EntryWeighing | None:
        rows = self.store.query(
            "SELECT pass_id, decided_at, json_extract(record, '$.direction'), json_extract(record, '$.gross_kg') "
            "FROM passes WHERE json_extract(record, '$.plate') = ? AND json_extract(record, '$.outcome') = 'release' "
            "AND json_extract(record, '$.gross_kg') IS NOT NULL ORDER BY decided_at DESC LIMIT 1",
            (plate,),
        )
        if not rows or rows[0][2] != "in":
            return None  # never weighed here, or its last weighing was on the way out
        pass_id, at, _, gross = rows[0]
        return EntryWeighing(pass_id=pass_id, gross_kg=gross, at=at)

    def parameters_for(self, lane: str, base: Parameters) -> Parameters:
        """The lane's parameters: the config's, overridden by central's for every lane ("*"), then this lane."""
        merged = base.model_dump()
        for key in ("*", lane):
            for (data,) in self.store.query("SELECT data FROM knowledge WHERE kind = 'parameters' AND key = ?", (key,)):
                merged.update({k: v for k, v in json.loads(data).items() if k in Parameters.model_fields})
        settings = self.lane_settings(lane)
        if settings is not None:  # the lane's own settings at central (its registration) come last
            merged.update(
                {
                    k: v
                    for k, v in {
                        "gate_role": settings.gate_role,
                        "cargo_types": settings.cargo_types,
                        "allowed_sizes": settings.allowed_sizes,
                        "require_appointment": settings.appointment_required,
                        "yard": settings.yard,
                    }.items()
                    if v is not None
                }
            )
        try:
            return Parameters.model_validate(merged)
        except ValueError:
            return base  # central's record is not one this lane understands: keep the safe config values

    def lane_settings(self, lane: str) -> LaneSettingsView | None:
        """The lane's settings from central (class, direction, role, limits), None if none arrived."""
        rows = parse_rows(
            LaneSettingsView,
            self.store.query("SELECT data FROM knowledge WHERE kind = ? AND key = ?", (KIND_LANE, lane)),
        )
        return rows[0] if rows else None

    def plate_of_tag(self, tag: str) -> str | None:
        """The plate registered to an RFID e-plate tag, from the cache."""
        rows = self.store.query(
            "SELECT plate FROM knowledge WHERE kind = ? AND json_extract(data, '$.e_plate') = ?", (KIND_VEHICLE, tag)
        )
        return rows[0][0] if rows else None

    # -- interventions --------------------------------------------------------------------
    def record_intervention(self, iv: Intervention) -> None:
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO interventions(at, lane, pass_id, officer, action, reason, data) "
                "VALUES(?, ?, ?, ?, ?, ?, ?)",
                (
                    iv.at.isoformat(),
                    iv.lane,
                    iv.pass_id,
                    iv.officer,
                    iv.action,
                    iv.reason,
                    json.dumps(iv.data, ensure_ascii=False, default=str),
                ),
            )

    def interventions(self, pass_id: str | None = None, limit: int = 100) -> list[Intervention]:
        sql = "SELECT at, lane, pass_id, officer, action, reason, data FROM interventions"
        args: tuple[Any, ...] = ()
        if pass_id:
            sql, args = sql + " WHERE pass_id = ?", (pass_id,)
        rows = self.store.query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [
            Intervention(
                at=datetime.fromisoformat(r[0]),
                lane=r[1],
                pass_id=r[2],
                officer=r[3],
                action=r[4],
                reason=r[5],
                data=json.loads(r[6]),
            )
            for r in rows
        ]

    # -- backfill (release on documents during congestion, data keyed in afterwards) --------
    def add_backfill(self, pass_id: str, lane: str, at: datetime) -> None:
        with self.store.tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO backfill(pass_id, lane, at) VALUES(?, ?, ?)", (pass_id, lane, at.isoformat())
            )

    def complete_backfill(self, pass_id: str, officer: str, plate: str, containers: list[str], at: datetime) -> bool:
        with self.store.tx() as db:
            cur = db.execute(
                "UPDATE backfill SET done_at = ?, officer = ?, plate = ?, containers = ? "
                "WHERE pass_id = ? AND done_at IS NULL",
                (at.isoformat(), officer, plate, json.dumps(containers), pass_id),
            )
            return cur.rowcount == 1

    def backfill_lane(self, pass_id: str) -> str | None:
        rows = self.store.query("SELECT lane FROM backfill WHERE pass_id = ?", (pass_id,))
        return rows[0][0] if rows else None

    def open_backfills(self) -> list[dict[str, str]]:
        rows = self.store.query("SELECT pass_id, lane, at FROM backfill WHERE done_at IS NULL ORDER BY at")
        return [{"pass_id": r[0], "lane": r[1], "at": r[2]} for r in rows]

    # -- images ---------------------------------------------------------------------------
    def save_image(self, pass_id: str, jpeg: bytes, taken_at: datetime) -> str:
        """Keep a frame as a file named by its hash; return the hash recorded with the pass."""
        digest = hashlib.sha256(jpeg).hexdigest()
        folder = self.image_dir / taken_at.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest}.jpg"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(jpeg)
            tmp.replace(path)  # atomic: a crash never leaves a half image under the real name
        with self.store.tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO images(sha256, pass_id, path, taken_at, bytes) VALUES(?, ?, ?, ?, ?)",
                (digest, pass_id, str(path), taken_at.isoformat(), len(jpeg)),
            )
        return digest

    def image_path(self, digest: str) -> Path | None:
        rows = self.store.query("SELECT path FROM images WHERE sha256 = ?", (digest,))
        return Path(rows[0][0]) if rows and Path(rows[0][0]).exists() else None

    def prune_images(self, max_age: timedelta, min_free_bytes: int, now: datetime) -> int:
        """Delete images older than max_age, then oldest first while the disk is short of space.

        Pass records are never touched: only the frames go.
        """
        removed = 0
        rows = self.store.query("SELECT sha256, path, taken_at FROM images ORDER BY taken_at")
        for digest, path, taken in rows:
            too_old = now - datetime.fromisoformat(taken) > max_age
            short = shutil.disk_usage(self.image_dir).free < min_free_bytes if self.image_dir.exists() else False
            if not (too_old or short):
                break
            Path(path).unlink(missing_ok=True)
            with self.store.tx() as db:
                db.execute("DELETE FROM images WHERE sha256 = ?", (digest,))
            removed += 1
        return removed

    # -- vehicle in/out balance (cross-border vehicles: every entry should have its exit) ---------
    def unbalanced(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Plates whose released entries and exits through this node's lanes do not match (a release
        superseded by another, a backfill of a release on documents, counts once)."""
        rows = self.store.query(
            "SELECT json_extract(record, '$.plate') AS plate, "
            "SUM(json_extract(record, '$.direction') = 'in'), SUM(json_extract(record, '$.direction') = 'out'), "
            "MAX(decided_at) FROM passes WHERE json_extract(record, '$.outcome') = 'release' AND plate IS NOT NULL "
            "AND decided_at >= ? AND pass_id NOT IN (SELECT json_extract(record, '$.supersedes') FROM passes "
            "WHERE json_extract(record, '$.supersedes') IS NOT NULL AND json_extract(record, '$.outcome') = 'release') "
            "GROUP BY plate HAVING SUM(json_extract(record, '$.direction') = 'in') != "
            "SUM(json_extract(record, '$.direction') = 'out') ORDER BY MAX(decided_at) DESC",
            ((since or datetime(1970, 1, 1, tzinfo=UTC)).isoformat(),),
        )
        return [{"plate": r[0], "in": r[1], "out": r[2], "last_pass_at": r[3]} for r in rows]

    # -- statistics -------------------------------------------------------------------------
    def lane_stats(self, lane: str, since: datetime | None = None) -> dict[str, Any]:
        since = since or datetime.now(UTC) - timedelta(hours=24)
        rows = self.store.query(
            "SELECT record FROM passes WHERE lane = ? AND decided_at >= ?", (lane, since.isoformat())
        )
        recs = [json.loads(r[0]) for r in rows]
        n = len(recs)
        # The one definition of each rate, as central and the console count them (kakou.sync.rates).
        superseded = {
            str(r[0])
            for r in self.store.query(
                "SELECT json_extract(record, '$.supersedes') FROM passes WHERE lane = ? "
                "AND json_extract(record, '$.supersedes') IS NOT NULL",
                (lane,),
            )
        }
        counted = rates.rates(recs, superseded)
        hours = max((datetime.now(UTC) - since).total_seconds() / 3600, 1e-9)
        faults = sum(1 for r in recs for c in r.get("checks") or [] if failed_with(c, DEVICE_CODES, "device"))
        return {
            "lane": lane,
            "since": since.isoformat(),
            **counted,
            "passes_per_hour": counted["passes"] / hours,
            "device_faults": faults,
            "records": n,
        }
