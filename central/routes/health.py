"""Device health per kind, lane and site (kakou.central.device_health)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from kakou.central import device_health
from kakou.central.device_health import HealthReport
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.security import AnyUser, domain_errors

router = APIRouter(prefix="/api/v1")


@router.get("/device-health", tags=["statistics"])
def device_health_report(
    central: CentralDep, _me: AnyUser, since: datetime | None = None, until: datetime | None = None
) -> HealthReport:
    """Every lane device's current state, and per kind for each lane and site: faults, faults per
    day, mean time to repair (s) and availability over [since, until] (default: the last 7 days)."""
    with domain_errors():
        aware = [t if t is None or t.tzinfo else t.replace(tzinfo=UTC) for t in (since, until)]
        if aware[0] is not None and aware[1] is not None and aware[0] >= aware[1]:
            raise ValueError("起始时间须早于结束时间（since must be before until）")
        return device_health.report(central, since, until)
