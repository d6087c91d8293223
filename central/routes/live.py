"""Field staff's phone page: alerts pushed live (SSE), the alert's detail, and disposal photos.

`EventSource` cannot send an Authorization header, so the page first trades its bearer token for a
short-lived, single-use stream ticket (`POST /alerts/stream-ticket`) and opens
`GET /alerts/stream?ticket=…`. The stream carries only the alerts routed to the caller (assigned to
them, or to their role; an admin sees all) and re-checks the login every `RECHECK_S`, so a logout or
a disabled account ends it. A ticket never appears in a log as a reusable credential: it is
consumed on first use and dies after `TICKET_TTL_S`.

New alerts are found by one poll per process on the alerts' id (cheap, primary key), which also sees
alerts raised by other central processes; acknowledgements, disposals and notes made through this
process are pushed at once (`alerts.CHANGED`). A phone that misses something re-reads its list when
it reconnects, so the stream never has to be complete, only prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import func, select

from kakou.central import alerts, auth
from kakou.central.images import BadImage
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.images import Store, image_body
from kakou.central.routes.security import AnyUser, FieldUser, RowId, bearer, domain_errors
from kakou.central.schemas import AlertOut
from kakou.central.service import Central, Conflict
from kakou.central.tables import AlertRow
from kakou.central.tables_sync import PassRow
from kakou.http_server import event_stream, sse
from kakou.sync.checks import reasons_in

router = APIRouter(prefix="/api/v1", tags=["alerts"])

TICKET_TTL_S = 60.0
RECHECK_S = 30.0
KEEPALIVE_S = 15.0
POLL_S = 0.5
_CLOSE: dict[str, Any] = {"_close": True}


@dataclass(eq=False)  # one per open stream, kept in a set by identity
class _Sub:
    who: auth.Principal
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(256))


class AlertHub:
    """Per app: stream tickets, subscribers, and the poll that finds new alerts."""

    def __init__(self, central: Central, poll_s: float = POLL_S) -> None:
        self.central = central
        self.poll_s = poll_s
        self.closed = False
        self._tickets: dict[str, tuple[str, float]] = {}  # sha256(ticket) -> (bearer token, expiry)
        self._subs: set[_Sub] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._last_id: int | None = None
        alerts.CHANGED.append(self._on_change)

    # -- tickets ---------------------------------------------------------------------------------
    def issue(self, token: str) -> str:
        now = time.monotonic()
        self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now}  # drop the dead ones
        ticket = secrets.token_urlsafe(24)
        self._tickets[hashlib.sha256(ticket.encode()).hexdigest()] = (token, now + TICKET_TTL_S)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The bearer token behind a ticket, once; None when unknown, used or expired."""
        found = self._tickets.pop(hashlib.sha256(ticket.encode()).hexdigest(), None)
        return found[0] if found and found[1] > time.monotonic() else None

    # -- fan-out ---------------------------------------------------------------------------------
    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _offer(self, row: AlertRow, change: str) -> None:
        data = {"change": change, "alert": AlertOut.model_validate(row).model_dump(mode="json")}
        for sub in list(self._subs):
            if alerts.routed_to(row, sub.who.username, sub.who.role.value) and not sub.queue.full():
                sub.queue.put_nowait(data)  # a phone this far behind re-reads its list on reconnect

    def _on_change(self, c: Central, row: AlertRow) -> None:
        loop = self._loop
        if c is not self.central or loop is None or loop.is_closed() or not self._subs:
            return
        with contextlib.suppress(RuntimeError):  # called from a worker thread (sync route)
            loop.call_soon_threadsafe(self._offer, row, "changed")

    def _new_since(self, last: int | None) -> tuple[int, list[AlertRow]]:
        with self.central.sessions() as s:
            if last is None:  # start at the newest: the phone has just read its list
                return s.scalar(select(func.max(AlertRow.id))) or 0, []
            rows = list(s.scalars(select(AlertRow).where(AlertRow.id > last).order_by(AlertRow.id).limit(500)))
        return (rows[-1].id if rows else last), rows

    async def _poll(self) -> None:
        while self._subs and not self.closed:
            try:
                self._last_id, rows = await asyncio.to_thread(self._new_since, self._last_id)
                for row in rows:
                    self._offer(row, "new")
            except Exception:  # a database hiccup: try again next round, the streams stay open
                alerts.log.exception("alert stream poll failed")
            await asyncio.sleep(self.poll_s)
        self._poller = None

    @contextlib.asynccontextmanager
    async def subscribe(self, who: auth.Principal) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        self._loop = asyncio.get_running_loop()
        start = None
        if self._poller is None:
            # Nobody was watching: start at the newest alert, the phone has just read its list
            # (not at where the last poll stopped, which would replay everything since).
            start, _ = await asyncio.to_thread(self._new_since, None)
        sub = _Sub(who)
        self._subs.add(sub)
        if self._poller is None:  # checked again: another stream may have started it meanwhile
            self._last_id = start if start is not None else self._last_id
            self._poller = asyncio.create_task(self._poll())
        try:
            yield sub.queue
        finally:
            self._subs.discard(sub)

    def close(self) -> None:
        """End every stream (central stopping), so the HTTP server can stop promptly."""
        self.closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for sub in list(self._subs):
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(sub.queue.put_nowait, _CLOSE)


