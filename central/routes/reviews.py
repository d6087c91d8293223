"""What awaits review, every kind in one paged list (the reviews themselves stay on each record's
own endpoint, named in each item)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kakou.central import review_queue
from kakou.central.list_queries import Offset
from kakou.central.review_model import ReviewKind
from kakou.central.review_queue import ReviewPage
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.security import Reviewer

router = APIRouter(prefix="/api/v1", tags=["reviews"])


@router.get("/reviews")
def pending_reviews(
    central: CentralDep,
    _me: Reviewer,
    limit: Annotated[int, Query(ge=1, le=review_queue.MAX_LIMIT)] = 50,
    offset: Offset = 0,
    kind: Annotated[list[ReviewKind] | None, Query(description="only these kinds (repeat the parameter)")] = None,
) -> ReviewPage:
    """Records and requests awaiting a second officer's review (待复核), oldest first, with a count
    per kind and each kind's label; a reviewer sees their own submissions too (their review is
    refused: 403)."""
    return review_queue.pending(central, limit, offset, kind)
