"""Request bodies are bounded before anyone reads them, and free text is bounded where it is stored
(issue 15, item 5): a stranger cannot make central buffer a 300 MB body, and a 20 MB note does not
end up in every alert list and in the audit log."""

from __future__ import annotations

import socket

from central_helpers import Api, ingest

from kakou.central import projections
from kakou.central.body_limit import DEFAULT_MAX_BODY
from kakou.central.service import Central
from kakou.sync import limits


def test_an_oversized_body_is_refused_413_before_authentication(api: Api) -> None:
    anon = api.anonymous()
    big = b"{" + b" " * (DEFAULT_MAX_BODY + 1) + b"}"
    for path in ("/api/v1/auth/login", "/api/v1/release-orders", "/api/v1/alerts/1/notes"):
        r = anon.post(path, content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413, (path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json") and r.json()["status"] == 413
    # Chunked (no Content-Length): counted as it arrives, refused once over the limit.
    r = anon.post("/api/v1/auth/login", content=iter([b" " * 65536] * 20), headers={"content-type": "application/json"})
    assert r.status_code == 413
    # A body within the limit still gets the ordinary answer (here: not logged in).
    assert anon.post("/api/v1/release-orders", json={"order_no": "x"}).status_code == 401


def test_the_limit_holds_on_the_wire_without_reading_the_body(api: Api) -> None:
    # A raw request declaring 300 MB: answered at once, from the header alone.
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        import time

        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 314572800\r\n\r\n{"
            )
            assert s.recv(200).startswith(b"HTTP/1.1 413")
    finally:
        server.should_exit = True
        thread.join(10)


def test_free_text_is_bounded(api: Api, central: Central) -> None:
    ingest(
        central,
        1,
        "粤B12345",
        outcome="officer",
        checks=[{"name": "weight", "ok": False, "detail": "gross 41000 kg vs declared 30000 kg"}],
    )
    projections.run_all(central)
    fred = api("fred")
    alert = fred.get("/api/v1/alerts", params={"mine": True}).json()["items"][0]
    long = "注" * (limits.NOTE + 1)
    for path, body in (
        (f"/api/v1/alerts/{alert['id']}/notes", {"text": long}),
        (f"/api/v1/alerts/{alert['id']}/acknowledge", {"text": long}),
        (f"/api/v1/alerts/{alert['id']}/dispose", {"disposal": long}),
    ):
        r = fred.post(path, json=body)
        assert r.status_code == 422, (path, r.status_code)
    assert fred.post(f"/api/v1/alerts/{alert['id']}/notes", json={"text": "注" * limits.NOTE}).status_code == 200


def test_pages_and_answers_carry_security_headers(api: Api) -> None:
    anon = api.anonymous()
    for path in ("/console", "/field", "/api/v1/health", "/api/v1/passes"):
        r = anon.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path


def test_nan_and_infinity_are_refused_in_bodies(api: Api) -> None:
    alice = api("alice")
    order = (
        '{"order_no": "HFNAN", "plate": "粤B12345", "direction": "in", "valid_from": "2026-12-01T00:00:00Z", '
        '"valid_until": "2026-12-31T00:00:00Z", "declared_gross_kg": %s}'
    )
    for number in ("NaN", "Infinity", "-Infinity", "1e400"):
        r = alice.post("/api/v1/release-orders", content=order % number, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), number
    ok = alice.post("/api/v1/release-orders", content=order % "30000.5", headers={"content-type": "application/json"})
    assert ok.status_code == 201, ok.text
    assert alice.get("/api/v1/release-orders/HFNAN").status_code == 200
