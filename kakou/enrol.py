"""Enrolling an edge node: its broker credentials (Mosquitto password file) and its config files.

Each node logs in to the broker with its node id as user name; the ACL (deploy/mosquitto/kakou.acl)
then lets it publish only under its own id. Passwords are stored as Mosquitto 2 PBKDF2-SHA512
hashes (`$7$iterations$salt$hash`, the format `mosquitto_passwd` writes), so the broker host
does not need mosquitto_passwd to enrol a node.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

CENTRAL_USER = "kakou-central"
ALERTS_USER = "kakou-alerts"
NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Names the ACL gives a meaning to: a node called "all" would read the broadcast as its own topics,
# one called "site" every site's (kakou/v1/down/site/...); central's and the alert readers' logins
# (and every other "kakou-" name, kept for the system's own services) would give a node their ACL
# and, with `use_username_as_clientid`, their client id.
RESERVED = {"all", "site", CENTRAL_USER, ALERTS_USER}
RESERVED_PREFIX = "kakou-"
SITE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # one topic level (kakou.sync.topics.NAME)
ITERATIONS = 101  # mosquitto_passwd's default


class EnrolError(Exception):
    """The node id is not acceptable or a file cannot be written; the message says which."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(entry: str, password: str) -> bool:
    """True if `password` matches a `$7$` hash (for tests and `kakou node` diagnostics)."""
    parts = entry.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    salt = base64.b64decode(parts[3])
    return secrets.compare_digest(hash_password(password, salt, int(parts[2])), entry)


