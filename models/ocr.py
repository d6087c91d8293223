"""One shared PP-OCR engine (rapidocr-onnxruntime's bundled ONNX models, nothing downloaded).

The engine costs ~1 s and ~100 MB to load, so it is built once per process and shared by the
plate and container readers. RapidOCR mutates detector thresholds per call, hence the lock;
on the 2-core edge box concurrent inference would not be faster anyway.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kakou.models.fold import load as load_folded

CHARS_MEMO = 64  # recent recognise_chars results kept (a frame re-reads a few dozen crops at most)


@dataclass(frozen=True, slots=True)
class TextLine:
    """One detected and recognised line; box is 4x2 (x, y) corners in frame pixels."""

    box: tuple[tuple[float, float], ...]
    text: str
    score: float

    @property
    def x0(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def x1(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def y0(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def y1(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class OcrEngine:
    """Thread-safe PP-OCR: detect on a downscaled frame, recognise crops cut from full resolution.

    RapidOCR's own "max" limit silently raises the detector size to 960+ px, so we resize
    ourselves: at 480-640 px a 1280x720 frame detects plate/code text in ~25-90 ms instead of
    ~190 ms, and the crops keep full-resolution pixels for the recogniser."""

    def __init__(self, threads: int | None = None, spin: bool | None = None, rec_min_width: int | None = None) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import, deferred until first use

        # limit_type "max" leaves our pre-resized image alone ("min" would upscale it to 736 px).
        self._ocr: Any = RapidOCR(use_cls=False, print_verbose=False, det_limit_type="max")
        threads = threads if threads is not None else default_threads()
        # Spinning keeps a lone thread hot between calls; threads that spin fight the lane's other
        # work for two cores (see default_threads), so spinning is on only for one thread.
        spin = spin if spin is not None else os.environ.get("KAKOU_OCR_SPIN", "1" if threads == 1 else "0") != "0"
        fold = os.environ.get("KAKOU_OCR_FOLD", "1") != "0"
        # What each model runs as ("folded (...)" or "original (why)"), for the log and tests.
        self.models: dict[str, str] = {
            "det": _tune_session(self._ocr.text_det.infer, threads, spin, fold, (1, 3, 64, 64)),
            "rec": _tune_session(self._ocr.text_rec.session, threads, spin, fold, (1, 3, 48, 96)),
        }
        _fast_det_normalise(self._ocr.text_det)
        # PaddleOCR pads every line to 48x320 (ratio 6.7); a plate is ~3:1, so half of that
        # work is padding. The batch width still grows to the widest crop's ratio.
        w = rec_min_width if rec_min_width is not None else int(os.environ.get("KAKOU_OCR_REC_MIN_WIDTH", "96"))
        self._ocr.text_rec.rec_image_shape = [3, 48, w]
        # One crop per run: a batch is padded to its widest member (a 4-character size code
        # would cost as much as the 13-character line next to it), and one thread gains nothing
        # from batching.
        self._ocr.text_rec.rec_batch_num = int(os.environ.get("KAKOU_OCR_REC_BATCH", "1"))
        self._lock = threading.Lock()
        # recognise_chars results by crop content: the container reader's fallbacks re-read the
        # same line crops (the two tallest lines after every chunk, a group at each reach).
        self._chars_memo: OrderedDict[tuple[Any, ...], list[list[tuple[str, float]]]] = OrderedDict()

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        """Text boxes (4x2 float32, frame pixels), largest text first."""
        h, w = image.shape[:2]
        scale = min(1.0, side / max(h, w))
        small = (
            image
            if scale == 1.0
            else cv2.resize(image, (max(int(w * scale), 32), max(int(h * scale), 32)), interpolation=cv2.INTER_AREA)
        )
        sy, sx = h / small.shape[0], w / small.shape[1]
        with self._lock:
            boxes, _ = self._ocr.text_det(small)
        if boxes is None:
            return []
        out = [np.array(b, dtype=np.float32) * np.array([sx, sy], dtype=np.float32) for b in boxes]
        out.sort(key=_box_height, reverse=True)
        return out

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        """Text boxes inside the region (x0, y0, x1, y1) detected at `side` px on its long side,
        in frame pixels: a small region costs a few ms where the whole frame costs 25-140."""
        x0, y0, x1, y1 = box
        boxes = self.detect(image[y0:y1, x0:x1], side)
        return [b + np.array([x0, y0], dtype=np.float32) for b in boxes]

    def recognise_boxes(self, image: np.ndarray, boxes: list[np.ndarray], stretch: float = 1.0) -> list[TextLine]:
        """Recognise each box's rectified crop; `stretch` > 1 widens the crops first, which gives
        CTC room for a blank between two identical narrow letters ("JJMU" otherwise collapses
        to "JMU")."""
        if not boxes:
            return []
        with self._lock:
            crops = self._ocr.get_crop_img_list(image, [b.copy() for b in boxes])
            if stretch != 1.0:
                crops = [cv2.resize(c, None, fx=stretch, fy=1.0, interpolation=cv2.INTER_CUBIC) for c in crops]
            res, _ = self._ocr.text_rec(crops)
        return [
            TextLine(tuple((float(x), float(y)) for x, y in b), str(t), float(sc))
            for b, (t, sc) in zip(boxes, res, strict=True)
        ]

    def upright(self, crops: list[np.ndarray]) -> list[tuple[bool, float]]:
        """PP-OCR's direction classifier on line crops: whether each line stands upright (rather
        than turned half round), and how sure it is."""
        if not crops:
            return []
        with self._lock:
            _, res, _ = self._ocr.text_cls(crops)
        return [(str(label) == "0", float(score)) for label, score in res]

    def lines(self, image: np.ndarray, side: int = 640, stretch: float = 1.0) -> list[TextLine]:
        return self.recognise_boxes(image, self.detect(image, side), stretch)

    def lines_in(
        self, image: np.ndarray, box: tuple[int, int, int, int], side: int, stretch: float = 1.0
    ) -> list[TextLine]:
        return self.recognise_boxes(image, self.detect_region(image, box, side), stretch)

    def recognise_chars(self, crop: np.ndarray, top: int = 5, stretch: float = 1.0) -> list[list[tuple[str, float]]]:
        """Greedy CTC reading of one line crop, keeping for every emitted character the `top`
        most likely characters at that step with their probabilities (the plain reading keeps
        only the best, so "J" at 0.55 beside 」 at 0.23 and 丁 at 0.17 looks unsure). `stretch`
        scales the crop's width first (several stretches of a line are several views of it)."""
        key = (
            crop.shape,
            crop.dtype.str,
            top,
            stretch,
            hashlib.blake2b(np.ascontiguousarray(crop).tobytes(), digest_size=16).digest(),
        )
        with self._lock:
            hit = self._chars_memo.get(key)
            if hit is not None:
                self._chars_memo.move_to_end(key)
                return [list(step) for step in hit]
        out = self._recognise_chars(crop, top, stretch)
        with self._lock:
            self._chars_memo[key] = [list(step) for step in out]
            while len(self._chars_memo) > CHARS_MEMO:
                self._chars_memo.popitem(last=False)
        return out

    def forget(self) -> None:
        """Drop remembered recognitions (a benchmark that warms up on the frame it then times)."""
        with self._lock:
            self._chars_memo.clear()

    def _recognise_chars(self, crop: np.ndarray, top: int, stretch: float) -> list[list[tuple[str, float]]]:
        if stretch != 1.0:
            crop = cv2.resize(
                crop, None, fx=stretch, fy=1.0, interpolation=cv2.INTER_AREA if stretch < 1 else cv2.INTER_CUBIC
            )
        rec = self._ocr.text_rec
        h, w = crop.shape[:2]
        ratio = max(w / max(h, 1), rec.rec_image_shape[2] / rec.rec_image_shape[1])
        x = rec.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32)
        with self._lock:
            probs = rec.session(x)[0][0]
        chars = rec.postprocess_op.character
        out: list[list[tuple[str, float]]] = []
        prev = 0
        for step, idx in enumerate(probs.argmax(axis=1)):
            if idx != 0 and idx != prev:  # 0 is the CTC blank; repeats collapse
                # The `top` largest of 6,625 without sorting them all (argsort was 5 % of a frame).
                part = np.argpartition(probs[step], -top)[-top:]
                best = part[np.argsort(probs[step][part])[::-1]]
                out.append([(str(chars[k]), float(probs[step][k])) for k in best if k != 0])
            prev = idx
        return out

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Recognition only, for crops already cut to one text line."""
        if not crops:
            return []
        with self._lock:
            res, _ = self._ocr.text_rec(crops)
        return [(str(t), float(s)) for t, s in res]


def default_threads() -> int:
    """Intra-op threads per inference: KAKOU_OCR_THREADS, else the cores this process may use, at
    most two. Measured on the 2-core box (docs/recognition.md): two threads without spinning
    detect a 960 px frame in 54 ms instead of 91 and recognise a line in 8 ms instead of 12 when
    the box is idle; with one other busy process it is even, with two 15 % slower."""
    env = os.environ.get("KAKOU_OCR_THREADS", "").strip()
    if env:
        if not env.isdigit():
            raise ValueError(f"KAKOU_OCR_THREADS must be a whole number of threads (0 = one per core), not {env!r}")
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def _tune_session(holder: Any, threads: int, spin: bool, fold: bool, probe_shape: tuple[int, ...]) -> str:
    """Rebuild RapidOCR's ONNX session with our options: full graph optimisation, sequential
    execution, `threads` intra-op threads (0 = one per core) and optional spin-waiting (spinning
    lowers latency on an idle box but burns CPU that other lanes and services need). With
    `fold`, the model is first rewritten into fewer operators (fold.py: ~20 % less time, same
    outputs), falling back to the model as shipped. Returns what the session runs."""
    import onnxruntime as ort
    import rapidocr_onnxruntime

    # The model is the one RapidOCR loaded (det or rec), from the wheel's own models folder.
    name = Path(holder.session._model_path).name
    path = str(Path(rapidocr_onnxruntime.__file__).parent / "models" / name)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = max(threads, 0)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if fold:
        holder.session, used = load_folded(Path(path), opts, probe_shape)
        return used
    holder.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    return "original (KAKOU_OCR_FOLD=0)"


def _fast_det_normalise(text_det: Any) -> None:
    """RapidOCR normalises the detector's input in float64 ((x / 255 - mean) / std, then cast):
    5-7 % of a plate frame's time. A uint8 pixel has 256 values, so the same float32 results
    come from a per-channel lookup table (cv2.LUT, bit-identical, ~3x faster). Wraps the
    detector's per-call preprocessing factory; leaves it alone if RapidOCR's differs."""
    make = text_det.get_preprocess

    def get_preprocess(max_wh: int) -> Any:
        op = make(max_wh)
        original = getattr(op, "normalize", None)
        if original is None:
            return op
        ramp = np.arange(256, dtype=np.uint8).reshape(256, 1, 1).repeat(3, axis=2)
        table = np.asarray(original(ramp), dtype=np.float32).reshape(1, 256, 3)

        def normalize(img: np.ndarray) -> np.ndarray:
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                return np.asarray(original(img))
            return cv2.LUT(img, table)

        op.normalize = normalize
        return op

    text_det.get_preprocess = get_preprocess


def _box_height(box: np.ndarray) -> float:
    return float(box[:, 1].max() - box[:, 1].min())


@lru_cache(maxsize=1)
def shared_engine() -> OcrEngine:
    return OcrEngine()
