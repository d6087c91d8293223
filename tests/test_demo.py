"""The README's demo, as a user runs it: URLs first, then every truck as central recorded it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from kakou.netutil import free_port


def test_demo_prints_urls_and_four_trucks_recorded_at_central(tmp_path: Path) -> None:
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "kakou.cli", "--log-level", "warning", "demo", "--trucks", "4", "--interval", "0",
         "--data-dir", str(tmp_path / "demo"), "--mqtt-port", str(free_port()), "--central-port", "0",
         "--edge-port", "0"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for ui in ("/console", "/field", "/lane", "/api/v1/passes"):
        assert re.search(rf"http://127\.0\.0\.1:\d+{ui}", text), text
    trucks = [line for line in text.splitlines() if line.startswith("truck ")]
    assert len(trucks) == 4
    assert "passed; central recorded release" in trucks[0] and "passed; central recorded release" in trucks[1]
    assert "central recorded inspection (超重：毛重 21400 kg" in trucks[2]
    assert "central recorded officer (无核放单：苏E88888)" in trucks[3]
    assert time.monotonic() - t0 < 240
