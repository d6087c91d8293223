"""E-seal (电子关锁) reader: the sentence parser fuzzed, the driver against its simulator on a real
pty (`kakou probe eseal`: tests/devices/test_cli_probe.py)."""

from __future__ import annotations

from pathlib import Path

from device_helpers import collect
from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.edge.config import load_config
from kakou.protocols.eseal import (
    MAX_LINE,
    EsealReaderConfig,
    EsealReaderDriver,
    Heartbeat,
    SealLineParser,
    SealRead,
    encode_heartbeat,
    encode_read,
)
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.eseal_sim import EsealReaderSim
from kakou.sim.scenario import Truck, TruckResult, describe, drive_truck, start_lane_sims
from kakou.waiting import eventually

SEAL = "CNSZ-ES0012345"


def config(sim: EsealReaderSim, **kw: object) -> EsealReaderConfig:
    return EsealReaderConfig(serial=SerialSettings(port=sim.path), backoff=Backoff(initial_s=0.02, max_s=0.2), **kw)


# -- the parser -----------------------------------------------------------------------------------


def test_sentences_decode_and_a_wrong_checksum_is_no_read() -> None:
    p = SealLineParser()
    good = encode_read(SEAL, "tampered", 5)
    # The check is the CRC-16/CCITT-FALSE of every byte between '$' and '*' (docs/devices.md's example).
    assert good == b"$ESL,CNSZ-ES0012345,T,005*A7E4\r\n"
    assert encode_read(SEAL, battery_pct=87) == b"$ESL,CNSZ-ES0012345,S,087*69DB\r\n"
    out = p.feed(good + encode_heartbeat(0) + encode_read(SEAL, corrupt_checksum=True) + b"$ESL,AB,S,100*00\r\n")
    assert [type(x) for x in out] == [SealRead, Heartbeat]
    assert isinstance(out[0], SealRead)
    assert (out[0].seal, out[0].status, out[0].battery_pct) == (SEAL, "tampered", 5)
    assert p.stats.errors["bad_checksum"] == 1 and p.stats.errors["bad_line"] == 1


seal_ids = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=4, max_size=20)
reads = st.builds(
    lambda s, st_, b: (s, st_, b), seal_ids, st.sampled_from(["intact", "tampered", "low_battery"]), st.integers(0, 100)
)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(reads, min_size=1, max_size=6), data=st.data())
def test_round_trip_whatever_the_chunking(items: list[tuple[str, str, int]], data: st.DataObject) -> None:
    stream = b"".join(encode_read(s, status, b) for s, status, b in items)  # type: ignore[arg-type]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    p = SealLineParser()
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += p.feed(stream[a:b])
    reads = [r for r in out if isinstance(r, SealRead)]
    assert len(reads) == len(out)  # no heartbeat in this stream
    assert [(r.seal, r.status, r.battery_pct) for r in reads] == items
    assert p.stats.framing_errors == 0


@settings(max_examples=400, deadline=None)
@given(junk=st.binary(max_size=2000), step=st.integers(1, 300))
def test_garbage_never_crashes_and_the_buffer_stays_bounded(junk: bytes, step: int) -> None:
    p = SealLineParser()
    for i in range(0, len(junk), step):
        for item in p.feed(junk[i : i + step]):
            assert isinstance(item, SealRead | Heartbeat)
        assert p.lines.buffered <= MAX_LINE


@settings(max_examples=200, deadline=None)
@given(seal=seal_ids, junk=st.binary(min_size=1, max_size=40), data=st.data())
def test_a_damaged_sentence_never_reads_as_another_seal(seal: str, junk: bytes, data: st.DataObject) -> None:
    """Bytes lost or noise inside a sentence: either the sent seal or nothing, never a different one."""
    sent = encode_read(seal)
    at = data.draw(st.integers(0, len(sent) - 2))
    cut = data.draw(st.integers(0, 3))
    damaged = sent[:at] + junk.replace(b"\n", b"") + sent[at + cut :]
    out = SealLineParser().feed(damaged + b"\n" + encode_read("GOOD-0001"))  # the next line is read
    seals = [r.seal for r in out if isinstance(r, SealRead)]
    assert seals[-1] == "GOOD-0001"
    assert set(seals[:-1]) <= {seal}


