from __future__ import annotations

from builders import O, T, build, conv_chain

from tpulint.model import parse_model


def test_builder_makes_a_model_the_reader_accepts() -> None:
    data = build(conv_chain(O("RELU", ["a"], ["b"])))
    m = parse_model(data)
    ops = m.subgraphs[0].ops
    assert [o.opcode for o in ops] == ["CONV_2D", "RELU", "CONV_2D"]
    assert ops[0].options["stride_h"] == 1
    assert m.subgraphs[0].tensors[1].is_constant


def test_builder_tensor_options() -> None:
    m = parse_model(build(conv_chain(None, extra_tensors=[T("z", [1, 2], "INT16")])))
    assert m.subgraphs[0].tensors[-1].dtype == "INT16"
