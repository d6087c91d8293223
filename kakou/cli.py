"""The `kakou` command line."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

import kakou
from kakou import cli_node, cli_ops, cli_probe, cli_recognize, logs
from kakou.central.audit_key import AuditKeyError
from kakou.cli_central import central_db_arguments, register_central
from kakou.fleet import register_sim_fleet
from kakou.netutil import PortInUse
from kakou.sim.lane_cli import add_sim_lane_arguments

if TYPE_CHECKING:
    from kakou.edge.config import EdgeConfig


def run_command(coro: Awaitable[int | None]) -> int:
    async def main() -> int:
        # SIGTERM (systemd stop, `timeout`) shuts down like Ctrl-C: every task is cancelled.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro or 0
        except asyncio.CancelledError:
            return 143

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AuditKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_demo(args: argparse.Namespace) -> int:
    from kakou.demo import DemoPorts, run_demo

    ports = DemoPorts(mqtt=args.mqtt_port, central=args.central_port, edge=args.edge_port)
    return run_command(run_demo(Path(args.data_dir), ports, args.embedded_broker, args.trucks, args.interval))


def cmd_central_serve(args: argparse.Namespace) -> int:
    from kakou.central.server import CentralConfig, CentralServer
    from kakou.sync.mqtt import BrokerConfig

    cfg = CentralConfig(
        data_dir=Path(args.data_dir),
        db_url=args.db_url,
        http_host=args.host,
        http_port=args.port,
        broker=BrokerConfig(
            host=args.mqtt_host,
            port=args.mqtt_port,
            username=args.mqtt_user,
            password=args.mqtt_password,
            mqtt5=bool(args.share_group),
        ),
        share_group=args.share_group,
        alert_webhooks=args.alert_webhook,
        workers=args.workers,
        login_lock_after=args.login_lock_after,
        login_lock_minutes=args.login_lock_minutes,
        audit_key_file=args.audit_key,
        password_min_length=args.password_min_length,
        password_min_classes=args.password_min_classes,
        password_history=args.password_history,
        password_max_age_days=args.password_max_age_days,
        idle_timeout_minutes=args.idle_timeout_minutes,
        separate_duties=args.separate_duties,
        device_down_alert_minutes=args.device_down_alert_minutes,
    )

    async def serve() -> None:
        server = CentralServer(cfg)
        print(f"central API on {server.url}/api/v1 (OpenAPI {server.url}/docs)", flush=True)
        await server.run()

    return run_command(serve())


def _edge_config(args: argparse.Namespace) -> EdgeConfig | None:
    """The node's config file `--config`, or None after saying on stderr what is wrong with it."""
    from kakou.edge.config import ConfigError, load_config

    try:
        return load_config(Path(args.config))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_edge_run(args: argparse.Namespace) -> int:
    cfg = _edge_config(args)
    if cfg is None:
        return 2

    async def run() -> None:
        from kakou.edge.node import EdgeNode

        node = EdgeNode(cfg)
        print(f"edge node {node.id}: lane API on {node.url}/api/v1/status", flush=True)
        await node.run()

    return run_command(run())


