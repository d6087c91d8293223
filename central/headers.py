"""Security headers on every answer of central's HTTP server (pages and API).

The console and the field page load only their own scripts (`/ui/…`), so the content security
policy allows scripts from this origin only; styles may be inline (the charts' SVG), images also
from `blob:` (frames fetched with the bearer token). No page may be framed (clickjacking), and no
answer is sniffed as another content type.
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from kakou.central.http_middleware import HttpMiddleware

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
]
_NAMES = {name for name, _ in HEADERS}


class SecurityHeaders(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                kept = [(k, v) for k, v in msg.get("headers", []) if k.lower() not in _NAMES]
                msg = {**msg, "headers": [*kept, *HEADERS]}
            await send(msg)

        await self.app(scope, receive, with_headers)
