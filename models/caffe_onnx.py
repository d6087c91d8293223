"""A Caffe network (prototxt + caffemodel) turned into an ONNX model, in memory.

OpenCV 5 dropped its Caffe importer, and the plate-specific recogniser we use (`plate_net`) ships
as a Caffe model in the `hyperlpr` wheel. Its layers are the plain ones: Convolution, BatchNorm
+ Scale, ReLU, max Pooling, Concat, Softmax — so the network is rebuilt here as ONNX nodes and
run by ONNX Runtime like the other models. Nothing is written to disk.

The caffemodel is a protobuf; rather than compile caffe.proto, the few fields needed (each
layer's name, type and weight blobs) are read from the wire format directly. The prototxt is
protobuf text format; `parse_prototxt` reads the subset Caffe networks use (fields, nested
blocks, quoted strings, numbers, enum words). Any layer type or option outside that subset is
an error (`CaffeError`), never a silently different network.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


class CaffeError(ValueError):
    """The network uses something this converter does not handle, or a file is malformed."""


# -- protobuf text format (prototxt) ---------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:#[^\n]*\n\s*)*("(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"#]+)')


def parse_prototxt(text: str) -> dict[str, list[Any]]:
    """Every field as a list of its values (repeated fields are common); a block is a dict."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    pos = 0

    def block(end: str | None) -> dict[str, list[Any]]:
        nonlocal pos
        out: dict[str, list[Any]] = {}
        while pos < len(tokens):
            key = tokens[pos]
            if key == "}":
                if end != "}":
                    raise CaffeError("prototxt: unbalanced '}'")
                pos += 1
                return out
            pos += 1
            if pos < len(tokens) and tokens[pos] == ":":
                pos += 1
            if pos >= len(tokens):
                raise CaffeError(f"prototxt: no value for {key!r}")
            if tokens[pos] == "{":
                pos += 1
                value: Any = block("}")
            else:
                value = _scalar(tokens[pos])
                pos += 1
            out.setdefault(key, []).append(value)
        if end is not None:
            raise CaffeError("prototxt: a block is not closed")
        return out

    return block(None)


def _scalar(tok: str) -> Any:
    if tok.startswith('"'):
        return tok[1:-1]
    for kind in (int, float):
        try:
            return kind(tok)
        except ValueError:
            pass
    return tok  # an enum word (MAX) or true/false


