"""The API figures of `kakou bench` (quick): a real serve on PostgreSQL, wrk, and lanes sending passes
through Mosquitto while the clients read. What is asserted is that every figure was measured and
nothing was lost or refused on the way, not how fast (that is the bench's job)."""

from __future__ import annotations

import re

import pytest

from kakou.bench import central as bench


def test_api_figures_are_all_measured_with_no_error_and_no_pass_lost() -> None:
    if problem := bench.pg_problem():
        pytest.skip(problem)
    figures = bench.bench_api(quick=True, pg_problem=None, seconds=3.0)
    assert [f["name"] for f in figures] == [
        f"API {kind} p95, 200 clients {mode} (PostgreSQL)"
        for mode in ("back to back", "each polling every 2 s", "back to back while 40 lanes send passes")
        for kind in ("list", "detail")
    ]
    for f in figures:
        assert f["value"] is not None and f["value"] > 0, f
        assert " 0 non-200" in f["note"], f["note"]
        assert re.search(r"\d+ % from the read cache", f["note"]), f["note"]
    lanes = figures[-1]["note"]
    found = re.search(r"sent ([\d,]+) passes, ([\d,]+) stored, (\d+) lost", lanes)
    assert found, lanes
    sent, stored, lost = (int(x.replace(",", "")) for x in found.groups())
    assert sent > 0 and sent == stored and lost == 0, lanes
