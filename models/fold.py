"""The wheel's PP-OCRv4 ONNX models rewritten into fewer operators, same arithmetic.

Both models (detector and recogniser) are PP-LCNetV3 networks exported op by op from Paddle:
every convolution is followed by a "learnable affine" scale and shift (a Mul and an Add by
scalars), every hard-swish is four operators (Add 3, Clip 0..6, Mul, Div 6) and most are
followed by another scalar affine. ONNX Runtime fuses none of these, so on the 2-core edge box a
third of the detector's time went to element-wise passes over full-size feature maps. The
rewrite, done in memory when the OCR engine starts (~0.3 s, nothing written or downloaded):

* Conv -> Mul(a) -> Add(b) becomes one Conv with weights a*W and bias a*B + b;
* Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(6) becomes x * HardSigmoid(x) (alpha 1/6, beta
  1/2), which is hard-swish exactly, without raising the models' opset (12);
* Mul(a) -> Add(b) feeding only unpadded 1x1 convolutions is folded into their weights (a 3x3
  convolution's zero padding would see b at the border, so those are not folded);
* the remaining Mul(a) -> Add(b) after a hard-swish becomes a 1x1 depthwise convolution, which
  ONNX Runtime keeps in its blocked layout (the scalar Mul/Add made it convert out and back).

Only these exact patterns with scalar constants are touched; anything else is kept as it is.
The rewritten model is checked against the original on a fixed input before it is used
(`load`), and any failure (the `onnx` package missing, an unexpected graph, a mismatch) falls
back to the original model with the reason logged. Measured on one thread: detector at 640 px
52 -> ~40 ms, at 960 px 127 -> ~94 ms, outputs within 3e-5 of the original's; recogniser
17.5 -> ~12 ms. int8 quantization was measured too and did not pay on this AVX2 CPU.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TOLERANCE = 1e-3  # largest output difference accepted from the rewritten model (seen: 3e-5)


def fold(model: Any) -> dict[str, int]:
    """Rewrite an `onnx.ModelProto` in place; returns how many of each pattern were folded."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    consts: dict[str, np.ndarray] = {}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for init in g.initializer:
        consts[init.name] = numpy_helper.to_array(init)
    graph_outputs = {o.name for o in g.output}
    nodes: list[Any] = list(g.node)
    new_consts: dict[str, np.ndarray] = {}

    def users() -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = defaultdict(list)
        for n in nodes:
            for i in n.input:
                out[i].append(n)
        return out

    def scalar(name: str) -> float | None:
        v = consts.get(name)
        return None if v is None or v.size != 1 or v.dtype != np.float32 else float(v.ravel()[0])

    def only_user(u: dict[str, list[Any]], name: str, op: str) -> Any:
        """The single node reading `name`, if it is an `op` and `name` is no graph output."""
        got = u.get(name, [])
        return got[0] if len(got) == 1 and got[0].op_type == op and name not in graph_outputs else None

    def scalar_operand(n: Any, x: str) -> float | None:
        """The scalar constant of a binary node whose other operand is `x`."""
        if len(n.input) != 2 or x not in n.input:
            return None
        return scalar(n.input[1] if n.input[0] == x else n.input[0])

    def add_const(name: str, value: np.ndarray) -> str:
        new_consts[name] = value.astype(np.float32)
        consts[name] = new_consts[name]
        return name

    def conv_params(conv: Any) -> tuple[np.ndarray, np.ndarray] | None:
        w = consts.get(conv.input[1]) if len(conv.input) > 1 else None
        if w is None or w.dtype != np.float32 or w.ndim != 4:
            return None
        b = consts.get(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0], np.float32)
        return (w, b) if b is not None and b.shape == (w.shape[0],) else None

    def rename_inputs(renames: dict[str, str]) -> None:
        for n in nodes:
            for k, i in enumerate(n.input):
                while i in renames:
                    i = renames[i]
                n.input[k] = i

    counts = {"conv_affine": 0, "hard_swish": 0, "affine_into_1x1": 0, "affine_as_conv": 0}

    # 1. Conv -> Mul(a) [-> Add(b)]: scale and shift folded into the convolution.
    u = users()
    drop: set[int] = set()
    renames: dict[str, str] = {}
    for conv in nodes:
        if conv.op_type != "Conv" or (params := conv_params(conv)) is None:
            continue
        mul = only_user(u, conv.output[0], "Mul")
        a = scalar_operand(mul, conv.output[0]) if mul is not None else None
        if mul is None or a is None:
            continue
        add = only_user(u, mul.output[0], "Add")
        b = scalar_operand(add, mul.output[0]) if add is not None else None
        w, bias = params
        last = mul if b is None else add
        if last.output[0] in graph_outputs:
            continue
        conv.input[:] = [
            conv.input[0],
            add_const(conv.output[0] + "_folded_w", w * a),
            add_const(conv.output[0] + "_folded_b", bias * a + (b or 0.0)),
        ]
        renames[last.output[0]] = conv.output[0]
        drop.add(id(mul))
        if b is not None:
            drop.add(id(add))
        counts["conv_affine"] += 1
    nodes = [n for n in nodes if id(n) not in drop]
    rename_inputs(renames)

    # 2. Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(6): hard-swish as x * HardSigmoid(x).
    u = users()
    replace: dict[int, list[Any]] = {}
    drop = set()
    for add in nodes:
        if add.op_type != "Add" or len(add.input) != 2:
            continue
        x = add.input[0] if scalar(add.input[1]) == 3.0 else add.input[1] if scalar(add.input[0]) == 3.0 else None
        if x is None:
            continue
        clip = only_user(u, add.output[0], "Clip")
        if clip is None or len(clip.input) != 3 or (scalar(clip.input[1]), scalar(clip.input[2])) != (0.0, 6.0):
            continue
        mul = only_user(u, clip.output[0], "Mul")
        if mul is None or sorted(mul.input) != sorted([x, clip.output[0]]):
            continue
        div = only_user(u, mul.output[0], "Div")
        if div is None or div.input[0] != mul.output[0] or scalar(div.input[1]) != 6.0:
            continue
        gate = div.output[0] + "_hsig"
        replace[id(div)] = [
            helper.make_node("HardSigmoid", [x], [gate], alpha=1.0 / 6.0, beta=0.5),
            helper.make_node("Mul", [x, gate], [div.output[0]]),
        ]
        drop |= {id(add), id(clip), id(mul)}
        counts["hard_swish"] += 1
    nodes = [m for n in nodes if id(n) not in drop for m in replace.get(id(n), [n])]

    # 3. Mul(a) -> Add(b) read only by unpadded 1x1 convolutions: folded into their weights.
    u = users()
    drop = set()
    renames = {}
    for mul in nodes:
        if mul.op_type != "Mul" or len(mul.input) != 2:
            continue
        xs = [i for i in mul.input if scalar(i) is None]
        if len(xs) != 1:
            continue
        x = xs[0]
        a = scalar_operand(mul, x)
        add = only_user(u, mul.output[0], "Add")
        b = scalar_operand(add, mul.output[0]) if add is not None else None
        if a is None or add is None or b is None or add.output[0] in graph_outputs:
            continue
        convs = u.get(add.output[0], [])
        if not convs or not all(_unpadded_1x1(c, consts) and c.input[0] == add.output[0] for c in convs):
            continue
        for conv in convs:
            params = conv_params(conv)
            assert params is not None  # _unpadded_1x1 checked the weights
            w, bias = params
            conv.input[:] = [
                x,
                add_const(conv.output[0] + "_prefolded_w", w * a),
                add_const(conv.output[0] + "_prefolded_b", bias + b * w.sum(axis=(1, 2, 3))),
            ]
        drop |= {id(mul), id(add)}
        counts["affine_into_1x1"] += 1
    nodes = [n for n in nodes if id(n) not in drop]

    # 4. The remaining Mul(a) -> Add(b) after a hard-swish (before padded convolutions) as a
    # 1x1 depthwise convolution: ONNX Runtime keeps convolutions in its blocked (NCHWc) layout
    # and fuses the hard-swish into the convolution before, but a scalar Mul/Add made it
    # convert the tensor out of that layout and back (four passes instead of one).
    u = users()
    producer = {o: n for n in nodes for o in n.output}
    replace = {}
    drop = set()
    for mul in nodes:
        if mul.op_type != "Mul" or len(mul.input) != 2:
            continue
        xs = [i for i in mul.input if scalar(i) is None]
        if len(xs) != 1 or (a := scalar_operand(mul, xs[0])) is None:
            continue
        x = xs[0]
        add = only_user(u, mul.output[0], "Add")
        b = scalar_operand(add, mul.output[0]) if add is not None else None
        channels = _channels(x, producer, consts)
        if add is None or b is None or channels is None:
            continue
        name = add.output[0]
        replace[id(add)] = [
            helper.make_node(
                "Conv",
                [
                    x,
                    add_const(name + "_affine_w", np.full((channels, 1, 1, 1), a, np.float32)),
                    add_const(name + "_affine_b", np.full(channels, b, np.float32)),
                ],
                [name],
                group=channels,
                kernel_shape=[1, 1],
            )
        ]
        drop.add(id(mul))
        counts["affine_as_conv"] += 1
    nodes = [m for n in nodes if id(n) not in drop for m in replace.get(id(n), [n])]

    used = {i for n in nodes for i in n.input} | graph_outputs
    nodes = [n for n in nodes if not (n.op_type == "Constant" and not set(n.output) & used)]
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in new_consts.items() if k in used)
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(model)
    return counts


