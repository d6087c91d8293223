"""Labelled generated datasets and the accuracy/timing measurement behind `kakou bench`.

Frames come from the camera simulator's renderer (kakou.sim.render); every sample is
reproducible from (kind, seed, index).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from kakou.models.iso6346 import make_code
from kakou.models.plate_grammar import PROVINCES

PLATE_KINDS = ("blue", "yellow", "green", "double_yellow", "latin")
KINDS = (*PLATE_KINDS, "plate", "container")

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "0123456789"
_OWNERS_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str  # plate kind or "container"
    label: str
    seed: int
    frame: np.ndarray
    crop: np.ndarray  # the same text already cut out (plate bitmap / door marking area)


def random_plate(kind: str, rng: np.random.Generator) -> str:
    def pick(alphabet: str, n: int = 1) -> str:
        return "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=n))

    if kind == "latin":
        return pick(_LETTERS, 2) + pick(_DIGITS, int(rng.integers(2, 5)))  # matches EXAMPLE_LATIN_PATTERNS
    head = pick(PROVINCES) + pick(_LETTERS)
    if kind == "green":
        if rng.random() < 0.5:
            return head + pick("DF") + pick(_LETTERS + _DIGITS) + pick(_DIGITS, 4)
        return head + pick(_DIGITS, 5) + pick("DF")
    # Real series mix at most a couple of letters into the five; digits dominate.
    body = [pick(_LETTERS) if rng.random() < 0.25 else pick(_DIGITS) for _ in range(5)]
    return head + "".join(body)


def random_container_code(rng: np.random.Generator) -> str:
    owner = "".join(_OWNERS_LETTERS[int(i)] for i in rng.integers(26, size=3))
    category = "U" if rng.random() < 0.9 else str(rng.choice(["J", "Z"]))
    return make_code(owner + category, int(rng.integers(1_000_000)))


def generate_dataset(kind: str, n: int, seed: int = 0) -> Iterator[Sample]:
    """`n` labelled frames of `kind` ("plate" mixes all plate kinds)."""
    from kakou.sim.render import render_container_scene, render_plate_scene
    from kakou.sim.render_container import door_image
    from kakou.sim.render_plates import plate_image

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    rng = np.random.default_rng(seed)
    for i in range(n):
        s = int(rng.integers(2**31))
        if kind == "container":
            code = random_container_code(rng)
            frame = render_container_scene(code, seed=s)
            door = np.asarray(door_image(code, "45G1", 1280, 720, None))[..., ::-1]
            yield Sample("container", code, s, frame, np.ascontiguousarray(door[40:300, 640:1280]))
        else:
            pk = PLATE_KINDS[i % len(PLATE_KINDS)] if kind == "plate" else kind
            text = random_plate(pk, rng)
            frame = render_plate_scene(text, pk, seed=s)
            crop = np.ascontiguousarray(np.asarray(plate_image(text, pk))[..., ::-1])
            yield Sample(pk, text, s, frame, crop)


def _loadavg() -> float | None:
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None  # not Linux


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else 0.0


def measure(kind: str, n: int = 100, seed: int = 0, crops: bool = True) -> dict[str, Any]:
    """Accuracy and latency on `n` generated frames. Times are milliseconds per image."""
    if kind == "container":
        from kakou.models.container import ContainerReader

        reader: Any = ContainerReader()
    else:
        from kakou.models.plate import PlateReader
        from kakou.models.plate_grammar import EXAMPLE_LATIN_PATTERNS

        reader = PlateReader(latin_patterns=EXAMPLE_LATIN_PATTERNS)  # the set includes foreign plates
    samples = list(generate_dataset(kind, n, seed))
    load_before = _loadavg()
    reader.read(samples[0].frame)  # warm-up: first ONNX run allocates
    reader.engine.forget()  # ... and remembers recognitions the timed read of that frame must not reuse
    frame_t: list[float] = []
    crop_t: list[float] = []
    exact = read = wrong_valid = crop_exact = 0
    failures: list[dict[str, Any]] = []
    for smp in samples:
        t0 = time.perf_counter()
        r = reader.read(smp.frame)
        frame_t.append(time.perf_counter() - t0)
        read += r.text is not None
        exact += r.text == smp.label
        if r.valid and r.text is not None and r.text != smp.label:
            wrong_valid += 1
        if r.text != smp.label and len(failures) < 20:
            failures.append(
                {
                    "seed": smp.seed,
                    "kind": smp.kind,
                    "label": smp.label,
                    "text": r.text,
                    "raw": r.raw,
                    "confidence": round(r.confidence, 3),
                }
            )
        if crops:
            t0 = time.perf_counter()
            rc = reader.read(smp.crop)
            crop_t.append(time.perf_counter() - t0)
            crop_exact += rc.text == smp.label
    return {
        "kind": kind,
        "n": n,
        "seed": seed,
        # Other work on the box inflates the times; the 1-minute load average says how much.
        "loadavg_1min": {"before": load_before, "after": _loadavg()},
        "exact": round(exact / n, 4),
        "read_rate": round(read / n, 4),
        "wrong_valid": round(wrong_valid / n, 4),
        "to_officer": round((n - read) / n, 4),
        "frame_ms": {"p50": _pct(frame_t, 50), "p95": _pct(frame_t, 95), "max": _pct(frame_t, 100)},
        "crop_ms": {"p50": _pct(crop_t, 50), "p95": _pct(crop_t, 95)} if crops else None,
        "crop_exact": round(crop_exact / n, 4) if crops else None,
        "failures": failures,
    }


if __name__ == "__main__":  # python -m kakou.bench.recognition KIND [N [SEED]]
    import json
    import sys

    args = sys.argv[1:]
    result = measure(args[0], int(args[1]) if len(args) > 1 else 100, seed=int(args[2]) if len(args) > 2 else 0)
    print(json.dumps(result, ensure_ascii=False, indent=1))
