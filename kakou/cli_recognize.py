"""`kakou recognize plate|container IMAGE...`: one JSON line per image on stdout.

Bad files produce a line with an "error" field instead of stopping the run; the exit status is
non-zero only when no file could be read at all.

`--debug DIR` also writes, for each image, what a technician needs to see why a frame failed:
`DIR/<name>.jpg`, the frame as the reader saw it with the located regions and every text line
found drawn on it (numbered), and `DIR/<name>.json` with the read (text, confidence, valid, raw,
error, …), the regions, the lines of each stage (text, score, box, what the grammar makes of
it) and the candidates assembled from them, best first. It runs the locating and detection
stages again beside the reader (read-only), so the picture shows what was there to be found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

if TYPE_CHECKING:
    from kakou.models.shadow import ShadowEdge


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
        k.add_argument("--vote", action="store_true", help="also print one combined line voting across all images")
        k.add_argument(
            "--debug",
            metavar="DIR",
            default=None,
            help="write DIR/<name>.jpg (regions and text lines drawn) and DIR/<name>.json (read, lines, candidates)",
        )
        k.add_argument(
            "--one-field",
            action="store_true",
            help="each image is one field of an analogue camera (a DVR at 2CIF, 704x288): rows doubled first,"
            " as for a lane camera set one_field",
        )
        if kind == "plate":
            k.add_argument(
                "--latin",
                action="append",
                default=[],
                metavar="REGEX",
                help="also accept foreign plates matching REGEX (repeatable; none by default)",
            )
        k.set_defaults(func=run, recognize_kind=kind)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    for pattern in getattr(args, "latin", []):
        try:
            re.compile(pattern)
        except re.error as exc:
            print(f"error: --latin {pattern!r} is not a regular expression: {exc}", file=sys.stderr)
            return 2
    reader = _reader(args.recognize_kind, args.threshold, getattr(args, "latin", []))
    from kakou.models.imageio import ImageError, load_image
    from kakou.protocols.camera import doubled_rows

    debug_dir = Path(args.debug) if getattr(args, "debug", None) else None
    if debug_dir is not None:
        try:
            debug_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"error: cannot create {debug_dir}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    used: set[str] = set()
    ok = 0
    frames = []
    for path in args.images:
        line: dict[str, Any] = {"file": path}
        frame: np.ndarray | None = None
        read: Any = None
        ms: float | None = None
        try:
            frame = load_image(path)
            if args.one_field:
                frame = doubled_rows(frame)
        except ImageError as exc:
            line.update(text=None, confidence=0.0, valid=False, error=str(exc))
        else:
            t0 = time.perf_counter()
            read = reader.read(frame)
            ms = round((time.perf_counter() - t0) * 1000, 1)
            line.update(_fields(read))
            if read.error is None:
                ok += 1
                frames.append(frame)
        if debug_dir is not None:
            line["debug"] = str(
                write_debug(
                    debug_dir,
                    _unique_name(path, used),
                    path,
                    args.recognize_kind,
                    reader,
                    frame,
                    read,
                    ms,
                    line.get("error"),
                )
            )
        print(json.dumps(line, ensure_ascii=False), file=out, flush=True)
    if args.vote:
        combined = reader.read_many(frames)
        print(json.dumps({"files": list(args.images), **_fields(combined)}, ensure_ascii=False), file=out)
    return 0 if ok else 1


def _reader(kind: str, threshold: float | None, latin: list[str] | None = None) -> Any:
    if kind == "plate":
        from kakou.models.plate import DEFAULT_THRESHOLD, PlateReader

        return PlateReader(
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold, latin_patterns=tuple(latin or ())
        )
    from kakou.models.container import DEFAULT_THRESHOLD as CT
    from kakou.models.container import ContainerReader

    return ContainerReader(threshold=CT if threshold is None else threshold)


def _fields(read: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"text": read.text, "confidence": round(read.confidence, 4), "valid": read.valid}
    if read.raw is not None:
        d["raw"] = read.raw
    for extra in ("kind", "size_type", "margin", "also_seen"):
        value = getattr(read, extra, None)
        if value is not None and value != ():
            d[extra] = value
    if read.error is not None:
        d["error"] = read.error
    return d


# -- --debug ----------------------------------------------------------------------------------
_CUE_COLOURS = {
    "blue": (255, 128, 0),
    "cyan": (255, 255, 0),
    "yellow": (0, 215, 255),
    "pale-yellow": (150, 230, 255),
    "pale-blue": (255, 200, 150),
    "green": (0, 200, 0),
    "texture": (255, 0, 255),
}
_LINE_COLOUR = (0, 0, 255)


def _unique_name(path: str, used: set[str]) -> str:
    stem = Path(path).stem or "image"
    name, k = stem, 2
    while name in used:
        name, k = f"{stem}-{k}", k + 1
    used.add(name)
    return name


def write_debug(
    folder: Path,
    name: str,
    path: str,
    kind: str,
    reader: Any,
    image: np.ndarray | None,
    read: Any,
    ms: float | None,
    error: str | None = None,
) -> Path:
    """Write `folder/name.json` (and `folder/name.jpg` when the image loaded); returns the JSON path."""
    doc: dict[str, Any] = {"file": path, "kind": kind, "threshold": reader.threshold, "ms": ms}
    target = folder / f"{name}.json"
    if image is None or read is None:
        doc["read"] = {"text": None, "confidence": 0.0, "valid": False, "error": error}
        target.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        return target
    doc["read"] = read.model_dump(mode="json")
    try:
        from kakou.models.imageio import as_frame, deinterlaced, veil
        from kakou.models.ocr import shared_engine
        from kakou.models.orientation import turn_to_read
        from kakou.models.shadow import shadow_edge

        taken = as_frame(image, deinterlace=False)
        frame = deinterlaced(taken)  # what the reader worked on (at most 1920 px on the long side)
        doc["frame"] = {"width": int(frame.shape[1]), "height": int(frame.shape[0])}
        doc["interlaced"] = _interlaced(taken)
        span = veil(frame)
        doc["veiled"] = None if span is None else {"light_span": [round(v) for v in span]}
        edge = shadow_edge(frame)
        doc["shadow"] = None if edge is None else _shadow_doc(edge)
        if kind == "container":
            # The clockwise turn that would set the frame's text upright (a roof seen from above,
            # a camera on its side), which the reader tries when nothing reads as it is.
            doc["upright_turn"] = turn_to_read(shared_engine(), frame)
        found = _inspect(kind, reader, frame)
        numbered = found.pop("_numbered")
        doc.update(found)
        _draw(frame, found["regions"], numbered, read, folder / f"{name}.jpg")
        doc["image"] = f"{name}.jpg"
    except Exception as exc:  # the debug output must never stop the reading of the next file
        doc["debug_error"] = f"{type(exc).__name__}: {exc}"
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    # Boxes on one line each: [x0, y0, x1, y1, ...] rather than one number per line.
    text = re.sub(
        r"\[[\d\s,.\-]*\]", lambda m: re.sub(r"\s+", " ", m.group()).replace("[ ", "[").replace(" ]", "]"), text
    )
    target.write_text(text, encoding="utf-8")
    return target


def _shadow_doc(edge: ShadowEdge) -> dict[str, Any]:
    """A shadow edge as the technician can find it on the frame: its angle to the rows, where it
    crosses the middle row, which side is shaded and how much light that side has."""
    return {
        "angle": round(edge.angle),
        "x_at_middle": round(edge.x, 3),
        "shaded": "left" if edge.shaded_left else "right",
        "light_share": round(float(np.exp(-edge.step)), 2),
    }


def _inspect(kind: str, reader: Any, frame: np.ndarray) -> dict[str, Any]:
    """The locating and detection stages run again beside the reader: the regions it would try,
    the text lines found in each and in the whole frame, and the candidates built from them."""
    from kakou.models.field_eval import candidate_of
    from kakou.models.imageio import light_span, motion_blur
    from kakou.models.locate import plate_regions, text_rows
    from kakou.models.ocr import shared_engine
    from kakou.models.reading import candidates

    engine = shared_engine()
    h, w = frame.shape[:2]
    patterns = getattr(reader, "latin_patterns", None)
    stretch = 1.0
    if kind == "plate":  # the plate reader recognises its lines widened (a bold Q's tail)
        import kakou.models.plate as plate_module

        stretch = float(getattr(plate_module, "STRETCH", 1.0))
    if kind == "plate":
        # Plate-coloured or text-textured boxes; the reader detects inside each, padded.
        regions = [(r, r.padded(0.12, 0.3, frame.shape)) for r in plate_regions(frame, limit=3)]
        sides: tuple[int, ...] = (480, 960)
    else:
        # Bands of large text; the reader detects in a region around each (check box, size/type below).
        regions = []
        for b in text_rows(frame, limit=2):
            roi = type(b)(
                max(b.x0 - b.width // 12, 0),
                max(b.y0 - b.height // 2, 0),
                min(b.x1 + b.width // 8, w),
                min(b.y1 + int(2.4 * b.height), h),
                b.cue,
                b.score,
            )
            regions.append((b, roi))
        sides = (640, 960)
    stages: list[dict[str, Any]] = []
    all_lines = []
    for i, (region, roi) in enumerate(regions, start=1):
        side = min(320 if kind == "plate" else 640, max(roi.width, roi.height))
        lines = engine.lines_in(frame, roi.box, side, stretch)
        stages.append({"stage": f"region {i} ({region.cue}) at {side} px", "lines": lines})
        all_lines += lines
    for side in sides:
        lines = engine.lines(frame, side, stretch)
        stages.append({"stage": f"whole frame at {side} px", "lines": lines})
        all_lines += lines
        if side >= max(h, w):
            break
    numbered: list[dict[str, Any]] = []
    out_stages = []
    seen: dict[str, dict[str, Any]] = {}
    for st in stages:
        rows = []
        for ln in st["lines"]:
            entry = {
                "n": len(numbered) + 1,
                "text": ln.text,
                "score": round(ln.score, 4),
                "box": [round(v) for xy in ln.box for v in xy],
                "reads_as": candidate_of(kind, ln.text, patterns),
            }
            numbered.append({**entry, "line": ln})
            rows.append(entry)
        out_stages.append({"stage": st["stage"], "lines": rows})
        # Candidates as the reader assembles them from one stage's lines (joins, stacked rows).
        for text, score in candidates(st["lines"], max_parts=3 if kind == "plate" else 4, stacked=kind == "plate"):
            if text not in seen or score > seen[text]["score"]:
                seen[text] = {
                    "text": text,
                    "score": round(score, 4),
                    "reads_as": candidate_of(kind, text, patterns),
                    "stage": st["stage"],
                }
    ranked = sorted(seen.values(), key=lambda c: (c["reads_as"] is not None, c["score"]), reverse=True)
    # What the readers' later attempts would undo (docs/recognition.md): a camera exposing too long
    # for the traffic shows here as a blur length, a dim plate as a narrow light span (a hint:
    # periodic paint, a grille or corrugation, can pass for a blur on a sharp frame).
    blur, axis = motion_blur(frame)
    return {
        "stretch": stretch,
        "plate_net": _plate_net_opinion(frame) if kind == "plate" else None,
        "motion_blur": {"px": blur, "along": "rows" if axis == 1 else "columns"} if blur else None,
        "regions": [
            {
                "n": i,
                "cue": r.cue,
                "score": round(float(r.score), 4),
                "box": list(r.box),
                "searched": list(roi.box),
                "light_span": [round(v) for v in light_span(frame, roi.box)],
            }
            for i, (r, roi) in enumerate(regions, start=1)
        ],
        "stages": out_stages,
        "candidates": ranked[:30],
        "_numbered": numbered,
    }


def _interlaced(frame: np.ndarray) -> dict[str, Any] | None:
    """An analogue camera's combed fields, as the readers put them right (imageio.deinterlaced):
    how much of the frame is combed and how far the odd field was slid back, [along, down] px
    ([0, 0]: no one slide explains the comb, it was built from the even field). None for a
    progressive frame."""
    from kakou.models.imageio import field_slide, interlacing

    combed = interlacing(frame)
    if combed is None:
        return None
    return {"combed_share": round(float(combed.mean()), 3), "slide_px": list(field_slide(frame, combed))}


def _plate_net_opinion(frame: np.ndarray) -> dict[str, Any] | None:
    """What the plate-specific recogniser reads on a one-row plate crop (the reader asks it
    there only): each character with its probability, and whether its body is sure enough to
    count. None for a scene, or without the model."""
    from kakou.models.plate import is_one_row_crop, sure_body
    from kakou.models.plate_net import shared_plate_net

    net = shared_plate_net()
    if net is None or not is_one_row_crop(*frame.shape[:2]):
        return None
    chars = net.read(frame)
    return {
        "text": "".join(c for c, _ in chars),
        "chars": [[c, round(p, 3)] for c, p in chars],
        "body_sure": sure_body(chars) is not None,
    }


def _draw(
    frame: np.ndarray, regions: list[dict[str, Any]], numbered: list[dict[str, Any]], read: Any, target: Path
) -> None:
    import cv2

    img = frame.copy()
    for reg in regions:
        x0, y0, x1, y1 = reg["box"]
        colour = _CUE_COLOURS.get(reg["cue"], (255, 255, 255))
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, 2)
        sx0, sy0, sx1, sy1 = reg["searched"]
        cv2.rectangle(img, (sx0, sy0), (sx1, sy1), colour, 1)
    # Each distinct box once (the stages often find the same line); labelled with its number.
    drawn: list[np.ndarray] = []
    labels: list[tuple[int, int, str]] = []
    for item in numbered:
        box = np.array(item["line"].box, np.float32)
        if any(float(np.abs(box - d).max()) < 4 for d in drawn):
            continue
        drawn.append(box)
        cv2.polylines(img, [box.astype(np.int32)], True, _LINE_COLOUR, 1)
        labels.append((int(box[:, 0].min()), int(box[:, 1].min()), f"#{item['n']} {item['text']} {item['score']:.2f}"))
    verdict = (
        f"read: {read.text} ({'valid' if read.valid else 'not valid'}) conf {read.confidence:.3f}"
        f" raw {read.raw!r}" + (f" error: {read.error}" if read.error else "")
    )
    img = _texts(img, labels, verdict)
    cv2.imwrite(str(target), img, [cv2.IMWRITE_JPEG_QUALITY, 85])


def _texts(img: np.ndarray, labels: list[tuple[int, int, str]], banner: str) -> np.ndarray:
    """Labels above their boxes and a banner with the verdict; Chinese needs the CJK font (the
    simulator's), without it the labels fall back to ASCII."""
    import cv2

    h = img.shape[0]
    size = max(12, h // 50)
    try:
        from PIL import Image, ImageDraw

        from kakou.sim.fonts import cjk_font

        font = cjk_font(size)
        pil = Image.fromarray(img[..., ::-1])
        draw = ImageDraw.Draw(pil)
        for x, y, text in labels:
            pos = (x, max(y - size - 2, 0))
            draw.rectangle(draw.textbbox(pos, text, font=font), fill=(0, 0, 0))
            draw.text(pos, text, font=font, fill=(255, 80, 80))
        draw.rectangle(draw.textbbox((4, 4), banner, font=font), fill=(0, 0, 0))
        draw.text((4, 4), banner, font=font, fill=(255, 255, 255))
        return np.ascontiguousarray(np.asarray(pil)[..., ::-1])
    except Exception:  # no CJK font on this machine
        scale = size / 30
        for x, y, text in labels:
            ascii_text = text.encode("ascii", "replace").decode()
            cv2.putText(img, ascii_text, (x, max(y - 3, size)), cv2.FONT_HERSHEY_SIMPLEX, scale, _LINE_COLOUR, 1)
        cv2.putText(
            img,
            banner.encode("ascii", "replace").decode(),
            (4, size + 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
        )
        return img