def cmd_edge_replay(args: argparse.Namespace) -> int:
    import json

    from kakou.edge.replay import replay
    from kakou.edge.store import EdgeStore

    cfg = _edge_config(args)
    if cfg is None:
        return 2
    store = EdgeStore(cfg.node.data_dir / "edge.db")
    try:
        result = replay(store, args.pass_id)
    finally:
        store.close()
    if result is None:
        print(f"error: no automatic decision recorded for pass {args.pass_id}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["same"] else 3


def cmd_edge_decide(args: argparse.Namespace) -> int:
    import json

    from kakou.edge.replay import InputsError, decide_recorded

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        decision = decide_recorded(json.loads(text))
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: {args.file} is not JSON: {exc}", file=sys.stderr)
        return 2
    except InputsError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(decision.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return 0


def cmd_edge_hash_pin(args: argparse.Namespace) -> int:
    import getpass

    from kakou.edge.officers import hash_pin

    pin = args.pin or getpass.getpass("PIN: ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("error: a PIN is 4 to 12 digits", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from kakou.bench import main as bench_main

    return bench_main(args.quick, args.json, args.only, field=args.field)


def cmd_sim_lane(args: argparse.Namespace) -> int:
    from kakou.sim.lane_cli import serve_sim_lane

    return run_command(serve_sim_lane(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kakou", description="Edge-first customs checkpoint (卡口) system.")
    p.add_argument("--version", action="version", version=f"kakou {kakou.__version__}")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="run broker, central, one edge lane and simulated trucks")
    d.add_argument("--data-dir", default="var/demo", help="wiped and recreated at start (default %(default)s)")
    d.add_argument("--mqtt-port", type=int, default=18830)
    d.add_argument("--central-port", type=int, default=8080)
    d.add_argument("--edge-port", type=int, default=8090)
    d.add_argument("--embedded-broker", action="store_true", help="use amqtt even if mosquitto is installed")
    d.add_argument("--trucks", type=int, default=None, help="stop after N trucks (default: run until Ctrl-C)")
    d.add_argument("--interval", type=float, default=5.0, help="seconds between trucks")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("central", help="the central service").add_subparsers(dest="sub", required=True)
    cs = c.add_parser("serve", help="serve the central API and MQTT ingest")
    central_db_arguments(cs)
    cs.add_argument("--host", default="127.0.0.1")
    cs.add_argument("--port", type=int, default=8080)
    cs.add_argument("--mqtt-host", default="127.0.0.1")
    cs.add_argument("--mqtt-port", type=int, default=1883)
    cs.add_argument("--mqtt-user", default=None)
    cs.add_argument("--mqtt-password", default=None)
    cs.add_argument("--share-group", default=None, help="MQTT 5 shared-subscription group for scale-out")
    cs.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="HTTP API processes sharing the port (PostgreSQL; SQLite stays at one)",
    )
    cs.add_argument(
        "--login-lock-after",
        type=int,
        default=5,
        metavar="N",
        help="lock a login after N wrong passwords in a row (default 5)",
    )
    cs.add_argument("--login-lock-minutes", type=float, default=15.0, metavar="M", help="for M minutes (default 15)")
    cs.add_argument(
        "--password-min-length",
        type=int,
        default=12,
        metavar="N",
        help="passwords have at least N characters (default 12)",
    )
    cs.add_argument(
        "--password-min-classes",
        type=int,
        default=3,
        metavar="K",
        help="and K of: lower-case, upper-case, digits, symbols (default 3)",
    )
    cs.add_argument(
        "--password-history",
        type=int,
        default=5,
        metavar="N",
        help="a new password differs from the last N (default 5)",
    )
    cs.add_argument(
        "--password-max-age-days",
        type=float,
        default=90.0,
        metavar="D",
        help="a password must be changed after D days (default 90; 0: never)",
    )
    cs.add_argument(
        "--idle-timeout-minutes",
        type=float,
        default=30.0,
        metavar="M",
        help="a session unused for M minutes must log in again (default 30)",
    )
    cs.add_argument(
        "--separate-duties",
        action="store_true",
        help="三员分立: refuse the admin role; the system_admin, security_admin and audit_admin "
        "users (added with `kakou central user add`) each do only their own work",
    )
    cs.add_argument(
        "--device-down-alert-minutes",
        type=float,
        default=10.0,
        metavar="M",
        help="alert when a lane device stays down (fault/offline) over M minutes (default 10)",
    )
    cs.add_argument(
        "--audit-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="the audit chain's HMAC key, kept outside the database; created (0600) if missing "
        "(default: DATA_DIR/keys/audit-hmac.key)",
    )
    from kakou.central.alert_outlets import webhook_url

    cs.add_argument(
        "--alert-webhook",
        action="append",
        default=[],
        metavar="URL",
        type=webhook_url,
        help="POST every raised alert (JSON) to this URL; repeatable",
    )
    cs.set_defaults(func=cmd_central_serve)

    e = sub.add_parser("edge", help="the edge node").add_subparsers(dest="sub", required=True)
    er = e.add_parser("run", help="run an edge node from a TOML or YAML config file")
    er.add_argument("--config", required=True, help="path to the node's config (.toml or .yaml)")
    er.set_defaults(func=cmd_edge_run)
    rp = e.add_parser("replay", help="re-run the decision of a recorded pass and compare (exit 3 if it differs)")
    rp.add_argument("pass_id")
    rp.add_argument("--config", required=True, help="the node's config (locates its data directory)")
    rp.set_defaults(func=cmd_edge_replay)
    ed = e.add_parser("decide", help="the decision for recorded inputs (observation, knowledge, parameters as JSON)")
    ed.add_argument("file", help="JSON file of the inputs, as a pass records them ('-' for standard input)")
    ed.set_defaults(func=cmd_edge_decide)
    hp = e.add_parser("hash-pin", help="print the pin_hash of a lane officer's PIN for the config file")
    hp.add_argument("--pin", default=None, help="the PIN (prompted for when omitted)")
    hp.set_defaults(func=cmd_edge_hash_pin)

    s = sub.add_parser("sim", help="device simulators").add_subparsers(dest="sub", required=True)
    sl = s.add_parser("lane", help="a lane's Modbus I/O module and plate camera")
    add_sim_lane_arguments(sl)
    sl.set_defaults(func=cmd_sim_lane)

    b = sub.add_parser("bench", help="measure the performance figures and print each next to its goal")
    b.add_argument("--quick", action="store_true", help="small samples: about two minutes in all")
    b.add_argument("--json", action="store_true", help="machine-readable output")
    b.add_argument(
        "--only",
        nargs="*",
        default=None,
        metavar="NAME",
        help="run only these (decision recognition field sync propagation bridge hostile central)",
    )
    b.add_argument(
        "--field",
        default=None,
        metavar="DIR",
        help="real photos in the fielddata format for the recognition bench (default ../shared/fielddata)",
    )
    b.set_defaults(func=cmd_bench)

    register_central(c)
    register_sim_fleet(s)
    for module in (cli_node, cli_ops, cli_probe, cli_recognize):
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        # An option out of range reaches the config model: one line per setting, not a traceback.
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            print(f"error: {name} (--{name.replace('_', '-')}): {err['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
