"""A Caffe network rebuilt as ONNX computes what the Caffe network computes, and a malformed
network or weights file is refused with a CaffeError, never another exception."""

import math

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.models.caffe_onnx import CaffeError, parse_prototxt, read_weights, to_onnx

# conv (3x3, bias) -> BatchNorm + Scale -> ReLU, then a 3x1 convolution without bias beside it,
# concatenated, max-pooled 2x2 (a 6x5 map: Caffe rounds the pooled size up) and soft-maxed.
PROTOTXT = """
name: "tiny"  # a comment
input: "data"
input_dim: 1
input_dim: 2
input_dim: 6
input_dim: 5
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
layer { name: "bn" type: "BatchNorm" bottom: "c1" top: "c1" batch_norm_param { eps: 0.001 } }
layer { name: "sc" type: "Scale" bottom: "c1" top: "c1" scale_param { bias_term: true } }
layer { name: "r" type: "ReLU" bottom: "c1" top: "c1" }
layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2"
  convolution_param { num_output: 2 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 bias_term: false } }
layer { name: "cat" type: "Concat" bottom: "c1" bottom: "c2" top: "cat" }
layer { name: "p" type: "Pooling" bottom: "cat" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "prob" type: "Softmax" bottom: "p" top: "prob" }
"""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(num << 3) + _varint(payload)
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _blob(a: np.ndarray, half: bool = False) -> bytes:
    shape = _field(7, _field(1, b"".join(_varint(d) for d in a.shape)))
    if half:  # NVIDIA Caffe's typed raw data, as the hyperlpr model stores its weights
        return shape + _field(10, 2) + _field(12, a.astype("<f2").tobytes())
    return shape + _field(5, a.astype("<f4").tobytes())


def _layer(name: str, kind: str, *blobs: bytes) -> bytes:
    return _field(100, _field(1, name.encode()) + _field(2, kind.encode()) + b"".join(_field(7, b) for b in blobs))


def _weights(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    def q(*shape: int) -> np.ndarray:  # eighths: exact in float16 too
        return np.round(rng.normal(0, 1, shape) * 8) / 8

    return {
        "c1": [q(3, 2, 3, 3), q(3)],
        "bn": [q(3), np.abs(q(3)) + 0.5, np.array([2.0])],
        "sc": [q(3), q(3)],
        "c2": [q(2, 3, 3, 1)],
    }


def _caffemodel(w: dict[str, list[np.ndarray]]) -> bytes:
    return _field(1, b"tiny") + b"".join(
        _layer(name, kind, *(_blob(a, half=name == "c1") for a in w[name]))
        for name, kind in (("c1", "Convolution"), ("bn", "BatchNorm"), ("sc", "Scale"), ("c2", "Convolution"))
    )


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, ph: int, pw: int) -> np.ndarray:
    _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((o, h + 2 * ph - kh + 1, wd + 2 * pw - kw + 1))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j] = np.tensordot(w, xp[:, i : i + kh, j : j + kw], axes=3)
    return out + (0 if b is None else b[:, None, None])


def _reference(x: np.ndarray, w: dict[str, list[np.ndarray]]) -> np.ndarray:
    c1 = _conv(x, w["c1"][0], w["c1"][1], 1, 1)
    mean, var = w["bn"][0] / 2.0, w["bn"][1] / 2.0  # Caffe keeps them scaled by the third blob (2)
    g, beta = w["sc"]
    c1 = (c1 - mean[:, None, None]) / np.sqrt(var[:, None, None] + 0.001) * g[:, None, None]
    c1 = np.maximum(c1 + beta[:, None, None], 0)
    cat = np.concatenate([c1, _conv(c1, w["c2"][0], None, 1, 0)])
    oh, ow = math.ceil((6 - 2) / 2) + 1, math.ceil((5 - 2) / 2) + 1
    pooled = np.array(
        [[[cat[c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max() for j in range(ow)] for i in range(oh)] for c in range(5)]
    )
    e = np.exp(pooled - pooled.max(axis=0))
    return e / e.sum(axis=0)


def test_the_onnx_network_computes_what_the_caffe_layers_define() -> None:
    rng = np.random.default_rng(4)
    w = _weights(rng)
    session = ort.InferenceSession(to_onnx(PROTOTXT, _caffemodel(w)), providers=["CPUExecutionProvider"])
    x = rng.normal(0, 1, (2, 6, 5))
    got = session.run(None, {"data": x[np.newaxis].astype(np.float32)})[0][0]
    assert got.shape == (5, 3, 3)
    np.testing.assert_allclose(got, _reference(x, w), atol=2e-5)


def test_weights_are_read_by_layer_name_in_their_shapes() -> None:
    w = _weights(np.random.default_rng(1))
    got = read_weights(_caffemodel(w))
    assert sorted(got) == ["bn", "c1", "c2", "sc"]
    for name, blobs in w.items():
        assert [b.shape for b in got[name]] == [b.shape for b in blobs]
        for a, b in zip(got[name], blobs, strict=True):
            np.testing.assert_array_equal(a, b.astype(np.float32))


@pytest.mark.parametrize(
    ("prototxt", "why"),
    [
        (PROTOTXT.replace('"ReLU"', '"PReLU"'), "PReLU"),
        (PROTOTXT.replace("pool: MAX", "pool: AVE"), "max pooling"),
        (PROTOTXT.replace('layer { name: "bn"', 'layer { name: "x" type: "ReLU" bottom: "c1" top: "c1" }\n#'), "Scale"),
        (PROTOTXT + "layer {", "not closed"),
        (PROTOTXT.replace('layer { name: "c2"', 'layer { name: "c9"'), "malformed"),
    ],
)
def test_a_network_outside_the_supported_layers_is_refused(prototxt: str, why: str) -> None:
    with pytest.raises(CaffeError, match=why):
        to_onnx(prototxt, _caffemodel(_weights(np.random.default_rng(2))))


def test_a_truncated_weights_file_is_refused() -> None:
    model = _caffemodel(_weights(np.random.default_rng(3)))
    with pytest.raises(CaffeError, match="truncated"):
        read_weights(model[: len(model) - 7])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_as_weights_give_weights_or_a_caffe_error(data: bytes) -> None:
    try:
        got = read_weights(data)
    except CaffeError:
        return
    assert all(isinstance(b, np.ndarray) for blobs in got.values() for b in blobs)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='layer{}:"# \nnametype01.5_', max_size=200))
def test_any_text_as_a_prototxt_gives_fields_or_a_caffe_error(text: str) -> None:
    try:
        got = parse_prototxt(text)
    except CaffeError:
        return
    assert isinstance(got, dict)
