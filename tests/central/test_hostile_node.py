"""Central trusts no node: whatever one enrolled node publishes, central keeps running, stores every
other node's passes, and keeps the bad messages aside with the reason (issue 15, items 1 and 2).

Runs on SQLite and, when reachable, PostgreSQL, through a real Mosquitto and central's real bridge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from kakou.bench.hostile import envelope
from kakou.broker import MosquittoBroker
from kakou.central import ingest
from kakou.central.bridge import CentralBridge
from kakou.central.service import Central
from kakou.central.tables_sync import NetworkMessageRow, NodeRow, PassRow
from kakou.sync import limits, topics
from kakou.sync.messages import Envelope
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually


def line(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


@pytest.fixture
async def node(mosquitto: MosquittoBroker) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="test-node") as client:
        yield client


def _high_water(central: Central, node: str) -> int:
    with central.sessions() as s:
        row = s.get(NodeRow, node)
        return row.high_water if row else 0


def _count(central: Central, node: str) -> int:
    with central.sessions() as s:
        return s.scalar(select(func.count()).select_from(PassRow).where(PassRow.node == node)) or 0


def _quarantined(central: Central, node: str) -> dict[int | None, str]:
    with central.sessions() as s:
        return {
            r.seq: r.detail or ""
            for r in s.scalars(
                select(NetworkMessageRow).where(NetworkMessageRow.node == node, NetworkMessageRow.status == "rejected")
            )
        }


BAD_BODIES = {
    "plate of 17 characters": {"plate": "A" * 17},
    "NaN confidence": {"plate_confidence": float("nan")},
    "Infinity weight": {"gross_kg": float("inf")},
    "NaN inside a check": {"checks": [{"name": "weight", "ok": True, "detail": float("nan")}]},
    "NUL in the lane": {"lane": "L\x001"},
    "pass_id of 200 characters": {"pass_id": "p" * 200},
}


async def test_no_message_of_one_node_stops_central_or_costs_another_node_its_passes(
    central: Central, bridge: CentralBridge, node: aiomqtt.Client
) -> None:
    bad_topic = topics.up("bad", topics.PASSES)
    # Seqs beyond what the tables hold: not attributable, refused (counted, never stored, never acked).
    for seq in (2**64, 2**63, 2**31):
        await node.publish(bad_topic, line(envelope("bad", seq)), qos=1)
    # The node's own seqs with bodies the tables cannot hold: quarantined with the reason, stream moves on.
    for seq, body in enumerate(BAD_BODIES.values(), start=1):
        data = envelope("bad", seq)
        data["body"].update(body)
        await node.publish(bad_topic, json.dumps(data, allow_nan=True).encode(), qos=1)
    after = len(BAD_BODIES) + 1
    await node.publish(bad_topic, line(envelope("bad", after)), qos=1)  # a good pass after the bad ones
    good = b"\n".join(line(envelope("good", seq)) for seq in range(1, 51))
    await node.publish(topics.up("good", topics.PASSES), good, qos=1)

    await eventually(lambda: _count(central, "good") == 50, 15, what="the honest node's 50 passes stored")
    await eventually(lambda: _high_water(central, "bad") == after, 15, what="the bad node's stream moved on")
    assert not bridge.task.done()  # type: ignore[attr-defined]
    assert _count(central, "bad") == 1
    held = _quarantined(central, "bad")
    assert set(range(1, after)) <= set(held), held
    assert "plate" in held[1] and "finite" in held[2] and "finite" in held[3] and "checks" in held[4]
    assert bridge.rejected_by_node["bad"] >= len(BAD_BODIES) + 3
    assert bridge.rejected_by_node["good"] == 0
    assert ingest.rejected_counts(central)["bad"] >= len(BAD_BODIES)  # shown per node in GET /api/v1/nodes


async def test_pass_id_of_another_node_never_fails_the_batch(central: Central) -> None:
    honest = [Envelope.model_validate(envelope("good", seq)) for seq in range(1, 6)]
    ingest.ingest_passes(central, honest[:1])
    thief = Envelope.model_validate(envelope("bad", 1, pass_id="good-L1-1"))  # the honest node's pass_id
    twice = Envelope.model_validate(envelope("bad", 2, pass_id="good-L1-4"))  # one stored in the same batch
    marks = ingest.ingest_passes(central, [*honest[1:], thief, twice])
    assert marks["good"] == (5, [])
    assert marks["bad"] == (2, [1, 2])  # both kept aside, the node's stream moves on
    assert _count(central, "good") == 5 and _count(central, "bad") == 0
    assert "already stored" in _quarantined(central, "bad")[1]


async def test_an_oversized_message_is_refused_whole_with_one_log_line(
    central: Central, bridge: CentralBridge, node: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    bad_topic = topics.up("bad", topics.PASSES)
    huge = b'{"v": 1}\n' * (limits.MAX_PASSES_MESSAGE_BYTES // 9 + 10)
    many = b'{"v": 1}\n' * (limits.MAX_PASSES_LINES + 1)
    garbage = b"\n".join([b'{"v": 1}'] * 500)  # within bounds, every line malformed
    with caplog.at_level(logging.WARNING, logger="kakou.central.bridge"):
        for payload in (huge, many, garbage, garbage, garbage):
            await node.publish(bad_topic, payload, qos=1)
        await node.publish(topics.up("good", topics.PASSES), line(envelope("good", 1)), qos=1)
        await eventually(lambda: _count(central, "good") == 1, 15, what="the honest pass stored")
        # The first garbage message costs its 500 refusals; after that the node is muted for a while.
        await eventually(
            lambda: bridge.rejected["rate limited"] + bridge.rejected["malformed"] // 500 == 3, 15, what="all refused"
        )
    assert bridge.rejected["too large"] == 2
    assert len([r for r in caplog.records if "bad" in r.getMessage()]) <= 3  # one per (node, reason)
    with central.sessions() as s:  # a row per reason, not per line
        assert (
            s.scalar(select(func.count()).select_from(NetworkMessageRow).where(NetworkMessageRow.node == "bad")) or 0
        ) <= 3


async def test_a_pass_the_database_chokes_on_is_quarantined_alone(
    central: Central, bridge: CentralBridge, node: aiomqtt.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the contracts miss: the one envelope that fails is found and kept aside, the rest stored.
    real = ingest.ingest_passes

    def choking(c: Central, envs: list[Envelope], attempts: int = 5) -> dict[str, tuple[int, list[int]]]:
        if any(e.node == "bad" and e.seq == 3 for e in envs):
            raise RuntimeError("the database cannot hold this")
        return real(c, envs, attempts)

    monkeypatch.setattr(ingest, "ingest_passes", choking)
    payload = b"\n".join([*(line(envelope("bad", seq)) for seq in range(1, 6))])
    await node.publish(
        topics.up("good", topics.PASSES), b"\n".join(line(envelope("good", seq)) for seq in range(1, 21)), qos=1
    )
    await node.publish(topics.up("bad", topics.PASSES), payload, qos=1)
    await eventually(lambda: _high_water(central, "bad") == 5, 15, what="the bad node's stream moved on")
    await eventually(lambda: _count(central, "good") == 20, 15, what="the honest passes stored")
    assert _count(central, "bad") == 4
    assert "RuntimeError: the database cannot hold this" in _quarantined(central, "bad")[3]
    assert not bridge.task.done()  # type: ignore[attr-defined]


# -- random envelopes through the real decode and ingest: no exception escapes ---------------------

from types import SimpleNamespace  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(min_size=60, max_size=300),
    st.just("\x00"),
    st.just("\ud800"),
    st.just("A" * 17),
    st.just("粤B12345"),
)
_ODD_NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(2**31),
    st.just(2**63),
    st.just(2**64),
    st.floats(allow_nan=True, allow_infinity=True),
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), _ODD_NUMBER, _ODD_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12,
)
_FIELDS = [
    "pass_id",
    "node",
    "lane",
    "plate",
    "plate_confidence",
    "gross_kg",
    "containers",
    "reasons",
    "checks",
    "release_order",
    "knowledge_version",
    "e_plate",
    "ic_card",
    "entered_by",
    "supersedes",
    "images",
]


@st.composite
def hostile_line(draw: st.DrawFn) -> bytes:
    data = envelope("bad", draw(st.integers(min_value=1, max_value=40)))
    for field in draw(st.lists(st.sampled_from(_FIELDS), max_size=3, unique=True)):
        data["body"][field] = draw(_JSON)
    if draw(st.booleans()):
        data["seq"] = draw(_ODD_NUMBER)
    if draw(st.booleans()):
        data["body"]["pass_id"] = draw(st.sampled_from(["good-L1-1", "bad-L1-1", "bad-L1-2"]))  # reuse
    text = json.dumps(data, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(hostile_line(), min_size=1, max_size=6), junk=st.binary(max_size=40))
async def test_random_envelopes_never_escape_the_ingest(central: Central, lines: list[bytes], junk: bytes) -> None:
    published: list[str] = []

    async def publish(topic: str, payload: str, qos: int = 0) -> None:
        published.append(topic)

    bridge = CentralBridge(central, BrokerConfig(), Ed25519PrivateKey.generate())
    client = SimpleNamespace(publish=publish)
    msgs = [
        SimpleNamespace(topic=topics.up("bad", topics.PASSES), payload=b"\n".join(lines)),
        SimpleNamespace(topic=topics.up("bad", topics.PASSES), payload=junk),
        SimpleNamespace(topic=topics.up("good", topics.PASSES), payload=line(envelope("good", 1))),
    ]
    await bridge._handle(client, msgs)  # type: ignore[arg-type]  # raises if anything escapes
    assert bridge.failures == 0
    assert _count(central, "good") == 1  # the honest pass is stored whatever came with it
