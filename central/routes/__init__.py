"""API routers, one module per resource. Add a router here to publish it under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from kakou.central.routes import orders, sync


def routers() -> list[APIRouter]:
    return [orders.router, sync.router]
