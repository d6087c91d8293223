"""The device end of a serial line, made of a pseudo-terminal.

The simulator holds the pty master; a driver opens `path` exactly like a real port. `path` is a
symlink (as udev makes /dev/serial/by-id/...) so that after a simulated unplug/replug, which gives
a new /dev/pts/N, the driver finds the device again at the same name.

Line faults live here because they are the same for every device: garbage bytes, dropped bytes,
a slow line, and disconnect. Protocol faults (wrong checksum, stuck weight) belong to each device.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import tempfile
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LineFaults:
    """Probabilistic noise (seeded, so a failing test replays) plus one-shot injections."""

    drop_prob: float = 0.0  # each byte sent is lost with this probability
    garbage_prob: float = 0.0  # before each write, a burst of random bytes with this probability
    drop_next: int = 0  # one-shot: lose the next N bytes
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def apply(self, data: bytes) -> bytes:
        if self.drop_next:
            n = min(self.drop_next, len(data))
            self.drop_next -= n
            data = data[n:]
        if self.drop_prob:
            data = bytes(b for b in data if self.rng.random() >= self.drop_prob)
        if self.garbage_prob and self.rng.random() < self.garbage_prob:
            data = self.rng.randbytes(self.rng.randint(1, 16)) + data
        return data


class PtyPort:
    def __init__(self, name: str = "ttySIM0", link_dir: str | Path | None = None) -> None:
        self._own_dir = link_dir is None
        self._dir = Path(link_dir) if link_dir else Path(tempfile.mkdtemp(prefix="kakou-pty-"))
        self.path = str(self._dir / name)
        self.faults = LineFaults()
        self.on_receive: Callable[[bytes], None] = lambda data: None
        self._master: int | None = None
        self._slave: int | None = None
        self.slave_path: str | None = None
        self.bytes_sent = 0
        self.bytes_dropped_full = 0  # lost because nobody read the line and its buffer filled

    @property
    def connected(self) -> bool:
        return self._master is not None

    def open(self) -> None:
        """Plug the device in (again): a fresh pty, with the symlink pointing at it."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        # Raw mode before anyone opens it: a cooked pty would echo our output back to us.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(self.slave_path, tmp)
        os.replace(tmp, self.path)
        asyncio.get_running_loop().add_reader(master, self._readable)

    def disconnect(self) -> None:
        """Unplug: the driver's reads fail (EIO) and the path disappears until `open()`."""
        if self._master is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self.slave_path = None

    def close(self) -> None:
        self.disconnect()
        if self._own_dir:
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def write(self, data: bytes) -> None:
        """Send bytes as the device would: through the line faults, dropped if the line is full."""
        self.write_raw(self.faults.apply(data))

    def write_raw(self, data: bytes) -> None:
        """Send bytes untouched (inject exact garbage, or a hand-made frame)."""
        if self._master is None or not data:
            return
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            n = 0
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            n = 0
        self.bytes_sent += n
        self.bytes_dropped_full += len(data) - n

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            return  # EIO while no slave is open; the sim keeps its own slave fd, so rare
        if data:
            self.on_receive(data)
