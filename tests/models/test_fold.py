"""The OCR models rewritten into fewer operators (fold.py): same outputs, used by the engine,
and the model as shipped when the rewrite cannot be trusted."""

import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from kakou.models import fold
from kakou.models.ocr import OcrEngine
from kakou.models.plate import PlateReader
from kakou.sim.render import render_plate_scene


def _tiny_lcnet() -> onnx.ModelProto:
    """Conv -> scale/shift -> hard-swish -> scale/shift -> 1x1 Conv, then a padded 3x3 Conv
    behind another scale/shift (which must stay as it is), as Paddle exports PP-LCNetV3."""
    rng = np.random.default_rng(1)

    def const(name: str, value: Any) -> onnx.NodeProto:
        arr = np.asarray(value, dtype=np.float32)
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))

    nodes = [
        const("w0", rng.normal(size=(4, 3, 3, 3))),
        const("b0", rng.normal(size=4)),
        const("a0", 0.9),
        const("s0", 0.3),
        const("three", 3.0),
        const("zero", 0.0),
        const("six", 6.0),
        const("a1", 0.6),
        const("s1", -0.5),
        const("w1", rng.normal(size=(5, 4, 1, 1))),
        const("b1", rng.normal(size=5)),
        const("a2", 1.7),
        const("s2", 0.2),
        const("w2", rng.normal(size=(2, 5, 3, 3))),
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["a0", "c0"], ["m0"]),
        helper.make_node("Add", ["m0", "s0"], ["y0"]),
        helper.make_node("Add", ["y0", "three"], ["t"]),
        helper.make_node("Clip", ["t", "zero", "six"], ["c"]),
        helper.make_node("Mul", ["y0", "c"], ["p"]),
        helper.make_node("Div", ["p", "six"], ["hs"]),
        helper.make_node("Mul", ["a1", "hs"], ["m1"]),
        helper.make_node("Add", ["m1", "s1"], ["y1"]),
        helper.make_node("Conv", ["y1", "w1", "b1"], ["c1"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Mul", ["r1", "a2"], ["m2"]),
        helper.make_node("Add", ["m2", "s2"], ["y2"]),
        helper.make_node("Conv", ["y2", "w2"], ["out"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2, 8, 8])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(s.run(None, {"x": x})[0])


def test_fold_keeps_the_arithmetic_with_fewer_operators() -> None:
    model = _tiny_lcnet()
    x = np.random.default_rng(2).uniform(-2, 2, (1, 3, 8, 8)).astype(np.float32)
    want = _run(model, x)
    ops_before = sum(n.op_type != "Constant" for n in model.graph.node)
    counts = fold.fold(model)
    assert counts == {"conv_affine": 1, "hard_swish": 1, "affine_into_1x1": 1, "affine_as_conv": 0}
    # The padded 3x3 convolution's input affine stays: its zero padding would see the shift.
    assert sum(n.op_type != "Constant" for n in model.graph.node) == ops_before - 6
    assert [n.op_type for n in model.graph.node if n.op_type in ("Clip", "Div")] == []
    np.testing.assert_allclose(_run(model, x), want, atol=1e-4)


def test_a_scale_and_shift_after_hard_swish_before_a_padded_conv_becomes_a_1x1_conv() -> None:
    model = _tiny_lcnet()
    # Hard-swish straight into the scale/shift before the padded 3x3 convolution (no Relu).
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type = "Add"
    relu.input[:] = ["c1", "c1"]
    relu.output[:] = ["h1"]
    c1 = next(n for n in model.graph.node if n.output[0] == "c1")
    idx = list(model.graph.node).index(c1)
    extra = [
        helper.make_node("Add", ["c1", "three"], ["t2"]),
        helper.make_node("Clip", ["t2", "zero", "six"], ["k2"]),
        helper.make_node("Mul", ["c1", "k2"], ["p2"]),
        helper.make_node("Div", ["p2", "six"], ["r1"]),
    ]
    for k, n in enumerate(extra):
        model.graph.node.insert(idx + 1 + k, n)
    model.graph.node.remove(relu)
    x = np.random.default_rng(3).uniform(-2, 2, (1, 3, 8, 8)).astype(np.float32)
    want = _run(model, x)
    counts = fold.fold(model)
    assert counts["hard_swish"] == 2 and counts["affine_as_conv"] == 1
    assert [n.op_type for n in model.graph.node if n.op_type == "Add"] == []
    np.testing.assert_allclose(_run(model, x), want, atol=1e-4)


@pytest.fixture(scope="module")
def engines() -> tuple[OcrEngine, OcrEngine]:
    shipped = pytest.MonkeyPatch()
    shipped.setenv("KAKOU_OCR_FOLD", "0")
    try:
        plain = OcrEngine()
    finally:
        shipped.undo()
    return OcrEngine(), plain


def test_the_engine_runs_the_rewritten_models(engines: tuple[OcrEngine, OcrEngine]) -> None:
    folded, plain = engines
    assert folded.models["det"].startswith("folded") and folded.models["rec"].startswith("folded")
    assert plain.models == {"det": "original (KAKOU_OCR_FOLD=0)", "rec": "original (KAKOU_OCR_FOLD=0)"}


def test_rewritten_models_read_a_plate_as_the_shipped_ones(engines: tuple[OcrEngine, OcrEngine]) -> None:
    folded, plain = engines
    frame = render_plate_scene("粤B12345", "blue", seed=3)
    boxes, plain_boxes = folded.detect(frame, 640), plain.detect(frame, 640)
    assert len(boxes) == len(plain_boxes) > 0
    assert max(float(np.abs(a - b).max()) for a, b in zip(boxes, plain_boxes, strict=True)) <= 1.0
    lines, plain_lines = folded.recognise_boxes(frame, boxes), plain.recognise_boxes(frame, plain_boxes)
    assert [ln.text for ln in lines] == [ln.text for ln in plain_lines]
    assert all(abs(a.score - b.score) < 1e-3 for a, b in zip(lines, plain_lines, strict=True))
    read, plain_read = PlateReader(engine=folded).read(frame), PlateReader(engine=plain).read(frame)
    assert read.text == plain_read.text == "粤B12345" and read.valid
    assert abs(read.confidence - plain_read.confidence) < 1e-3


def _rec_model() -> Path:
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"


def test_without_the_onnx_package_the_shipped_model_is_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_onnx(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("no onnx here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with caplog.at_level(logging.WARNING, logger="kakou.models.fold"):
        session, used = fold.load(_rec_model(), ort.SessionOptions(), (1, 3, 48, 96))
    assert used == "original (the onnx package is not installed)"
    assert "the onnx package is not installed" in caplog.text
    assert session.get_inputs()[0].name == "x"


def test_a_rewrite_that_changes_the_outputs_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_fold = fold.fold

    def broken(model: onnx.ModelProto) -> dict[str, int]:
        counts = real_fold(model)
        folded = {i.name: i for i in model.graph.initializer}
        w = next(folded[n.input[1]] for n in model.graph.node if n.op_type == "Conv" and n.input[1] in folded)
        w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w) * 3.0, w.name))
        return counts

    monkeypatch.setattr(fold, "fold", broken)
    with caplog.at_level(logging.WARNING, logger="kakou.models.fold"):
        session, used = fold.load(_rec_model(), ort.SessionOptions(), (1, 3, 48, 96))
    assert used.startswith("original (rewritten model differs by")
    assert "used as shipped" in caplog.text
    x = np.zeros((1, 3, 48, 96), np.float32)
    shipped = ort.InferenceSession(str(_rec_model()), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], shipped.run(None, {"x": x})[0])
