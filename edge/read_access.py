"""Who may read the lane node's records (passes with IC card numbers, frames, interventions): not
anyone on the network (issue 15).

A read is allowed with
- an officer's session: the bearer token from `POST /api/v1/officer/login`, or the same token in
  the HttpOnly cookie that login sets (so the screen's `<img>` and event stream carry it);
- the node-local read key (`<data dir>/keys/lane-read.key`, created at first start, mode 0600):
  as a bearer token for a tool, or for the lane's own screen opened once as `/lane?key=KEY` (the
  node answers with an HttpOnly cookie and takes the key out of the address);
- or from this machine itself (loopback: the kiosk browser on the node), unless
  `[http] reads_from_loopback = false` (e.g. behind a reverse proxy on the same host).
Everything else is answered 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

OFFICER_COOKIE = "kakou_officer"
LANE_COOKIE = "kakou_lane"
REFUSED = (
    "须关员登录或本机令牌 / officer login or the node's read key required: log in with your PIN, "
    "or open the lane screen as /lane?key=… (the key is in the node's data directory, keys/lane-read.key)"
)


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "lane-read.key"


def load_or_create_key(path: Path) -> str:
    """The node's read key; made at first start (0600), never overwritten."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by a concurrent start just now
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def is_key(given: str | None, key: str) -> bool:
    return given is not None and given != "" and hmac.compare_digest(given.encode(), key.encode())


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(request: Request) -> None:
    """A route dependency: refuse a read from anyone without a session, the key, or the node itself."""
    node = request.app.state.node
    key: str = request.app.state.read_key
    cfg = getattr(node, "cfg", None)
    if (cfg is None or cfg.http.reads_from_loopback) and _loopback(request):
        return
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    for token in (bearer, request.cookies.get(OFFICER_COOKIE, "")):
        if token and node.officers.officer_for(token) is not None:
            return
    if is_key(bearer, key) or is_key(request.cookies.get(LANE_COOKIE), key):
        return
    raise HTTPException(401, REFUSED, headers={"WWW-Authenticate": "Bearer"})


def node_key(node: object) -> str:
    """The node's read key from its data directory (a node without one, in a test: a random key)."""
    cfg = getattr(node, "cfg", None)
    return load_or_create_key(key_path(cfg.node.data_dir)) if cfg is not None else secrets.token_urlsafe(32)
