"""A plate-specific recogniser: HyperLPR's segmentation-free network, as a second opinion.

PP-OCRv4 (the general recogniser, `ocr.py`) reads Chinese plates well but not their font: at
94 x 24 px it confuses D with 0 and T with 1 in the serial, letters that the plate font (GA 36)
draws apart. HyperLPR's recogniser was trained on real plate crops: on the field dev crops its
body (every character after the province) is right 1,082 times of 1,082 where each character is
at least 0.9 sure, as they are and under eleven camera variations (its provinces are not to be
trusted: 闽 for 皖 at 0.87). The plate reader asks it only to settle what PP-OCR left open and,
on crops, to stand against what it reads otherwise (`plate.PlateReader._net_opinion`), never to
read a plate alone.

The model comes from the `hyperlpr` wheel (0.0.2, MIT; installed without its dependencies, see
the Makefile: it asks for opencv-python, which would shadow opencv-python-headless). Its Python
code is never imported (it needs OpenCV's removed Caffe importer): the Caffe files it ships are
read and rebuilt as an ONNX model in memory (`caffe_onnx`, ~0.7 s once per process). Without
the package the reader works as before and says so once in the log.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from kakou.models.caffe_onnx import to_onnx

log = logging.getLogger(__name__)

PACKAGE = "hyperlpr"
PROTOTXT = "models/dnn/SegmenationFree-Inception.prototxt"
CAFFEMODEL = "models/dnn/SegmenationFree-Inception.caffemodel"
INPUT_W, INPUT_H = 160, 40
SKIP_STEPS = 2  # the first two output steps fall left of any plate (as HyperLPR decodes)
# The network's alphabet (HyperLPR's table_chs); index len(CHARS) is the CTC blank.
CHARS = (
    "京沪津渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
    "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    "港学使警澳挂军北南广沈兰成济海民航空"
)


class PlateNet:
    """Thread-safe: ONNX Runtime sessions may be run from several threads."""

    def __init__(self, model: bytes) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # ~3 ms a crop: a second thread would only contend
        self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])

    def read(self, crop: np.ndarray) -> list[tuple[str, float]]:
        """Each character of a tight plate crop (BGR) with its probability (greedy CTC: the
        largest over the steps it spans)."""
        x = cv2.resize(crop, (INPUT_W, INPUT_H), interpolation=cv2.INTER_LINEAR)
        # The network reads a plate turned on its side: its rows are the plate's columns.
        x = np.ascontiguousarray(x.transpose(2, 1, 0)[np.newaxis], np.float32) / 255.0
        probs = self._session.run(None, {"data": x})[0][0, :, SKIP_STEPS:, 0].T
        out: list[tuple[str, float]] = []
        prev = -1
        for step, idx in enumerate(probs.argmax(axis=1)):
            p = float(probs[step, idx])
            if idx < len(CHARS):
                if idx != prev:
                    out.append((CHARS[idx], p))
                elif p > out[-1][1]:
                    out[-1] = (CHARS[idx], p)
            prev = int(idx)
        return out


def model_files() -> tuple[Path, Path] | None:
    """The installed package's Caffe files, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    files = (root / PROTOTXT, root / CAFFEMODEL)
    return files if all(f.is_file() for f in files) else None


_lock = threading.Lock()
_shared: list[PlateNet | None] = []


def shared_plate_net() -> PlateNet | None:
    """The process-wide recogniser, built on first use; None (logged once) without the package
    or if its files do not convert."""
    with _lock:
        if not _shared:
            _shared.append(_load())
        return _shared[0]


def _load() -> PlateNet | None:
    files = model_files()
    if files is None:
        log.warning("plate-specific recogniser not installed (pip install --no-deps hyperlpr==0.0.2): PP-OCR alone")
        return None
    try:
        return PlateNet(to_onnx(files[0].read_text("utf-8"), files[1].read_bytes()))
    except Exception as exc:  # a damaged install (onnx's or ORT's own errors too) must not stop reading
        log.warning("plate-specific recogniser not usable (%s): PP-OCR alone", exc)
        return None