# -- the driver on a real pty -----------------------------------------------------------------------


async def test_seal_in_range_is_one_read_and_a_tampered_seal_is_reported() -> None:
    async with EsealReaderSim(heartbeat_s=0.1) as sim, EsealReaderDriver(config(sim, dedup_window_s=2)) as reader:
        await reader.status.wait_for("online", 3)  # heartbeat
        sim.present_seal(SEAL, reads=5)
        sim.present_seal("CNSZ-ES0099999", status="tampered", battery_pct=61, reads=2)
        got = await collect(reader, 2)
        assert [r.as_json() for r in got] == [
            {"seal": SEAL, "status": "intact", "battery_pct": 87},
            {"seal": "CNSZ-ES0099999", "status": "tampered", "battery_pct": 61},
        ]
        assert reader.dedup.suppressed >= 4


async def test_garbage_and_bad_checksums_never_become_reads() -> None:
    async with EsealReaderSim(heartbeat_s=0.1) as sim, EsealReaderDriver(config(sim, dedup_window_s=0)) as reader:
        await reader.status.wait_for("online", 3)
        sim.corrupt_next = 1
        sim.present_seal("BAD-0001", reads=1)  # wrong checksum: must vanish
        sim.garbage(200)
        sim.port.write_raw(encode_read("LOST-0002")[:-9] + b"\r\n")  # lost its checksum: must vanish
        sim.present_seal(SEAL, reads=1)
        (read,) = await collect(reader, 1)
        assert read.seal == SEAL
        assert reader.stats.framing_errors >= 2
        assert reader.status.status.state == "online"


async def test_silence_disconnect_and_reader_error_are_faults() -> None:
    async with (
        EsealReaderSim(heartbeat_s=0.1) as sim,
        EsealReaderDriver(config(sim, heartbeat_timeout_s=0.5)) as reader,
    ):
        await reader.status.wait_for("online", 3)
        sim.silent = True  # the reader hangs: the port stays open, nothing arrives
        assert "no valid sentence" in (await reader.status.wait_for("faulted", 3)).reason
        sim.silent = False
        await reader.status.wait_for("online", 3)
        sim.disconnect()
        assert "disconnected" in (await reader.status.wait_for("faulted", 3)).reason
        sim.reconnect()
        await reader.status.wait_for("online", 3)
        sim.reader_status = 0x21
        assert "0x21" in (await reader.status.wait_for("faulted", 3)).reason


def test_the_node_config_takes_an_e_seal_reader(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "edge.example.toml"
    text = (
        example.read_text(encoding="utf-8")
        .replace("# [lanes.e_seal]", "[lanes.e_seal]")
        .replace("# serial = { port", "serial = { port")
        .replace("# heartbeat_timeout_s", "heartbeat_timeout_s")
    )
    (tmp_path / "edge.toml").write_text(text, encoding="utf-8")
    (lane,) = load_config(tmp_path / "edge.toml").lanes
    assert lane.e_seal is not None and lane.e_seal.serial.port == "/dev/serial/by-id/usb-eseal-reader-if00"
    assert load_config(example).lanes[0].e_seal is None  # commented out: the lane has no reader


async def test_a_scenario_truck_shows_its_seal_on_the_approach(tmp_path: Path) -> None:
    sims = await start_lane_sims(e_seal=True, link_dir=str(tmp_path))
    try:
        assert sims.e_seal is not None and f"e-seal reader: serial {sims.e_seal.path}" in describe(sims)
        async with EsealReaderDriver(config(sims.e_seal)) as reader:
            await reader.status.wait_for("online", 5)
            truck = Truck(e_seal=SEAL, e_seal_status="tampered")
            # no lane behind the barrier: the truck is turned away, but its seal was heard first
            assert await drive_truck(sims, truck=truck, wait_for_barrier=0.2, step_s=0.05) is TruckResult.TURNED_AWAY
            read = await eventually(lambda: reader.latest, 5, what="the seal heard")
            assert (read.seal, read.status) == (SEAL, "tampered")
            assert f"e-seal {SEAL} tampered" in sims.steps()
    finally:
        await sims.stop()
