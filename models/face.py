"""Face-match hook: `match(probe_image, reference) -> score in [0, 1]`, chosen by config.

The default, `HogFaceMatcher`, works offline with nothing but NumPy/OpenCV: it compares
histograms of oriented gradients of the two (face-cropped, equalised) images. It is a
baseline that catches a different person or a photo of nobody; it is not a biometric-grade
matcher. A site that has one (e.g. an ONNX face-embedding model it ships itself) plugs it in with
`face_matcher = "package.module:Class"` in the node config; the lane only sees the score.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import cv2
import numpy as np


class FaceMatcher(Protocol):
    def match(self, probe: np.ndarray, reference: np.ndarray) -> float: ...


class HogFaceMatcher:
    """Histograms of oriented gradients over the face crop, compared by cosine similarity.

    Gradients of a blurred, equalised crop are robust to lighting and sensor noise, and they
    differ where the features of two faces are in different places.
    """

    def __init__(self, size: int = 64, cell: int = 8, bins: int = 9) -> None:
        self.size, self.cell, self.bins = size, cell, bins

    def _descriptor(self, image: np.ndarray) -> np.ndarray:
        if not isinstance(image, np.ndarray) or image.size == 0 or image.ndim not in (2, 3):
            raise ValueError("face image is empty or not an image")
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        side = min(h, w)  # centre square: the face camera frames the driver's face
        gray = gray[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
        gray = cv2.resize(np.ascontiguousarray(gray), (self.size, self.size), interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(gray, (7, 7), 2.0)  # sensor noise must not become gradients
        f = gray.astype(np.float32)
        gx, gy = cv2.Sobel(f, cv2.CV_32F, 1, 0), cv2.Sobel(f, cv2.CV_32F, 0, 1)
        mag = np.hypot(gx, gy)
        b = (np.rad2deg(np.arctan2(gy, gx)) % 180 / (180 / self.bins)).astype(np.int64) % self.bins
        n = self.size // self.cell
        cells = np.arange(self.size) // self.cell
        idx = (cells[:, None] * n + cells[None, :]) * self.bins + b  # cell-major bin index per pixel
        d = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=n * n * self.bins)
        return d / (np.linalg.norm(d) or 1.0)

    def match(self, probe: np.ndarray, reference: np.ndarray) -> float:
        return float(max(0.0, np.dot(self._descriptor(probe), self._descriptor(reference))))


def load_matcher(spec: str | None) -> FaceMatcher:
    """`None` → the built-in baseline; "package.module:Class" → that class, constructed without args."""
    if not spec:
        return HogFaceMatcher()
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(module), name)
    matcher: FaceMatcher = cls()
    if not callable(getattr(matcher, "match", None)):
        raise TypeError(f"{spec} has no match(probe, reference) method")
    return matcher
