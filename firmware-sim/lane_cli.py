"""`kakou sim lane`: a whole lane's simulators on one machine, for an edge node or a technician.

kakou.cli owns the command; it calls `add_sim_lane_arguments(parser)` and `serve_sim_lane(args)`.
The plain lane (Modbus TCP I/O module + plate camera) is the default; every other device is a flag.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys

from kakou.netutil import PortInUse
from kakou.protocols.io_map import IoMap, IoMapError, load_io_map
from kakou.protocols.serial_link import SerialSettings
from kakou.protocols.weighbridge_formats import PARSERS
from kakou.sim.io_sim import LaneIoSim
from kakou.sim.null_modem import NullModem
from kakou.sim.scenario import LaneSims, Truck, describe, drive_truck, start_lane_sims

log = logging.getLogger(__name__)


def add_sim_lane_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `kakou sim lane` (keeps --modbus-port/--camera-port of the first version)."""
    p.add_argument("--modbus-port", type=int, default=15020, help="Modbus TCP port of the I/O module")
    p.add_argument("--camera-port", type=int, default=18081, help="HTTP port of the plate camera")
    p.add_argument("--map", metavar="FILE", help="site register map (.toml/.yaml) the I/O module is wired to")
    p.add_argument(
        "--rtu", action="store_true", help="serve Modbus RTU on a simulated serial line instead of TCP (needs socat)"
    )
    p.add_argument("--rtsp-port", type=int, default=None, help="also stream the plate camera over RTSP on this port")
    p.add_argument("--container-camera-port", type=int, default=None, help="also a container camera on this port")
    p.add_argument(
        "--weighbridge",
        choices=sorted(PARSERS),
        default=None,
        metavar="PROTOCOL",
        help=f"also a weighbridge indicator on a pty ({', '.join(sorted(PARSERS))})",
    )
    p.add_argument("--rfid", action="store_true", help="also an RFID e-plate reader on a pty")
    p.add_argument("--card", action="store_true", help="also an IC card reader on a pty")
    p.add_argument("--display", action="store_true", help="also a serial LED display on a pty")
    p.add_argument("--pty-dir", default=None, help="directory for the serial devices' stable symlinks")
    p.add_argument(
        "--trucks",
        type=int,
        default=0,
        help="drive this many trucks through (plates, containers, weight, ids); 0: none, -1: forever",
    )
    p.add_argument("--interval", type=float, default=5.0, help="seconds between trucks")


def _io_map(args: argparse.Namespace) -> IoMap:
    return load_io_map(args.map) if args.map else IoMap()


async def serve_sim_lane(args: argparse.Namespace) -> int:
    """Start the simulators, print where each one is, drive trucks if asked, run until cancelled."""
    try:
        io_map = _io_map(args)
    except IoMapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    line: NullModem | None = None
    if args.rtu:
        line = NullModem(args.pty_dir)
        await line.start()
        io = LaneIoSim(io_map=io_map, serial=SerialSettings(port=line.device_path, baudrate=9600, stopbits=2))
    else:
        io = LaneIoSim(io_map=io_map, port=args.modbus_port)
    try:
        try:
            sims = await start_lane_sims(
                camera_port=args.camera_port,
                io_sim=io,
                rtsp_port=args.rtsp_port,
                container_camera_port=args.container_camera_port,
                weighbridge_protocol=args.weighbridge,
                rfid=args.rfid,
                card=args.card,
                display=args.display,
                link_dir=args.pty_dir,
            )
        except OSError as exc:
            if not io.running:
                raise PortInUse("127.0.0.1", args.modbus_port, "lane I/O simulator") from exc
            raise PortInUse("127.0.0.1", args.camera_port, f"camera simulator ({exc.strerror or exc})") from exc
        try:
            for text in describe(sims):
                print(text, flush=True)
            if line is not None:
                print(f"  drivers open the host end: rtu://{line.host_path}?baud=9600&parity=N&stopbits=2", flush=True)
            await _traffic(sims, args.trucks, args.interval)
            await asyncio.Event().wait()
        finally:
            await sims.stop()
    finally:
        if line is not None:
            await line.stop()
    return 0


async def _traffic(sims: LaneSims, trucks: int, interval: float) -> None:
    # Imported here: rendering pulls in fonts and PIL, which a bare I/O simulator does not need.
    from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene

    plates = ["粤B12345", "沪AD12345", "京AF12345", "苏E88888"]
    containers = ["CSQU3054383", "MSCU6639871", "TGHU9876545"]
    rng = random.Random(0)
    n = 0
    while trucks < 0 or n < trucks:
        plate = plates[n % len(plates)]
        truck = Truck(
            plate_jpeg=encode_jpeg(render_plate_scene(plate, kind="green" if len(plate) == 8 else "blue", seed=n)),
            container_jpeg=encode_jpeg(render_container_scene(containers[n % len(containers)], seed=n)),
            gross_kg=float(rng.randrange(15_000, 49_000, 20)),
            rfid_tag=f"E2801160{n:016X}",
            ic_card=f"04A1B2{n:08X}",
        )
        result = await drive_truck(sims, wait_for_barrier=30, truck=truck)
        print(f"truck {n + 1} {plate} {truck.gross_kg:g} kg: {result.value}", flush=True)
        n += 1
        await asyncio.sleep(interval)  # traffic pacing, not a wait for work


def run_sim_lane(args: argparse.Namespace) -> int:
    """Blocking entry for callers without their own asyncio runner."""
    try:
        return asyncio.run(serve_sim_lane(args))
    except KeyboardInterrupt:
        return 130
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kakou sim lane", description=__doc__)
    add_sim_lane_arguments(p)
    return run_sim_lane(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
