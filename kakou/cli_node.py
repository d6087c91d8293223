"""`kakou node …`: enrol edge nodes (broker credentials + config) and central's broker login."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kakou.enrol import EnrolError, central_user, enrol_node, remove_user, set_site_access


def cmd_enrol(args: argparse.Namespace) -> int:
    out = Path(args.out)
    pw_file = Path(args.password_file) if args.password_file else out / "passwd"
    try:
        e = enrol_node(
            args.node_id,
            out,
            pw_file,
            broker_host=args.broker_host,
            broker_port=args.broker_port,
            central_public_key=Path(args.central_key) if args.central_key else None,
            tls_ca=Path(args.tls_ca) if args.tls_ca else None,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            site=args.site,
            acl_file=Path(args.acl_file) if args.acl_file else None,
        )
    except (EnrolError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"node {e.node}: broker login added to {e.password_file}; node config {e.config}\n"
        f"reload the broker (SIGHUP / systemctl reload mosquitto) so it takes the new login",
        flush=True,
    )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    if not remove_user(Path(args.password_file), args.node_id):
        print(f"error: {args.node_id} is not in {args.password_file}", file=sys.stderr)
        return 2
    if args.acl_file:
        set_site_access(Path(args.acl_file), args.node_id, None)
    print(f"node {args.node_id} revoked; reload the broker to drop it", flush=True)
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    try:
        set_site_access(Path(args.acl_file), args.node_id, args.site)
    except (EnrolError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    what = f"may read site {args.site}'s changes" if args.site else "reads no site's changes"
    print(f"node {args.node_id} {what}; reload the broker (SIGHUP) so it takes the ACL", flush=True)
    return 0


def cmd_central_user(args: argparse.Namespace) -> int:
    try:
        _pw, secret = central_user(
            Path(args.password_file), Path(args.out), args.worker, Path(args.acl_file) if args.acl_file else None
        )
    except EnrolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"central broker login written to {secret}; pass it to `kakou central serve --mqtt-user/--mqtt-password`")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    n = sub.add_parser("node", help="enrol edge nodes on the broker").add_subparsers(dest="sub", required=True)
    en = n.add_parser("enrol", help="create a node's broker credentials and config")
    en.add_argument("node_id")
    en.add_argument("--out", required=True, help="directory for the node's files (DIR/NODE_ID/edge.toml)")
    en.add_argument("--password-file", help="the broker's Mosquitto password file (default DIR/passwd)")
    en.add_argument("--broker-host", default="127.0.0.1")
    en.add_argument("--broker-port", type=int, default=1883)
    en.add_argument("--central-key", help="central's public key file (central/keys/central-signing.pub)")
    en.add_argument("--tls-ca", help="CA certificate the node verifies the broker with")
    en.add_argument("--data-dir", help="the node's data directory (default /var/lib/kakou/edge)")
    en.add_argument("--site", help="the node's site code: it may read that site's changes (needs --acl-file)")
    en.add_argument("--acl-file", help="the broker's ACL file (deploy/mosquitto/kakou.acl as installed)")
    en.set_defaults(func=cmd_enrol)
    rv = n.add_parser("revoke", help="remove a node's broker login")
    rv.add_argument("node_id")
    rv.add_argument("--password-file", required=True)
    rv.add_argument("--acl-file", help="also remove the node's site access from this ACL file")
    rv.set_defaults(func=cmd_revoke)
    st = n.add_parser("site", help="grant a node its (new) site's change topic in the broker ACL")
    st.add_argument("node_id")
    st.add_argument("--site", help="the site code (omit: no site)")
    st.add_argument("--acl-file", required=True, help="the broker's ACL file")
    st.set_defaults(func=cmd_site)
    cu = n.add_parser("central-user", help="create central's broker login (user kakou-central)")
    cu.add_argument("--password-file", required=True)
    cu.add_argument("--out", required=True, help="directory for central-broker.secret")
    cu.add_argument(
        "--worker",
        help="a login of its own for one more ingest worker (user kakou-central-WORKER; "
        "the broker takes the user name as client id)",
    )
    cu.add_argument("--acl-file", help="the broker's ACL file, to grant --worker central's access")
    cu.set_defaults(func=cmd_central_user)
