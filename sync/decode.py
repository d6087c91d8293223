"""Decoding what arrives on an uplink topic: untrusted bytes in, one of three verdicts out.

A passes message holds one or more envelopes, one JSON document per line (the edge batches up
to `kakou.edge.link.LINES` per MQTT message; JSON text never needs a raw newline). Each line is
judged on its own, so one bad line is quarantined or refused without costing the others.

Pure (no I/O), so it can be property-tested with arbitrary payloads; central's bridge acts on the
verdict. It never raises on input.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from kakou.sync.messages import Envelope, EnvelopeHeader


@dataclass(frozen=True)
class Accepted:
    env: Envelope


@dataclass(frozen=True)
class Quarantined:
    """The node and seq are readable but the rest is not a valid pass: keep it, move on."""

    node: str
    seq: int
    reason: str


@dataclass(frozen=True)
class Refused:
    """Not attributable to a (node, seq) of the topic's node: counted and logged, nothing acked."""

    reason: str
    detail: str


def _first_line(exc: Exception) -> str:
    """What is wrong, in one line: for a validation error, the first field and why (its input left out:
    it may be huge, and it is kept verbatim in the quarantine anyway)."""
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or "message"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {err['msg']}{more}"[:200]
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def decode_pass(topic_node: str | None, payload: bytes) -> Accepted | Quarantined | Refused:
    if topic_node is None:
        return Refused("malformed", "not a node's uplink topic")
    try:
        env = Envelope.model_validate_json(payload)
    except (ValidationError, ValueError) as exc:
        reason = f"invalid pass message: {_first_line(exc)}"
        try:
            head = EnvelopeHeader.model_validate_json(payload)
        except (ValidationError, ValueError):
            return Refused("malformed", reason)
        if head.node != topic_node:
            return Refused("node mismatch", f"envelope says {head.node!r}")
        return Quarantined(head.node, head.seq, reason)
    if env.node != topic_node:
        return Refused("node mismatch", f"envelope says {env.node!r}")
    if env.body.node != topic_node:
        # The node's own seq, but a record filed under another node: keep it aside, never store it as theirs.
        return Quarantined(env.node, env.seq, f"record names node {env.body.node!r}")
    return Accepted(env)


def decode_passes(topic_node: str | None, payload: bytes) -> list[Accepted | Quarantined | Refused]:
    """One verdict per non-blank line of a passes message (see the module docstring)."""
    lines = [ln for ln in payload.split(b"\n") if ln.strip()]
    return [decode_pass(topic_node, ln) for ln in lines] or [Refused("malformed", "empty passes message")]