def _channels(name: str, producer: dict[str, Any], consts: dict[str, np.ndarray]) -> int | None:
    """Channel count of a hard-swish output x * HardSigmoid(x) whose x a convolution with
    known weights gave (the only place step 4 needs it); None otherwise."""
    mul = producer.get(name)
    if mul is None or mul.op_type != "Mul" or len(mul.input) != 2:
        return None
    gate = next((producer.get(i) for i in mul.input if (p := producer.get(i)) and p.op_type == "HardSigmoid"), None)
    if gate is None or gate.input[0] not in mul.input:
        return None
    conv = producer.get(gate.input[0])
    w = consts.get(conv.input[1]) if conv is not None and conv.op_type == "Conv" and len(conv.input) > 1 else None
    return int(w.shape[0]) if w is not None and w.ndim == 4 else None


def _unpadded_1x1(conv: Any, consts: dict[str, np.ndarray]) -> bool:
    from onnx import helper

    if conv.op_type != "Conv" or len(conv.input) < 2:
        return False
    w = consts.get(conv.input[1])
    if w is None or w.ndim != 4 or w.shape[2:] != (1, 1) or w.dtype != np.float32:
        return False
    if len(conv.input) > 2 and conv.input[2] and conv.input[2] not in consts:
        return False
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    return not any(attrs.get("pads", [])) and auto_pad in (b"NOTSET", b"VALID", "NOTSET", "VALID")


