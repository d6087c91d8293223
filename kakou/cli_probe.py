"""`kakou probe ...`: commissioning commands a technician runs against a device on site.

Each prints one JSON line per reading on stdout (and device status changes on stderr), so the
output can be piped into jq or saved as evidence of a working installation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from kakou.protocols.cardreader import CardReaderConfig, CardReaderDriver
from kakou.protocols.eseal import EsealReaderConfig, EsealReaderDriver
from kakou.protocols.io_map import OUTPUT_NAMES, IoMap, IoMapError, Light, load_io_map
from kakou.protocols.modbus_io import BarrierRefused, IoFault, LaneIO
from kakou.protocols.serial_link import Backoff, DeviceStatus, SerialSettings
from kakou.protocols.weighbridge import WeighbridgeConfig, WeighbridgeDriver
from kakou.protocols.weighbridge_formats import PARSERS
from kakou.protocols.weighbridge_stability import StabilityParams


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _print_status(status: DeviceStatus) -> None:
    print(f"[{status.state}] {status.reason}", file=sys.stderr, flush=True)


def _serial_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", required=True, metavar="PORT", help="serial device, e.g. /dev/ttyUSB0")
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--bytesize", type=int, default=8, choices=[7, 8])
    p.add_argument("--parity", default="N", choices=["N", "E", "O"])
    p.add_argument("--stopbits", type=float, default=1, choices=[1, 2])
    p.add_argument("--count", type=int, default=None, help="stop after N readings (default: until Ctrl-C)")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")


def _settings(args: argparse.Namespace) -> SerialSettings:
    stopbits = int(args.stopbits) if float(args.stopbits).is_integer() else args.stopbits
    return SerialSettings(
        port=args.serial, baudrate=args.baud, bytesize=args.bytesize, parity=args.parity, stopbits=stopbits
    )


async def _probe_weighbridge(args: argparse.Namespace) -> int:
    config = WeighbridgeConfig(
        serial=_settings(args),
        protocol=args.protocol,
        unit=args.unit,
        stability=StabilityParams(min_readings=args.stable_n, tolerance_kg=args.stable_d, window_s=args.stable_t),
        backoff=Backoff(initial_s=0.5, max_s=5),
    )
    async with WeighbridgeDriver(config) as scale:
        await _print_until(scale, scale.samples(), args.count)
        print(f"framing errors: {scale.stats.framing_errors}", file=sys.stderr)
    return 0


async def _print_until(device: Any, items: AsyncIterator[Any], count: int | None) -> None:
    """A device's status changes and its first `count` items (all of them: None) as JSON lines."""
    device.status.on_change(_print_status)
    n = 0
    async for item in items:
        _print(item.as_json())
        n += 1
        if count is not None and n >= count:
            break


async def _probe_reader(args: argparse.Namespace) -> int:
    config = CardReaderConfig(
        serial=_settings(args),
        kind=args.kind,
        dedup_window_s=args.dedup,
        backoff=Backoff(initial_s=0.5, max_s=5),
    )
    async with CardReaderDriver(config) as reader:
        await _print_until(reader, reader.reads(), args.count)
    return 0


async def _probe_eseal(args: argparse.Namespace) -> int:
    config = EsealReaderConfig(
        serial=_settings(args), dedup_window_s=args.dedup, backoff=Backoff(initial_s=0.5, max_s=5)
    )
    async with EsealReaderDriver(config) as reader:
        await _print_until(reader, reader.reads(), args.count)
        print(f"framing errors: {reader.stats.framing_errors}", file=sys.stderr)
    return 0


async def _io_state(io: LaneIO) -> dict[str, Any]:
    inputs = (await io.read_inputs()).as_dict()
    return {"inputs": inputs, "outputs": await io.read_outputs(), "input_faults": dict(io.input_faults)}


