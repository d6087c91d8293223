"""Runs central: the REST API (uvicorn) and the MQTT bridge in one asyncio loop."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kakou.central.alert_outlets import AlertOutlets
from kakou.central.api import create_app
from kakou.central.bridge import CentralBridge
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.housekeeping import Housekeeper
from kakou.central.images import ImageStore
from kakou.central.routes.live import close_streams
from kakou.central.service import Central
from kakou.http_server import make_server
from kakou.netutil import bind_tcp
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

    def mqtt_client_id(self) -> str:
        if self.client_id:
            return self.client_id
        return f"kakou-central-{socket.gethostname()}-{self.http_port}" if self.share_group else "kakou-central"

    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'central.db').resolve()}"

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
        engine = make_engine(cfg.database_url())
        create_schema(engine)
        self.central = Central(make_sessionmaker(engine))
        key = load_or_create_private(cfg.signing_key_path)
        cfg.public_key_path.write_text(public_b64(key.public_key()) + "\n")
        self.bridge = CentralBridge(self.central, cfg.broker, key, client_id=cfg.mqtt_client_id(),
                                    share_group=cfg.share_group)
        self.app = create_app(self.central)
        self.app.state.bridge = self.bridge
        self.app.state.images = ImageStore(cfg.data_dir)  # pass frames uploaded by the edges
        # Alerts, batch-exit counts, transit clocks and ledger postings follow the stored passes.
        self.housekeeper = Housekeeper(self.central)
        self.bridge.on_ingest.append(self.housekeeper.wake)
        # Alerts offered to other systems: MQTT kakou/v1/alerts/{kind} and the configured webhooks.
        self.alert_outlets = AlertOutlets(self.central, self.bridge.publish, cfg.alert_webhooks)
        self.housekeeper.after_round.append(self.alert_outlets.wake)
        self._sock = bind_tcp(cfg.http_host, cfg.http_port, "central HTTP API")
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{cfg.http_host}:{self.port}"
        self._http = make_server(self.app)

    async def run(self) -> None:
        log.info("central API on %s, database %s", self.url, self.cfg.database_url())
        await run_together({
            "central-http": self._http.serve(sockets=[self._sock]),
            "central-mqtt": self.bridge.run(),
            "central-housekeeping": self.housekeeper.run(),
            "central-alert-outlets": self.alert_outlets.run(),
        }, on_stop=self._stop_http)

    def _stop_http(self) -> None:
        close_streams(self.app)  # an open alert stream (a field phone) would hold the shutdown
        self._http.should_exit = True
