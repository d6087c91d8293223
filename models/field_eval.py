"""Field evaluation: run the readers over a folder of real photos in the `fielddata` format.

The folder holds `labels.tsv` with rows `kind<TAB>file<TAB>label<TAB>notes`:

* `kind` — `plate` (a whole scene), `plate-crop` (a tight crop of a plate) or `container`;
* `file` — the image, relative to the folder;
* `label` — the right reading (a plate as `粤B12345`, a container code as `CSQU3054383`);
* `notes` — optional comma-separated tags (`night`, `vertical`, …), reported separately.

Bad rows, missing and undecodable files are reported as problems and left out of the figures;
nothing in the folder stops the run. One reader per kind is built and reused, at its default
threshold. Every frame falls into exactly one category:

* `exact` — valid and text equal to the label: the lane would act, rightly;
* `wrong_valid` — valid but a different text: the lane would act on a wrong read;
* `text_invalid` — a text but not valid (grammar or check digit failed): the officer decides;
* `no_read` — no text (nothing found, below the threshold, or the reader gave an error);
* `exception` — the reader raised (a bug: readers must return a reason, never raise).

Among no-reads, `caught_by_threshold` counts frames whose best candidate (the read's `raw`,
put through the plate grammar or the ISO 6346 check) was a grammatical but *wrong* reading that
the confidence threshold turned into no read; `lost_by_threshold` counts those whose best
candidate was right and the threshold threw it away.

`python -m kakou.models.field_eval DIR [--quick] [--json OUT]` runs it alone; `kakou bench
--only recognition --field DIR` prints the same figures next to the goals.
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, computed_field

from kakou.models.camera_variation import MILD_VARIATIONS, VARIATIONS, variation

KINDS = ("plate", "plate-crop", "container")
LABELS_FILE = "labels.tsv"
GATE_SIDES = (1280, 1920)  # px on the long side: 1280x720 to 1920x1080 frames
QUICK_PER_KIND = 20  # rows per kind in a quick run, spread evenly over the file

Category = Literal["exact", "wrong_valid", "text_invalid", "no_read", "exception"]
_ALNUM = re.compile(r"[^0-9A-Z]")


class LabelRow(BaseModel):
    line: int  # 1-based line number in labels.tsv
    kind: str
    file: str
    label: str
    notes: list[str] = []


class Problem(BaseModel):
    """A row or file that could not be evaluated (left out of every figure)."""

    line: int | None
    file: str | None
    reason: str


class FrameResult(BaseModel):
    kind: str
    file: str
    label: str
    notes: list[str]
    text: str | None
    raw: str | None
    confidence: float
    valid: bool
    error: str | None
    ms: float | None  # reader time for this frame (decoding the file excluded)
    side: int | None = None  # the frame's long side in px, as read (after any variation)
    # The process's CPU time for the frame, over all of ONNX Runtime's intra-op threads: the work
    # the frame costs whatever else the box is doing (up to twice `ms` on two threads).
    cpu_ms: float | None = None
    category: Category
    threshold_effect: Literal["caught", "lost"] | None = None
    extra: dict[str, Any] = {}  # whatever else the read carries (plate kind, size/type, margin, …)


class Figures(BaseModel):
    """Counts and percentages of one kind, or of one note tag within a kind (`tag` set)."""

    kind: str
    tag: str | None = None
    n: int
    exact: int
    exact_pct: float | None
    wrong_valid: int
    wrong_valid_pct: float | None
    text_invalid: int
    text_invalid_pct: float | None
    no_read: int
    no_read_pct: float | None
    exceptions: int
    caught_by_threshold: int
    lost_by_threshold: int
    mean_ms: float | None
    p95_ms: float | None
    mean_cpu_ms: float | None = None
    p95_cpu_ms: float | None = None
    # Frames of a gate camera's size (GATE_SIDES on the long side), the size issue 14's frame-time
    # goal is set for; a field set also holds smaller stills, which are read again enlarged.
    gate_n: int = 0
    gate_p95_ms: float | None = None


class FieldReport(BaseModel):
    folder: str
    at: datetime
    subset: str | None = None  # how a quick run chose its rows; None: every row
    variation: str | None = None  # the camera variation every image was read under (None: as is)
    thresholds: dict[str, float]
    loadavg_1min: dict[str, float | None]
    kinds: list[Figures]
    tags: list[Figures]
    problems: list[Problem]
    frames: list[FrameResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failures(self) -> list[FrameResult]:
        return [f for f in self.frames if f.category != "exact"]

    def figure(self, kind: str) -> Figures | None:
        return next((f for f in self.kinds if f.kind == kind), None)


# -- loading ----------------------------------------------------------------------------------
def load_labels(folder: str | Path) -> tuple[list[LabelRow], list[Problem]]:
    """The rows of `folder/labels.tsv` and the problems found in it (bad rows, missing files)."""
    root = Path(folder)
    path = root / LABELS_FILE
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(line=None, file=LABELS_FILE, reason=f"cannot read {path}: {exc}")]
    rows: list[LabelRow] = []
    problems: list[Problem] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if no == 1 and cols[:3] == ["kind", "file", "label"]:
            continue  # a header row
        if not 3 <= len(cols) <= 4:
            reason = f"expected 3 or 4 tab-separated columns, got {len(cols)}"
            problems.append(Problem(line=no, file=None, reason=reason))
            continue
        kind, file, label = cols[:3]
        notes = [t.strip() for t in cols[3].split(",") if t.strip()] if len(cols) == 4 else []
        if kind not in KINDS:
            reason = f"unknown kind {kind!r}; expected one of {KINDS}"
            problems.append(Problem(line=no, file=file or None, reason=reason))
        elif not file or not label:
            problems.append(Problem(line=no, file=file or None, reason="empty file or label"))
        elif not (root / file).is_file():
            problems.append(Problem(line=no, file=file, reason="file not found"))
        else:
            if kind == "container":
                label = _ALNUM.sub("", label.upper())
            rows.append(LabelRow(line=no, kind=kind, file=file, label=label, notes=notes))
    return rows, problems


def quick_subset(rows: Sequence[LabelRow], per_kind: int = QUICK_PER_KIND) -> list[LabelRow]:
    """At most `per_kind` rows of each kind, evenly spread over the file (so tags stay mixed)."""
    out: list[LabelRow] = []
    for kind in KINDS:
        mine = [r for r in rows if r.kind == kind]
        if len(mine) <= per_kind:
            out += mine
        else:
            picks = sorted({int(i * len(mine) / per_kind) for i in range(per_kind)})
            out += [mine[i] for i in picks]
    return sorted(out, key=lambda r: r.line)


# -- categories -------------------------------------------------------------------------------
def candidate_of(kind: str, raw: str | None, latin_patterns: Iterable[str] | None = None) -> str | None:
    """What the grammar makes of a raw OCR text: the plate or container code it stands for."""
    if not raw:
        return None
    if kind == "container":
        from kakou.models.iso6346 import normalise

        return normalise(_ALNUM.sub("", unicodedata.normalize("NFKC", raw).upper()))
    from kakou.models.plate_grammar import DEFAULT_LATIN_PATTERNS, normalise_plate

    return normalise_plate(raw, DEFAULT_LATIN_PATTERNS if latin_patterns is None else latin_patterns)


def categorise(
    kind: str, label: str, read: Any, threshold: float, latin_patterns: Iterable[str] | None = None
) -> tuple[Category, Literal["caught", "lost"] | None]:
    """The frame's category and, for a no-read, whether the threshold caught a wrong candidate
    or lost a right one."""
    if read.text is not None:
        if read.valid:
            return ("exact" if read.text == label else "wrong_valid"), None
        return "text_invalid", None
    effect: Literal["caught", "lost"] | None = None
    if read.raw and read.error is None and read.confidence < threshold:
        cand = candidate_of(kind, read.raw, latin_patterns)
        if cand is not None:
            effect = "lost" if cand == label else "caught"
    return "no_read", effect


# -- running ----------------------------------------------------------------------------------
def default_readers() -> dict[str, Any]:
    from kakou.models.container import ContainerReader
    from kakou.models.plate import PlateReader

    plate = PlateReader()
    return {"plate": plate, "plate-crop": plate, "container": ContainerReader()}


def evaluate(
    folder: str | Path,
    *,
    quick: bool = False,
    kinds: Iterable[str] | None = None,
    readers: dict[str, Any] | None = None,
    progress: Callable[[FrameResult], None] | None = None,
    vary: str | None = None,
) -> FieldReport:
    """Read every labelled image of `folder` and compute the figures (see the module doc);
    `vary`: read each image under that camera variation (camera_variation.VARIATIONS)."""
    from kakou.models.imageio import ImageError, load_image

    transform = variation(vary) if vary is not None else None

    root = Path(folder)
    rows, problems = load_labels(root)
    if kinds is not None:
        wanted = set(kinds)
        rows = [r for r in rows if r.kind in wanted]
    subset = None
    if quick:
        rows = quick_subset(rows)
        subset = f"quick: at most {QUICK_PER_KIND} rows per kind, evenly spread"
    readers = {**default_readers(), **(readers or {})}  # a kind not given gets the default reader
    load_before = _loadavg()
    warmed: set[tuple[str, int]] = set()
    frames: list[FrameResult] = []
    for row in rows:
        try:
            image = load_image(root / row.file)
        except ImageError as exc:
            problems.append(Problem(line=row.line, file=row.file, reason=f"unreadable image: {exc}"))
            continue
        if transform is not None:
            image = transform(image)
        reader = readers[row.kind]
        # The first ONNX runs allocate, and a kind may load its own model (plate crops: plate_net):
        # keep them out of the times.
        if (row.kind, id(reader)) not in warmed:
            warmed.add((row.kind, id(reader)))
            _safe_read(reader, image)
            _forget(reader)  # the timed read must not reuse the warm-up's remembered recognitions
        side = max(image.shape[:2])
        t0, c0 = time.perf_counter(), time.process_time()
        read, crash = _safe_read(reader, image)
        ms = round((time.perf_counter() - t0) * 1000, 1)
        cpu_ms = round((time.process_time() - c0) * 1000, 1)
        if read is None:
            frame = FrameResult(
                kind=row.kind,
                file=row.file,
                label=row.label,
                notes=row.notes,
                text=None,
                raw=None,
                confidence=0.0,
                valid=False,
                error=crash,
                ms=ms,
                side=side,
                cpu_ms=cpu_ms,
                category="exception",
            )
        else:
            patterns = getattr(reader, "latin_patterns", None)
            cat, effect = categorise(row.kind, row.label, read, reader.threshold, patterns)
            frame = FrameResult(
                kind=row.kind,
                file=row.file,
                label=row.label,
                notes=row.notes,
                text=read.text,
                raw=read.raw,
                confidence=round(float(read.confidence), 4),
                valid=bool(read.valid),
                error=read.error,
                ms=ms,
                side=side,
                cpu_ms=cpu_ms,
                category=cat,
                threshold_effect=effect,
                extra=_extra(read),
            )
        frames.append(frame)
        if progress is not None:
            progress(frame)
    kind_figs = [figures(k, None, mine) for k in KINDS if (mine := [f for f in frames if f.kind == k])]
    tag_figs = []
    for k in KINDS:
        tags = sorted({t for f in frames if f.kind == k for t in f.notes})
        tag_figs += [figures(k, t, [f for f in frames if f.kind == k and t in f.notes]) for t in tags]
    used = {row.kind: readers[row.kind] for row in rows}
    return FieldReport(
        folder=str(root),
        at=datetime.now(UTC),
        variation=vary,
        subset=subset,
        thresholds={k: float(r.threshold) for k, r in used.items()},
        loadavg_1min={"before": load_before, "after": _loadavg()},
        kinds=kind_figs,
        tags=tag_figs,
        problems=problems,
        frames=frames,
    )


def figures(kind: str, tag: str | None, frames: Sequence[FrameResult]) -> Figures:
    n = len(frames)

    def count(cat: str) -> int:
        return sum(f.category == cat for f in frames)

    def pct(k: int) -> float | None:
        return round(100.0 * k / n, 2) if n else None

    times = [f.ms for f in frames if f.ms is not None]
    cpu = [f.cpu_ms for f in frames if f.cpu_ms is not None]
    lo, hi = GATE_SIDES
    gate = [f.ms for f in frames if f.ms is not None and f.side is not None and lo <= f.side <= hi]
    c = {cat: count(cat) for cat in ("exact", "wrong_valid", "text_invalid", "no_read", "exception")}
    return Figures(
        kind=kind,
        tag=tag,
        n=n,
        exact=c["exact"],
        exact_pct=pct(c["exact"]),
        wrong_valid=c["wrong_valid"],
        wrong_valid_pct=pct(c["wrong_valid"]),
        text_invalid=c["text_invalid"],
        text_invalid_pct=pct(c["text_invalid"]),
        # A reader that raised read nothing either: it counts as a no-read too.
        no_read=c["no_read"] + c["exception"],
        no_read_pct=pct(c["no_read"] + c["exception"]),
        exceptions=c["exception"],
        caught_by_threshold=sum(f.threshold_effect == "caught" for f in frames),
        lost_by_threshold=sum(f.threshold_effect == "lost" for f in frames),
        mean_ms=round(float(np.mean(times)), 1) if times else None,
        p95_ms=round(float(np.percentile(times, 95)), 1) if times else None,
        mean_cpu_ms=round(float(np.mean(cpu)), 1) if cpu else None,
        p95_cpu_ms=round(float(np.percentile(cpu, 95)), 1) if cpu else None,
        gate_n=len(gate),
        gate_p95_ms=round(float(np.percentile(gate, 95)), 1) if gate else None,
    )


def _extra(read: Any) -> dict[str, Any]:
    try:
        fields = read.model_dump(mode="json")
    except Exception:  # not a pydantic read: nothing more to say
        return {}
    base = {"text", "raw", "confidence", "valid", "error"}
    return {k: v for k, v in fields.items() if k not in base and v is not None}


def _safe_read(reader: Any, image: np.ndarray) -> tuple[Any, str | None]:
    try:
        return reader.read(image), None
    except Exception as exc:  # a reader bug is a finding of the evaluation, not the end of it
        return None, f"reader raised {type(exc).__name__}: {exc}"


def _forget(reader: Any) -> None:
    forget = getattr(getattr(reader, "engine", None), "forget", None)
    if callable(forget):
        forget()


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


# -- text output ------------------------------------------------------------------------------
def failure_lines(report: FieldReport) -> list[str]:
    """One line per failure, for a terminal: what it should be, what was read, why not acted on."""
    out = []
    for f in report.failures:
        tags = f" [{','.join(f.notes)}]" if f.notes else ""
        extra = f", {f.threshold_effect} by the threshold" if f.threshold_effect else ""
        why = f", error: {f.error}" if f.error else ""
        out.append(
            f"{f.kind:10} {f.file}{tags}: label {f.label}, text {f.text}, raw {f.raw!r}, "
            f"confidence {f.confidence:.3f} → {f.category}{extra}{why}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m kakou.models.field_eval", description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--quick", action="store_true", help=f"at most {QUICK_PER_KIND} rows per kind")
    p.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the whole report here")
    p.add_argument(
        "--vary",
        action="append",
        choices=[*VARIATIONS, *MILD_VARIATIONS, "all", "mild"],
        help="read the images under a camera variation instead (repeatable; all: every camera fault, mild: "
        "every small difference between two frames of a working camera; one summary line each)",
    )
    args = p.parse_args(argv)
    if not (args.folder / LABELS_FILE).is_file():
        print(f"error: {args.folder / LABELS_FILE} not found", file=sys.stderr)
        return 2
    if args.vary:
        groups = {"all": list(VARIATIONS), "mild": list(MILD_VARIATIONS)}
        names = list(dict.fromkeys(n for name in args.vary for n in groups.get(name, [name])))
        reports = [evaluate(args.folder, quick=args.quick, kinds=args.kind, vary=name) for name in names]
        for line in variation_lines(reports):
            print(line)
        if args.json is not None:
            args.json.write_text(json.dumps([r.model_dump(mode="json") for r in reports], indent=1), encoding="utf-8")
        return 0
    report = evaluate(args.folder, quick=args.quick, kinds=args.kind)
    for fig in [*report.kinds, *report.tags]:
        print(fig.model_dump_json())
    for line in failure_lines(report):
        print(line)
    for prob in report.problems:
        print(f"problem: line {prob.line} {prob.file}: {prob.reason}")
    if args.json is not None:
        args.json.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return 0


def variation_lines(reports: Sequence[FieldReport]) -> list[str]:
    """Per variation and kind: the counts, and the frames read wrong but valid (the ones that
    matter: a variation that makes the lane act on a wrong plate shows a rule that will not hold)."""
    out = []
    for report in reports:
        for fig in report.kinds:
            wrong = [
                f"{Path(f.file).stem}={f.text}"
                for f in report.frames
                if f.kind == fig.kind and f.category == "wrong_valid"
            ]
            line = (
                f"{report.variation or 'as is':8} {fig.kind:10} exact {fig.exact}/{fig.n} "
                f"wrong-but-valid {fig.wrong_valid} no-read {fig.no_read} "
                f"cpu mean {fig.mean_cpu_ms} p95 {fig.p95_cpu_ms} ms"
            )
            out.append(line + (f" | wrong: {' '.join(wrong)}" if wrong else ""))
    kinds = dict.fromkeys(fig.kind for report in reports for fig in report.kinds)
    for kind in kinds if len(reports) > 1 else ():
        # Per frame over every variation run: a frame that reads under all of them does not
        # hang on its exact framing; one read wrong but valid under any is a rule that will fail.
        frames = [f for report in reports for f in report.frames if f.kind == kind]
        files = {f.file for f in frames}
        held = files - {f.file for f in frames if f.category != "exact"}
        wrong = sorted({Path(f.file).stem for f in frames if f.category == "wrong_valid"})
        out.append(
            f"{'every one':8} {kind:10} read under all {len(reports)}: {len(held)}/{len(files)} frames"
            + (f" | wrong-but-valid under some: {' '.join(wrong)}" if wrong else "")
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
