"""Pass images at central: frames uploaded by the edges over HTTP, stored by content hash.

A pass record carries the SHA-256 of each frame the lane kept (`PassRecord.images`); the frames
themselves travel separately, after the pass is acknowledged, so a slow or dead image upload never
holds back the pass stream. Central accepts an image only from the node whose stored pass lists its
hash, checks the bytes hash to the name, and keeps it once (a re-upload changes nothing).

Nodes authenticate with a per-node upload token (`Authorization: Bearer kn_…`), issued by
`issue_node_token` and kept at central only as a SHA-256 in `keys/node-tokens.json` (mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from pathlib import Path

from sqlalchemy import select

from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables_sync import PassRow

MAX_IMAGE_BYTES = 8 * 1024 * 1024  # a 1080p JPEG is well under 1 MiB; anything this big is not a frame
SHA256 = re.compile(r"^[0-9a-f]{64}$")
TOKEN_PREFIX = "kn_"


class BadImage(ValueError):
    """The bytes are not what the name says (hash mismatch, not a JPEG, too large)."""


class NodeTokens:
    """Per-node upload tokens; only their hashes are on disk. Re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, str]] | None = None

    def _load(self) -> dict[str, str]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache is None or self._cache[0] != mtime:
            self._cache = (mtime, json.loads(self.path.read_text()))
        return self._cache[1]

    def issue(self, node: str) -> str:
        """A new token for `node` (replacing any earlier one); shown once, stored as a hash."""
        if not node or "/" in node:
            raise ValueError(f"invalid node id {node!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            tokens = dict(self._load())
            tokens[node] = hashlib.sha256(token.encode()).hexdigest()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(tokens, f, indent=1, sort_keys=True)
            tmp.replace(self.path)
            self._cache = None
        return token

    def node_of(self, token: str) -> str | None:
        """The node a token belongs to, or None. Constant-time comparison of the hashes."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            tokens = self._load()
        found = None
        for node, stored in tokens.items():
            if hmac.compare_digest(stored, digest):
                found = node
        return found


class ImageStore:
    """Files under `{data_dir}/images/ab/cd/<sha256>.jpg`, written atomically."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "images"
        self.tokens = NodeTokens(data_dir / "keys" / "node-tokens.json")

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise BadImage("an image is named by its SHA-256: 64 lowercase hex digits")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"

    def find(self, sha256: str) -> Path | None:
        p = self.path(sha256)
        return p if p.exists() else None

    def write(self, sha256: str, data: bytes) -> bool:
        """Store the bytes under their hash; False if they were already there (idempotent)."""
        if len(data) > MAX_IMAGE_BYTES:
            raise BadImage(f"image of {len(data)} bytes is over the {MAX_IMAGE_BYTES}-byte limit")
        if not data.startswith(b"\xff\xd8\xff"):
            raise BadImage("not a JPEG (no SOI marker)")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BadImage(f"content hashes to {actual}, not {sha256}")
        p = self.path(sha256)
        if p.exists():
            return False
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{sha256}.{secrets.token_hex(4)}.tmp")  # concurrent uploads never share a temp file
        tmp.write_bytes(data)
        tmp.replace(p)
        return True


def store_uploaded(central: Central, images: ImageStore, node: str, pass_id: str, sha256: str, data: bytes) -> bool:
    """Accept a frame from `node` for its pass `pass_id`; True if new, False if already stored.

    NotFound: central has no such pass yet (the edge retries later). Conflict: the pass is another
    node's, or does not list this image. BadImage: the bytes do not match the name.
    """
    images.path(sha256)  # validates the name before anything else
    with central.sessions() as s:
        row = s.scalar(select(PassRow).where(PassRow.pass_id == pass_id))
        if row is None:
            raise NotFound(f"no pass {pass_id} at central (yet)")
        if row.node != node:
            raise Conflict(f"pass {pass_id} is not from node {node}")
        if sha256 not in (row.record.get("images") or []):
            raise Conflict(f"pass {pass_id} does not list image {sha256}")
    return images.write(sha256, data)
