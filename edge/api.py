"""The edge node's local HTTP API (the lane screen's data source)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException

if TYPE_CHECKING:
    from kakou.edge.node import EdgeNode


def create_app(node: EdgeNode) -> FastAPI:
    app = FastAPI(title=f"kakou edge {node.id}")

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        link = node.link
        return {
            "node": node.id,
            "online": link.online,
            "offline_since": link.offline_since,
            "knowledge_version": node.store.knowledge_version,
            "knowledge_age_s": node.knowledge_age_s(),
            "outbox": node.store.outbox_counts(),
            "lanes": [
                {"lane": lid, "state": lane.state.value, "direction": lane.cfg.direction,
                 "last_pass": lane.last_pass.model_dump(mode="json") if lane.last_pass else None}
                for lid, lane in node.lanes.items()
            ],
        }

    @app.get("/api/v1/passes")
    def passes(limit: int = 50) -> list[dict[str, Any]]:
        return [p.model_dump(mode="json") for p in node.store.list_passes(min(max(limit, 1), 500))]

    @app.get("/api/v1/passes/{pass_id}")
    def one_pass(pass_id: str) -> dict[str, Any]:
        found = node.store.get_pass(pass_id)
        if found is None:
            raise HTTPException(404, f"no pass {pass_id}")
        record, inputs = found
        return {"record": record.model_dump(mode="json"), "inputs": inputs}

    return app
