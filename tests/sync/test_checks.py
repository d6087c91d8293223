"""The decision's explanation on the wire: typed check codes with bounded parameters, one dictionary
of texts in Chinese and English, and passes from lanes that still send sentences (envelope v1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.replay import replay
from kakou.edge.store import EdgeStore
from kakou.edge.sync_runner import sample_pass
from kakou.sync.checks import (
    DEVICE_CODES,
    GROUPS,
    SPEC,
    TEXTS,
    Check,
    CheckCode,
    check,
    checks_in,
    failed_with,
    render,
    texts_script,
)
from kakou.sync.decode import Accepted, Quarantined, decode_pass
from kakou.sync.messages import Envelope, ReleaseOrderData

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _envelope(v: int, **body: object) -> bytes:
    doc = json.loads(Envelope(node="n1", seq=1, kind="pass", sent_at=AT, body=sample_pass("n1", 1)).model_dump_json())
    doc["v"] = v
    doc["body"].update(body)
    return json.dumps(doc, ensure_ascii=False).encode()


def test_every_code_has_parameters_a_check_name_and_both_texts() -> None:
    assert set(SPEC) == set(TEXTS) == set(CheckCode)
    for code, (zh, en) in TEXTS.items():
        assert SPEC[code][0] in GROUPS and zh and en, code
        assert zh != en or code is CheckCode.LEGACY_TEXT, f"{code} has no Chinese text"


def test_every_code_is_documented_in_the_protocol() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert [c.value for c in CheckCode if f"| `{c.value}` |" not in doc] == []


def test_a_version_2_pass_carries_codes_and_is_accepted() -> None:
    verdict = decode_pass(
        "n1", _envelope(2, checks=[{"code": "release_order_missing", "ok": False, "params": {"plate": "粤B00001"}}])
    )
    assert isinstance(verdict, Accepted) and verdict.env.v == 2
    (c,) = verdict.env.body.checks
    assert (c.code, c.name, c.ok) == (CheckCode.RELEASE_ORDER_MISSING, "release_order", False)
    assert c.text() == "无核放单：粤B00001" and c.text("en") == "no release order for 粤B00001"


def test_a_version_1_pass_with_sentences_is_still_accepted() -> None:
    verdict = decode_pass(
        "n1",
        _envelope(
            1,
            reasons=["no release order for 粤B00001"],
            checks=[{"name": "release_order", "ok": False, "detail": "no release order for 粤B00001"}],
        ),
    )
    assert isinstance(verdict, Accepted) and verdict.env.v == 1
    (r,), (c,) = verdict.env.body.reasons, verdict.env.body.checks
    assert r.code is CheckCode.LEGACY_TEXT and r.text() == "no release order for 粤B00001"
    assert (c.code, c.name, c.ok) == (CheckCode.LEGACY_TEXT, "release_order", False)


@pytest.mark.parametrize(
    "check_item",
    [
        {"code": "no_such_code", "ok": False, "params": {}},
        {"code": "release_order_missing", "ok": False, "params": {"plate": "x" * 65}},  # over its bound
        {"code": "release_order_missing", "ok": False, "params": {"plate": "粤B1", "extra": 1}},  # not its parameter
        {"code": "weight_over", "ok": False, "params": {"gross_kg": "heavy"}},  # wrong type, others missing
        {"code": "random_inspection", "ok": False, "params": {"rate": 7}},  # a rate is 0..1
        {
            "code": "release_order_missing",
            "ok": False,
            "params": {"plate": "粤B\u00001"},
        },  # NUL: not in PostgreSQL text
        {"code": "device_fault", "ok": False, "params": {"fault": "x\u0000"}},
    ],
)
def test_an_unknown_code_or_bad_parameter_is_quarantined_not_stored(check_item: dict) -> None:
    verdict = decode_pass("n1", _envelope(2, checks=[check_item]))
    assert isinstance(verdict, Quarantined) and (verdict.node, verdict.seq) == ("n1", 1)


def test_what_a_lane_observed_is_cut_to_its_bound_not_refused() -> None:
    c = check(CheckCode.DEVICE_FAULT, False, fault="camera " * 200)
    assert len(str(c.params["fault"])) == 500 and str(c.params["fault"]).endswith("…")
    assert Check.model_validate(c.model_dump()) == c
    assert check(CheckCode.PLATE_READ, True, plate="粤B\x0012345", confidence=0.9).params["plate"] == "粤B 12345"
    odd = check(CheckCode.FACE_MISMATCH, False, score=-0.3, threshold=0.7)  # a cosine can be negative
    assert odd.params == {"score": 0.0, "threshold": 0.7}
    assert check(CheckCode.WEIGHT_IMPOSSIBLE, False, gross_kg=float("inf")).params == {"gross_kg": 1e7}
    assert check(CheckCode.WEIGHT_IMPOSSIBLE, False, gross_kg=float("nan")).params == {"gross_kg": -1e7}


def test_texts_render_parameters_in_chinese_by_default_and_in_english() -> None:
    params = {"gross_kg": 21400.0, "expected_kg": 20000.0, "diff_kg": 1400.0, "tolerance_kg": 600.0}
    assert render(CheckCode.WEIGHT_OVER, params) == "超重：毛重 21400 kg，预期 20000 kg（+1400 kg，允差 ±600 kg）"
    assert (
        render(CheckCode.WEIGHT_OVER, params, "en")
        == "gross 21400 kg vs expected 20000 kg: +1400 kg, tolerance ±600 kg"
    )
    assert render(CheckCode.RANDOM_INSPECTION, {"rate": 0.05}) == "随机抽中查验（比例 5%）"
    assert render("not_a_code", {}) == "not_a_code"  # never raises


def test_browser_dictionary_is_generated_from_the_same_texts() -> None:
    script = texts_script()
    terms = json.loads(script[script.index("K.addTerms(") + len("K.addTerms(") : script.index(");\n")])
    assert terms["check.weight_over"] == [TEXTS[CheckCode.WEIGHT_OVER][1], TEXTS[CheckCode.WEIGHT_OVER][0]]
    assert len([k for k in terms if k.startswith("check.")]) == len(CheckCode)
    assert terms["check_group.control"] == ["Control order", "布控"]


def test_stored_records_of_either_version_give_their_checks_and_skip_junk() -> None:
    record = {
        "checks": [
            {"code": "device_fault", "ok": False, "params": {"fault": "camera"}},
            {"name": "device", "ok": False, "detail": "device fault: camera"},
            "junk",
            {"code": "no_such_code", "ok": True},
        ]
    }
    assert [(c.code, c.name) for c in checks_in(record)] == [
        (CheckCode.DEVICE_FAULT, "device"),
        (CheckCode.LEGACY_TEXT, "device"),
    ]
    assert checks_in({"checks": 7}) == [] and checks_in(None) == []
    more = [{"code": "device_fault", "ok": True}, {"name": "device"}, {"code": "plate_not_read", "ok": False}]
    flags = [failed_with(c, DEVICE_CODES, "device") for c in [*record["checks"], *more]]
    assert flags == [True, True, False, False, False, False, False]


def test_a_pass_recorded_with_sentences_still_replays_the_same(tmp_path: Path) -> None:
    """`kakou edge replay` on a pass recorded by a lane before check codes: the replayed codes read,
    in English, exactly as the sentences recorded then."""
    obs = Observation(pass_id="n1-L1-1", lane="L1", direction="in", at=AT, plate="粤B12345", plate_confidence=0.5)
    order = ReleaseOrderData(order_no="HF1", plate="粤B12345", direction="in", valid_from=AT, valid_until=AT)
    know, params = Knowledge(version=3, release_orders=[order]), Parameters()
    record = json.loads(sample_pass("n1", 1).model_dump_json()) | {
        "pass_id": "n1-L1-1",
        "outcome": "officer",
        "knowledge_version": 3,
        "opens_barrier": False,
        "reasons": ["plate read 粤B12345 below confidence (0.50)"],
        "checks": [{"name": "plate", "ok": False, "detail": "plate read 粤B12345 below confidence (0.50)"}],
    }
    inputs = {
        "observation": obs.model_dump(mode="json"),
        "knowledge": know.model_dump(mode="json"),
        "parameters": params.model_dump(mode="json"),
    }
    store = EdgeStore(tmp_path / "edge.db")
    try:
        for pass_id, reasons in (("n1-L1-1", record["reasons"]), ("n1-L1-2", ["plate read 粤B12345 something else"])):
            old = json.dumps(record | {"pass_id": pass_id, "reasons": reasons})
            observed = json.dumps(inputs | {"observation": obs.model_dump(mode="json") | {"pass_id": pass_id}})
            with store.tx() as db:
                db.execute(
                    "INSERT INTO passes(pass_id, lane, decided_at, record, inputs) VALUES(?, ?, ?, ?, ?)",
                    (pass_id, "L1", AT.isoformat(), old, observed),
                )
        same = replay(store, "n1-L1-1")
        assert same is not None and same["same"] is True
        assert same["text"] == ["车牌 粤B12345 置信度不足（0.50）"]
        assert decide(obs, know, params).reasons[0].code is CheckCode.PLATE_LOW_CONFIDENCE
        differs = replay(store, "n1-L1-2")
        assert differs is not None and differs["same"] is False
    finally:
        store.close()


def test_unbounded_params_are_refused_at_validation() -> None:
    with pytest.raises(ValidationError):
        Check(code=CheckCode.CONTROL_ORDER_HIT, ok=False, params={"order_no": "BK1"})  # the rest is missing
