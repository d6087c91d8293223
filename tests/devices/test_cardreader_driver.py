"""RFID e-plate and IC card readers: driver against simulator over a real pty."""

from __future__ import annotations

import pytest
from device_helpers import collect

from kakou.protocols.cardreader import CardReaderConfig, CardReaderDriver, encode_card_read
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.cardreader_sim import CardReaderSim

TAG = "E2801160600002054C2B1A3F"


def config(sim: CardReaderSim, **kw: object) -> CardReaderConfig:
    return CardReaderConfig(
        serial=SerialSettings(port=sim.path),
        backoff=Backoff(initial_s=0.02, max_s=0.2),
        **kw,
    )


async def test_tag_in_field_is_one_read_per_presence() -> None:
    async with (
        CardReaderSim(heartbeat_s=0.1) as sim,
        CardReaderDriver(config(sim, kind="rfid", dedup_window_s=2)) as reader,
    ):
        await reader.status.wait_for("online", 3)  # heartbeat
        sim.present_tag(TAG, reads=8)
        sim.present_tag("E2000000000000000000BEEF", reads=2)
        reads = await collect(reader, 2)
        assert [r.id for r in reads] == [TAG, "E2000000000000000000BEEF"]
        assert reads[0].rssi_dbm == -52 and reads[0].antenna == 1
        assert reader.dedup.suppressed >= 7  # tag 1's repeats (tag 2's may still be on the wire)


async def test_card_swipe() -> None:
    async with CardReaderSim(heartbeat_s=0.1) as sim, CardReaderDriver(config(sim, kind="card")) as reader:
        await reader.status.wait_for("online", 3)  # a read sent before the port opened is flushed
        sim.present_card("04A1B2C3D4E5F6", card_type="iso14443a")
        (read,) = await collect(reader, 1)
        assert read.as_json() == {"kind": "card", "id": "04A1B2C3D4E5F6", "addr": 1, "card_type": "iso14443a"}


async def test_bad_crc_garbage_and_dropped_bytes_never_become_reads() -> None:
    async with (
        CardReaderSim(heartbeat_s=0.1) as sim,
        CardReaderDriver(config(sim, dedup_window_s=0)) as reader,
    ):
        await reader.status.wait_for("online", 3)
        sim.corrupt_next = 1
        sim.present_card("DEADBEEF")  # wrong CRC: must vanish
        sim.port.write_raw(b"\x02\x00\x10\x01\x20garbage\x03\x02\x03\xff" * 5)
        sim.port.write_raw(encode_card_read(bytes.fromhex("0BADF00D"))[:-3])  # lost its tail: must vanish
        sim.present_card("CAFEBABE")
        (read,) = await collect(reader, 1)
        assert read.id == "CAFEBABE"
        errors = reader.parser.stats.errors
        assert errors["bad_crc"] + errors["no_etx"] + errors["bad_length"] >= 1
        assert errors["garbage"] >= 1


async def test_disconnect_and_silence_are_faults() -> None:
    async with (
        CardReaderSim(heartbeat_s=0.1) as sim,
        CardReaderDriver(config(sim, heartbeat_timeout_s=0.5)) as reader,
    ):
        await reader.status.wait_for("online", 3)
        sim.disconnect()
        assert "disconnected" in (await reader.status.wait_for("faulted", 3)).reason
        sim.reconnect()
        await reader.status.wait_for("online", 3)
        sim.heartbeat_s = 60  # the reader hangs: port open, nothing arrives
        status = await reader.status.wait_for("faulted", 3)
        assert "no valid frame" in status.reason


@pytest.mark.parametrize("status_byte", [0x07])
async def test_reader_reported_error(status_byte: int) -> None:
    async with CardReaderSim(heartbeat_s=0.05) as sim, CardReaderDriver(config(sim)) as reader:
        await reader.status.wait_for("online", 3)
        sim.reader_status = status_byte
        status = await reader.status.wait_for("faulted", 3)
        assert "0x07" in status.reason
