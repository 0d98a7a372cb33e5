"""``--num-segments`` against Coral's real 4-way split of ssd_mobilenet_v1_coco_quant_postprocess.

The corpus holds the four compiled segments (``coral_td__ssd_mobilenet_v1_coco_quant_postprocess_
segment_{0..3}_of_4``) but not the unsegmented model. Their packages name the layers at every cut
and give each segment's parameter bytes, and the architecture is the published SSD MobileNet v1
(300×300, depth multiplier 1, six feature maps with 3 / 6 / 6 / 6 / 6 / 6 anchors, 91 classes, 1×1
box predictors; the boundary layer shapes in the packages confirm each feature map). So the test
builds a stand-in with the same layers, shapes and quantization (uint8, per-tensor, non-zero
biases) with the flatbuffers builder, in model order (backbone, extra layers, then the box
predictors, as the real segments show), and compares tpulint's split with the real one.
"""

from __future__ import annotations

import itertools
import json

import pytest
from builders import M, O, T, build
from conftest import CORPUS, corpus_or_skip

from tpulint.compiler.compiled import read_compiled_model
from tpulint.graph import Graph
from tpulint.model import parse_model
from tpulint.param_memory import op_param_bytes, segments

SEGMENT_CASE = "coral_td__ssd_mobilenet_v1_coco_quant_postprocess_segment_{}_of_4"
BACKBONE = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)] + [(512, 512)] * 5
BACKBONE += [(512, 1024), (1024, 1024)]
STRIDE2 = {2, 4, 6, 12}  # depthwise layers with stride 2 (300 -> 150 -> 75 -> 38 -> 19 -> 10)
EXTRAS = [  # (name, cin, cout, kernel, stride)
    ("Conv2d_13_pointwise_1_Conv2d_2_1x1_256", 1024, 256, 1, 1),
    ("Conv2d_13_pointwise_2_Conv2d_2_3x3_s2_512", 256, 512, 3, 2),
    ("Conv2d_13_pointwise_1_Conv2d_3_1x1_128", 512, 128, 1, 1),
    ("Conv2d_13_pointwise_2_Conv2d_3_3x3_s2_256", 128, 256, 3, 2),
    ("Conv2d_13_pointwise_1_Conv2d_4_1x1_128", 256, 128, 1, 1),
    ("Conv2d_13_pointwise_2_Conv2d_4_3x3_s2_256", 128, 256, 3, 2),
    ("Conv2d_13_pointwise_1_Conv2d_5_1x1_64", 256, 64, 1, 1),
    ("Conv2d_13_pointwise_2_Conv2d_5_3x3_s2_128", 64, 128, 3, 2),
]
FEATURE_MAPS = [  # the tensors the box predictors read, and their anchors per cell
    ("Conv2d_11_pointwise", 3),
    ("Conv2d_13_pointwise", 6),
    ("Conv2d_13_pointwise_2_Conv2d_2_3x3_s2_512", 6),
    ("Conv2d_13_pointwise_2_Conv2d_3_3x3_s2_256", 6),
    ("Conv2d_13_pointwise_2_Conv2d_4_3x3_s2_256", 6),
    ("Conv2d_13_pointwise_2_Conv2d_5_3x3_s2_128", 6),
]


