"""Pass images: edges upload frames by hash (node token), the console reads them (user login)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kakou.central import images
from kakou.central.images import MAX_IMAGE_BYTES, BadImage, ImageStore
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.security import AnyUser, domain_errors

router = APIRouter(prefix="/api/v1/images", tags=["images"])

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the JPEG, lowercase hex")]
_bearer = HTTPBearer(auto_error=False, description="the node's upload token (kn_…)")


def image_store(request: Request) -> ImageStore:
    store = getattr(request.app.state, "images", None)
    if store is None:
        raise HTTPException(503, "this central has no image store configured")
    return store


Store = Annotated[ImageStore, Depends(image_store)]


def uploading_node(store: Store, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    node = store.tokens.node_of(cred.credentials) if cred else None
    if node is None:
        raise HTTPException(
            401, "a node upload token is required: Authorization: Bearer kn_…", headers={"WWW-Authenticate": "Bearer"}
        )
    return node


async def image_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
        raise HTTPException(413, f"image over the {MAX_IMAGE_BYTES}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMAGE_BYTES:  # a lying or absent Content-Length does not get us to buffer more
            raise HTTPException(413, f"image over the {MAX_IMAGE_BYTES}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.put("/{sha256}", status_code=201, responses={200: {"description": "already stored"}})
async def upload(
    sha256: Sha256,
    request: Request,
    response: Response,
    central: CentralDep,
    store: Store,
    node: Annotated[str, Depends(uploading_node)],
    pass_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> dict[str, object]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "image/jpeg":
        raise HTTPException(415, "send the frame as Content-Type: image/jpeg")
    data = await image_body(request)
    with domain_errors():
        try:
            created = await asyncio.to_thread(images.store_uploaded, central, store, node, pass_id, sha256, data)
        except BadImage as exc:
            raise HTTPException(422, str(exc)) from exc
    if not created:
        response.status_code = 200
    return {"sha256": sha256, "pass_id": pass_id, "bytes": len(data), "created": created}


@router.get("/{sha256}", response_class=FileResponse)
def get_image(sha256: Sha256, store: Store, _me: AnyUser) -> FileResponse:
    path = store.find(sha256)
    if path is None:
        raise HTTPException(404, f"image {sha256} is not at central (not uploaded yet, or unknown)")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