def hub(app: FastAPI) -> AlertHub:
    found = getattr(app.state, "alert_hub", None)
    if found is None:
        found = app.state.alert_hub = AlertHub(app.state.central)
    return found


def close_streams(app: FastAPI) -> None:
    found = getattr(app.state, "alert_hub", None)
    if found is not None:
        found.close()


@router.post("/alerts/stream-ticket")
def stream_ticket(
    request: Request, me: AnyUser, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> dict[str, Any]:
    """A single-use ticket for `GET /alerts/stream` (EventSource cannot send the bearer token)."""
    assert cred is not None  # AnyUser already required it
    return {
        "ticket": hub(request.app).issue(cred.credentials),
        "expires_in_s": TICKET_TTL_S,
        "username": me.username,
        "role": me.role.value,
    }


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 401: {"description": "no valid ticket"}},
)
async def alert_stream(
    request: Request, central: CentralDep, ticket: Annotated[str, Query(min_length=8, max_length=64)]
) -> StreamingResponse:
    """Server-Sent Events: `hello` once, then `alert` {change: new|changed, alert} for each alert routed
    to the ticket's user; `expired` (and the end of the stream) when the login is no longer valid."""
    live = hub(request.app)
    token = live.redeem(ticket)
    if token is None:
        raise HTTPException(
            401, "stream ticket unknown, used or expired: get a new one from POST /api/v1/alerts/stream-ticket"
        )
    try:
        who = await asyncio.to_thread(auth.authenticate, central, token)
    except auth.AuthError as exc:
        raise HTTPException(401, f"the login behind this ticket is no longer valid: {exc}") from exc

    async def gen() -> AsyncIterator[str]:
        async with live.subscribe(who) as q:
            yield "retry: 3000\n\n"
            yield sse("hello", {"username": who.username, "role": who.role.value})
            checked = quiet = time.monotonic()
            while not live.closed:
                try:
                    ev = await asyncio.wait_for(q.get(), timeout=1.0)
                except TimeoutError:
                    ev = None
                if ev is _CLOSE:
                    break
                if ev is not None:
                    yield sse("alert", ev)
                    quiet = time.monotonic()
                if time.monotonic() - checked > RECHECK_S:
                    checked = time.monotonic()
                    try:
                        await asyncio.to_thread(auth.authenticate, central, token)
                    except auth.AuthError as exc:
                        yield sse("expired", {"detail": str(exc)})
                        break
                if time.monotonic() - quiet > KEEPALIVE_S:
                    yield ": keepalive\n\n"  # proxies drop idle connections
                    quiet = time.monotonic()
                if await request.is_disconnected():
                    break

    return event_stream(gen())


@router.get("/alerts/{alert_id}/detail")
def alert_detail(alert_id: RowId, central: CentralDep, _me: AnyUser) -> dict[str, Any]:
    """The alert with its place and, when a pass raised it, the pass and its frames (by SHA-256;
    read them from /api/v1/images/{sha256}). Photos taken at disposal are in the notes."""
    with domain_errors():
        row = alerts.get(central, alert_id)
    out: dict[str, Any] = {
        "alert": AlertOut.model_validate(row).model_dump(mode="json"),
        "pass": None,
        "place": None,
        "photos": [p for n in row.notes for p in (n.get("photos") or [])],
    }
    if row.source:
        with central.sessions() as s:
            p = s.scalar(select(PassRow).where(PassRow.pass_id == row.source))
        if p is not None:
            rec = p.record or {}
            out["pass"] = {
                "pass_id": p.pass_id,
                "node": p.node,
                "lane": p.lane,
                "plate": p.plate,
                "outcome": p.outcome,
                "decided_at": p.decided_at,
                "containers": rec.get("containers") or [],
                "gross_kg": rec.get("gross_kg"),
                "reasons": [f.model_dump(mode="json") for f in reasons_in(rec)],
                "images": rec.get("images") or [],
                "direction": rec.get("direction"),
            }
            out["place"] = {"node": p.node, "lane": p.lane, "direction": rec.get("direction")}
    if out["place"] is None and row.kind in ("device_fault", "lane_offline"):
        node, _, lane = row.subject.partition("/")  # these are raised on "node/lane" or the node
        out["place"] = {"node": node, "lane": lane or None, "direction": None}
    return out


@router.post(
    "/alerts/{alert_id}/photos",
    status_code=201,
    tags=["alerts"],
    openapi_extra={
        "requestBody": {"required": True, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def upload_photo(
    alert_id: RowId, request: Request, central: CentralDep, store: Store, me: FieldUser
) -> dict[str, Any]:
    """A photo taken while disposing of the alert (JPEG, as the phone page re-encodes it); stored by
    its SHA-256 beside the pass frames. Name it in the disposal's `photos` to attach it."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "image/jpeg":
        raise HTTPException(415, "send the photo as Content-Type: image/jpeg")
    with domain_errors():
        row = await asyncio.to_thread(alerts.get, central, alert_id)
        if row.status == "disposed":
            raise Conflict(f"alert {alert_id} is already disposed of")
    data = await image_body(request)
    digest = hashlib.sha256(data).hexdigest()
    try:
        created = await asyncio.to_thread(store.write, digest, data)
    except BadImage as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"sha256": digest, "bytes": len(data), "created": created, "by": me.username}