def _same(n: int, stride: int) -> int:
    return -(-n // stride)


def ssd_mobilenet_v1_stand_in() -> bytes:
    tensors = [T("normalized_input_image_tensor", [1, 300, 300, 3], "UINT8")]
    ops: list[O] = []
    shapes: dict[str, list[int]] = {}

    def conv(name: str, src: str, cin: int, cout: int, k: int, stride: int, depthwise: bool = False) -> None:
        _, h, w, _ = shapes.get(src, [1, 300, 300, 3])
        out = [1, _same(h, stride), _same(w, stride), cout]
        wshape = [1, k, k, cin] if depthwise else [cout, k, k, cin]
        size = k * k * cin * (1 if depthwise else cout)
        tensors.extend(
            [
                T(f"{name}/weights", wshape, "UINT8", data=bytes([128]) * size),
                T(f"{name}/bias", [cout], "INT32", data=(1).to_bytes(4, "little", signed=True) * cout),
                T(name, out, "UINT8"),
            ]
        )
        shapes[name] = out
        opts = {"StrideH": stride, "StrideW": stride}
        if depthwise:
            ops.append(O("DEPTHWISE_CONV_2D", [src, f"{name}/weights", f"{name}/bias"], [name],
                         options=("DepthwiseConv2DOptions", {**opts, "DepthMultiplier": 1})))  # fmt: skip
        else:
            ops.append(O("CONV_2D", [src, f"{name}/weights", f"{name}/bias"], [name], options=("Conv2DOptions", opts)))

    conv("Conv2d_0", "normalized_input_image_tensor", 3, 32, 3, 2)
    prev = "Conv2d_0"
    for i, (cin, cout) in enumerate(BACKBONE, 1):
        conv(f"Conv2d_{i}_depthwise", prev, cin, cin, 3, 2 if i in STRIDE2 else 1, depthwise=True)
        conv(f"Conv2d_{i}_pointwise", f"Conv2d_{i}_depthwise", cin, cout, 1, 1)
        prev = f"Conv2d_{i}_pointwise"
    for name, cin, cout, k, stride in EXTRAS:
        conv(name, prev, cin, cout, k, stride)
        prev = name
    heads = []
    for i, (src, anchors) in enumerate(FEATURE_MAPS):
        c = shapes[src][3]
        conv(f"BoxPredictor_{i}/BoxEncodingPredictor", src, c, anchors * 4, 1, 1)
        conv(f"BoxPredictor_{i}/ClassPredictor", src, c, anchors * 91, 1, 1)
        heads += [f"BoxPredictor_{i}/BoxEncodingPredictor", f"BoxPredictor_{i}/ClassPredictor"]
    return build(M(tensors, ops, ["normalized_input_image_tensor"], heads))


def _real_segments() -> list[tuple[int, list[str], list[str]]]:
    """(PARAMETER_CACHING bytes, input layer names, output layer names) of each real segment."""
    corpus_or_skip()
    out = []
    for k in range(4):
        case = CORPUS / SEGMENT_CASE.format(k)
        truth = json.loads((case / "truth.json").read_text())
        cm = read_compiled_model(case / truth["files"]["compiled"]["name"])
        exes = [e for op in cm.edgetpu_ops for p in op.packages for e in p.executables]
        cached = sum(e.cached_bytes for e in exes)
        run = next(e for e in exes if e.type == "EXECUTION_ONLY")
        out.append((cached, list(run.input_layers), list(run.output_layers)))
    return out


def _names_match(ours: tuple[str, ...], real: list[str]) -> bool:
    """Each real boundary layer (a long TF name) holds one of our layer names as a path part."""
    return len(ours) == len(real) and all(any(f"/{o}/" in r for o in ours) for r in real)


@pytest.fixture(scope="module")
def stand_in() -> Graph:
    model = parse_model(ssd_mobilenet_v1_stand_in())
    return Graph.build(model, model.subgraphs[0])


def _index(g: Graph, name: str) -> int:
    return next(op.index for op in g.subgraph.ops if g.subgraph.tensors[op.outputs[0]].name == name)


def test_stand_in_has_the_real_segments_parameter_bytes(stand_in: Graph) -> None:
    """With the real cuts, the per-op byte model gives each real segment's bytes exactly (the last,
    with the 12 box predictors, within 2%): the stand-in and the byte model agree with the packages."""
    real = _real_segments()
    g = stand_in
    cuts = [0, _index(g, "Conv2d_12_pointwise"), _index(g, "Conv2d_13_pointwise_1_Conv2d_2_1x1_256"),
            _index(g, "Conv2d_13_pointwise_2_Conv2d_3_3x3_s2_256"), len(g.subgraph.ops)]  # fmt: skip
    got = [sum(sum(op_param_bytes(g, g.subgraph.ops[i])) for i in range(a, b)) for a, b in itertools.pairwise(cuts)]
    assert got[:3] == [r[0] for r in real[:3]]
    assert abs(got[3] - real[3][0]) <= 0.02 * real[3][0]


def test_first_two_cuts_match_coral(stand_in: Graph) -> None:
    real = _real_segments()
    segs = segments(stand_in, range(len(stand_in.subgraph.ops)), 4)
    assert [s.param_bytes for s in segs[:2]] == [real[0][0], real[1][0]]
    assert _names_match(segs[0].outputs, real[0][2])  # Conv2d_11_pointwise (19x19 head) + Conv2d_12_depthwise
    assert _names_match(segs[1].inputs, real[1][1]) and _names_match(segs[1].outputs, real[1][2])
    assert sum(s.param_bytes for s in segs) == sum(sum(op_param_bytes(stand_in, op)) for op in stand_in.subgraph.ops)


@pytest.mark.xfail(
    strict=True,
    reason="Coral ends segment 2 after Conv2d_3_1x1_128 (1.51 MB); the balanced-bytes rule takes two "
    "more extra-layer convs (1.84 MB). One real split cannot tell which rule the compiler uses here.",
)
def test_third_cut_matches_coral(stand_in: Graph) -> None:
    real = _real_segments()
    segs = segments(stand_in, range(len(stand_in.subgraph.ops)), 4)
    assert segs[2].param_bytes == real[2][0]
