"""Uplink payloads are untrusted: decoding never raises and always says what to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.edge.sync_runner import sample_pass
from kakou.sync.decode import Accepted, Quarantined, Refused, decode_pass, decode_passes
from kakou.sync.messages import Envelope

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _valid(node: str = "n1", seq: int = 1) -> dict:
    env = Envelope(node=node, seq=seq, kind="pass", sent_at=datetime.now(UTC), body=sample_pass(node, seq))
    return json.loads(env.model_dump_json())


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_or_quarantined_never_raised(payload: bytes) -> None:
    assert isinstance(decode_pass("n1", payload), Accepted | Quarantined | Refused)


@settings(max_examples=200)
@given(st.sampled_from(["v", "node", "seq", "kind", "sent_at", "body"]), JSONISH)
def test_any_field_replaced_by_any_json_is_handled(field: str, value: object) -> None:
    doc = _valid()
    doc[field] = value
    verdict = decode_pass("n1", json.dumps(doc).encode())
    if isinstance(verdict, Quarantined):
        assert (verdict.node, verdict.seq) == ("n1", 1) and verdict.reason
    elif isinstance(verdict, Accepted):
        assert verdict.env.node == "n1"


@given(
    st.dictionaries(
        st.sampled_from(["plate", "lane", "outcome", "reasons", "node", "extra"]), JSONISH, min_size=1, max_size=3
    )
)
def test_a_damaged_body_is_quarantined_under_its_seq(patch: dict) -> None:
    doc = _valid(seq=7)
    doc["body"].update(patch)
    verdict = decode_pass("n1", json.dumps(doc).encode())
    assert isinstance(verdict, Accepted | Quarantined | Refused)
    if isinstance(verdict, Quarantined):
        assert verdict.seq == 7


def test_valid_accepted_and_other_nodes_refused() -> None:
    assert isinstance(decode_pass("n1", json.dumps(_valid()).encode()), Accepted)
    assert decode_pass("n2", json.dumps(_valid()).encode()) == Refused("node mismatch", "envelope says 'n1'")
    forged = _valid()
    forged["body"]["node"] = "n2"  # n1 may not file a record as n2's inside its own envelope
    assert decode_pass("n1", json.dumps(forged).encode()) == Quarantined("n1", 1, "record names node 'n2'")
    assert isinstance(decode_pass(None, json.dumps(_valid()).encode()), Refused)


def test_a_batched_message_is_judged_line_by_line() -> None:
    damaged = _valid(seq=2)
    damaged["body"]["outcome"] = "wave through"
    lines = [json.dumps(_valid(seq=1)), json.dumps(damaged), "", json.dumps(_valid(seq=3)), "{not json"]
    verdicts = decode_passes("n1", "\n".join(lines).encode())
    assert [type(v) for v in verdicts] == [Accepted, Quarantined, Accepted, Refused]
    assert [v.env.seq for v in verdicts if isinstance(v, Accepted)] == [1, 3]
    assert isinstance(decode_passes("n1", b"\n \n")[0], Refused)


def test_the_edge_sends_every_envelope_on_one_line(tmp_path) -> None:
    from kakou.edge.link import EdgeLink
    from kakou.edge.store import EdgeStore
    from kakou.sync.mqtt import BrokerConfig

    link = EdgeLink("n1", EdgeStore(tmp_path / "e.db"), BrokerConfig(), {})
    body = json.dumps(_valid()["body"], indent=2)  # valid JSON with line breaks between tokens
    line = link._envelope(1, "pass", body, datetime.now(UTC))
    assert "\n" not in line and isinstance(decode_pass("n1", line.encode()), Accepted)
    odd = link._envelope(2, "pass", "not json\nat all", datetime.now(UTC))
    assert "\n" not in odd and isinstance(decode_pass("n1", odd.encode()), Quarantined)
