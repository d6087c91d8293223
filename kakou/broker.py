"""The MQTT broker for the demo and tests: Mosquitto when installed, else embedded amqtt."""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import signal
import socket
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import ClassVar

from kakou.netutil import ensure_free

log = logging.getLogger(__name__)


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def deploy_file(name: str) -> str:
    """A file of deploy/mosquitto/ (installed as package data)."""
    return resources.files("kakou.deploy").joinpath(f"mosquitto/{name}").read_text()


def render_config(template: str, port: int, data_dir: Path, **extra: object) -> str:
    data_dir = data_dir.resolve()
    values: dict[str, object] = {
        "port": port,
        "data_dir": data_dir,
        "user": getpass.getuser(),
        "bind": "127.0.0.1",
        "password_file": data_dir / "passwd",
        "acl_file": data_dir / "kakou.acl",
    }
    values.update(extra)
    return deploy_file(template).format(**values)


async def wait_listening(host: str, port: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _r, w = await asyncio.open_connection(host, port)
            w.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"broker did not start listening on {host}:{port}") from None
            await asyncio.sleep(0.05)


@dataclass(frozen=True)
class TlsFiles:
    """The broker's TLS files (PEM): the CA clients verify it with, its certificate and key."""

    ca: Path
    cert: Path
    key: Path

    def config(self) -> str:
        # Appended after the template: listener options apply to the last `listener` line, so the
        # template's one listener then speaks TLS only (plain MQTT is no longer accepted on it).
        return (
            f"\n# TLS on the listener above (kakou.broker.TlsFiles)\ncafile {self.ca.resolve()}\n"
            f"certfile {self.cert.resolve()}\nkeyfile {self.key.resolve()}\ntls_version tlsv1.2\n"
        )


class MosquittoProcess:
    """A mosquitto process on a config file: run, stopped (SIGTERM) or crashed (SIGKILL)."""

    port: int
    proc: asyncio.subprocess.Process | None = None

    async def run(self, conf: Path, quiet: bool = False) -> asyncio.subprocess.Process:
        """Start mosquitto on `conf` and wait until it listens on `port` (`quiet`: drop its stderr too)."""
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        stderr = asyncio.subprocess.DEVNULL if quiet else None
        self.proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
        await wait_listening("127.0.0.1", self.port)
        return self.proc

    async def stop(self) -> None:
        await self._end(kill=False)

    async def kill(self) -> None:
        """Crash the broker (SIGKILL): whatever it had not saved to its persistence file is gone."""
        await self._end(kill=True)

    async def _end(self, kill: bool) -> None:
        if self.proc and self.proc.returncode is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            await self.proc.wait()


@dataclass(eq=False)
class MosquittoBroker(MosquittoProcess):
    """A Mosquitto process of our own, on our config (not the system service).

    With `template="secure.conf"` clients must log in with credentials from `password_file`
    (see kakou.enrol) and the ACL `acl_file` applies (default: deploy/mosquitto/kakou.acl).
    With `tls`, the listener speaks MQTT over TLS (minimum TLS 1.2) with those files.
    """

    kind: ClassVar[str] = "mosquitto"

    port: int
    data_dir: Path
    template: str = "dev.conf"
    extra_config: str = ""
    password_file: Path | None = None
    acl_file: Path | None = None
    tls: TlsFiles | None = None

    def write_config(self) -> Path:
        """Our config for this broker, written into its data dir: `mosquitto -c` takes the path."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        extra: dict[str, object] = {}
        if self.password_file is not None:
            extra["password_file"] = self.password_file.resolve()
        acl = self.acl_file or self.data_dir / "kakou.acl"
        if self.acl_file is None:
            acl.write_text(deploy_file("kakou.acl"))
        extra["acl_file"] = acl.resolve()
        conf = self.data_dir / "mosquitto.conf"
        tls = self.tls.config() if self.tls else ""
        conf.write_text(render_config(self.template, self.port, self.data_dir, **extra) + tls + self.extra_config)
        return conf

    async def start(self) -> None:
        ensure_free("127.0.0.1", self.port, "MQTT broker")
        proc = await self.run(self.write_config())
        log.info("mosquitto on 127.0.0.1:%s (pid %s)", self.port, proc.pid)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files (after enrolling a node)."""
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGHUP)


class EmbeddedBroker:
    """amqtt in-process: enough for a demo on a machine without Mosquitto (MQTT 3.1.1 only)."""

    kind = "amqtt (embedded)"

    def __init__(self, port: int) -> None:
        self.port = port
        self._broker = None

    async def start(self) -> None:
        from amqtt.broker import Broker

        ensure_free("127.0.0.1", self.port, "MQTT broker")
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        self._broker = broker
        await broker.start()

    async def stop(self) -> None:
        if self._broker:
            await self._broker.shutdown()


def pick_broker(port: int, data_dir: Path, prefer_embedded: bool = False) -> MosquittoBroker | EmbeddedBroker:
    if not prefer_embedded and mosquitto_binary():
        return MosquittoBroker(port, data_dir)
    return EmbeddedBroker(port)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0
