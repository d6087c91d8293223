"""Helpers for the device driver tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Protocol, TypeVar

T = TypeVar("T", covariant=True)


class Reader(Protocol[T]):
    def reads(self) -> AsyncGenerator[T, None]: ...


async def collect(reader: Reader[T], n: int, timeout: float = 5.0) -> list[T]:
    """The first `n` reads of a reader driver (fewer if its stream ends), within `timeout` seconds."""
    out: list[T] = []
    async with asyncio.timeout(timeout), aclosing(reader.reads()) as reads:
        async for r in reads:
            out.append(r)
            if len(out) == n:
                return out
    return out


async def kakou_probe(*args: str, timeout: float = 30) -> tuple[int, list[dict], str]:
    """`kakou probe …` exactly as a technician types it, in a process of its own: its exit code, the
    JSON lines it printed, and its stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kakou.cli",
        "probe",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, [json.loads(x) for x in out.decode().splitlines() if x.strip()], err.decode()
