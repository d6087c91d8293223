"""`kakou central user add|list`, `audit verify|archive`, `expire`, `migrate`.

`register_central(subparsers)` adds these to the `kakou central` sub-command parser.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kakou.central.service import Central


def _central(args: argparse.Namespace) -> Central:
    from kakou.central import audit
    from kakou.central.server import CentralConfig
    from kakou.central.service import open_central

    cfg = CentralConfig(data_dir=Path(args.data_dir), db_url=args.db_url, audit_key_file=args.audit_key)
    if cfg.db_url is None:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
    central, _engine = open_central(cfg.database_url())
    # Every writer keys its audit entries with the same key as the server (audit_key.py).
    central.audit_key = audit.load_or_create_key(central, cfg.audit_key_path)
    return central


def cmd_user_add(args: argparse.Namespace) -> int:
    from kakou.central import auth
    from kakou.central.service import Conflict

    password = args.password or os.environ.get("KAKOU_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    try:
        auth.add_user(_central(args), "cli", args.username, auth.Role(args.role), password, args.display_name)
    except (Conflict, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.username} added with role {args.role}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from kakou.central import auth

    for u in auth.list_users(_central(args)):
        print(f"{u.username}\t{u.role}\t{'disabled' if u.disabled else 'active'}\t{u.display_name}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from kakou.central import audit
    from kakou.central.audit_key import AuditKeyError

    try:
        central = _central(args)
    except AuditKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from kakou.central import audit_archive

    for path in args.archive or []:
        checked = audit_archive.verify_file(central, path)
        if not checked.ok:
            print(f"audit archive {path} BROKEN: {checked.problem}", file=sys.stderr)
            return 1
        print(f"audit archive {path.name} intact: {checked.entries} entries, seal and chain verified")
    result = audit.verify(central)
    if result.ok:
        keyed = central.audit_key
        print(
            f"audit log intact: {result.entries} entries, hash chain verified"
            + (f" (keyed from entry {keyed.keyed_from})" if keyed else "")
        )
        return 0
    print(f"audit log BROKEN: {result.problem} (first {result.entries} entries verify)", file=sys.stderr)
    return 1


def cmd_audit_archive(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from kakou.central import audit_archive
    from kakou.central.audit_key import AuditKeyError

    files = 0
    try:
        central = _central(args)
        while True:  # a file per 100,000 entries: bounded memory however much is due
            done = audit_archive.archive(
                central, "cli", Path(args.out), timedelta(days=args.older_than_days), limit=100_000
            )
            if done.path is None:
                break
            files += 1
            print(f"archived entries {done.first_seq}-{done.last_seq} ({done.entries}) to {done.path}")
    except (AuditKeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print(f"nothing to archive: no entry is older than {args.older_than_days:g} days")
    return 0


def cmd_expire(args: argparse.Namespace) -> int:
    from kakou.central import control

    expired = control.expire_due(_central(args))
    print(f"{len(expired)} control orders expired" + (f": {', '.join(expired)}" if expired else ""))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from kakou.central import migrate
    from kakou.central.server import CentralConfig

    cfg = CentralConfig(data_dir=Path(args.data_dir), db_url=args.db_url)
    if cfg.db_url is None:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(cfg.database_url(), args.revision)
    print(f"database at revision {args.revision}")
    return 0


def central_db_arguments(p: argparse.ArgumentParser) -> None:
    """`--data-dir` and `--db-url`: where central's database is, for every command that opens it."""
    p.add_argument("--data-dir", default="var/central")
    p.add_argument("--db-url", default=None, help="SQLAlchemy URL (default: SQLite in the data dir)")


def _db_args(p: argparse.ArgumentParser) -> None:
    central_db_arguments(p)
    p.add_argument(
        "--audit-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="the audit chain's HMAC key (default: DATA_DIR/keys/audit-hmac.key)",
    )


def register_central(central: argparse._SubParsersAction) -> None:
    from kakou.central.auth import Role

    user = central.add_parser("user", help="central users and roles").add_subparsers(dest="user_cmd", required=True)
    ua = user.add_parser("add", help="add a user (e.g. the first admin)")
    _db_args(ua)
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=[r.value for r in Role])
    ua.add_argument("--password", default=None, help="default: $KAKOU_PASSWORD, else asked for")
    ua.add_argument("--display-name", default="")
    ua.set_defaults(func=cmd_user_add)
    ul = user.add_parser("list", help="list users")
    _db_args(ul)
    ul.set_defaults(func=cmd_user_list)

    au = central.add_parser("audit", help="the audit log").add_subparsers(dest="audit_cmd", required=True)
    av = au.add_parser("verify", help="check the audit log's hash chain; exit 1 if broken")
    _db_args(av)
    av.add_argument(
        "--archive",
        type=Path,
        action="append",
        metavar="FILE",
        help="also check this archive file (seal and chain); repeatable",
    )
    av.set_defaults(func=cmd_audit_verify)
    aa = au.add_parser("archive", help="move entries older than the retention (>= 180 days) to a sealed file")
    _db_args(aa)
    aa.add_argument(
        "--older-than-days",
        type=float,
        default=180.0,
        metavar="D",
        help="archive entries older than D days (default and least: 180)",
    )
    aa.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="where the archive file is written (off the database's disk, ideally: write-once storage)",
    )
    aa.set_defaults(func=cmd_audit_archive)

    ex = central.add_parser("expire", help="withdraw control orders whose validity has ended")
    _db_args(ex)
    ex.set_defaults(func=cmd_expire)

    mg = central.add_parser("migrate", help="upgrade the database schema (Alembic)")
    _db_args(mg)
    mg.add_argument("--revision", default="head")
    mg.set_defaults(func=cmd_migrate)
