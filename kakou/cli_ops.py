"""`kakou backup edge|central` and `kakou restore edge|central`.

`register(subparsers)` adds both commands to the top-level `kakou` parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from kakou.backup import BackupError
from kakou.cli_central import central_db_arguments


def _central_url(args: argparse.Namespace) -> str:
    if args.db_url:
        return str(args.db_url)
    return f"sqlite:///{(Path(args.data_dir) / 'central.db').resolve()}"


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(fn(args))
        except (BackupError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


@_guard
def cmd_backup_edge(args: argparse.Namespace) -> int:
    from kakou.backup import backup_edge

    summary = backup_edge(Path(args.db), Path(args.out))
    print(f"edge backup written to {args.out}: {summary.line()}")
    return 0


@_guard
def cmd_backup_central(args: argparse.Namespace) -> int:
    from kakou.backup import backup_central

    how = backup_central(_central_url(args), Path(args.out))
    print(f"central backup written to {args.out} ({how})")
    return 0


@_guard
def cmd_restore_edge(args: argparse.Namespace) -> int:
    from kakou.backup import restore_edge

    summary = restore_edge(Path(args.backup), Path(args.db), seq_floor=args.seq_floor, force=args.force)
    print(f"edge store {args.db} restored: {summary.line()}")
    if args.seq_floor is None:
        print(
            "warning: no --seq-floor given; if central holds passes of this node newer than the backup, "
            "new passes would reuse their seq numbers (see docs/operations.md, restoring a node)",
            file=sys.stderr,
        )
    return 0


@_guard
def cmd_restore_central(args: argparse.Namespace) -> int:
    from kakou.backup import restore_central

    how = restore_central(Path(args.backup), _central_url(args), force=args.force)
    print(
        f"central database restored from {args.backup} ({how}); edges resend anything central lacks "
        f"only if told to: see docs/operations.md"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("backup", help="consistent backups of an edge store or central's database")
    bs = b.add_subparsers(dest="sub", required=True)
    be = bs.add_parser("edge", help="online backup of an edge node's SQLite store (safe while it runs)")
    be.add_argument("--db", required=True, help="the node's store, DATA_DIR/edge.db")
    be.add_argument("--out", required=True, help="backup file to write")
    be.set_defaults(func=cmd_backup_edge)
    bc = bs.add_parser("central", help="central's database: SQLite online backup or pg_dump")
    central_db_arguments(bc)
    bc.add_argument("--out", required=True, help="backup file to write")
    bc.set_defaults(func=cmd_backup_central)

    r = sub.add_parser("restore", help="put a backup back (stop the service first)")
    rs = r.add_subparsers(dest="sub", required=True)
    re_ = rs.add_parser("edge", help="restore an edge node's store from a backup")
    re_.add_argument("backup", help="the backup file")
    re_.add_argument("--db", required=True, help="the node's store to (re)create, DATA_DIR/edge.db")
    re_.add_argument(
        "--seq-floor",
        type=int,
        default=None,
        help="central's high_water for this node (GET /api/v1/nodes): new passes continue above it",
    )
    re_.add_argument("--force", action="store_true", help="overwrite an existing store")
    re_.set_defaults(func=cmd_restore_edge)
    rc = rs.add_parser("central", help="restore central's database from a backup")
    rc.add_argument("backup", help="the backup file")
    central_db_arguments(rc)
    rc.add_argument("--force", action="store_true", help="overwrite an existing database")
    rc.set_defaults(func=cmd_restore_central)
