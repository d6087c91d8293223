"""On a read-cache miss the busiest reads skip FastAPI (central/hot_reads.py): whatever the request,
the answer must be the route's own, byte for byte — and a request the route would refuse, or
answer differently, must reach the route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from central_helpers import Api, ingest, issue_order

from kakou.central import hot_reads, projections, read_cache
from kakou.central.api import create_app
from kakou.central.auth import Role
from kakou.central.service import Central

# (request, whether the fast way may take it)
REQUESTS = [
    ("/api/v1/passes", True),
    ("/api/v1/passes?limit=2", True),
    ("/api/v1/passes?limit=2&offset=1", True),
    ("/api/v1/passes?limit=500&offset=2147483647", True),
    ("/api/v1/passes?plate=%E7%B2%A4B12345", True),
    ("/api/v1/passes?plate=", True),
    ("/api/v1/passes?node=n2&limit=1", True),
    ("/api/v1/passes?nonsense=1&limit=3", False),  # unknown to the model: the route decides
    ("/api/v1/release-orders", True),
    ("/api/v1/release-orders?status=active", True),
    ("/api/v1/release-orders?plate=%E7%B2%A4B12345&limit=1&offset=1", True),
    ("/api/v1/release-orders/HF1", True),
    ("/api/v1/release-orders/HF1?limit=0", False),  # the detail takes no parameters
    ("/api/v1/release-orders/%E7%B2%A4", True),  # taken, not found: the route answers the 404
    ("/api/v1/passes?limit=0", False),
    ("/api/v1/passes?limit=501", False),
    ("/api/v1/passes?limit=abc", False),
    ("/api/v1/passes?offset=-1", False),
    ("/api/v1/passes?offset=2147483648", False),
    ("/api/v1/passes?limit=1&limit=2", False),
    ("/api/v1/passes?plate=%00", False),
    ("/api/v1/passes?plate=%FF", False),
    ("/api/v1/release-orders?status=a%00", False),
    ("/api/v1/release-orders/HF1%00", False),
]


def test_the_fast_way_answers_exactly_as_the_route(central: Central, users: dict[str, Role]) -> None:
    routed = Api(central)
    now = datetime.now(UTC)
    for no in ("HF1", "HF2", "HF3"):
        issue_order(
            routed,
            {
                "order_no": no,
                "plate": "粤B12345",
                "containers": ["MSKU1234565"],
                "direction": "in",
                "valid_from": now.isoformat(),
                "valid_until": (now + timedelta(hours=2)).isoformat(),
            },
        )
    for seq in range(1, 6):
        ingest(
            central,
            seq,
            "粤B12345" if seq % 2 else "粤B54321",
            node=f"n{seq % 2 + 1}",
            containers=["MSKU1234565"],
            gross_kg=31_000.5,
            release_order="HF1",
        )
    projections.run_all(central)  # the passes against HF1 (the order's detail lists them)
    assert len(routed("alice").get("/api/v1/release-orders/HF1").json()["passes"]) == 5
    cached = Api(central)
    cache = read_cache.install(create_app(central), central)
    cached.app = cache  # type: ignore[assignment]
    taken: list[str] = []

    def spy(path: str, query: bytes) -> Any:
        read = hot_reads.match(path, query)
        if read is not None:
            taken.append(path)
        return read

    cache.hot = spy
    for request, fast in REQUESTS:
        taken.clear()
        direct, through = routed("alice").get(request), cached("alice").get(request)
        assert through.headers.get("x-cache") is None, request  # a miss: the first time it is asked
        assert (through.status_code, through.headers["content-type"], through.content) == (
            direct.status_code,
            direct.headers["content-type"],
            direct.content,
        ), request
        assert bool(taken) == fast, request
    assert routed("alice").get("/api/v1/passes").json()["total"] == 5
    cacheable = [r for r, _ in REQUESTS if "%00" not in r.partition("?")[0]]  # a NUL in the path: never cached
    assert cache.counter.stats() == {"hits": 0, "misses": len(cacheable)}


def _sample(schema: dict[str, Any]) -> str:
    """A valid value for a query parameter of this OpenAPI schema."""
    kinds = [schema, *schema.get("anyOf", [])]
    if any(k.get("type") == "integer" for k in kinds):
        return str(next((k["minimum"] for k in kinds if "minimum" in k), 1) + 1)
    return "x"


def test_each_cached_route_and_its_fast_way_take_the_same_query_model(central: Central, users: dict[str, Role]) -> None:
    """Generated from the app's route table: a parameter added to a route but not to the fast
    way's model (or the reverse) fails here; each parameter alone answers byte for byte alike."""
    app = create_app(central)
    spec = app.openapi()["paths"]
    routed, cached = Api(central), Api(central)
    issue_order(
        routed,
        {
            "order_no": "X1",
            "plate": "粤B12345",
            "direction": "in",
            "valid_from": datetime.now(UTC).isoformat(),
            "valid_until": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        },
    )
    cached.app = read_cache.install(create_app(central), central)  # type: ignore[assignment]
    covered = set()
    for path, ops in spec.items():
        concrete = re.sub(r"\{[^}]+\}", "X1", path)
        hot = next((h for h in hot_reads.READS if h.path.fullmatch(concrete)), None)
        if "get" not in ops or hot is None:
            continue
        covered.add(hot.path.pattern)
        params = {p["name"]: p["schema"] for p in ops["get"].get("parameters", []) if p["in"] == "query"}
        assert set(params) == set(hot.query.model_fields), path
        assert hot_reads.match(concrete, b"unknown=1") is None  # the route decides what it means
        for name, schema in params.items():
            request = f"{concrete}?{name}={_sample(schema)}"
            assert hot_reads.match(concrete, request.partition("?")[2].encode()) is not None, request
            direct, through = routed("alice").get(request), cached("alice").get(request)
            assert (through.status_code, through.content) == (direct.status_code, direct.content), request
    assert covered == {h.path.pattern for h in hot_reads.READS}  # every fast read stands for a route
