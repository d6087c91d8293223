"""Request bodies have a size limit, enforced before anything reads them (authentication included).

A plain ASGI middleware, outermost: a declared Content-Length over the limit is answered 413 before
the app reads a byte (the HTTP server then discards the rest of the body, unbuffered; no
`Connection: close`, which would reset a client still sending); a body without one (chunked) or lying
about it is counted as it arrives and refused as soon as it passes the limit, so no request can make
central buffer more than the limit.
"""

from __future__ import annotations

import json

from starlette.types import Message, Receive, Scope, Send

from kakou.central.http_middleware import HttpMiddleware
from kakou.central.images import MAX_IMAGE_BYTES

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # an application's attachment (enterprise.py)

DEFAULT_MAX_BODY = 1024 * 1024  # JSON bodies: an order with its goods is a few kB
# Path prefix → its own limit: image frames, and declaration imports (a day's declarations at once).
MAX_BODY_BY_PATH = {"/api/v1/images/": MAX_IMAGE_BYTES + 64 * 1024, "/api/v1/declarations/import/": 16 * 1024 * 1024}


def limit_for(path: str) -> int:
    if path.startswith("/api/v1/alerts/") and path.endswith("/photos"):  # a photo taken at disposal
        return MAX_IMAGE_BYTES + 64 * 1024
    if path.startswith("/api/v1/applications/") and path.endswith("/attachments"):  # an enterprise's file
        return MAX_ATTACHMENT_BYTES + 64 * 1024
    return next((n for prefix, n in MAX_BODY_BY_PATH.items() if path.startswith(prefix)), DEFAULT_MAX_BODY)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Request body too large", "status": 413, "detail": f"at most {limit} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope.get("path", ""))
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        seen = 0
        started = refused = False

        async def counting_receive() -> Message:
            # Over the limit: answer 413 ourselves and tell the app the client has gone (whatever it
            # makes of that — FastAPI turns a failed body read into a 400 — is not sent).
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    if not started:
                        refused = True
                        await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if refused:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not refused:
                raise
