"""`kakou recognize plate|container IMAGE...`: one JSON line per image on stdout.

Bad files produce a line with an "error" field instead of stopping the run; the exit status is
non-zero only when no file could be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("recognize", help="read plates or container numbers from image files")
    kinds = p.add_subparsers(dest="recognize_kind", metavar="{plate,container}", required=True)
    for kind, help_ in (
        ("plate", "read a licence plate from each image"),
        ("container", "read an ISO 6346 container number from each image"),
    ):
        k = kinds.add_parser(kind, help=help_)
        k.add_argument("images", nargs="+", metavar="IMAGE")
        k.add_argument("--threshold", type=float, default=None, help="confidence below which text is null")
        k.add_argument(
            "--vote", action="store_true", help="also print one combined line voting across all images"
        )
        k.set_defaults(func=run, recognize_kind=kind)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    reader = _reader(args.recognize_kind, args.threshold)
    from kakou.models.imageio import ImageError, load_image

    ok = 0
    frames = []
    for path in args.images:
        line: dict[str, Any] = {"file": path}
        try:
            frame = load_image(path)
        except ImageError as exc:
            line.update(text=None, confidence=0.0, valid=False, error=str(exc))
        else:
            read = reader.read(frame)
            line.update(_fields(read))
            if read.error is None:
                ok += 1
                frames.append(frame)
        print(json.dumps(line, ensure_ascii=False), file=out, flush=True)
    if args.vote:
        combined = reader.read_many(frames)
        print(json.dumps({"files": list(args.images), **_fields(combined)}, ensure_ascii=False), file=out)
    return 0 if ok else 1


def _reader(kind: str, threshold: float | None) -> Any:
    if kind == "plate":
        from kakou.models.plate import DEFAULT_THRESHOLD, PlateReader

        return PlateReader(threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    from kakou.models.container import DEFAULT_THRESHOLD as CT
    from kakou.models.container import ContainerReader

    return ContainerReader(threshold=CT if threshold is None else threshold)


def _fields(read: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"text": read.text, "confidence": round(read.confidence, 4), "valid": read.valid}
    if read.raw is not None:
        d["raw"] = read.raw
    for extra in ("kind", "size_type"):
        if getattr(read, extra, None) is not None:
            d[extra] = getattr(read, extra)
    if read.error is not None:
        d["error"] = read.error
    return d

