"""Frames travel separately from their pass: the edge uploads them once the pass is acknowledged,
central checks hash, node and pass, and serves them to the console."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import httpx
from stack_helpers import order_at_lane

from kakou.central.images import NodeTokens
from kakou.demo import DemoPorts, authorize, demo_order, start_stack, stop_stack
from kakou.edge import image_upload
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually

NODE = "gate1-edge1"  # the demo stack's edge node


async def test_central_serves_the_frames_listed_in_a_pass_uploaded_by_its_node(tmp_path: Path) -> None:
    # The stack enrols the node for uploads as a technician would: a token issued by central.
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    token = json.loads((tmp_path / "edge" / image_upload.CONFIG_FILE).read_text())["token"]
    assert NodeTokens(tmp_path / "central" / "keys" / "node-tokens.json").node_of(token) == NODE
    try:
        async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
            await authorize(stack, http)
            order = demo_order("粤B12345", "HF0001").model_dump(mode="json")
            await order_at_lane(stack, http, order, what="the release order at the edge")
            result = await drive_truck(stack.sims, encode_jpeg(render_plate_scene("粤B12345", kind="blue", seed=3)))
            assert result is TruckResult.PASSED

            async def pass_record() -> dict | None:
                items = (await http.get("/api/v1/passes")).json()["items"]
                return items[0]["record"] if items else None

            record = await eventually(pass_record, 20, what="the pass at central")
            assert record["images"], "the lane kept no frame"
            for sha in record["images"]:
                got = await eventually(functools.partial(_image, http, sha), 20, what=f"image {sha} at central")
                assert hashlib.sha256(got).hexdigest() == sha
                local = stack.edge.records.image_path(sha)
                assert local is not None and local.read_bytes() == got
            assert image_upload.counts(stack.edge.store) == {"uploaded": len(record["images"])}

            sha, pass_id = record["images"][0], record["pass_id"]
            url = f"/api/v1/images/{sha}"
            jpeg = stack.edge.records.image_path(sha).read_bytes()  # type: ignore[union-attr]
            node = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
            async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as anon:
                # A console user's login is not a node token, and reading needs a login.
                assert (
                    await anon.put(
                        url,
                        params={"pass_id": pass_id},
                        content=jpeg,
                        headers={**node, "Authorization": "Bearer kn_forged-token"},
                    )
                ).status_code == 401
                assert (await anon.get(url)).status_code == 401
                # Idempotent: the same frame again changes nothing.
                again = await anon.put(url, params={"pass_id": pass_id}, content=jpeg, headers=node)
                assert again.status_code == 200 and again.json()["created"] is False
                # Bytes that do not hash to the name are refused, and the stored frame is untouched.
                other = jpeg[:-2] + b"\x00\xff\xd9"
                bad = await anon.put(url, params={"pass_id": pass_id}, content=other, headers=node)
                assert bad.status_code == 422
                # A genuine JPEG the pass does not list cannot be attached to it.
                sha2 = hashlib.sha256(other).hexdigest()
                stray = await anon.put(
                    f"/api/v1/images/{sha2}", params={"pass_id": pass_id}, content=other, headers=node
                )
                assert stray.status_code == 409
                too_big = await anon.put(
                    url, params={"pass_id": pass_id}, headers=node, content=b"\xff\xd8\xff" + bytes(9 * 1024 * 1024)
                )
                assert too_big.status_code == 413
            assert await _image(http, sha) == jpeg
            assert (await http.get(f"/api/v1/images/{sha2}")).status_code == 404
    finally:
        await stop_stack(stack, tasks)


async def _image(http: httpx.AsyncClient, sha: str) -> bytes | None:
    r = await http.get(f"/api/v1/images/{sha}")
    return r.content if r.status_code == 200 else None
