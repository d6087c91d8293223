"""Every published operation answers junk with a 4xx problem, never a server error
(a small stand-in for a schemathesis run; the schema is the app's own OpenAPI document)."""

from __future__ import annotations

import re

from central_helpers import Api

from kakou.central.service import Central

JUNK = ["x", "0", "-1", "%00", "粤B12345", "' OR 1=1 --", "9" * 30]
BODIES: list[object] = [None, {}, {"unexpected": 1}, [], "text", {"reason": "", "approve": "maybe", "plate": None}]


def test_no_operation_gives_a_server_error_on_junk(api: Api) -> None:
    client = api("admin")
    spec = client.get("/api/v1/openapi.json").json()
    calls = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "logout" in path:
                continue
            for i, junk in enumerate(JUNK):
                url = re.sub(r"\{[^}]+\}", junk, path)
                params = {p["name"]: junk for p in op.get("parameters", []) if p["in"] == "query"}
                body = BODIES[i % len(BODIES)]
                r = client.request(method.upper(), url, params=params, json=body if method in ("post", "put") else None)
                calls += 1
                # 503 is a deliberate answer (e.g. no MQTT bridge in this process), not a crash.
                where = f"{method.upper()} {url} {params} {body!r} → {r.status_code} {r.text}"
                assert r.status_code < 500 or r.status_code == 503, where
                if r.status_code >= 400 and r.status_code != 404:
                    assert r.headers["content-type"].startswith("application/problem+json"), (method, url)
    assert calls > 200


def test_a_server_fault_is_a_page_for_a_browser_and_a_problem_for_an_api_client(central: Central) -> None:
    from fastapi.testclient import TestClient

    from kakou.central.api import create_app

    app = create_app(central)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/api/v1/boom", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 500 and 'data-testid="error-page"' in page.text and "a bug" not in page.text
    api = client.get("/api/v1/boom", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.headers["content-type"].startswith("application/problem+json")
    assert "a bug" not in api.text
