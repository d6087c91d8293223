"""The edge node's local HTTP API: lane status, passes, officer actions, statistics, images."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kakou import webpages
from kakou.edge import inspections, read_access, sync_outbox
from kakou.edge.events import events_router
from kakou.edge.lane import CONTROL_HOLD_REFUSAL, LaneState, OfficerCommand, control_release_refused
from kakou.edge.officers import PinLocked
from kakou.edge.replay import replay
from kakou.edge.sync_outbox import MessageStatus
from kakou.edge.ui import mount_ui
from kakou.models.iso6346 import CATEGORIES, OTHER_CATEGORIES
from kakou.models.iso6346 import is_valid as container_valid
from kakou.models.plate_grammar import normalise_plate
from kakou.sync import limits

if TYPE_CHECKING:
    from kakou.edge.node import EdgeNode


class LoginIn(BaseModel):
    officer: str
    pin: str = Field(min_length=4, max_length=12)


class ActionIn(BaseModel):
    # Bounded as the pass record is (kakou.sync.limits): what an officer keys must fit it.
    action: Literal["manual_entry", "override", "inspection_result", "release_on_documents"]
    reason: str = Field("", max_length=limits.NOTE)
    plate: str | None = Field(None, max_length=limits.PLATE)
    containers: list[Annotated[str, Field(max_length=limits.CONTAINER_NO)]] = Field(
        default_factory=list, max_length=limits.MAX_CONTAINERS
    )
    outcome: Literal["release", "inspection"] | None = None
    # passed: released against the inspection; the others hold the vehicle (查扣 / 退运 / 进一步查验)
    result: Literal["passed", "seized", "returned", "further_inspection"] | None = None
    # Releasing a vehicle held on a control order (布控) takes a second officer and their own PIN.
    second_officer: str | None = Field(None, max_length=limits.USERNAME)
    second_pin: str | None = Field(None, max_length=12)


class BackfillIn(BaseModel):
    plate: str = Field(max_length=limits.PLATE)
    containers: list[Annotated[str, Field(max_length=limits.CONTAINER_NO)]] = Field(
        default_factory=list, max_length=limits.MAX_CONTAINERS
    )


class InspectionIn(BaseModel):
    result: Literal["passed", "seized", "returned", "further_inspection"]
    reason: str = Field(max_length=limits.NOTE)


HOLDING = {LaneState.HELD, LaneState.INSPECTION}


def officer(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The logged-in lane officer (bearer token from /api/v1/officer/login)."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    who = request.app.state.node.officers.officer_for(token) if token else None
    if who is None:
        raise HTTPException(401, "officer login required")
    return who


Officer = Annotated[str, Depends(officer)]
# The read endpoints: an officer's session, the node's read key, or the node itself (read_access.py).
READ = [Depends(read_access.check)]


def validate_action(body: ActionIn) -> ActionIn:
    """Reject what an officer could not mean, before it reaches the lane: the lane never guesses."""
    if body.action in ("override", "release_on_documents") and len(body.reason.strip()) < 3:
        raise HTTPException(422, "a reason is required")
    if body.action == "override" and body.outcome is None:
        raise HTTPException(422, "override needs an outcome: release or inspection")
    if body.action == "inspection_result" and body.result is None:
        raise HTTPException(422, "inspection_result needs a result: passed, seized, returned or further_inspection")
    if body.action == "manual_entry":
        plate = normalise_plate(body.plate or "")
        if plate is None:
            raise HTTPException(422, f"plate {body.plate!r} is not a valid plate number")
        # The officer may key what the reader may accept: another category letter (RWWL…) too.
        bad = [c for c in body.containers if not container_valid(c, CATEGORIES + OTHER_CATEGORIES)]
        if bad:
            raise HTTPException(
                422, f"container number(s) fail the ISO 6346 check (category letter or check digit): {', '.join(bad)}"
            )
        body = body.model_copy(
            update={"plate": plate, "containers": [c.replace(" ", "").upper() for c in body.containers]}
        )
    return body


log = logging.getLogger(__name__)


def create_app(node: EdgeNode) -> FastAPI:
    app = FastAPI(title=f"kakou edge {node.id}", docs_url=None, redoc_url=None)
    app.state.node = node
    app.state.read_key = read_access.node_key(node)
    webpages.mount_docs(app, "/openapi.json", f"kakou edge {node.id} API")

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> Response:
        # A browser opening a page gets a page in Chinese; the screen's scripts and API clients JSON.
        if webpages.wants_html(req):
            return webpages.error_page(exc.status_code, str(exc.detail), home="/lane")
        return await http_exception_handler(req, exc)

    @app.exception_handler(Exception)
    async def _crash(req: Request, exc: Exception) -> Response:
        # A fault of ours: logged here, never shown raw; the lane itself keeps deciding.
        log.error("unhandled error on %s %s", req.method, req.url.path, exc_info=exc)
        if webpages.wants_html(req):
            return webpages.error_page(500, home="/lane")
        return JSONResponse({"detail": "internal error: logged at the lane"}, status_code=500)

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        return node.status()

    @app.post("/api/v1/officer/login")
    def login(body: LoginIn) -> Response:
        try:
            token = node.officers.login(body.officer, body.pin)
        except PinLocked as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)}) from exc
        if token is None:
            raise HTTPException(401, "unknown officer or wrong PIN")
        # The same session as a cookie too: the screen's <img> and event stream cannot send a header.
        resp = JSONResponse({"token": token, "officer": body.officer})
        resp.set_cookie(read_access.OFFICER_COOKIE, token, httponly=True, samesite="strict", path="/api/")
        return resp

    @app.get("/api/v1/officer")
    def whoami(who: Officer) -> dict[str, str]:
        """The officer this token belongs to (401 once the session expired)."""
        return {"officer": who}

    @app.post("/api/v1/officer/logout", status_code=204)
    def logout(authorization: Annotated[str | None, Header()] = None) -> Response:
        node.officers.logout((authorization or "").removeprefix("Bearer ").strip())
        resp = Response(status_code=204)
        resp.delete_cookie(read_access.OFFICER_COOKIE, path="/api/")
        return resp

    @app.post("/api/v1/lanes/{lane_id}/actions", status_code=202)
    async def act(lane_id: str, body: ActionIn, who: Officer) -> dict[str, Any]:
        lane = node.lanes.get(lane_id)
        if lane is None:
            raise HTTPException(404, f"no lane {lane_id}")
        body = validate_action(body)
        if lane.state not in HOLDING or lane.current is None:
            raise HTTPException(409, f"lane {lane_id} is {lane.state.value}: nothing waits for an officer")
        confirmed_by = None
        if body.second_officer or body.second_pin:
            if body.second_officer == who:
                raise HTTPException(403, "the second officer must be another officer than the one logged in")
            try:
                confirmed = bool(
                    body.second_officer
                    and body.second_pin
                    and node.officers.verify(body.second_officer, body.second_pin)
                )
            except PinLocked as exc:
                raise HTTPException(429, str(exc), headers={"Retry-After": str(int(exc.retry_after) + 1)}) from exc
            if not confirmed:
                raise HTTPException(403, "second officer: unknown officer or wrong PIN")
            confirmed_by = body.second_officer
        cmd = OfficerCommand(
            officer=who, confirmed_by=confirmed_by, **body.model_dump(exclude={"second_officer", "second_pin"})
        )
        if control_release_refused(lane.current.decision, cmd):
            raise HTTPException(403, CONTROL_HOLD_REFUSAL)
        await lane.commands.put(cmd)
        return {"accepted": cmd.model_dump(mode="json"), "pass_id": lane.current.pass_id}

    @app.get("/api/v1/passes", dependencies=READ)
    def passes(limit: int = 50) -> list[dict[str, Any]]:
        return [p.model_dump(mode="json") for p in node.store.list_passes(min(max(limit, 1), 500))]

    @app.get("/api/v1/passes/{pass_id}", dependencies=READ)
    def one_pass(pass_id: str) -> dict[str, Any]:
        found = node.store.get_pass(pass_id)
        if found is None:
            raise HTTPException(404, f"no pass {pass_id}")
        record, inputs = found
        return {
            "record": record.model_dump(mode="json"),
            "inputs": inputs,
            "interventions": [i.model_dump(mode="json") for i in node.records.interventions(pass_id)],
        }

    @app.get("/api/v1/passes/{pass_id}/replay", dependencies=READ)
    def replay_pass(pass_id: str) -> dict[str, Any]:
        result = replay(node.store, pass_id)
        if result is None:
            raise HTTPException(404, f"no automatic decision recorded for {pass_id}")
        return result

    @app.get("/api/v1/interventions", dependencies=READ)
    def interventions(limit: int = 100) -> list[dict[str, Any]]:
        return [i.model_dump(mode="json") for i in node.records.interventions(limit=min(max(limit, 1), 500))]

    @app.get("/api/v1/backfill", dependencies=READ)
    def backfill() -> list[dict[str, str]]:
        return node.records.open_backfills()

    @app.post("/api/v1/backfill/{pass_id}")
    def complete_backfill(pass_id: str, body: BackfillIn, who: Officer) -> dict[str, Any]:
        """Key the plate and containers of a truck released on documents: recorded as a pass that
        supersedes the release, sent to central like any pass (its orders count the exit)."""
        checked = validate_action(ActionIn(action="manual_entry", plate=body.plate, containers=body.containers))
        lane = node.lanes.get(node.records.backfill_lane(pass_id) or "")
        now = datetime.now(UTC)
        if lane is None or not node.records.complete_backfill(
            pass_id, who, checked.plate or "", checked.containers, now
        ):
            raise HTTPException(404, f"no open backfill for {pass_id}")
        lane.record_intervention(
            now, pass_id, who, "backfill", "", {"plate": checked.plate, "containers": checked.containers}
        )
        record = lane.backfill(pass_id, who, checked.plate or "", checked.containers)
        return {
            "pass_id": pass_id,
            "plate": checked.plate or "",
            "containers": checked.containers,
            "superseded_by": record.pass_id if record else None,
            "release_orders": record.release_orders if record else [],
        }

    @app.get("/api/v1/inspections", dependencies=READ)
    def awaiting_inspection() -> list[dict[str, Any]]:
        """Trucks sent to the inspection area (the last 24 h) whose result is still to be recorded."""
        held = {
            lane.current.pass_id for lane in node.lanes.values() if lane.current is not None and lane.state in HOLDING
        }
        return [row for row in inspections.awaiting(node.store.query, datetime.now(UTC)) if row["pass_id"] not in held]

    @app.post("/api/v1/inspections/{pass_id}", status_code=201)
    def inspection_result(pass_id: str, body: InspectionIn, who: Officer) -> dict[str, Any]:
        """The result of inspecting a vehicle this node sent to the inspection area, once it has left
        the lane: recorded as a pass for central; the vehicle is judged against it when it returns."""
        if len(body.reason.strip()) < 3:
            raise HTTPException(422, "a reason is required")
        found = node.store.get_pass(pass_id)
        lane = node.lanes.get(found[0].lane) if found else None
        if lane is None:
            raise HTTPException(404, f"no pass {pass_id}")
        if lane.current is not None and lane.current.pass_id == pass_id and lane.state in HOLDING:
            raise HTTPException(
                409,
                f"the vehicle of {pass_id} is still in lane {lane.cfg.id}: record the result there (inspection_result)",
            )
        record = lane.record_inspection(pass_id, who, body.result, body.reason.strip())
        if record is None:
            raise HTTPException(409, f"pass {pass_id} did not send a vehicle to inspection")
        return record.model_dump(mode="json")

    @app.get("/api/v1/network/messages", dependencies=READ)
    def network_messages(
        since: datetime | None = None, status: MessageStatus | None = None, after_seq: int = 0, limit: int = 200
    ) -> dict[str, Any]:
        """Per-message uplink status (queued / sent / acknowledged / failed), oldest first."""
        msgs = sync_outbox.messages(
            node.store, since=since, status=status, after_seq=max(after_seq, 0), limit=min(max(limit, 1), 1000)
        )
        return {"counts": sync_outbox.counts(node.store), "messages": [m.model_dump(mode="json") for m in msgs]}

    @app.post("/api/v1/network/resend", status_code=202)
    def network_resend(from_seq: int, who: Officer) -> dict[str, Any]:
        """Manual resend: every message from `from_seq` on goes to central again (idempotent there)."""
        if from_seq < 1:
            raise HTTPException(422, "from_seq starts at 1")
        return {"requeued": node.link.resend_from(from_seq), "by": who}

    @app.get("/api/v1/balance", dependencies=READ)
    def balance() -> list[dict[str, Any]]:
        """Vehicles in but not out (or out but not in): the in/out balance query for officers."""
        return node.records.unbalanced()

    @app.get("/api/v1/lanes/{lane_id}/stats", dependencies=READ)
    def stats(lane_id: str) -> dict[str, Any]:
        if lane_id not in node.lanes:
            raise HTTPException(404, f"no lane {lane_id}")
        return node.records.lane_stats(lane_id)

    @app.get("/api/v1/images/{digest}", dependencies=READ)
    def image(digest: str) -> FileResponse:
        path = node.records.image_path(digest) if len(digest) == 64 else None
        if path is None:
            raise HTTPException(404, "no such image (pruned by retention, or never taken)")
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/api/v1/images/{digest}/marks", dependencies=READ)
    def image_marks(digest: str) -> list[dict[str, Any]]:
        """Where the read plate / container code is in a recent frame ([x0, y0, x1, y1] pixels);
        empty when it was not located (yet): the screen then shows the frame unmarked."""
        for lane in node.lanes.values():
            found = lane.marks.get(digest)
            if found is not None:
                return found
        return []

    app.include_router(events_router(node.events, status=node.status), dependencies=READ)
    mount_ui(app)
    return app