def set_user(password_file: Path, user: str, password: str) -> None:
    """Add or replace `user` in a Mosquitto password file (written atomically, mode 0600)."""
    lines = password_file.read_text().splitlines() if password_file.exists() else []
    kept = [ln for ln in lines if ln.split(":", 1)[0] != user]
    kept.append(f"{user}:{hash_password(password)}")
    password_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = password_file.with_name(password_file.name + ".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text("\n".join(kept) + "\n")
    os.replace(tmp, password_file)


def remove_user(password_file: Path, user: str) -> bool:
    """Revoke a node: drop its line. Returns whether it was there."""
    if not password_file.exists():
        return False
    lines = password_file.read_text().splitlines()
    kept = [ln for ln in lines if ln.split(":", 1)[0] != user]
    password_file.write_text("".join(ln + "\n" for ln in kept))
    return len(kept) != len(lines)


def _acl_block(node: str) -> str:
    return f"# site access of node {node} (kakou node enrol)"


def set_site_access(acl_file: Path, node: str, site: str | None) -> None:
    """Let `node` read its site's change topic (and no other site's): a per-user block in the ACL.

    The ACL's patterns give every node its own and the broadcast topics; a site is not derivable
    from the user name, so each node gets `user NODE` / `topic read kakou/v1/down/site/SITE/#`.
    `site` None removes the node's block. Written atomically; reload the broker afterwards.
    """
    validate_node_id(node)
    if site is not None and not SITE.match(site):
        raise EnrolError(f"site code {site!r} must be 1-64 letters, digits, '.', '-' or '_' (an MQTT topic level)")
    text = acl_file.read_text() if acl_file.exists() else ""
    marker = _acl_block(node)
    lines, out, skip = text.splitlines(), [], 0
    for ln in lines:
        if ln == marker:
            skip = 2  # the marker's `user` and `topic` lines follow it
            continue
        if skip:
            skip -= 1
            continue
        out.append(ln)
    while out and not out[-1].strip():
        out.pop()
    if site is not None:
        out += ["", marker, f"user {node}", f"topic read kakou/v1/down/site/{site}/#"]
    tmp = acl_file.with_name(acl_file.name + ".tmp")
    tmp.write_text("\n".join(out) + "\n")
    os.replace(tmp, acl_file)


def validate_node_id(node_id: str) -> None:
    if not NODE_ID.match(node_id):
        raise EnrolError(f"node id {node_id!r} must be 1-64 letters, digits, '-' or '_' (it is an MQTT topic level)")
    if node_id.lower() in RESERVED or node_id.lower().startswith(RESERVED_PREFIX):
        raise EnrolError(f"node id {node_id!r} is reserved (all, site and kakou-… name the system's own logins)")


@dataclass
class Enrolment:
    node: str
    password: str
    config: Path  # the node's edge config fragment (broker + central sections)
    password_file: Path


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def enrol_node(
    node_id: str,
    out_dir: Path,
    password_file: Path,
    broker_host: str = "127.0.0.1",
    broker_port: int = 1883,
    central_public_key: Path | None = None,
    tls_ca: Path | None = None,
    data_dir: Path | None = None,
    site: str | None = None,
    acl_file: Path | None = None,
) -> Enrolment:
    """Create a node's broker credentials and the files it needs in out_dir/<node_id>/.

    With `site` and `acl_file`, the node may also read that site's change topic (set_site_access).
    """
    validate_node_id(node_id)
    if site is not None:
        if acl_file is None:
            raise EnrolError("a site needs the broker's ACL file (--acl-file) to grant the node its topic")
        set_site_access(acl_file, node_id, site)
    password = secrets.token_urlsafe(24)
    node_dir = out_dir / node_id
    node_dir.mkdir(parents=True, exist_ok=True)
    set_user(password_file, node_id, password)
    lines = [
        "# Written by `kakou node enrol`. Keep this file secret (it holds the broker password);",
        "# add the node's [[lanes]] and run `kakou edge run --config` on it.",
        "[node]",
        f"id = {_toml_str(node_id)}",
        f"data_dir = {_toml_str(str(data_dir or Path('/var/lib/kakou/edge')))}",
        "",
        "[broker]",
        f"host = {_toml_str(broker_host)}",
        f"port = {broker_port}",
        f"username = {_toml_str(node_id)}",
        f"password = {_toml_str(password)}",
    ]
    if tls_ca is not None:
        shutil.copyfile(tls_ca, node_dir / "ca.crt")
        lines.append(f"tls_ca = {_toml_str(str((node_dir / 'ca.crt').resolve()))}")
    lines += ["", "[central]"]
    if central_public_key is not None:
        # The key travels as a value, not a path: the node trusts exactly what was enrolled.
        lines.append(f"public_keys = [{_toml_str(central_public_key.read_text().strip())}]")
    else:
        lines.append("public_keys = []  # central's Ed25519 public key (base64): central/keys/central-signing.pub")
    config = node_dir / "edge.toml"
    config.touch(mode=0o600)
    config.write_text("\n".join(lines) + "\n")
    return Enrolment(node_id, password, config, password_file)


def central_user(
    password_file: Path, out_dir: Path, worker: str | None = None, acl_file: Path | None = None
) -> tuple[str, Path]:
    """(Re)create central's broker login; returns the password and the file holding it.

    The broker takes the user name as client id (`use_username_as_clientid`), so each ingest worker
    of a shared subscription needs a login of its own: `worker` W makes user kakou-central-W, given
    central's access in `acl_file`.
    """
    user = CENTRAL_USER if worker is None else f"{CENTRAL_USER}-{worker}"
    if worker is not None:
        if not NODE_ID.match(worker):
            raise EnrolError(f"worker name {worker!r} must be 1-64 letters, digits, '-' or '_'")
        if acl_file is None:
            raise EnrolError("a worker login needs the broker's ACL file (--acl-file) to grant it central's access")
        text = acl_file.read_text() if acl_file.exists() else ""
        if f"\nuser {user}\n" not in "\n" + text:
            acl_file.write_text(
                text.rstrip("\n") + f"\n\n# central ingest worker (kakou node central-user)\n"
                f"user {user}\ntopic readwrite kakou/v1/#\n"
            )
    password = secrets.token_urlsafe(24)
    set_user(password_file, user, password)
    out_dir.mkdir(parents=True, exist_ok=True)
    secret = out_dir / ("central-broker.secret" if worker is None else f"{user}-broker.secret")
    secret.touch(mode=0o600)
    secret.write_text(f"{user}:{password}\n")
    return password, secret
