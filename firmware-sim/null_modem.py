"""A null-modem cable between two pseudo-terminals, made by socat.

Modbus RTU needs a serial line with a master at one end and the I/O module at the other. pymodbus's
serial server opens its port by path (it cannot take a pty master fd), so two linked ptys are the
way to run the simulated module on one machine: the simulator opens `device_path`, the driver (or
mbpoll) opens `host_path`, exactly as it would open /dev/ttyUSB0 on site.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

from kakou.tasks import StartStop


class NullModem(StartStop):
    def __init__(self, link_dir: str | Path | None = None, name: str = "ttyMODBUS") -> None:
        self._dir = Path(link_dir) if link_dir else Path(tempfile.mkdtemp(prefix="kakou-nullmodem-"))
        self.device_path = str(self._dir / f"{name}-device")
        self.host_path = str(self._dir / f"{name}-host")
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        if shutil.which("socat") is None:
            raise RuntimeError("socat is not installed (apt-get install socat): needed for a simulated serial line")
        self._proc = await asyncio.create_subprocess_exec(
            "socat", "-d", "-d",
            f"PTY,raw,echo=0,link={self.device_path}",
            f"PTY,raw,echo=0,link={self.host_path}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._proc.stderr is not None
        async with asyncio.timeout(5):  # socat says so once both ends exist
            while b"starting data transfer loop" not in await self._proc.stderr.readline():
                if self._proc.returncode is not None:
                    raise RuntimeError("socat exited before the null-modem was ready")
        # From here on nobody reads socat's stderr; drain it so a chatty socat never blocks.
        self._drain = asyncio.get_running_loop().create_task(self._proc.stderr.read())

    async def stop(self) -> None:
        if self._proc and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
