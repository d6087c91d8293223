"""How long locating the read plate / container code in a kept frame takes (the lane does it after
the decision, for the lane screen's marks). Run: .venv/bin/python tests/ui/measure_marks.py"""

from __future__ import annotations

import statistics
import time

from kakou.edge.lane import locate
from kakou.models.container import ContainerReader
from kakou.models.plate import PlateReader
from kakou.sim.render import render_container_scene, render_plate_scene

PLATES = ["粤B12345", "苏E88888", "沪A54321"] * 4
BOXES = ["CSQU3054383", "OOLU1122335", "MSKU1234565"] * 4


def main() -> None:
    plates = [render_plate_scene(p, kind="blue", seed=s) for s, p in enumerate(PLATES)]
    boxes = [render_container_scene(c, seed=s) for s, c in enumerate(BOXES)]
    cases = (("plate", PlateReader(), plates, PLATES), ("container", ContainerReader(), boxes, BOXES))
    for name, reader, frames, texts in cases:
        reader.engine.lines(frames[0], 480)  # warm-up: the first run loads the models
        times, found = [], 0
        for frame, text in zip(frames, texts, strict=True):
            t0 = time.perf_counter()
            lines = reader.engine.lines(frame, 480)
            times.append(time.perf_counter() - t0)
            found += locate(lines, text) is not None
        h, w = frames[0].shape[:2]
        print(
            f"{name}: {len(times)} frames {w}x{h}, median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms, located {found}/{len(times)}"
        )


if __name__ == "__main__":
    main()
