"""Edge node configuration: a TOML or YAML file validated by pydantic, with errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kakou.configfile import load_model
from kakou.edge.decision import Parameters
from kakou.protocols.cardreader import CardReaderConfig
from kakou.protocols.display import DisplayConfig
from kakou.protocols.eseal import EsealReaderConfig
from kakou.protocols.io_map import load_io_map
from kakou.protocols.modbus_io import IoMap, parse_modbus_url
from kakou.protocols.weighbridge import WeighbridgeConfig
from kakou.sync.mqtt import BrokerConfig


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSection(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    site: str = "default"
    data_dir: Path


class CentralSection(_Model):
    # Central's Ed25519 public keys (base64). Several during a key rotation.
    public_keys: list[str] = Field(default_factory=list)
    public_key_files: list[Path] = Field(default_factory=list)


class ModbusEndpoint(_Model):
    url: str  # tcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E&stopbits=1
    map: IoMap = IoMap()
    map_file: Path | None = None  # the site's register map (TOML/YAML); replaces `map` when given
    feedback_timeout_s: float = Field(3.0, gt=0)

    @field_validator("url")
    @classmethod
    def _modbus_url(cls, v: str) -> str:
        parse_modbus_url(v)  # raises ValueError naming what is wrong
        return v

    def io_map(self) -> IoMap:
        return load_io_map(self.map_file) if self.map_file else self.map


class CameraSection(_Model):
    url: str  # http(s)://…/snapshot.jpg, rtsp://…, an MJPEG stream (.mjpg) or a video file
    timeout_s: float = Field(2.0, gt=0)
    frames: int = Field(2, ge=1, le=10)  # frames to vote over
    # Passes over which the camera's view is judged (edge/camera_view.py): a veiled window or
    # reads failing in most of them is reported as a device fault for the technician.
    watch_passes: int = Field(10, ge=3, le=200)
    # Each frame is one field of an analogue camera (a DVR or encoder set to 2CIF, 704 x 288): its
    # rows are doubled before reading (protocols/camera.py, OneFieldCamera).
    one_field: bool = False
    # Degrees clockwise that set the camera's picture upright: a camera mounted on its side to see a
    # container's full height (90 or 270), a roof camera whose picture is upside down (180).
    turn: Literal[0, 90, 180, 270] = 0


class LaneSection(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    direction: Literal["in", "out"]
    lane_class: Literal["A", "B", "C"] = "A"  # A reads automatically; B/C: the officer keys plate/containers
    io: ModbusEndpoint
    plate_camera: CameraSection | None = None
    container_camera: CameraSection | None = None
    face_camera: CameraSection | None = None  # driver's face, for the 1:1 check against the registered photo
    weighbridge: WeighbridgeConfig | None = None
    rfid: CardReaderConfig | None = None  # e-plate tag reader
    ic_card: CardReaderConfig | None = None  # driver IC card reader
    display: DisplayConfig | None = None  # the driver's LED sign (serial display protocol)
    e_seal: EsealReaderConfig | None = None  # electronic seal (电子关锁) reader, at a transit destination
    weigh_timeout_s: float = Field(15.0, gt=0)
    id_wait_s: float = Field(3.0, ge=0)  # how long to wait for an e-plate / IC card read
    clear_timeout_s: float = Field(120.0, gt=0)


class OfficerSection(_Model):
    """A lane officer who may log in at the lane screen with a PIN (stored as a salted scrypt hash)."""

    id: str
    name: str = ""
    pin_hash: str  # `kakou edge hash-pin` prints one: scrypt$<salt hex>$<hash hex>


class HttpSection(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535)
    # Reads (passes, frames, interventions) from this machine need no login (the kiosk browser on the
    # node); false behind a reverse proxy on the same host (edge/read_access.py).
    reads_from_loopback: bool = True


class EdgeConfig(_Model):
    node: NodeSection
    broker: BrokerConfig = BrokerConfig()
    central: CentralSection = CentralSection()
    http: HttpSection = HttpSection()
    parameters: Parameters = Parameters()
    officers: list[OfficerSection] = Field(default_factory=list)
    face_matcher: str | None = None  # "package.module:Class"; default: kakou.models.face.HogFaceMatcher
    faces_dir: Path | None = None  # registered driver photos, named by the driver's photo_ref
    # Regexes for foreign (non-GA 36) plates this gate sees, e.g. "[A-Z]{2}\\d{1,4}" at a Hong Kong
    # crossing. Off by default: a Chinese plate read without its province character would
    # otherwise pass as a foreign one.
    latin_plate_patterns: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=16)

    @field_validator("latin_plate_patterns")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return v

    image_retention_days: float = Field(90.0, gt=0)
    min_free_disk_mb: int = Field(1024, ge=0)
    lanes: list[LaneSection] = Field(min_length=1)


def load_config(path: Path) -> EdgeConfig:
    return load_model(path, EdgeConfig, "config file", ConfigError)