async def _probe_io(args: argparse.Namespace) -> int:
    try:
        io_map = load_io_map(args.map) if args.map else IoMap()
        io = LaneIO.from_url(args.modbus, io_map, timeout=args.io_timeout)
    except (IoMapError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    io.status.on_change(_print_status)
    try:
        if args.light:
            await io.set_signal(Light(args.light))
        if args.text is not None:
            await io.show_text(args.text)
        state = await _io_state(io)
        _print(state)
        if args.pulse:
            await io.pulse(args.pulse, args.pulse_s)
            _print({"pulsed": args.pulse, "seconds": args.pulse_s, **await _io_state(io)})
        n = 1
        while args.watch and (args.count is None or n < args.count):
            await asyncio.sleep(args.interval)
            new = await _io_state(io)
            if new != state:  # print changes only: a technician walks a loop and watches the line
                _print(new)
                state = new
                n += 1
    except (IoFault, BarrierRefused, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        io.close()
    return 0


def _run(coro_fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        async def bounded() -> int:
            try:
                async with asyncio.timeout(args.timeout):
                    return await coro_fn(args)
            except TimeoutError:
                print(f"timed out after {args.timeout:g}s", file=sys.stderr)
                return 1

        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(bounded())
        return 130

    return run


def _probe_subparsers(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The `probe` group's own subparsers, creating `probe` unless another module already did."""
    existing = subparsers.choices.get("probe")
    if existing is not None and existing._subparsers is not None:
        for action in existing._subparsers._group_actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    probe = subparsers.add_parser("probe", help="commissioning: read a device and print JSON lines")
    return probe.add_subparsers(dest="device", required=True, metavar="DEVICE")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add `probe weighbridge|card|rfid|eseal|io`; returns the probe group so others can add devices."""
    probe = _probe_subparsers(subparsers)

    w = probe.add_parser("weighbridge", help="print weighbridge readings")
    _serial_args(w)
    w.add_argument("--protocol", required=True, choices=sorted(PARSERS))
    w.add_argument("--unit", default="kg", choices=["kg", "t"], help="unit for formats that carry none")
    w.add_argument("--stable-n", type=int, default=5, help="stability: readings in the window")
    w.add_argument("--stable-d", type=float, default=20.0, help="stability: ± kg around the mean")
    w.add_argument("--stable-t", type=float, default=1.0, help="stability: window in seconds")
    w.set_defaults(func=_run(_probe_weighbridge))

    for kind, help_ in (("card", "print IC card reads"), ("rfid", "print RFID e-plate reads")):
        r = probe.add_parser(kind, help=help_)
        _serial_args(r)
        r.add_argument("--dedup", type=float, default=3.0, help="suppress repeats within this many seconds")
        r.set_defaults(func=_run(_probe_reader), kind=kind)

    e = probe.add_parser("eseal", help="print electronic seal (电子关锁) reads")
    _serial_args(e)
    e.add_argument("--dedup", type=float, default=3.0, help="suppress repeats within this many seconds")
    e.set_defaults(func=_run(_probe_eseal))

    io = probe.add_parser("io", help="print lane I/O inputs and coils (Modbus TCP/RTU); pulse an output")
    io.add_argument(
        "--modbus",
        required=True,
        metavar="URL",
        help="tcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E&stopbits=1",
    )
    io.add_argument("--map", metavar="FILE", help="site register map, .toml or .yaml (default: built-in map)")
    io.add_argument("--pulse", choices=OUTPUT_NAMES, help="switch this output on for --pulse-s, then off")
    io.add_argument("--pulse-s", type=float, default=0.5)
    io.add_argument("--light", choices=[x.value for x in Light], help="set the traffic light first")
    io.add_argument("--text", help="write this text to the LED display registers first")
    io.add_argument("--watch", action="store_true", help="keep polling; print a line whenever a point changes")
    io.add_argument("--interval", type=float, default=0.1, help="poll interval for --watch")
    io.add_argument("--count", type=int, default=None, help="with --watch: stop after N lines")
    io.add_argument("--io-timeout", type=float, default=1.0, help="Modbus response timeout in seconds")
    io.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    io.set_defaults(func=_run(_probe_io))
    return probe
