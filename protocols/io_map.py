"""A site's lane I/O register map: which coil drives what, which input reads what.

Every integrator wires the I/O module differently, so the map is data (a TOML or YAML file, or a
table inside the edge config), validated with errors that name the key. Addresses are the 0-based
protocol addresses that go on the wire (mbpoll shows them with `-0`; most I/O module manuals
number them from 1 — subtract one).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kakou.configfile import load_model

InputName = Literal["loop_before", "loop_under", "loop_after", "barrier_up", "barrier_down"]
INPUT_NAMES: tuple[InputName, ...] = ("loop_before", "loop_under", "loop_after", "barrier_up", "barrier_down")
OutputName = Literal["barrier_raise", "barrier_lower", "light_green", "light_red", "light_yellow"]
OUTPUT_NAMES: tuple[OutputName, ...] = ("barrier_raise", "barrier_lower", "light_green", "light_red", "light_yellow")


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    OFF = "off"


class IoMap(BaseModel):
    """Addresses of the lane's I/O points (coils = outputs, discrete inputs = sensors)."""

    model_config = ConfigDict(extra="forbid")

    device_id: int = Field(1, ge=0, le=247)  # Modbus unit id (RTU slave address)
    # "hold": the raise coil held on = boom up, off = boom down (a relay that follows the coil).
    # "pulse": boom controllers with open/close push-button inputs: a pulse on the raise coil
    # opens, a pulse on the lower coil closes; the controller keeps the position by itself.
    barrier_drive: Literal["hold", "pulse"] = "hold"
    coil_barrier_raise: int = Field(0, ge=0, le=65535)
    coil_barrier_lower: int | None = Field(None, ge=0, le=65535)  # required with barrier_drive = "pulse"
    barrier_pulse_s: float = Field(0.5, gt=0, le=10)
    coil_light_green: int = Field(1, ge=0, le=65535)  # without a red coil: on = green, off = red
    coil_light_red: int | None = Field(None, ge=0, le=65535)
    coil_light_yellow: int | None = Field(None, ge=0, le=65535)
    di_loop_before: int = Field(0, ge=0, le=65535)
    di_loop_under: int = Field(1, ge=0, le=65535)
    di_loop_after: int = Field(2, ge=0, le=65535)
    di_barrier_up: int = Field(3, ge=0, le=65535)
    di_barrier_down: int = Field(4, ge=0, le=65535)
    # Inputs wired normally-closed (fail-safe loop detector relays): the driver inverts them.
    invert_inputs: list[InputName] = Field(default_factory=list)
    # Optional LED display driven through holding registers: text packed 2 bytes per register.
    hr_display: int | None = Field(None, ge=0, le=65535)
    display_registers: int = Field(32, ge=1, le=123)  # 123 = most registers one write may carry
    display_encoding: Literal["gbk", "utf-16-be"] = "gbk"  # GBK is what Chinese LED controllers take

    @model_validator(mode="after")
    def _distinct(self) -> IoMap:
        if self.barrier_drive == "pulse" and self.coil_barrier_lower is None:
            raise ValueError('barrier_drive = "pulse" needs coil_barrier_lower (the close input)')
        # Two points on one address is a wiring-table typo that would, e.g., read the barrier's
        # position as a loop; refuse it rather than run a lane on it.
        for kind, points in (("coil", self.coil_addresses()), ("discrete input", self.input_addresses())):
            seen: dict[int, str] = {}
            for name, addr in points.items():
                if addr in seen:
                    raise ValueError(f"{name} and {seen[addr]} are both on {kind} {addr}")
                seen[addr] = name
        return self

    def input_addresses(self) -> dict[InputName, int]:
        return {name: getattr(self, f"di_{name}") for name in INPUT_NAMES}

    def coil_addresses(self) -> dict[OutputName, int]:
        out: dict[OutputName, int] = {}
        for name in OUTPUT_NAMES:
            addr = getattr(self, f"coil_{name}")
            if addr is not None:
                out[name] = addr
        return out

    def light_coils(self, light: Light) -> dict[int, bool]:
        """Coil values that show `light`, off-coils first (so two lamps are never lit together)."""
        if light is Light.YELLOW and self.coil_light_yellow is None:
            raise ValueError("this site's I/O map has no yellow light coil")
        want = {self.coil_light_green: light is Light.GREEN}
        if self.coil_light_red is not None:
            want[self.coil_light_red] = light is Light.RED
        if self.coil_light_yellow is not None:
            want[self.coil_light_yellow] = light is Light.YELLOW
        return dict(sorted(want.items(), key=lambda kv: kv[1]))

    def encode_display(self, text: str) -> list[int]:
        """Registers for `text`: encoded bytes, big-endian pairs, zero-padded to the display's size."""
        if self.hr_display is None:
            raise ValueError("this site's I/O map has no display registers (hr_display)")
        try:
            data = text.encode(self.display_encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(f"display text cannot be written in {self.display_encoding}: {exc}") from exc
        room = 2 * self.display_registers
        if len(data) > room:
            raise ValueError(f"display text needs {len(data)} bytes; the display holds {room}")
        data = data.ljust(room, b"\0")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, room, 2)]

    def decode_display(self, registers: list[int]) -> str:
        data = b"".join(r.to_bytes(2, "big") for r in registers)
        if self.display_encoding == "gbk":
            data = data.split(b"\0", 1)[0]
        else:  # UTF-16 has zero bytes inside characters; padding is whole zero code units
            while data.endswith(b"\0\0"):
                data = data[:-2]
        return data.decode(self.display_encoding, errors="replace")


class IoMapError(Exception):
    """The register map file is missing, unreadable or invalid; the message says where."""


def load_io_map(path: str | Path) -> IoMap:
    """Read a register map from TOML (.toml) or YAML (.yaml/.yml)."""
    return load_model(Path(path), IoMap, "register map", IoMapError)
