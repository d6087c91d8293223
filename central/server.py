"""Runs central: the REST API (uvicorn) and the MQTT bridge in one asyncio loop.

With `workers > 1` (PostgreSQL only) the primary process also starts `workers - 1` API-only
processes that accept on the same listening socket (the kernel spreads connections among them).
The MQTT bridge, housekeeping and alert outlets stay single, in the primary; it follows the
change log so that writes made through the other processes still reach the edges promptly.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import threading
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from kakou.central import audit, changelog, read_cache
from kakou.central.alert_outlets import AlertOutlets
from kakou.central.api import create_app
from kakou.central.bridge import CentralBridge, NotConnected
from kakou.central.db import make_engine, make_sessionmaker
from kakou.central.headers import SecurityHeaders
from kakou.central.housekeeping import Housekeeper
from kakou.central.images import ImageStore
from kakou.central.routes.live import close_streams
from kakou.central.service import Central, open_central
from kakou.http_server import make_server
from kakou.netutil import PortInUse, bind_tcp
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import load_or_create_private, public_b64
from kakou.tasks import run_together

log = logging.getLogger(__name__)


class CentralConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("var/central")
    db_url: str | None = None  # default: SQLite file in data_dir
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    broker: BrokerConfig = BrokerConfig()
    share_group: str | None = None  # set to use MQTT 5 shared subscriptions across workers
    # Each worker needs its own MQTT client id (a broker drops a client when another takes its id):
    # default "kakou-central", or kakou-central-HOST-PORT when sharing ingest.
    client_id: str | None = None
    # Every raised alert is POSTed (JSON) to each of these, besides MQTT kakou/v1/alerts/{kind}.
    alert_webhooks: list[Annotated[str, Field(pattern=r"^https?://\S+$")]] = []
    # HTTP API processes sharing the port (PostgreSQL; SQLite keeps one process, one writer).
    workers: int = Field(1, ge=1, le=32)
    # Login failure handling: lock a login after this many wrong passwords in a row, for so long.
    login_lock_after: int = Field(5, ge=1, le=100)
    login_lock_minutes: float = Field(15.0, gt=0, le=24 * 60)
    # Password rules and the idle session timeout (auth.PasswordRules; GB/T 22239 三级).
    password_min_length: int = Field(12, ge=8, le=128)
    password_min_classes: int = Field(3, ge=1, le=4)
    password_history: int = Field(5, ge=1, le=24)
    password_max_age_days: float = Field(90.0, ge=0, le=3650)  # 0: passwords never expire
    idle_timeout_minutes: float = Field(30.0, gt=0, le=24 * 60)
    # The audit chain's HMAC key, outside the database (audit_key.py); default <data dir>/keys/audit-hmac.key.
    audit_key_file: Path | None = None
    # 三员分立: refuse the all-powerful admin role; the system/security/audit administrators do the work.
    separate_duties: bool = False
    # A lane device down longer than this raises an alert (device_health.check_down).
    device_down_alert_minutes: float = Field(10.0, gt=0, le=7 * 24 * 60)

    def operations(self) -> dict[str, Any]:
        """Central's operating thresholds, as `Central(...)` takes them."""
        return {"device_down_alert_after": timedelta(minutes=self.device_down_alert_minutes)}

    def security(self) -> dict[str, Any]:
        """Central's login, password and session settings, as `Central(...)` takes them."""
        from kakou.central.auth import PasswordRules

        return {
            "login_lock_after": self.login_lock_after,
            "login_lock_for": timedelta(minutes=self.login_lock_minutes),
            "password_rules": PasswordRules(
                self.password_min_length,
                self.password_min_classes,
                self.password_history,
                timedelta(days=self.password_max_age_days) if self.password_max_age_days else None,
            ),
            "idle_timeout": timedelta(minutes=self.idle_timeout_minutes),
            "separate_duties": self.separate_duties,
        }

    def mqtt_client_id(self) -> str:
        if self.client_id:
            return self.client_id
        return f"kakou-central-{socket.gethostname()}-{self.http_port}" if self.share_group else "kakou-central"

    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'central.db').resolve()}"

    @property
    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.data_dir / "keys" / "audit-hmac.key"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "keys" / "central-signing.pem"

    @property
    def public_key_path(self) -> Path:
        return self.data_dir / "keys" / "central-signing.pub"