def folded_bytes(path: Path) -> tuple[bytes | None, str]:
    """The rewritten model's bytes, or None and why not."""
    try:
        import onnx
    except ImportError:
        return None, "the onnx package is not installed"
    try:
        model = onnx.load(str(path))
        counts = fold(model)
    except Exception as exc:  # any surprise in the graph: use the model as shipped
        return None, f"rewrite failed: {exc!r}"
    if not any(counts.values()):
        return None, "no foldable pattern in the graph"
    return model.SerializeToString(), ", ".join(f"{k} {v}" for k, v in counts.items())


def load(path: Path, options: Any, probe_shape: tuple[int, ...]) -> tuple[Any, str]:
    """An ONNX Runtime session for `path`: the rewritten model when it builds and gives the
    original's outputs (within TOLERANCE) on a fixed input of `probe_shape`, else the original.
    Returns the session and what was used (for the log and the tests)."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    original = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    data, how = folded_bytes(path)
    if data is None:
        log.warning("OCR model %s used as shipped: %s", path.name, how)
        return original, f"original ({how})"
    try:
        folded = ort.InferenceSession(data, sess_options=options, providers=providers)
        name = original.get_inputs()[0].name
        probe = np.random.default_rng(0).uniform(-1.0, 1.0, probe_shape).astype(np.float32)
        want = original.run(None, {name: probe})
        got = folded.run(None, {name: probe})
        diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(want, got, strict=True))
    except Exception as exc:
        log.warning("OCR model %s used as shipped: rewritten model failed to run: %r", path.name, exc)
        return original, f"original (rewritten model failed to run: {exc!r})"
    if not diff <= TOLERANCE:
        log.warning("OCR model %s used as shipped: rewritten model differs by %.2g", path.name, diff)
        return original, f"original (rewritten model differs by {diff:.2g})"
    log.info("OCR model %s rewritten (%s; probe difference %.1g)", path.name, how, diff)
    return folded, f"folded ({how})"
