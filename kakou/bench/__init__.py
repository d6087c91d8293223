"""`kakou bench`: the performance figures the issues name, each next to its goal.

Every benchmark runs the real code on this machine (real SQLite, real Modbus TCP sockets, real
OCR models); `--quick` shrinks the sample sizes so the whole run takes about two minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Metric:
    name: str
    value: float | None
    unit: str
    goal: float | None
    higher_is_better: bool
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


# -- recognition ------------------------------------------------------------------------------
def bench_recognition(quick: bool) -> list[Metric]:
    from kakou.bench.recognition import measure

    n = 40 if quick else 500
    # Seeds 11 and 12 were never used to tune the readers (tuning used 1, 2, 3, 5, 7, 9, 21; docs/recognition.md).
    plate = measure("plate", n, seed=11, crops=not quick)
    box = measure("container", n, seed=12, crops=not quick)
    out = [
        Metric("plate exact reads", plate["exact"] * 100, "%", 99.0, True, f"n={n} generated frames, seed 11"),
        Metric("plate read per 1280×720 frame p95", plate["frame_ms"]["p95"], "ms", 150, False),
        Metric("container exact reads", box["exact"] * 100, "%", 99.5, True, f"n={n} generated frames, seed 12"),
        Metric("container wrong-but-valid reads", box["wrong_valid"] * 100, "%", 0.1, False),
        Metric("container read per 1280×720 frame p95", box["frame_ms"]["p95"], "ms", 150, False),
    ]
    if not quick:
        out.append(Metric("plate read per crop p50", plate["crop_ms"]["p50"], "ms", None, False))
        out.append(Metric("container read per crop p50", box["crop_ms"]["p50"], "ms", None, False))
    return out


# -- recognition on real photos (a folder in the fielddata format) ----------------------------
# Issue 14's goals, per kind: exact %, wrong-but-valid %, frame p95 ms (None: no goal).
FIELD_GOALS: dict[str, tuple[str, float, float, float | None]] = {
    "plate": ("plates (whole scene)", 97.0, 0.5, 150.0),
    "plate-crop": ("plate crops", 99.0, 0.5, None),
    "container": ("containers", 95.0, 0.1, 250.0),
}
DEFAULT_FIELD = Path("..") / "shared" / "fielddata"  # next to the repository, never inside it


@dataclass
class FieldRun:
    """Where the field evaluation reads from (None: not found) and, once run, its report."""

    folder: Path | None
    note: str
    report: Any = None  # kakou.models.field_eval.FieldReport


def resolve_field(folder: str | Path | None) -> FieldRun:
    """An explicit folder must hold labels.tsv (ValueError otherwise); without one, the
    repository's ../shared/fielddata is used when it exists (then the working directory's)."""
    from kakou.models.field_eval import LABELS_FILE

    if folder is not None:
        path = Path(folder)
        if not (path / LABELS_FILE).is_file():
            raise ValueError(f"{path}: no {LABELS_FILE} there (expected a folder in the fielddata format)")
        return FieldRun(path, f"--field {path}")
    repo = Path(__file__).resolve().parent.parent
    looked = []
    for base in (repo, Path.cwd()):
        path = (base / DEFAULT_FIELD).resolve()
        if (path / LABELS_FILE).is_file():
            return FieldRun(path, f"default {DEFAULT_FIELD} ({path})")
        if path not in looked:
            looked.append(path)
    return FieldRun(
        None,
        f"{DEFAULT_FIELD} not found (looked in {', '.join(map(str, looked))}); "
        "only the rendered sets were measured; use --field DIR",
    )


def bench_field(quick: bool, field: FieldRun) -> list[Metric]:
    if field.folder is None:
        return [Metric("field evaluation (real photos)", None, "", None, True, field.note)]
    from kakou.models.field_eval import evaluate

    field.report = evaluate(field.folder, quick=quick)
    return field_metrics(field.report, field.note)


def field_metrics(report: Any, where: str = "") -> list[Metric]:
    """The figures of a FieldReport as table rows, each kind's next to issue 14's goals."""
    from kakou.models.field_eval import GATE_SIDES

    out: list[Metric] = []
    subset = f", {report.subset}" if report.subset else ""
    la = report.loadavg_1min
    load = f"load average (1 min) {la.get('before')} → {la.get('after')}: other work inflates the times"
    for fig in report.kinds:
        name, exact_goal, wrong_goal, p95_goal = FIELD_GOALS[fig.kind]
        name = f"field {name}"
        out += [
            Metric(f"{name} exact reads", fig.exact_pct, "%", exact_goal, True, f"n={fig.n}, {where}{subset}"),
            Metric(
                f"{name} wrong-but-valid reads",
                fig.wrong_valid_pct,
                "%",
                wrong_goal,
                False,
                f"{fig.wrong_valid} of {fig.n}: the lane would act on a wrong read",
            ),
            Metric(
                f"{name} text but not valid",
                fig.text_invalid_pct,
                "%",
                None,
                False,
                f"{fig.text_invalid} of {fig.n}: grammar or check digit failed, officer decides",
            ),
            Metric(
                f"{name} no read",
                fig.no_read_pct,
                "%",
                None,
                False,
                f"{fig.no_read} of {fig.n}" + (f", {fig.exceptions} reader exception(s)" if fig.exceptions else ""),
            ),
            Metric(
                f"{name} wrong reads caught by the threshold",
                fig.caught_by_threshold,
                "reads",
                None,
                True,
                f"right reads lost to the threshold: {fig.lost_by_threshold}",
            ),
            Metric(f"{name} read per frame mean", fig.mean_ms, "ms", None, False),
            Metric(f"{name} read per frame p95", fig.p95_ms, "ms", p95_goal, False, load),
            *(
                [
                    Metric(
                        f"{name} read per gate-camera frame p95",
                        fig.gate_p95_ms,
                        "ms",
                        p95_goal,
                        False,
                        f"the {fig.gate_n} frames of {GATE_SIDES[0]}-{GATE_SIDES[1]} px on the long side (issue "
                        "14's 1280x720-1920x1080); the line above also counts the set's smaller stills",
                    )
                ]
                if p95_goal is not None
                else []
            ),
            Metric(f"{name} CPU per frame mean", fig.mean_cpu_ms, "ms", None, False),
            Metric(
                f"{name} CPU per frame p95",
                fig.p95_cpu_ms,
                "ms",
                None,
                False,
                "the process's CPU time over both cores (ocr.default_threads): the work a frame costs",
            ),
        ]
    for fig in report.tags:
        out.append(
            Metric(
                f"field {fig.kind} [{fig.tag}] exact reads",
                fig.exact_pct,
                "%",
                None,
                True,
                f"n={fig.n}; wrong-but-valid {fig.wrong_valid}, text not valid {fig.text_invalid}, "
                f"no read {fig.no_read}; mean {fig.mean_ms} ms, p95 {fig.p95_ms} ms",
            )
        )
    if report.problems:
        out.append(
            Metric(
                "field set rows not evaluated",
                len(report.problems),
                "rows",
                None,
                False,
                "; ".join(f"{p.file or f'line {p.line}'}: {p.reason}" for p in report.problems[:3])
                + (" …" if len(report.problems) > 3 else ""),
            )
        )
    return out


def field_failures_text(field: FieldRun) -> str:
    from kakou.models.field_eval import failure_lines

    report = field.report
    if report is None:
        return ""
    lines = [f"field failures ({len(report.failures)} of {len(report.frames)} frames, {report.folder}):"]
    lines += [f"  {line}" for line in failure_lines(report)]
    if report.problems:
        lines.append(f"field set rows not evaluated ({len(report.problems)}):")
        lines += [f"  line {p.line} {p.file or ''}: {p.reason}" for p in report.problems]
    return "\n".join(lines)


# -- lane decision overhead -------------------------------------------------------------------
class _InstantPlate:
    """A recogniser that has already read the plate: isolates the decision path from OCR time."""

    def __init__(self, plate: str) -> None:
        self.plate = plate

    def read_many(self, frames: list[np.ndarray]) -> Any:
        from kakou.models.plate import PlateRead

        return PlateRead(text=self.plate, confidence=0.99, valid=True)


async def _busy_lanes(lanes: int, seconds: float, data_dir: Path) -> list[float]:
    from kakou.edge.config import CameraSection, LaneSection, ModbusEndpoint
    from kakou.edge.decision import Parameters
    from kakou.edge.lane import Lane, LaneDevices, Recognisers
    from kakou.edge.records import LaneRecords
    from kakou.edge.store import EdgeStore
    from kakou.protocols.camera import HttpSnapshotCamera
    from kakou.protocols.modbus_io import LaneIO
    from kakou.sim.camera_sim import CameraSim
    from kakou.sim.io_sim import LaneIoSim
    from kakou.sim.render import encode_jpeg
    from kakou.sim.scenario import LaneSims, drive_truck
    from kakou.sync.messages import Change, ChangeBatch, ChangeKind, ReleaseOrderData

    store = EdgeStore(data_dir / "edge.db")
    records = LaneRecords(store, data_dir / "images")
    now = datetime.now(UTC)
    plates = [f"粤B{10000 + i}" for i in range(lanes)]
    changes = [
        Change(
            version=i + 1,
            kind=ChangeKind.RELEASE_ORDER,
            key=f"HF{i}",
            data=ReleaseOrderData(
                order_no=f"HF{i}",
                plate=p,
                direction="in",
                valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(hours=1),
            ).model_dump(mode="json"),
        )
        for i, p in enumerate(plates)
    ]
    store.apply_batch(ChangeBatch(after_version=0, to_version=len(changes), issued_at=now, changes=changes), now)
    jpeg = encode_jpeg(np.full((72, 128, 3), 128, np.uint8))
    sims, runners, lane_objs = [], [], []
    for i, plate in enumerate(plates):
        io_sim, cam = LaneIoSim(travel_time=0.05), CameraSim()
        await io_sim.start()
        await cam.start()
        sims.append(LaneSims(io_sim, cam))
        cfg = LaneSection(
            id=f"L{i}",
            direction="in",
            io=ModbusEndpoint(url=f"tcp://127.0.0.1:{io_sim.port}"),
            plate_camera=CameraSection(url=cam.url, frames=1),
        )
        lane = Lane(
            "bench",
            cfg,
            LaneDevices(io=LaneIO("127.0.0.1", io_sim.port, cfg.io.map), plate_camera=HttpSnapshotCamera(cam.url)),
            Recognisers(plate=_InstantPlate(plate)),
            store,
            records,
            Parameters(),
            on_pass=lambda _r: None,
        )
        lane_objs.append(lane)
        runners.append(asyncio.create_task(lane.run()))

    async def traffic(s: LaneSims) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await drive_truck(s, jpeg, wait_for_barrier=10, step_s=0.05)

    try:
        await asyncio.gather(*(traffic(s) for s in sims))
    finally:
        for t in runners:
            t.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        for s in sims:
            await s.io.stop()
            await s.plate_camera.stop()
        store.close()
    return [ms for lane in lane_objs for ms in lane.decision_ms]


def bench_decision(quick: bool) -> list[Metric]:
    with tempfile.TemporaryDirectory() as tmp:
        samples = asyncio.run(_busy_lanes(8, 10 if quick else 60, Path(tmp)))
    note = f"8 busy lanes on one node, {len(samples)} releases; includes the fsync'd pass + outbox write"
    return [
        Metric("decision overhead p50 (last input → barrier command)", _pct(samples, 50), "ms", None, False, note),
        Metric("decision overhead p99 (last input → barrier command)", _pct(samples, 99), "ms", 50, False, note),
    ]


# -- sync -------------------------------------------------------------------------------------
def bench_sync(quick: bool) -> list[Metric]:
    from kakou.bench.backlog import backlog_drain_metrics

    return [Metric(**m) for m in backlog_drain_metrics(10_000 if quick else 100_000)]


def bench_propagation(quick: bool) -> list[Metric]:
    from kakou.bench.propagation import measure_propagation

    n = 100 if quick else 1000
    r = measure_propagation(n)
    note = f"{r.received}/{n} simulated edges got it, signature verified; {r.rejected} rejected"
    return [
        Metric("control order → every subscriber p50", r.p50_ms, "ms", None, False, note),
        Metric("control order → every subscriber p99", r.p99_ms, "ms", 1000, False, note),
    ]


def bench_bridge(quick: bool) -> list[Metric]:
    from kakou.bench.bridge import compare

    out = []
    for r in compare(1500 if quick else 3000):
        ours = r.path.startswith("kakou")
        note = (
            f"{r.fault}; {r.received}/{r.sent} arrived, {r.duplicates} duplicate(s)"
            + (f", {r.absorbed} redeliveries absorbed" if ours else "")
            + (f"; lost #{r.lost_ranges}" if r.lost_ranges else "")
        )
        out.append(Metric(f"lost through {r.path}", r.lost, "messages", 0 if ours else None, False, note))
    return out


def bench_hostile(quick: bool) -> list[Metric]:
    from kakou.bench.hostile import metrics

    return [Metric(**m) for m in metrics(quick)]  # type: ignore[arg-type]


def bench_central(quick: bool) -> list[Metric]:
    from kakou.bench.central import metrics

    return [Metric(**m) for m in metrics(quick)]


# -- registry ---------------------------------------------------------------------------------
BENCHES: dict[str, Callable[[bool], list[Metric]]] = {
    "decision": bench_decision,
    "recognition": bench_recognition,
    "sync": bench_sync,
    "propagation": bench_propagation,
    "bridge": bench_bridge,
    "hostile": bench_hostile,
    "central": bench_central,
}
NAMES = (*BENCHES, "field")  # what --only takes


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(quick: bool, only: list[str] | None = None, field: FieldRun | None = None) -> list[Metric]:
    """`field` (default: resolve_field(None)) runs with `recognition`, right after the rendered
    sets, or alone as `--only field`."""
    metrics: list[Metric] = []
    benches: dict[str, Callable[[bool], list[Metric]]] = {}
    unknown = sorted(set(only or ()) - set(NAMES))
    if unknown:  # a misspelt name would otherwise measure nothing and say nothing
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    for name, fn in BENCHES.items():
        benches[name] = fn
        if name == "recognition":
            benches["field"] = lambda q: bench_field(q, field if field is not None else resolve_field(None))
    for name, fn in benches.items():
        if only and name not in only and not (name == "field" and "recognition" in only):
            continue
        t0 = time.perf_counter()
        try:
            metrics += fn(quick)
        except Exception as exc:  # a broken benchmark is reported in the table, not hidden
            metrics.append(Metric(f"{name} benchmark", None, "", None, True, f"failed: {exc!r}"))
        metrics.append(Metric(f"{name} benchmark wall time", round(time.perf_counter() - t0, 1), "s", None, False))
    return metrics


def table(metrics: list[Metric]) -> str:
    rows = [("metric", "value", "goal", "met", "note")]
    for m in metrics:
        goal = "" if m.goal is None else f"{'≥' if m.higher_is_better else '≤'} {m.goal:g} {m.unit}"
        value = "—" if m.value is None else f"{m.value:g} {m.unit}"
        met = {True: "met", False: "MISSED", None: ""}[m.met]
        rows.append((m.name, value, goal, met, m.note))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + (f"  {r[4]}" if r[4] else "") for r in rows
    ]
    return "\n".join(lines)


def main(quick: bool, as_json: bool, only: list[str] | None = None, field: str | Path | None = None) -> int:
    try:
        field_run = resolve_field(field)
        metrics = run(quick, only, field_run)
    except ValueError as exc:  # a field folder that is not one, a benchmark that does not exist
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = machine()
    if as_json:
        doc: dict[str, Any] = {
            "machine": info,
            "quick": quick,
            "metrics": [{**asdict(m), "met": m.met} for m in metrics],
        }
        if field_run.report is not None:  # every frame and failure of the field evaluation
            doc["field"] = field_run.report.model_dump(mode="json")
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(
            f"kakou bench{' --quick' if quick else ''} — {info['machine']}, {info['cpus']} CPUs, "
            f"Python {info['python']}, {info['system']}, {info['at']}"
        )
        print(table(metrics))
        if field_run.report is not None:
            print()
            print(field_failures_text(field_run))
    return 0
