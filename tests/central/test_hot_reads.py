"""On a read-cache miss the busiest reads skip FastAPI (central/hot_reads.py): whatever the request,
the answer must be the route's own, byte for byte — and a request the route would refuse, or
answer differently, must reach the route."""

from __future__ import annotations

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
    ("/api/v1/passes?nonsense=1&limit=3", True),
    ("/api/v1/release-orders", True),
    ("/api/v1/release-orders?status=active", True),
    ("/api/v1/release-orders?plate=%E7%B2%A4B12345&limit=1&offset=1", True),
    ("/api/v1/release-orders/HF1", True),
    ("/api/v1/release-orders/HF1?limit=0", True),  # the detail takes no parameters: ignored
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
        issue_order(routed, {"order_no": no, "plate": "粤B12345", "containers": ["MSKU1234565"], "direction": "in",
                             "valid_from": now.isoformat(), "valid_until": (now + timedelta(hours=2)).isoformat()})
    for seq in range(1, 6):
        ingest(central, seq, "粤B12345" if seq % 2 else "粤B54321", node=f"n{seq % 2 + 1}",
               containers=["MSKU1234565"], gross_kg=31_000.5, release_order="HF1")
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
        assert (through.status_code, through.headers["content-type"], through.content) == \
               (direct.status_code, direct.headers["content-type"], direct.content), request
        assert bool(taken) == fast, request
    assert routed("alice").get("/api/v1/passes").json()["total"] == 5
    assert cache.counter.stats() == {"hits": 0, "misses": len(REQUESTS)}