# -- protobuf wire format (caffemodel) --------------------------------------------------------


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: varints as ints, length-delimited
    fields as bytes, fixed32/64 as raw bytes."""
    out: list[tuple[int, int, Any]] = []
    pos, n = 0, len(buf)

    def varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            if pos >= n or shift > 63:
                raise CaffeError("caffemodel: truncated varint")
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    while pos < n:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out.append((field, wire, varint()))
        elif wire == 2:
            size = varint()
            if pos + size > n:
                raise CaffeError("caffemodel: truncated field")
            out.append((field, wire, buf[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > n:
                raise CaffeError("caffemodel: truncated field")
            out.append((field, wire, buf[pos : pos + size]))
            pos += size
        else:
            raise CaffeError(f"caffemodel: wire type {wire} not supported")
    return out


_RAW_TYPES = {0: "<f8", 1: "<f4", 2: "<f2"}


def _blob(buf: bytes) -> np.ndarray:
    """A BlobProto: data (field 5, packed or not, or NVIDIA Caffe's typed raw_data, fields 10
    and 12) in the shape of field 7 (or the legacy num/channels/height/width, fields 1-4)."""
    dims: list[int] = []
    legacy = [0, 0, 0, 0]
    chunks: list[np.ndarray] = []
    raw, raw_type = None, 1
    for field, wire, value in _fields(buf):
        if field == 7 and wire == 2:
            for f, w, v in _fields(value):
                if f == 1 and w == 2:  # packed
                    dims += _varints(v)
                elif f == 1 and w == 0:
                    dims.append(v)
        elif 1 <= field <= 4 and wire == 0:
            legacy[field - 1] = value
        elif field == 5 and wire in (2, 5):
            chunks.append(_floats(value, "<f4"))
        elif field == 10 and wire == 0:
            raw_type = value
        elif field == 12 and wire == 2:
            raw = value
    if raw is not None:
        # NVIDIA Caffe's raw_data: the values as `raw_data_type` (0 double, 1 float, 2 half).
        if raw_type not in _RAW_TYPES:
            raise CaffeError(f"caffemodel: raw data type {raw_type} not supported")
        chunks.append(_floats(raw, _RAW_TYPES[raw_type]))
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    shape = dims or [d for d in legacy if d] or [data.size]
    if math.prod(shape) != data.size:
        raise CaffeError(f"caffemodel: blob of {data.size} values for shape {shape}")
    return data.reshape(shape).astype(np.float32)


def _floats(buf: bytes, dtype: str) -> np.ndarray:
    if len(buf) % np.dtype(dtype).itemsize:
        raise CaffeError("caffemodel: blob data cut inside a value")
    return np.frombuffer(buf, dtype).astype(np.float32)


def _varints(buf: bytes) -> list[int]:
    """Packed varints (a BlobShape's dims)."""
    out, value, shift = [], 0, 0
    for b in buf:
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            out.append(value)
            value, shift = 0, 0
    if shift:
        raise CaffeError("caffemodel: truncated packed varints")
    return out


def read_weights(caffemodel: bytes) -> dict[str, list[np.ndarray]]:
    """Each layer's weight blobs by layer name (V2 `layer`, field 100; V1 `layers`, field 2)."""
    weights: dict[str, list[np.ndarray]] = {}
    for field, wire, value in _fields(caffemodel):
        if wire != 2 or field not in (2, 100):
            continue
        name_field, blob_field = (1, 7) if field == 100 else (4, 6)
        name, blobs = None, []
        for f, w, v in _fields(value):
            if f == name_field and w == 2:
                name = v.decode("utf-8", "replace")
            elif f == blob_field and w == 2:
                blobs.append(_blob(v))
        if name is not None and blobs:
            weights[name] = blobs
    return weights


# -- the ONNX graph --------------------------------------------------------------------------


def _window(p: dict[str, Any]) -> dict[str, Any]:
    """A convolution's or pooling's kernel, padding and stride as ONNX attributes."""

    def pair(key: str, default: int | None) -> tuple[int, int]:
        both = p.get(key if key != "kernel" else "kernel_size", default)
        h, w = p.get(f"{key}_h", both), p.get(f"{key}_w", both)
        if h is None or w is None:
            raise CaffeError(f"no {key} size")
        return int(h), int(w)

    (kh, kw), (ph, pw), (sh, sw) = pair("kernel", None), pair("pad", 0), pair("stride", 1)
    return {"kernel_shape": [kh, kw], "pads": [ph, pw, ph, pw], "strides": [sh, sw]}


def to_onnx(prototxt: str, caffemodel: bytes) -> bytes:
    """The network as a serialised ONNX model (opset 13), input "data", output the last top."""
    try:
        return _to_onnx(prototxt, caffemodel)
    except (KeyError, IndexError, TypeError) as exc:  # a layer without its name, blobs or fields
        raise CaffeError(f"malformed network: {exc!r}") from exc


def _to_onnx(prototxt: str, caffemodel: bytes) -> bytes:
    import onnx
    from onnx import helper, numpy_helper

    net = parse_prototxt(prototxt)
    weights = read_weights(caffemodel)
    dims = [int(d) for d in net.get("input_dim", [])]
    if "input_shape" in net:
        dims = [int(d) for d in net["input_shape"][0].get("dim", [])]
    inputs = net.get("input", ["data"])
    if len(inputs) != 1 or len(dims) != 4:
        raise CaffeError("one 4-d input is supported")
    current = {inputs[0]: inputs[0]}  # a Caffe blob name -> the ONNX tensor holding it now
    nodes: list[Any] = []
    inits: list[Any] = []
    last = inputs[0]

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def param(layer: dict[str, list[Any]], block: str) -> dict[str, Any]:
        got = layer.get(block, [{}])[0]
        return {k: v[0] for k, v in got.items()}

    pending_bn: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for layer in net.get("layer", []):
        name, kind = layer["name"][0], layer["type"][0]
        bottoms = [current[b] for b in layer.get("bottom", [])]
        top = layer["top"][0]
        out = name
        blobs = weights.get(name, [])
        if kind == "Convolution":
            p = param(layer, "convolution_param")
            if p.get("group", 1) != 1 or p.get("dilation", 1) != 1:
                raise CaffeError(f"{name}: grouped or dilated convolution")
            ins = [bottoms[0], init(f"{name}.w", blobs[0])]
            if p.get("bias_term", True) not in (False, "false"):
                ins.append(init(f"{name}.b", blobs[1]))
            nodes.append(helper.make_node("Conv", ins, [out], **_window(p)))
        elif kind == "BatchNorm":
            # Caffe keeps mean and variance scaled by a third blob; the Scale layer after it
            # carries gamma and beta, so the pair becomes one ONNX BatchNormalization.
            factor = float(blobs[2].ravel()[0]) if len(blobs) > 2 else 1.0
            factor = 1.0 / factor if factor else 0.0
            eps = float(param(layer, "batch_norm_param").get("eps", 1e-5))
            pending_bn[top] = (blobs[0] * factor, blobs[1] * factor, eps)
            current[top] = bottoms[0]
            continue
        elif kind == "Scale":
            if layer["bottom"][0] not in pending_bn:
                raise CaffeError(f"{name}: a Scale not after a BatchNorm")
            mean, var, eps = pending_bn.pop(layer["bottom"][0])
            beta = blobs[1] if len(blobs) > 1 else np.zeros_like(blobs[0])
            ins = [bottoms[0], init(f"{name}.g", blobs[0]), init(f"{name}.b", beta)]
            ins += [init(f"{name}.m", mean), init(f"{name}.v", var)]
            nodes.append(helper.make_node("BatchNormalization", ins, [out], epsilon=eps))
        elif kind == "ReLU":
            nodes.append(helper.make_node("Relu", bottoms, [out]))
        elif kind == "Pooling":
            p = param(layer, "pooling_param")
            if p.get("pool", "MAX") != "MAX":
                raise CaffeError(f"{name}: only max pooling")
            # Caffe rounds a pooled size up.
            nodes.append(helper.make_node("MaxPool", bottoms, [out], ceil_mode=1, **_window(p)))
        elif kind == "Concat":
            axis = int(param(layer, "concat_param").get("axis", 1))
            nodes.append(helper.make_node("Concat", bottoms, [out], axis=axis))
        elif kind == "Softmax":
            nodes.append(helper.make_node("Softmax", bottoms, [out], axis=1))
        else:
            raise CaffeError(f"{name}: layer type {kind} not supported")
        current[top] = out
        last = out
    if pending_bn:
        raise CaffeError("a BatchNorm without its Scale")
    graph = helper.make_graph(
        nodes,
        "caffe",
        [helper.make_tensor_value_info(inputs[0], onnx.TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(last, onnx.TensorProto.FLOAT, ["n", "c", "h", "w"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
