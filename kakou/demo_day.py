"""The demo's day at the lane: what `kakou demo` drives through its simulated lane, in a loop.

Two ordinary releases; a truck 3.4 t over its declaration sent to inspection, its result recorded
at the inspection area and the truck released against it when it comes back (the inspection round
trip); a truck with no release order held for the officer; one truck carrying two 20' containers
under two release orders; a truck stopped by a control order (布控) that one officer alone cannot
release and two can; and an outage — the broker stopped, so central is unreachable — during which
the lane goes on deciding from its cache and queues its passes, delivered when the broker is back.

Every line says what the lane decided (at once, from the lane) and whether central recorded it.
Central is never waited on without a limit: a pass it has not recorded in `central_wait` seconds
is reported as queued at the lane and counted again later — the demo keeps running through any
outage of central or the broker, scripted or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from kakou.demo import (
    DEMO_OFFICER,
    DEMO_OFFICER2,
    DEMO_PIN,
    DEMO_PIN2,
    DEMO_TRUCKS,
    Stack,
    issue_release_order,
    seed_central,
)
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import Truck, TruckResult, drive_truck
from kakou.sync.checks import render_all
from kakou.sync.messages import PassRecord
from kakou.waiting import eventually

if TYPE_CHECKING:
    from kakou.edge.lane import Lane
    from kakou.sim.scenario import LaneSims

log = logging.getLogger("kakou.demo")


@dataclass(frozen=True)
class Visit:
    """One truck as the lane's devices see it."""

    plate: str
    kind: str  # plate colour
    tag: str  # RFID e-plate
    card: str  # driver's IC card
    boxes: tuple[str, ...]  # containers on the chassis (two 20' side by side, or one)
    weighs_kg: float


def _visit(i: int) -> Visit:
    t = DEMO_TRUCKS[i]
    return Visit(t.plate, t.kind, t.tag, t.card, (t.box,), t.weighs_kg)


RELEASED, RELEASED_2, OVERWEIGHT, NO_ORDER = (_visit(i) for i in range(4))
TWO_ORDERS = Visit(
    "浙B66666", "blue", "E2801160600002051234A005", "04A1B2C3D4E5F5", ("MSKU8899114", "TGHU8832010"), 30_000
)
CONTROLLED = Visit("闽D55555", "blue", "E2801160600002051234A006", "04A1B2C3D4E5F6", ("OOLU5566770",), 25_000)
# A truck arriving on a transit (转关) from Shanghai with its e-seal (电子关锁): released on the
# transit itself at this destination gate, which central then closes.
TRANSIT = Visit("沪E77777", "blue", "E2801160600002051234A007", "04A1B2C3D4E5F7", ("TRIU5123464",), 24_000)
TRANSIT_SEAL, TRANSIT_FROM = "ES20261204", "SHYS"
ON_HOLD = 30  # how long a held truck waits at the barrier for the demo's officers
CENTRAL_WAIT = 10.0  # how long a line waits for central to record its pass before calling it queued


async def seed_day(stack: Stack, http: httpx.AsyncClient) -> int:
    """The registrations and release orders of the day's trucks; returns the knowledge version."""
    version = await seed_central(stack, http)
    now = datetime.now(UTC)
    for i, v in enumerate((TWO_ORDERS, CONTROLLED), start=len(DEMO_TRUCKS)):
        for kind, data in (
            ("vehicle", {"plate": v.plate, "e_plate": v.tag, "tare_kg": 14_000}),
            ("driver", {"driver_id": f"D{i:03d}", "ic_card": v.card, "name": f"Driver {i}"}),
        ):
            (await http.put(f"/api/v1/registrations/{kind}", json=data)).raise_for_status()
        for j, box in enumerate(v.boxes):  # one release order per container
            r = await issue_release_order(
                stack,
                http,
                {
                    "order_no": f"HF{now:%Y%m%d}{i:02d}{j:02d}",
                    "plate": v.plate,
                    "containers": [box],
                    "direction": "in",
                    "valid_from": (now - timedelta(hours=1)).isoformat(),
                    "valid_until": (now + timedelta(hours=12)).isoformat(),
                },
            )
            r.raise_for_status()
            version = max(version, r.json()["version"])
    # The lane is registered at its site, so the transits to that site reach it (the node learns the
    # site's stream from central when it next (re)connects: after the day's broker outage at latest).
    for code, name in (("gate1", "一号卡口 Gate 1"), (TRANSIT_FROM, "洋山港 Yangshan (transit origin)")):
        (await http.put("/api/v1/registrations/site", json={"code": code, "name": name})).raise_for_status()
    (
        await http.put(
            "/api/v1/registrations/lane",
            json={"node": stack.edge.cfg.node.id, "lane": "L1", "site": "gate1", "direction": "in"},
        )
    ).raise_for_status()
    i = len(DEMO_TRUCKS) + 2
    for kind, data in (
        ("vehicle", {"plate": TRANSIT.plate, "e_plate": TRANSIT.tag, "tare_kg": 14_000}),
        ("driver", {"driver_id": f"D{i:03d}", "ic_card": TRANSIT.card, "name": f"Driver {i}"}),
    ):
        (await http.put(f"/api/v1/registrations/{kind}", json=data)).raise_for_status()
    (
        await http.post(
            "/api/v1/transits",
            json={
                "transit_no": f"ZG{now:%Y%m%d}01",
                "plate": TRANSIT.plate,
                "containers": list(TRANSIT.boxes),
                "entry_site": TRANSIT_FROM,
                "destination_site": "gate1",
                "e_seal": TRANSIT_SEAL,
            },
        )
    ).raise_for_status()
    return version