class CentralServer:
    """Owns central's parts; `start()` binds the HTTP port (so errors surface early), `run()` serves."""

    def __init__(self, cfg: CentralConfig) -> None:
        self.cfg = cfg
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.central, _engine = open_central(cfg.database_url(), **cfg.security(), **cfg.operations())
        self.central.audit_key = audit.load_or_create_key(self.central, cfg.audit_key_path)
        key = load_or_create_private(cfg.signing_key_path)
        cfg.public_key_path.write_text(public_b64(key.public_key()) + "\n")
        self.bridge = CentralBridge(
            self.central, cfg.broker, key, client_id=cfg.mqtt_client_id(), share_group=cfg.share_group
        )
        self.app = create_app(self.central)
        self._processes = self.api_processes()
        # The read cache's change counter, shared by the API processes so that a write through any
        # of them makes every process's cached answers stale at once (read_cache.py).
        spawn = multiprocessing.get_context("spawn")
        self._changes = read_cache.shared_counters(spawn) if self._processes > 1 else None
        self.app.state.bridge = self.bridge
        self.app.state.images = ImageStore(cfg.data_dir)  # pass frames uploaded by the edges
        # Alerts, batch-exit counts, transit clocks and ledger postings follow the stored passes.
        self.housekeeper = Housekeeper(self.central)
        self.bridge.on_ingest.append(self.housekeeper.wake)
        # Alerts offered to other systems: MQTT kakou/v1/alerts/{kind} and the configured webhooks.
        self.alert_outlets = AlertOutlets(self.central, self.bridge.publish, cfg.alert_webhooks)
        self.housekeeper.after_round.append(self.alert_outlets.wake)
        # Several processes: each its own listening socket on the port (SO_REUSEPORT), so the kernel
        # spreads new connections evenly; one shared socket leaves most of them to whoever wakes first.
        self._sock = (
            bind_shared(cfg.http_host, cfg.http_port)
            if self._processes > 1
            else bind_tcp(cfg.http_host, cfg.http_port, "central HTTP API")
        )
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{cfg.http_host}:{self.port}"
        self._http = make_server(_with_read_cache(self.app, self.central, self._changes))

    def api_processes(self) -> int:
        if self.cfg.workers > 1 and self.cfg.database_url().startswith("sqlite"):
            log.warning(
                "SQLite: serving the API from one process (--workers %d ignored; one writer only)", self.cfg.workers
            )
            return 1
        return self.cfg.workers

    async def run(self) -> None:
        log.info("central API on %s, database %s", self.url, self.cfg.database_url())
        limit_api_threads()
        parts = {
            "central-http": self._http.serve(sockets=[self._sock]),
            "central-mqtt": self.bridge.run(),
            "central-housekeeping": self.housekeeper.run(),
            "central-alert-outlets": self.alert_outlets.run(),
        }
        extra = self._processes - 1
        if extra:
            ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads or pools
            loop = asyncio.get_running_loop()
            self._workers = []
            for i in range(extra):
                mine, theirs = ctx.Pipe()
                self._workers.append(
                    ctx.Process(
                        target=_api_worker,
                        args=(self.cfg.model_dump_json(), self.port, os.getpid(), theirs, self._changes),
                        name=f"central-api-{i + 1}",
                        daemon=True,
                    )
                )
                threading.Thread(
                    target=self._serve_bridge_calls, args=(mine, loop), daemon=True, name=f"central-api-{i + 1}-bridge"
                ).start()
            for p in self._workers:
                p.start()
            parts["central-follow-changes"] = self._follow_changes()
        try:
            await run_together(parts, on_stop=self._stop_http)
        finally:
            await asyncio.to_thread(self._stop_workers)
            # A serve cancelled before it saw should_exit never shut its listener down: close it the
            # loop's way (unregister, then close), so the port is free for a restart and the socket's
            # number, once reused, is not still watched as this listener.
            for server in getattr(self._http, "servers", []):
                server.close()
            self._sock.close()

    async def _follow_changes(self, every_s: float = 0.2) -> None:
        """Changes committed by the API-only processes: tell the bridge, as an in-process write does."""
        seen = await asyncio.to_thread(changelog.latest_version, self.central)
        while True:
            await asyncio.sleep(every_s)  # polling interval: one indexed max() query
            latest = await asyncio.to_thread(changelog.latest_version, self.central)
            if latest > seen:
                seen = latest
                app = getattr(self, "app", None)  # (a test may run the follower alone)
                counter = getattr(app.state, "read_cache_counter", None) if app is not None else None
                if counter is not None:  # also a change written outside this serve (the CLI)
                    counter.bump()
                self.central.notify(latest)

    def _serve_bridge_calls(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        """Answer an API process's bridge calls (a node resync) with the primary's bridge."""
        while True:
            try:
                node = conn.recv()
            except (EOFError, OSError):
                return  # the worker is gone
            try:
                done = asyncio.run_coroutine_threadsafe(self.bridge.resync(node), loop).result(60)
                conn.send(("ok", done))
            except Exception as exc:  # the worker raises it as NotConnected: answered with a 503
                conn.send(("error", str(exc) or type(exc).__name__))

    def _stop_workers(self) -> None:
        for p in getattr(self, "_workers", []):
            p.terminate()
        for p in getattr(self, "_workers", []):
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()

    def _stop_http(self) -> None:
        close_streams(self.app)  # an open alert stream (a field phone) would hold the shutdown
        self._http.should_exit = True


API_THREADS = 16


def limit_api_threads() -> None:
    """Sync endpoints run in anyio's thread pool (40 by default): more threads than database
    connections only queue on the pool, and on two cores they fight over the GIL."""
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = API_THREADS


class _PrimaryBridge:
    """In an API-only process: the bridge calls the API makes, done by the primary's bridge."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()  # one call at a time on the pipe

    def _call(self, node: str) -> Any:
        with self.lock:
            self.conn.send(node)
            if not self.conn.poll(90):
                raise NotConnected("the primary central process did not answer")
            status, value = self.conn.recv()
        if status != "ok":
            raise NotConnected(value)
        return value

    async def resync(self, node: str) -> dict[str, int]:
        return await asyncio.to_thread(self._call, node)


def bind_shared(host: str, port: int) -> socket.socket:
    """A listening socket other processes of this user may bind too (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: see netutil
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(host, port, "central HTTP API") from exc
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _with_read_cache(app: Any, central: Central, shared: Any) -> Any:
    """The app behind the read cache (read_cache.py), unless KAKOU_CENTRAL_READ_CACHE=0."""
    if os.environ.get("KAKOU_CENTRAL_READ_CACHE", "1") == "0":
        return app
    # The security headers outside the cache too: its cached answers skip the app's own middleware.
    return SecurityHeaders(read_cache.install(app, central, shared))


def _api_worker(cfg_json: str, port: int, parent: int, conn: Connection, shared: Any = None) -> None:
    """An API-only process: the same app on the same port (its own socket), nothing else."""
    cfg = CentralConfig.model_validate_json(cfg_json)
    logging.basicConfig(level=logging.WARNING)
    central = Central(make_sessionmaker(make_engine(cfg.database_url())), **cfg.security(), **cfg.operations())
    central.audit_key = audit.load_or_create_key(central, cfg.audit_key_path)  # the primary made it
    app = create_app(central)
    app.state.images = ImageStore(cfg.data_dir)
    app.state.bridge = _PrimaryBridge(conn)
    server = make_server(_with_read_cache(app, central, shared))

    def stop() -> None:
        close_streams(app)
        server.should_exit = True

    def orphaned() -> None:  # the primary died without stopping us: do not serve on alone
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    # Listen only once the app is built: the kernel hands a connection to any listening socket of
    # the port, and one handed to a process still starting up would wait for it.
    sock = bind_shared(cfg.http_host, port)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        limit_api_threads()
        await server.serve(sockets=[sock])

    asyncio.run(serve())