async def drive_past_a_hold(
    sims: LaneSims, lane: Lane, plate_jpeg: bytes | None = None, *, truck: Truck | None = None, wait_for_barrier: float
) -> TruckResult:
    """A truck through the lane (sim.scenario.drive_truck) that turns away as soon as the lane has
    decided anything but a release for it, rather than waiting out the barrier; a release lets
    it through."""
    seen = lane.current.pass_id if lane.current is not None else None

    def held() -> bool:
        cur = lane.current
        if cur is None or cur.pass_id == seen or cur.decision is None:
            return False
        return cur.decision.outcome != "release"

    leave = asyncio.Event()
    driving = asyncio.create_task(
        drive_truck(sims, plate_jpeg, wait_for_barrier=wait_for_barrier, truck=truck, leave=leave)
    )
    with contextlib.suppress(TimeoutError):  # it has backed out by then
        await eventually(lambda: driving.done() or held(), wait_for_barrier, what="the lane's decision on the truck")
    leave.set()
    return await driving


class DemoDay:
    def __init__(
        self,
        stack: Stack,
        central: httpx.AsyncClient,
        say: Callable[[str], None] = print,
        central_wait: float = CENTRAL_WAIT,
    ) -> None:
        self.stack = stack
        self.central = central  # logged in (kakou.demo.authorize)
        self.say = say
        self.central_wait = central_wait
        self.trucks = 0  # arrivals so far
        self.queued: list[PassRecord] = []  # passes central had not recorded when their line was printed
        self._controlled = False  # the control order on CONTROLLED is issued once

    @property
    def lane(self) -> Lane:
        return self.stack.edge.lanes["L1"]

    def steps(self) -> list[Callable[[], Awaitable[None]]]:
        return [
            lambda: self._plain(RELEASED),
            lambda: self._plain(RELEASED_2),
            self._inspection_round_trip,
            lambda: self._plain(NO_ORDER),
            lambda: self._plain(TWO_ORDERS),
            self._control_order_hold,
            self._outage,
            self._transit,
        ]

    async def run(self, trucks: int | None, interval: float) -> None:
        """The day's steps in a loop, until `trucks` arrivals (the step that reaches it finishes)."""
        while True:
            for step in self.steps():
                if trucks is not None and self.trucks >= trucks:
                    return
                await step()
                await self._catch_up(wait=0)
                await asyncio.sleep(interval)  # pacing of the demo's traffic, not a wait for work

    # -- one arrival ------------------------------------------------------------------------------
    async def _arrive(
        self, v: Visit, wait_for_barrier: float = 8, leave_when_held: bool = True
    ) -> tuple[TruckResult, PassRecord | None]:
        """One truck through the lane. `leave_when_held`: a truck the lane holds or sends to
        inspection turns away as soon as the lane has said so, rather than waiting out the
        barrier (the demo's officers act only on the control-order hold, which waits for them)."""
        before = self.lane.last_pass
        seed = self.trucks
        self.trucks += 1
        scene = render_container_scene(
            v.boxes[0], seed=None if len(v.boxes) > 1 else seed, beside=v.boxes[1] if len(v.boxes) > 1 else None
        )
        truck = Truck(
            plate_jpeg=encode_jpeg(render_plate_scene(v.plate, kind=v.kind, seed=seed)),
            container_jpeg=encode_jpeg(scene),
            gross_kg=v.weighs_kg,
            rfid_tag=v.tag,
            ic_card=v.card,
            e_seal=TRANSIT_SEAL if v is TRANSIT else None,
        )
        sims = self.stack.sims
        if leave_when_held:
            result = await drive_past_a_hold(sims, self.lane, truck=truck, wait_for_barrier=wait_for_barrier)
        else:
            result = await drive_truck(sims, truck=truck, wait_for_barrier=wait_for_barrier)
        rec = self.lane.last_pass
        return result, (rec if rec is not before else None)

    async def _report(self, v: Visit, result: TruckResult, rec: PassRecord | None, wait: float | None = None) -> None:
        head = f"truck {v.plate} {'+'.join(v.boxes)} {v.weighs_kg:.0f} kg: {result.value}"
        if rec is None:
            self.say(f"{head}; the lane recorded no pass")
            return
        decided = f"lane decided {rec.outcome.value} ({render_all(rec.reasons)})"
        if rec.release_orders:
            decided += f" on {', '.join(rec.release_orders)}"
        recorded = await self._at_central(rec, self.central_wait if wait is None else wait)
        if recorded is None:
            self.queued.append(rec)
            counts = self.stack.edge.store.outbox_counts()
            tail = f"central unreachable: queued at the lane ({counts.get('queued', 0)} waiting)"
        else:
            tail = f"central recorded {recorded}"
        self.say(f"{head}; {decided}; {tail}")

    async def _at_central(self, rec: PassRecord, wait: float) -> str | None:
        """The outcome central recorded for `rec`, or None if it has not within `wait` seconds or
        cannot be asked (central down): an outage is something to report, not a reason to stop."""

        async def recorded() -> str | None:
            try:
                r = await self.central.get("/api/v1/passes", params={"plate": rec.plate or "", "limit": 50}, timeout=2)
                if r.status_code != 200:
                    return None
                return next((str(p["outcome"]) for p in r.json()["items"] if p["pass_id"] == rec.pass_id), None)
            except httpx.HTTPError:
                return None

        try:
            return await eventually(recorded, wait, interval=0.2, what=f"pass {rec.pass_id} at central")
        except TimeoutError:
            return None

    async def _catch_up(self, wait: float) -> None:
        """Report the passes queued earlier that central has recorded since."""
        if not self.queued:
            return
        delivered = [rec for rec in self.queued if await self._at_central(rec, wait) is not None]
        if delivered:
            self.queued = [rec for rec in self.queued if rec not in delivered]
            self.say(
                f"central caught up: {len(delivered)} queued pass(es) recorded "
                f"({', '.join(r.plate or '?' for r in delivered)}); {len(self.queued)} still queued"
            )

    # -- the day's steps --------------------------------------------------------------------------
    async def _plain(self, v: Visit) -> None:
        await self._report(v, *await self._arrive(v))

    async def _officer(self) -> dict[str, str] | None:
        try:
            async with httpx.AsyncClient(base_url=self.stack.edge.url, timeout=5) as edge:
                r = await edge.post("/api/v1/officer/login", json={"officer": DEMO_OFFICER, "pin": DEMO_PIN})
                r.raise_for_status()
                return {"Authorization": f"Bearer {r.json()['token']}"}
        except httpx.HTTPError as exc:
            self.say(f"lane officer login failed: {exc}")
            return None

    async def _inspection_round_trip(self) -> None:
        v = OVERWEIGHT
        result, sent = await self._arrive(v)
        await self._report(v, result, sent)
        if sent is None or sent.outcome.value != "inspection" or (auth := await self._officer()) is None:
            return
        # The lane is not blocked while the truck is inspected: it recorded the result at the
        # inspection area, and comes back through the lane.
        async with httpx.AsyncClient(base_url=self.stack.edge.url, timeout=5) as edge:
            r = await edge.post(
                f"/api/v1/inspections/{sent.pass_id}",
                headers=auth,
                json={"result": "passed", "reason": "开箱查验，货证相符 opened, goods match"},
            )
        if r.status_code != 201:
            self.say(f"inspection result not recorded: {r.status_code} {r.text[:200]}")
            return
        self.say(f"inspection area: {DEMO_OFFICER} recorded {v.plate} {render_all(PassRecord(**r.json()).reasons)}")
        await self._report(v, *await self._arrive(v))

    async def _control_order_hold(self) -> None:
        v = CONTROLLED
        if not self._controlled:
            try:
                r = await self.central.post(
                    "/api/v1/control-orders",
                    json={
                        "target_kind": "vehicle",
                        "target_value": v.plate,
                        "action": "hold",
                        "emergency": True,
                        "reason": "情报线索 intelligence tip",
                    },
                )
                r.raise_for_status()
                self._controlled = True
                await eventually(
                    lambda: self.stack.edge.store.query(
                        "SELECT 1 FROM knowledge WHERE kind = 'control_order'"
                        " AND json_extract(data, '$.target_value') = ?",
                        (v.plate,),
                    ),
                    15,
                    what="the control order at the lane",
                )
                self.say(f"central: emergency control order (布控) on {v.plate}: hold")
            except (httpx.HTTPError, TimeoutError) as exc:
                self.say(f"central could not issue the control order ({exc}); the truck goes as usual")
        truck = asyncio.create_task(self._arrive(v, wait_for_barrier=ON_HOLD, leave_when_held=False))
        try:
            await eventually(
                lambda: self.lane.state.value == "held_for_officer" or truck.done(), ON_HOLD, what="the lane to decide"
            )
            auth = await self._officer() if not truck.done() else None
            if auth is not None and self.lane.current is not None and self.lane.current.decision is not None:
                self.say(f"lane held {v.plate}: {render_all(self.lane.current.decision.reasons)}")
                release = {
                    "action": "override",
                    "outcome": "release",
                    "reason": "核查无误 checked with the intelligence unit",
                }
                async with httpx.AsyncClient(base_url=self.stack.edge.url, timeout=5) as edge:
                    alone = await edge.post("/api/v1/lanes/L1/actions", headers=auth, json=release)
                    self.say(f"lane: {DEMO_OFFICER} alone asks to release {v.plate}: {_answer(alone)}")
                    two = await edge.post(
                        "/api/v1/lanes/L1/actions",
                        headers=auth,
                        json={**release, "second_officer": DEMO_OFFICER2, "second_pin": DEMO_PIN2},
                    )
                    self.say(f"lane: {DEMO_OFFICER} with {DEMO_OFFICER2} confirming (own PIN): {_answer(two)}")
        except TimeoutError:
            pass  # the truck turns away by itself; its line says what the lane decided
        await self._report(v, *await truck)

    async def _outage(self) -> None:
        """The broker goes down: central is unreachable from the lane, which decides from its cache."""
        broker = self.stack.broker
        await broker.stop()
        self.say(
            f"broker stopped: central unreachable; the lane decides from its cache "
            f"(knowledge version {self.stack.edge.store.knowledge_version})"
        )
        try:
            for v in (RELEASED, RELEASED_2):
                await self._report(v, *await self._arrive(v), wait=0)
        finally:
            await broker.start()
        self.say("broker back: the lane delivers what it queued")
        await self._catch_up(wait=60)

    async def _transit(self) -> None:
        """A truck on a transit from another customs site: its containers and e-seal are checked
        against the open transit, and central closes the transit when the pass reaches it."""

        def at_lane() -> bool:
            return bool(self.stack.edge.records.transits_for(TRANSIT.plate))

        try:
            await eventually(at_lane, 20, what="the transit at the lane")
        except TimeoutError:
            self.say(f"the transit of {TRANSIT.plate} has not reached the lane yet (it will after the node's resync)")
        else:
            self.say(
                f"central: transit (转关) of {TRANSIT.plate} from {TRANSIT_FROM} with e-seal {TRANSIT_SEAL} "
                f"is open at this destination gate"
            )
        v = TRANSIT
        result, rec = await self._arrive(v)
        await self._report(v, result, rec)
        if rec is None or not rec.transit_no:
            return
        try:
            status: str | None = await eventually(
                lambda: self._transit_status(rec.transit_no or ""),
                self.central_wait,
                interval=0.2,
                what="the transit closed at central",
            )
            self.say(f"central: transit {rec.transit_no} {status}")
        except TimeoutError:
            pass  # central is away: the pass is queued and closes the transit when it arrives

    async def _transit_status(self, transit_no: str) -> str | None:
        try:
            r = await self.central.get(f"/api/v1/transits/{transit_no}", timeout=2)
        except httpx.HTTPError:
            return None
        status = str(r.json().get("status")) if r.status_code == 200 else None
        return status if status in ("closed", "closed_late") else None


def _answer(r: httpx.Response) -> str:
    return {202: "accepted", 403: "refused"}.get(r.status_code, "answered") + f" ({r.status_code})"
