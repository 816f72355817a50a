"""ONNX importer, compute (issue 9): MACs, other_ops, connections and activations per sample.

Conventions under test (paramcount's own layer types', paramcount/layers.py): MACs count Conv,
ConvTranspose, Gemm and MatMul (with a weight, or between two activations as attention's QKᵀ and
AV: paramcount's attention counts those); other_ops are the elements touched by pooling,
normalisation, activations and elementwise arithmetic; connections are LeCun's (each output unit's
inputs, padding excluded, plus one for its bias; a bias Add after a MatMul is that one). Shape-only
ops (Reshape, Transpose, Concat, ...) count nothing. Figures are per sample: the batch is axis 0 of
the graph's inputs; a static batch B is divided out (checked: the figures at B are B × those at 1),
a symbolic one is taken as 1 (checked against 2). Where any node cannot be counted exactly, the
whole report's compute is not known, and a warning names the node.

First hand-built graphs with the arithmetic in comments (onnx only), then torch models exported
with torch.onnx.export and compared with fvcore's FlopCountAnalysis and with paramcount's own
figures for the equivalent spec.
"""

import warnings

import pytest
import yaml
from conftest import load_oracle, require
from test_import_onnx import CNN, _randomise, _spec_model  # shared with the parameter tests

from paramcount import analyze, load_preset, load_text
from paramcount.analyze import estimate_memory
from paramcount.importers import onnx as importer


@pytest.fixture(scope="module")
def onnx():
    return require("onnx")


def _save(onnx, tmp_path, nodes, inputs, outputs, inits=(), opset=17, name="g.onnx"):
    """A model of `nodes`; inputs and outputs as (name, dims) with float elements."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in outputs], initializer=list(inits))
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def _init(name, dims, value=0.5):
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.full(dims, value, np.float32), name)


def _ints(name, values):
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, np.int64), name)


def _node(op, ins, outs, name=None, **attrs):
    from onnx import helper

    return helper.make_node(op, ins, outs, name=name or outs[0], **attrs)


def _rows(report):
    return {leaf.name: leaf for leaf, _, _ in report.leaves()}


def _figures(leaf):
    c = leaf.compute
    assert c.known, leaf.name
    return c.macs, c.other_ops, c.connections


def _activations(report):
    return estimate_memory(report).activation_elements


def _spec(text):
    return analyze(load_text(text))


def _spec_figures(text):
    c = _spec(text).compute
    return c.macs, c.other_ops, c.connections


# -- by hand -------------------------------------------------------------------------------------


def test_grouped_strided_dilated_conv_with_bias(onnx, tmp_path):
    # X [1, 4, 7, 7], W [6, 2, 3, 3] (groups 2: 4 / 2 = 2 channels a filter), stride 2, dilation 2,
    # pads 2: (7 + 4 - 2·(3 - 1) - 1) // 2 + 1 = 4 positions a side: Y [1, 6, 4, 4], 96 outputs.
    # MACs: 96 outputs × 2 channels × 9 taps = 1,728.
    # Connections: along an axis, taps 2·o - 2 + 2·k in [0, 7) for o in 0..3, k in 0..2:
    # o=0: -2, 0, 2 (2); o=1: 0, 2, 4 (3); o=2: 2, 4, 6 (3); o=3: 4, 6, 8 (2): 10 pairs; 10² = 100 reads a
    # channel pair, × 6 filters × 2 channels = 1,200, plus a bias for each of 96 outputs: 1,296.
    path = _save(onnx, tmp_path, [_node("Conv", ["x", "W", "B"], ["y"], group=2, strides=[2, 2], dilations=[2, 2],
                                        pads=[2, 2, 2, 2])],
                 [("x", [1, 4, 7, 7])], [("y", None)], [_init("W", [6, 2, 3, 3]), _init("B", [6])])
    report = importer.to_report(path)
    (leaf,) = _rows(report).values()
    assert _figures(leaf) == (1_728, 0, 1_296)
    assert leaf.output_shape == (1, 6, 4, 4) and _activations(report) == 96
    # paramcount's conv2d on the same input says the same.
    assert _figures(leaf) == _spec_figures("input: [4, 7, 7]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 3, "
                                           "stride: 2, dilation: 2, padding: 2, groups: 2}\n")


def test_conv_same_upper_padding(onnx, tmp_path):
    # X [1, 1, 5, 5], W [1, 1, 3, 3], stride 2, SAME_UPPER: 3 positions, total pad (3-1)·2 + 3 - 5 = 2,
    # one before. Taps 2·o - 1 + k in [0, 5): o=0: 2; o=1: 3; o=2: 2 -> 7 pairs; 49 reads; no bias.
    # MACs: 9 outputs × 9 = 81.
    path = _save(onnx, tmp_path, [_node("Conv", ["x", "W"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")],
                 [("x", [1, 1, 5, 5])], [("y", None)], [_init("W", [1, 1, 3, 3])])
    (leaf,) = _rows(importer.to_report(path)).values()
    assert _figures(leaf) == (81, 0, 49)


def test_conv_transpose(onnx, tmp_path):
    # X [1, 2, 3, 3], W [2, 4, 3, 3], stride 2, pads 1: out (3 - 1)·2 - 2 + 3 = 5: Y [1, 4, 5, 5].
    # MACs: every input element (18) scatters through 4 filters × 9 taps: 648.
    # Connections: input i, tap k land on 2·i - 1 + k in [0, 5): i=0: 2; i=1: 3; i=2: 2 -> 7 a side, 49
    # pairs a channel pair × 2 × 4 = 392, plus a bias for each of 100 outputs: 492.
    path = _save(onnx, tmp_path, [_node("ConvTranspose", ["x", "W", "B"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
                 [("x", [1, 2, 3, 3])], [("y", None)], [_init("W", [2, 4, 3, 3]), _init("B", [4])])
    (leaf,) = _rows(importer.to_report(path)).values()
    assert leaf.output_shape == (1, 4, 5, 5)
    assert _figures(leaf) == (648, 0, 492)
    assert _figures(leaf) == _spec_figures("input: [2, 3, 3]\nlayers:\n  - {type: conv2d_transpose, filters: 4, "
                                           "kernel_size: 3, stride: 2, padding: 1}\n")


def test_pools_norms_activations_and_shape_ops(onnx, tmp_path):
    nodes = [
        _node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"]),  # 3·8·8 = 192 elements
        _node("Relu", ["bn"], ["relu"]),  # 192
        # MaxPool 3, stride 2, pad 1 on 8: 4 positions; taps 2·o - 1 + k in [0, 8): o=0: 2, o=1..3: 3 each -> 11;
        # 11² = 121 reads a channel, × 3 = 363, as other_ops and connections.
        _node("MaxPool", ["relu"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        # AveragePool 2 (stride 2) on 4: 2 positions, every element read once: 48.
        _node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        _node("Sigmoid", ["ap"], ["sig"]),  # 12
        _node("Mul", ["sig", "ap"], ["mul"]),  # 12
        _node("GlobalAveragePool", ["mul"], ["gap"]),  # reads all 12 elements: 12 and 12
        _node("Flatten", ["gap"], ["flat"]),  # nothing: [1, 3]
        _node("Transpose", ["flat"], ["t"], perm=[1, 0]),  # nothing
        _node("Reshape", ["t", "shape"], ["r"]),  # nothing
        _node("Concat", ["r", "r"], ["cat"], axis=1),  # nothing: [1, 6]
        _node("Tanh", ["cat"], ["tanh"]),  # 6
        _node("Softmax", ["tanh"], ["sm"], axis=-1),  # 6
        _node("Add", ["sm", "tanh"], ["add"]),  # 6
    ]
    c = [3]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 3, 8, 8])], [("add", None)],
                 [_init("g", c), _init("b", c), _init("m", c), _init("v", c, 1.0), _ints("shape", [1, 3])])
    report = importer.to_report(path)
    rows = _rows(report)
    expect = {"bn": (0, 192, 0), "relu": (0, 192, 0), "mp": (0, 363, 363), "ap": (0, 48, 48), "sig": (0, 12, 0),
              "mul": (0, 12, 0), "gap": (0, 12, 12), "flat": (0, 0, 0), "t": (0, 0, 0), "r": (0, 0, 0),
              "cat": (0, 0, 0), "tanh": (0, 6, 0), "sm": (0, 6, 0), "add": (0, 6, 0)}
    assert {name: _figures(leaf) for name, leaf in rows.items()} == expect
    # The pools as paramcount counts them.
    assert _figures(rows["mp"])[1] == _spec_figures(
        "input: [3, 8, 8]\nlayers:\n  - {type: maxpool2d, kernel_size: 3, stride: 2, padding: 1}\n")[1]
    # Activations: one output per node: 192 + 192 + 48 + 12 + 12 + 12 + 3 + 3 + 3 + 3 + 6 + 6 + 6 + 6 = 504.
    assert _activations(report) == 504
    # other_ops 192 + 192 + 363 + 48 + 12 + 12 + 12 + 6 + 6 + 6 = 849; connections 363 + 48 + 12 = 423.
    c = report.compute
    assert (c.known, c.macs, c.other_ops, c.connections) == (True, 0, 849, 423)


def _mlp(onnx, tmp_path, batch, name="mlp.onnx"):
    """x [batch, 16] -> MatMul W [16, 8] -> Add b [8] -> Relu -> Gemm [8 -> 2] with bias."""
    nodes = [_node("MatMul", ["x", "W"], ["h"], name="mm"), _node("Add", ["h", "b"], ["hb"], name="bias"),
             _node("Relu", ["hb"], ["r"], name="relu"), _node("Gemm", ["r", "W2", "b2"], ["y"], name="fc", transB=1)]
    return _save(onnx, tmp_path, nodes, [("x", [batch, 16])], [("y", [batch, 2])],
                 [_init("W", [16, 8]), _init("b", [8]), _init("W2", [2, 8]), _init("b2", [2])], name=name)


# MatMul: 8 outputs × 16 = 128 MACs and connections; the bias Add: one connection per output, 8; Relu:
# 8 other_ops; Gemm: 2 × 8 = 16 MACs, 16 + 2 connections. Totals 144 MACs, 8 other_ops, 154
# connections (= the parameters: a dense network's connections are its weights, once each).
MLP = {"mm": (128, 0, 128), "bias": (0, 0, 8), "relu": (0, 8, 0), "fc": (16, 0, 18)}


@pytest.mark.parametrize("batch", [1, 4, "N", None], ids=["static1", "static4", "symbolic", "unnamed"])
def test_mlp_per_sample_whatever_the_batch(onnx, tmp_path, batch):
    report = importer.to_report(_mlp(onnx, tmp_path, batch))
    rows = _rows(report)
    assert {name: _figures(leaf) for name, leaf in rows.items()} == MLP
    c = report.compute
    assert (c.macs, c.other_ops, c.connections) == (144, 8, 154)
    # Rows show one sample's shapes: the batch axis stays, at 1; the title keeps the file's input.
    assert [leaf.output_shape for leaf in rows.values()] == [(1, 8), (1, 8), (1, 8), (1, 2)]
    assert report.input_shape == ((batch if batch is not None else "?"), 16)
    # Activations: mm 8, the bias Add none (one layer with mm: paramcount's dense), relu 8, fc 2.
    assert _activations(report) == 8 + 0 + 8 + 2
    m = estimate_memory(report, "fp32", 3)
    assert (m.activation_elements, m.activation_bytes) == (18, 18 * 3 * 4)
    assert not report.warnings
    # paramcount's own dense layers: the same three figures.
    assert (c.macs, c.other_ops, c.connections) == _spec_figures(
        "input: [16]\nlayers:\n  - {type: dense, units: 8, activation: relu}\n  - {type: dense, units: 2}\n")


def test_attention_products_between_activations(onnx, tmp_path):
    # Q [1, 2, 5, 4] (2 heads, 5 tokens, head 4) @ Kᵀ [1, 2, 4, 5]: 50 scores × 4 = 200 MACs;
    # softmax over 50 scores: 50 other_ops; A [1, 2, 5, 5] @ V [1, 2, 5, 4]: 40 outputs × 5 = 200 MACs.
    # paramcount's attention counts these as 2·T²·q = 2 · 25 · 8 = 400 MACs and T²·heads = 50 softmax ops.
    nodes = [_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]), _node("MatMul", ["q", "kt"], ["s"]),
             _node("Softmax", ["s"], ["a"], axis=-1), _node("MatMul", ["a", "v"], ["o"])]
    path = _save(onnx, tmp_path, nodes, [(n, ["N", 2, 5, 4]) for n in "qkv"], [("o", None)])
    rows = _rows(importer.to_report(path))
    assert _figures(rows["s"]) == (200, 0, 200) and _figures(rows["a"]) == (0, 50, 0)
    assert _figures(rows["o"]) == (200, 0, 200)
    spec = _spec("input: [5, 8]\nlayers:\n  - {type: attention, num_heads: 2}\n")
    leaf = next(spec.leaves())[0]
    # The layer's MACs less its four projections (5 tokens × 4 kernels of 8 × 8) are the two products.
    assert rows["s"].compute.macs + rows["o"].compute.macs == leaf.compute.macs - 5 * 4 * 8 * 8 == 400
    assert rows["a"].compute.other_ops == leaf.compute.other_ops


def test_lstm_as_paramcount_counts_it(onnx, tmp_path):
    # X [T=5, B=1, I=3], H = 2, 4 gates: 8 gate units. Per step 8 × (3 + 2) = 40 MACs: 200 over 5 steps;
    # one activation per gate unit and step: 40; connections 200 + 8 units × 2 bias vectors × 5 = 280.
    nodes = [_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=2)]
    path = _save(onnx, tmp_path, nodes, [("x", [5, 1, 3])], [("y", None)],
                 [_init("W", [1, 8, 3]), _init("R", [1, 8, 2]), _init("B", [1, 16])], name="lstm.onnx")
    # The graph's batch is axis 0 of its input: here 5, the time steps of a time-major input. The
    # figures at "batch 5" are not 5 × those at 1 (the LSTM's own batch axis stays 1): not known.
    report = importer.to_report(path)
    assert not report.compute.known and _activations(report) is None
    assert "node 'y' (LSTM): its figures do not grow with the batch" in report.warnings[0].message
    # Batch first, as torch exports it (a Transpose before the LSTM): counted.
    nodes = [_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]), *nodes]
    nodes[1].input[0] = "xt"
    path = _save(onnx, tmp_path, nodes, [("x", ["N", 5, 3])], [("y", None)],
                 [_init("W", [1, 8, 3]), _init("R", [1, 8, 2]), _init("B", [1, 16])], name="lstm2.onnx")
    rows = _rows(importer.to_report(path))
    assert _figures(rows["y"]) == (200, 40, 280)
    assert _figures(rows["y"]) == _spec_figures("input: [5, 3]\nlayers:\n  - {type: lstm, hidden_size: 2}\n")
    assert rows["y"].output_shape == (5, 1, 1, 2)  # [T, directions, batch, H]


def test_shape_arithmetic_is_folded_and_constant_nodes_are_not_rows(onnx, tmp_path):
    # Reshape's target from Shape(x): [N, -1] with N symbolic. Shape, Gather, Unsqueeze and Concat
    # compute constants (they depend on the input's shape only): folded, no rows; the Transpose of
    # a weight is a constant too: its weight shows in the MatMul that reads it.
    nodes = [_node("Shape", ["x"], ["shp"]), _node("Gather", ["shp", "zero"], ["n"], axis=0),
             _node("Unsqueeze", ["n", "axes"], ["n1"]), _node("Concat", ["n1", "minus1"], ["target"], axis=0),
             _node("Reshape", ["x", "target"], ["flat"], name="flatten"),
             _node("Transpose", ["W"], ["Wt"], perm=[1, 0], name="wt"),
             _node("MatMul", ["flat", "Wt"], ["y"], name="mm")]
    path = _save(onnx, tmp_path, nodes, [("x", ["N", 3, 4])], [("y", None)],
                 [_init("W", [5, 12]), _ints("zero", 0), _ints("axes", [0]), _ints("minus1", [-1])])
    report = importer.to_report(path)
    rows = _rows(report)
    assert list(rows) == ["flatten", "mm"]
    assert rows["flatten"].output_shape == (1, 12)
    # 5 outputs × 12 = 60 MACs; the weight's 60 params in the MatMul's row.
    assert _figures(rows["mm"]) == (60, 0, 60) and rows["mm"].counts.params == 60
    assert report.totals.params == 60 and _activations(report) == 12 + 5
    data = importer.count(path)  # count() still lists every node, as it did
    assert [n.name for n in data.nodes][:2] == ["shp", "n"]


def test_a_bias_added_per_channel_after_a_convolution(onnx, tmp_path):
    # Keras's exports add a convolution's bias as a [C, 1, 1] constant: a bias, one connection per
    # output (not an elementwise addition). X [1, 2, 4, 4], W [4, 2, 1, 1]: 64 outputs × 2 = 128 MACs and
    # products; + 64 bias connections = 192. A [1, 4, 4] constant would not be one value per channel.
    nodes = [_node("Conv", ["x", "W"], ["c"]), _node("Add", ["c", "B"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 2, 4, 4])], [("y", None)], [_init("W", [4, 2, 1, 1]),
                                                                               _init("B", [4, 1, 1])])
    rows = _rows(importer.to_report(path))
    assert (_figures(rows["c"]), _figures(rows["y"])) == ((128, 0, 128), (0, 0, 64))
    assert rows["y"].counts.params == 4
    nodes = [_node("Conv", ["x", "W"], ["c"]), _node("Add", ["c", "P"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 2, 4, 4])], [("y", None)], [_init("W", [4, 2, 1, 1]),
                                                                               _init("P", [1, 4, 4])], name="p.onnx")
    assert _figures(_rows(importer.to_report(path))["y"]) == (0, 64, 0)


def test_inputs_with_their_own_batch_symbols(onnx, tmp_path):
    # torch's list form of dynamic_axes names each input's batch apart: both are the batch, taken as 1.
    nodes = [_node("Add", ["a", "b"], ["s"]), _node("MatMul", ["s", "W"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("a", ["a_dynamic_axes_1", 4]), ("b", ["b_dynamic_axes_1", 4])],
                 [("y", None)], [_init("W", [4, 3])])
    report = importer.to_report(path)
    assert (_figures(_rows(report)["s"]), _figures(_rows(report)["y"])) == ((0, 4, 0), (12, 0, 12))


def test_a_constant_no_row_reads_leaves_the_compute_not_known(onnx, tmp_path):
    # A weight's Transpose that only the graph's output reads: computed once, not per sample, and
    # no row to fold into: its row stays (its parameters with it), its compute not known.
    nodes = [_node("MatMul", ["x", "W"], ["y"], name="mm"), _node("Transpose", ["V"], ["vt"], name="vt", perm=[1, 0])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 4])], [("y", None), ("vt", None)],
                 [_init("W", [4, 3]), _init("V", [2, 5])])
    report = importer.to_report(path)
    rows = _rows(report)
    assert rows["vt"].counts.params == 10 and report.totals.params == 22 and not rows["vt"].compute.known
    assert "node 'vt' (Transpose): it computes a constant that no node running per sample reads" in \
        report.warnings[0].message


def test_an_op_not_modelled_leaves_the_compute_not_known(onnx, tmp_path):
    nodes = [_node("MatMul", ["x", "W"], ["h"], name="mm"),
             _node("Einsum", ["h", "h"], ["y"], name="ein", equation="bi,bj->bij")]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 4])], [("y", None)], [_init("W", [4, 3])])
    report = importer.to_report(path)
    rows = _rows(report)
    assert rows["mm"].compute.known and _figures(rows["mm"]) == (12, 0, 12)  # what is known stays
    assert not rows["ein"].compute.known
    assert not report.compute.known and estimate_memory(report).activation_elements is None
    (w,) = report.warnings
    assert "node 'ein' (Einsum): Einsum is not modelled" in w.message
    from paramcount import render

    assert render.compute_lines(report) == ["MACs: not known", "Connections: not known"]  # never 0
    assert any("?" in row for row in render.rows(report, keys=["name", "macs"])[0])


def test_a_symbolic_axis_other_than_the_batch_is_not_guessed(onnx, tmp_path):
    path = _save(onnx, tmp_path, [_node("MatMul", ["x", "W"], ["y"])], [("x", ["N", "T", 4])], [("y", None)],
                 [_init("W", [4, 3])])
    report = importer.to_report(path)
    assert not report.compute.known
    assert "input 'x' has axis 1 of no fixed size (T)" in report.warnings[0].message


def _baked_graph(onnx, tmp_path, batch, head):
    """x [batch, 4, 8] -> Relu -> Reshape to a constant [batch, 32] -> `head` nodes reading r."""
    nodes = [_node("Relu", ["x"], ["a"]), _node("Reshape", ["a", "shape"], ["r"])] + head
    return importer.to_report(_save(onnx, tmp_path, nodes, [("x", [batch, 4, 8])], [("y", None)],
                                    [_ints("shape", [batch, 32]), _init("W", [32, 3]), _init("B", [3])],
                                    name=f"baked{batch}.onnx"))


def test_a_batch_baked_into_a_reshape_is_divided_out_from_the_files_figures(onnx, tmp_path):
    # A static batch of 2 and a Reshape to [2, 32] written as a constant: at one sample the shapes do
    # not follow (the Reshape still gives [2, 32]). Every node works element by element or against a
    # weight, so the file's figures / 2 are one sample's: Relu 2·32 = 64 -> 32 other ops; MatMul
    # 2 × 3 × 32 = 192 -> 96 MACs and connections; its bias Add 6 -> 3 connections: (96, 32, 99), as
    # the same graph at batch 1. Activations: 32 + 32 + 3 (the bias Add's none) = 67.
    head = [_node("MatMul", ["r", "W"], ["m"]), _node("Add", ["m", "B"], ["y"])]
    report = _baked_graph(onnx, tmp_path, 2, head)
    assert _known(report) == (96, 32, 99) == _known(_baked_graph(onnx, tmp_path, 1, head))
    assert _activations(report) == 67
    # Rows show the file's shapes (the batch-1 propagation's are no sample's).
    assert [leaf.output_shape for leaf in _rows(report).values()] == [(2, 4, 8), (2, 32), (2, 3), (2, 3)]


def test_a_baked_batch_with_work_that_need_not_follow_it_is_not_known(onnx, tmp_path):
    # r · rᵀ ([2, 32] · [32, 2]: 2 × 2 × 32 = 128 MACs) mixes the samples: at a batch of B it is
    # B² × 32, no multiple of one sample's. Not known, and the warning says the batch is baked in.
    head = [_node("Transpose", ["r"], ["t"]), _node("MatMul", ["r", "t"], ["y"], name="rrT")]
    report = _baked_graph(onnx, tmp_path, 2, head)
    assert not report.compute.known
    assert "the batch of 2 is baked into a constant the graph computes shapes from (at one sample, node 'r' " \
           "cannot be counted), and the file's figures / 2 are not taken: node 'rrT' (MatMul): it multiplies " \
           "two activations" in report.warnings[0].message
    # Rows of the not-known file: its own shapes.
    assert [leaf.output_shape for leaf in _rows(report).values()] == [(2, 4, 8), (2, 32), (32, 2), (2, 2)]


def test_rows_of_a_file_whose_batch_is_not_divided_out_show_its_own_shapes(onnx, tmp_path):
    # x [2, 4, 8] -> Relu -> Einsum (not modelled: not known): the rows show the file's shapes,
    # [2, 4, 8] and [2, 4, 4], not the batch-1 propagation's [1, ...]. (A baked batch: the test above.)
    nodes = [_node("Relu", ["x"], ["a"]), _node("Einsum", ["a", "a"], ["y"], equation="bij,bkj->bik")]
    report = importer.to_report(_save(onnx, tmp_path, nodes, [("x", [2, 4, 8])], [("y", None)], name="s.onnx"))
    assert not report.compute.known
    assert [leaf.output_shape for leaf in _rows(report).values()] == [(2, 4, 8), (2, 4, 4)]
    assert [leaf.input_shape for leaf in _rows(report).values()] == [(2, 4, 8), (2, 4, 8)]
    # A symbolic batch, not known for an op not modelled: the rows keep the file's symbol.
    nodes = [_node("Relu", ["x"], ["a"]), _node("Einsum", ["a", "a"], ["y"], equation="bij,bkj->bik")]
    report = importer.to_report(_save(onnx, tmp_path, nodes, [("x", ["N", 4, 8])], [("y", None)], name="e.onnx"))
    assert not report.compute.known
    assert [leaf.output_shape for leaf in _rows(report).values()] == [("N", 4, 8), ("N", 4, 4)]
    # Known: one sample's shapes, the batch axis at 1.
    report = importer.to_report(_save(onnx, tmp_path, nodes[:1], [("x", [2, 4, 8])], [("a", None)], name="r.onnx"))
    assert _known(report) == (0, 32, 0) and _rows(report)["a"].output_shape == (1, 4, 8)


def test_an_op_whose_attributes_do_not_fit_is_not_known(onnx, tmp_path):
    # A MaxPool without its required kernel_shape: no runtime runs it; not known, no traceback.
    path = _save(onnx, tmp_path, [_node("MaxPool", ["x"], ["y"])], [("x", [1, 1, 4, 4])], [("y", [1, 1, 2, 2])])
    report = importer.to_report(path)
    assert not report.compute.known and "node 'y' (MaxPool)" in report.warnings[0].message


def test_inputs_that_disagree_on_the_batch(onnx, tmp_path):
    path = _save(onnx, tmp_path, [_node("Add", ["a", "b"], ["y"])], [("a", [1, 4]), ("b", [3, 4])], [("y", None)])
    report = importer.to_report(path)
    assert not report.compute.known
    assert "the inputs disagree on axis 0, the batch: 'a' has 1, 'b' has 3" in report.warnings[0].message


def test_cli_reports_onnx_compute_and_memory(onnx, tmp_path, monkeypatch):
    from conftest import run_cli

    monkeypatch.chdir(tmp_path)
    _mlp(onnx, tmp_path, "N")
    out = run_cli("mlp.onnx", "--dtype", "fp16", "--batch", "2")
    assert out.exit_code == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert "MACs: 144; FLOPs = 2 × MACs" in lines and "Connections: 154" in lines
    # 18 activation elements (the bias Add's none) × 2 bytes = 36 B per sample, 72 B for two.
    assert "Activation memory (fp16): 36 B per sample, 72 B for a batch of 2" in lines
    import json

    doc = json.loads(run_cli("mlp.onnx", "--json", "--batch", "2").stdout)
    assert doc["totals"]["macs"] == 144 and doc["memory"]["activation_elements"] == 18
    assert [layer["output_shape"] for layer in doc["layers"]] == [[1, 8], [1, 8], [1, 8], [1, 2]]

    nodes = [_node("Einsum", ["x", "x"], ["y"], name="ein", equation="bi,bj->bij")]
    _save(onnx, tmp_path, nodes, [("x", [1, 4])], [("y", None)], name="e.onnx")
    out = run_cli("e.onnx")
    assert out.stderr.startswith("e.onnx:1:1: warning: MACs, other ops, connections and activations are not known: "
                                 "node 'ein' (Einsum)")
    assert "MACs: not known\nConnections: not known\n" in out.stdout and "Activation memory: not known" in out.stdout


def _not_known(report, text):
    assert not report.compute.known and estimate_memory(report).activation_elements is None
    (w,) = report.warnings
    assert text in w.message, w.message


def test_ceil_mode_pool_drops_a_window_that_starts_in_the_end_padding(onnx, tmp_path):
    # MaxPool k=2, s=2, pads 1, ceil_mode on [1, 3, 5, 5]: ceil((5 + 2 - 2) / 2) + 1 = 4 windows, but the
    # 4th starts at (4 - 1)·2 = 6 >= 5 + 1 (in the end padding): dropped, 3 a side (torch and ONNX's
    # spec; ONNX's shape inference says 4). Windows read rows 2·o - 1 + k in [0, 5): o=0: 1, o=1: 2,
    # o=2: 2 -> 5 pairs a side, 25 a channel, 75 reads. The 1×1 conv after: 8 × 9 outputs × 3 = 216 MACs.
    nodes = [_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
             _node("Conv", ["p", "W"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 3, 5, 5])], [("y", None)], [_init("W", [8, 3, 1, 1])])
    report = importer.to_report(path)
    rows = _rows(report)
    assert rows["p"].output_shape == (1, 3, 3, 3) and _figures(rows["p"]) == (0, 75, 75)
    assert _figures(rows["y"]) == (216, 0, 216) and _activations(report) == 27 + 72
    # Without padding: k=1, s=3 on 6: ceil(5 / 3) + 1 = 3, the 3rd starts at 6 >= 6: 2 positions.
    nodes = [_node("MaxPool", ["x"], ["p"], kernel_shape=[1], strides=[3], ceil_mode=1)]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 3, 6])], [("p", None)], name="p1.onnx")
    (leaf,) = _rows(importer.to_report(path)).values()
    assert leaf.output_shape == (1, 3, 2) and _figures(leaf) == (0, 6, 6)
    # ceil_mode with auto_pad: not modelled, not guessed.
    nodes = [_node("MaxPool", ["x"], ["p"], kernel_shape=[1], strides=[3], ceil_mode=1, auto_pad="SAME_UPPER")]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 2, 2])], [("p", None)], name="p2.onnx")
    _not_known(importer.to_report(path), "node 'p' (MaxPool): ceil_mode with auto_pad SAME_UPPER is not modelled")


def test_negative_dims_are_unknown_never_negative_counts(onnx, tmp_path):
    from onnx import TensorProto

    # An axis written as -1 ("unknown"): not a size. Axis 1: not known; axis 0, the batch: symbolic,
    # checked against a batch of 2: x [1, 8] @ W [8, 4] = 32 MACs.
    path = _save(onnx, tmp_path, [_node("MatMul", ["x", "W"], ["y"])], [("x", [1, -1, 8])], [("y", None)],
                 [_init("W", [8, 4])])
    report = importer.to_report(path)
    _not_known(report, "input 'x' has axis 1 of no fixed size (?)")
    path = _save(onnx, tmp_path, [_node("MatMul", ["x", "W"], ["y"], name="mm")], [("x", [-1, 8])], [("y", None)],
                 [_init("W", [8, 4])], name="b.onnx")
    report = importer.to_report(path)
    assert _known(report) == (32, 0, 32) and report.input_shape == ("?", 8)
    # An initializer with a negative dim (its bytes external, never read): a one-line error.
    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[8, -4])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "w.bin"
    path = _save(onnx, tmp_path, [_node("MatMul", ["x", "W"], ["y"])], [("x", [1, 8])], [("y", None)], [t],
                 name="n.onnx")
    with pytest.raises(Exception, match=r"initializer 'W' has a negative size in its dims \[8, -4\]"):
        importer.to_report(path)


def test_conv_transpose_same_output_is_input_times_stride(onnx, tmp_path):
    # ONNX's spec: with auto_pad SAME the output is input × stride (inference ignores auto_pad).
    # x [1, 2, 4, 4], W [2, 3, 3, 3], stride 2, dilation 3, output_padding 1: output 8 a side (not 9).
    # Total padding 2·3 + 1 + (3 - 1)·3 + 1 - 8 = 6, 3 before (SAME_UPPER). MACs: 32 inputs × 3 × 9 = 864.
    # Output rows 2·i - 3 + 3·k in [0, 8): i=0: 2; i=1: 2; i=2: 3; i=3: 2 -> 9 pairs, 81 a channel pair,
    # × 2 × 3 = 486. The 1×1 conv after: 4 × 64 outputs × 3 = 768 MACs (on 9×9: 972).
    nodes = [_node("ConvTranspose", ["x", "W"], ["ct"], kernel_shape=[3, 3], strides=[2, 2], dilations=[3, 3],
                   output_padding=[1, 1], auto_pad="SAME_UPPER"), _node("Conv", ["ct", "W2"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 2, 4, 4])], [("y", None)],
                 [_init("W", [2, 3, 3, 3]), _init("W2", [4, 3, 1, 1])], opset=19)
    rows = _rows(importer.to_report(path))
    assert rows["ct"].output_shape == (1, 3, 8, 8) and _figures(rows["ct"]) == (864, 0, 486)
    assert _figures(rows["y"]) == (768, 0, 768)
    # k=1, s=3 on 7: output 21, total padding 3·6 + 1 - 21 = -2: output no input reaches: not known.
    nodes = [_node("ConvTranspose", ["x", "W"], ["ct"], kernel_shape=[1, 1], strides=[3, 3], auto_pad="SAME_UPPER")]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 2, 7, 7])], [("ct", None)], [_init("W", [2, 3, 1, 1])],
                 opset=19, name="c2.onnx")
    _not_known(importer.to_report(path), "node 'ct' (ConvTranspose): its output [21, 21] is larger than its input")


@pytest.mark.parametrize("case", ["channels", "stride0", "dilation0", "kernel_rank", "ssa"])
def test_a_graph_no_runtime_would_run_is_not_known(onnx, tmp_path, case):
    # Declared shapes are not taken where ONNX's shape inference refuses a default-domain node.
    conv = lambda **kw: _node("Conv", ["x", "K"], ["y"], **kw)  # noqa: E731
    nodes, x, y, why = {
        "channels": ([conv()], [1, 5, 8, 8], [1, 4, 6, 6],
                     "its input has 5 channels where its weight [4, 3, 3, 3] and group 1 take 3"),
        "stride0": ([conv(strides=[0, 0])], [1, 3, 8, 8], [1, 4, 6, 6], "ONNX's shape inference refuses it"),
        "dilation0": ([conv(dilations=[0, 0])], [1, 3, 8, 8], [1, 4, 8, 8], "ONNX's shape inference refuses it"),
        "kernel_rank": ([_node("MaxPool", ["x"], ["y"], kernel_shape=[3])], [1, 3, 8, 8], [1, 3, 6, 8],
                        "node 'y' (MaxPool): ONNX's shape inference refuses it"),
        "ssa": ([_node("Relu", ["x"], ["h"], name="a"), _node("Sigmoid", ["x"], ["h"], name="b"),
                 _node("Tanh", ["h"], ["y"], name="c")], [1, 4], [1, 4], "node 'b' writes 'h', which node 'a' writes too"),
    }[case]
    path = _save(onnx, tmp_path, nodes, [("x", x)], [("y", y)], [_init("K", [4, 3, 3, 3])] if case != "ssa" else [])
    _not_known(importer.to_report(path), why)


@pytest.mark.parametrize("x, node, why", [
    ([1, 0, 8], "mm", "input 'x' has axis 1 of size 0 ([1, 0, 8])"),
    ([0, 5, 8], "mm", "input 'x' has axis 0 of size 0 ([0, 5, 8])"),
    ([1, 3, 2, 2], "conv", "node 'y' (Conv): 'y' has an axis of size 0 ([1, 4, 0, 0])"),
])
def test_zero_size_axes_are_not_known(onnx, tmp_path, x, node, why):
    # A 3×3 kernel on 2×2 without padding: (2 - 3) // 1 + 1 = 0 positions (torch refuses it).
    n, w = (_node("MatMul", ["x", "W"], ["y"]), _init("W", [8, 4])) if node == "mm" else \
        (_node("Conv", ["x", "W"], ["y"]), _init("W", [4, 3, 3, 3]))
    path = _save(onnx, tmp_path, [n], [("x", x)], [("y", None)], [w])
    _not_known(importer.to_report(path), why)


@pytest.mark.parametrize("batch", ["N", 1, 2])
def test_work_on_a_tensor_built_from_the_input_shape_is_per_sample(onnx, tmp_path, batch):
    # z = zeros(x.shape[0], 8) (Shape, Slice, Concat, ConstantOfShape: torch's first state of a cell),
    # then z @ W [8, 3] and x [·, 4] @ V [4, 3], added. z's size follows the batch: its work runs per
    # sample and is counted (not folded as a constant): 3 × 8 + 3 × 4 = 36 MACs and connections; the
    # Add: 3 other ops (no bias: neither operand is a constant). Activations: z 8, zW 3, xV 3, y 3 = 17.
    nodes = [_node("Shape", ["x"], ["s"]), _node("Slice", ["s", "zero", "one"], ["b"]),
             _node("Concat", ["b", "eight"], ["shp"], axis=0), _node("ConstantOfShape", ["shp"], ["z"]),
             _node("MatMul", ["z", "W"], ["zw"]), _node("MatMul", ["x", "V"], ["xv"]),
             _node("Add", ["xv", "zw"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [batch, 4])], [("y", None)],
                 [_ints("zero", [0]), _ints("one", [1]), _ints("eight", [8]), _init("W", [8, 3]), _init("V", [4, 3])])
    report = importer.to_report(path)
    assert _known(report) == (36, 3, 36) and _activations(report) == 17
    rows = _rows(report)
    assert _figures(rows["zw"]) == (24, 0, 24) and rows["z"].output_shape == (1, 8)


def test_a_bias_add_after_a_matmul_adds_no_activations(onnx, tmp_path):
    # Linear(16, 32) then Linear(32, 8) on [1, 6, 16], exported as MatMul + Add (bias) each: the layer's
    # output counts once, as paramcount's dense on [6, 16]: 6 × 32 + 6 × 8 = 240 (not 480).
    # MACs 6·32·16 + 6·8·32 = 3,072 + 1,536 = 4,608; connections + one per biased output: 4,608 + 240.
    nodes = [_node("MatMul", ["x", "W1"], ["m1"]), _node("Add", ["m1", "B1"], ["a1"]),
             _node("MatMul", ["a1", "W2"], ["m2"]), _node("Add", ["B2", "m2"], ["a2"])]
    path = _save(onnx, tmp_path, nodes, [("x", [1, 6, 16])], [("a2", None)],
                 [_init("W1", [16, 32]), _init("B1", [32]), _init("W2", [32, 8]), _init("B2", [8])])
    report = importer.to_report(path)
    assert _known(report) == (4_608, 0, 4_848) and _activations(report) == 240
    assert _known(report) == _spec_figures("input: [6, 16]\nlayers:\n  - {type: dense, units: 32}\n"
                                           "  - {type: dense, units: 8}\n")
    assert _activations(_spec("input: [6, 16]\nlayers:\n  - {type: dense, units: 32}\n"
                              "  - {type: dense, units: 8}\n")) == 240
    # The JSON's rows say the same: MatMul 6·32 = 192, its bias Add 0, MatMul 6·8 = 48, Add 0; the
    # sum of the rows is the total.
    doc = report.to_dict()
    assert [layer["activations"] for layer in doc["layers"]] == [192, 0, 48, 0]
    assert doc["totals"]["activations"] == 240


@pytest.mark.parametrize("batch", [1, "N"])
def test_shape_arithmetic_runs_at_the_files_opset(onnx, tmp_path, batch):
    # Opset 11: Squeeze and Unsqueeze take `axes` as an attribute (an input from opset 13); evaluated at
    # the newest version they raise, and the Reshape target stayed unknown. x [B, 4, 8]: Shape [B, 4, 8],
    # Slice [0:1] -> [B], Squeeze(axes 0) -> B, Unsqueeze(axes 0) -> [B], Concat with [32] -> [B, 32]:
    # Reshape x to [1, 32] at one sample; MatMul W [32, 3]: 3 outputs × 32 = 96 MACs and connections.
    # Activations: the Reshape's 32 (a row of its own: it moves the input) and the MatMul's 3.
    nodes = [_node("Shape", ["x"], ["s"]), _node("Slice", ["s", "zero", "one"], ["s0"]),
             _node("Squeeze", ["s0"], ["b"], axes=[0]), _node("Unsqueeze", ["b"], ["bu"], axes=[0]),
             _node("Concat", ["bu", "c32"], ["shp"], axis=0), _node("Reshape", ["x", "shp"], ["r"]),
             _node("MatMul", ["r", "W"], ["y"])]
    path = _save(onnx, tmp_path, nodes, [("x", [batch, 4, 8])], [("y", None)],
                 [_ints("zero", [0]), _ints("one", [1]), _ints("c32", [32]), _init("W", [32, 3])], opset=11)
    report = importer.to_report(path)
    assert _known(report) == (96, 0, 96) and _activations(report) == 35
    assert _rows(report)["r"].output_shape == (1, 32)


def _padded_conv(onnx, tmp_path, pad, opset=17, inits=(), head=None):
    nodes = [pad, head or _node("Conv", ["p", "W", "B"], ["y"], kernel_shape=[3, 3], strides=[2, 2])]
    return importer.to_report(_save(onnx, tmp_path, nodes, [("x", [1, 3, 8, 8])], [("y", None)],
                                    [_init("W", [8, 3, 3, 3]), _init("B", [8])] + list(inits), opset=opset,
                                    name=f"pad{opset}.onnx"))


def test_a_zero_pad_before_a_conv_is_its_padding(onnx, tmp_path):
    # Pad 1 on each side of [1, 3, 8, 8] (zeros), then a 3×3 conv, stride 2: 10 -> 4 positions a side,
    # as Conv with pads 1 on 8×8. MACs 8 × 16 × 3 × 9 = 3,456. Connections, padding excluded: along an
    # axis output o reads Pad rows 2·o + k, the input's 2·o + k - 1 in [0, 8): o=0: 2 taps, o=1..3: 3
    # -> 11 pairs; 121 a channel pair × 3 × 8 = 2,904, + 8 × 16 biases = 3,032 (not 3,456 + 128 = 3,584:
    # the zeros read as inputs). The same as the Conv with pads [1, 1, 1, 1] and paramcount's conv2d.
    pads = _ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])
    same = (3_456, 0, 3_032)
    report = _padded_conv(onnx, tmp_path, _node("Pad", ["x", "pads"], ["p"]), inits=[pads])
    assert _known(report) == same == _spec_figures("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, filters: 8, "
                                                   "kernel_size: 3, stride: 2, padding: 1}\n")
    conv = importer.to_report(_save(onnx, tmp_path, [_node("Conv", ["x", "W", "B"], ["y"], kernel_shape=[3, 3],
                                                           strides=[2, 2], pads=[1, 1, 1, 1])],
                                    [("x", [1, 3, 8, 8])], [("y", None)], [_init("W", [8, 3, 3, 3]), _init("B", [8])]))
    assert _known(conv) == same
    # An explicit zero constant_value; opset 9's attributes (value absent, then 0.0): the same.
    zero = _init("zero", [], 0.0)
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x", "pads", "zero"], ["p"]), inits=[pads, zero])) == same
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x"], ["p"], pads=[0, 0, 1, 1, 0, 0, 1, 1]), 9)) == same
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x"], ["p"], pads=[0, 0, 1, 1, 0, 0, 1, 1],
                                                     value=0.0), 9)) == same
    # Opset 18's axes: pads [1, 1] on axes [2, 3] only, begin then end: the same.
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x", "p2", "", "axes"], ["p"]), 18,
                               [_ints("p2", [1, 1, 1, 1]), _ints("axes", [2, 3])])) == same
    # Asymmetric (TensorFlow's SAME split for a stride 2 on an even size): 0 before, 1 after: 9 -> 4
    # positions a side, o reads 2·o + k in [0, 8): 3, 3, 3, 2 taps -> 11: 121 × 24 + 128 = 3,032 again.
    # Against 3 × 8 × 144 + 128 = 3,584 with the zeros read.
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x", "pads"], ["p"]),
                               inits=[_ints("pads", [0, 0, 0, 0, 0, 0, 1, 1])])) == same
    # A MaxPool 3, stride 2 after the same Pad: 16 windows, reads 121 a channel × 3 = 363, as MaxPool
    # with pads 1 (its padding read none).
    pool = _node("MaxPool", ["p"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    assert _known(_padded_conv(onnx, tmp_path, _node("Pad", ["x", "pads"], ["p"]), inits=[pads], head=pool)) == \
        (0, 363, 363)


def test_a_pad_that_is_not_the_ops_zero_padding(onnx, tmp_path):
    # Reflect, or a constant 1.5: the Pad's output holds values the conv reads: 3 × 8 × 144 + 128 = 3,584.
    pads = _ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])
    reflect = _node("Pad", ["x", "pads"], ["p"], mode="reflect")
    assert _known(_padded_conv(onnx, tmp_path, reflect, inits=[pads])) == (3_456, 0, 3_584)
    other = _node("Pad", ["x", "pads", "v"], ["p"])
    assert _known(_padded_conv(onnx, tmp_path, other, inits=[pads, _init("v", [], 1.5)])) == (3_456, 0, 3_584)
    # A zero Pad on the channel axis (3 -> 5 channels, a weight of 5): not modelled, not known.
    nodes = [_node("Pad", ["x", "cp"], ["p"]), _node("Conv", ["p", "W"], ["y"], name="conv", kernel_shape=[3, 3])]
    report = importer.to_report(_save(onnx, tmp_path, nodes, [("x", [1, 3, 8, 8])], [("y", None)],
                                      [_ints("cp", [0, 1, 0, 0, 0, 1, 0, 0]), _init("W", [8, 5, 3, 3])]))
    _not_known(report, "node 'conv' (Conv): the Pad 'p' before it pads its batch or channel axis (not modelled)")


# -- against torch: fvcore and paramcount's own figures ------------------------------------------


@pytest.fixture(scope="module")
def torch(onnx):
    return require("torch")


@pytest.fixture(scope="module")
def fvcore(torch):
    return load_oracle("fvcore_oracle")


def _export(torch, model, x, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opts = dict(dynamo=False, do_constant_folding=False)
        opts.update(kw)
        torch.onnx.export(model, (x,), str(path), **opts)
    return importer.to_report(path)


def _known(report):
    assert report.compute.known, [w.message for w in report.warnings]
    assert not report.warnings
    c = report.compute
    return c.macs, c.other_ops, c.connections


def _fvcore_macs(fvcore, model, x, matmul=False):
    ops = fvcore.by_operator(model, x)
    return fvcore.conv_linear(ops) + (ops.get("matmul", 0) + ops.get("bmm", 0) if matmul else 0)


def _sequential(torch, oracle, spec):
    """nn.Sequential of a flat spec as tests/torch_oracle.py builds it, with random values, and its input."""
    model, x = _spec_model(torch, oracle, spec)
    return _randomise(torch, model), x



RECURRENT = {"input": [10, 12], "layers": [
    {"type": "lstm", "hidden_size": 16, "num_layers": 2, "bidirectional": True},
    {"type": "gru", "hidden_size": 8}, {"type": "rnn", "hidden_size": 4}]}

ATTENTION = {"input": [6, 16], "layers": [
    {"type": "attention", "num_heads": 4}, {"type": "layernorm"}, {"type": "dense", "units": 32, "activation": "gelu"},
    {"type": "dense", "units": 16}]}


def test_lenet5_preset_exported_counts_as_paramcount_and_fvcore(torch, torch_oracle, fvcore, tmp_path):
    from pathlib import Path

    spec = torch_oracle.load_spec(Path(__file__).resolve().parent.parent / "architectures" / "lenet5.yaml")
    model, x = _sequential(torch, torch_oracle, spec)
    report = _export(torch, model, x, tmp_path / "lenet5.onnx")
    mine = analyze(load_preset("lenet5"))
    theirs = mine.compute
    # MACs, other_ops and connections all agree: ONNX's Tanh nodes do the activations' work, the
    # pools their windows', Flatten nothing.
    assert _known(report) == (theirs.macs, theirs.other_ops, theirs.connections)
    assert report.compute.macs == _fvcore_macs(fvcore, model, x) == 416_520
    # Activations: paramcount's 8,214 plus the outputs of C1, C3, C5 and F6 before their tanh, which
    # ONNX keeps as nodes of their own: 4,704 + 1,600 + 120 + 84.
    assert estimate_memory(mine).activation_elements == 8_214
    assert _activations(report) == 8_214 + 4_704 + 1_600 + 120 + 84


@pytest.mark.parametrize("spec", [CNN, RECURRENT, ATTENTION], ids=["cnn", "recurrent", "attention"])
def test_exported_specs_count_as_paramcount(torch, torch_oracle, tmp_path, spec):
    model, x = _sequential(torch, torch_oracle, spec)
    report = _export(torch, model, x, tmp_path / "m.onnx")
    theirs = _spec(yaml.safe_dump(spec)).compute
    macs, other, conn = _known(report)
    assert macs == theirs.macs
    if spec is not ATTENTION:  # the same layers, node for node
        assert (other, conn) == (theirs.other_ops, theirs.connections)
    else:  # torch's attention scales q and k (2 × 96 elements) and exports gelu as one Gelu node (opset 20)
        assert conn == theirs.connections


def test_cnn_equals_fvcore_at_a_symbolic_and_a_static_batch(torch, torch_oracle, fvcore, tmp_path):
    model, x = _sequential(torch, torch_oracle, CNN)
    expected = _known(_export(torch, model, x, tmp_path / "one.onnx"))
    assert expected[0] == _fvcore_macs(fvcore, model, x)
    dynamic = _export(torch, model, x, tmp_path / "dyn.onnx", input_names=["x"], dynamic_axes={"x": {0: "N"}})
    assert _known(dynamic) == expected and dynamic.input_shape[0] == "N"
    four = _export(torch, model, torch.zeros(4, *CNN["input"]), tmp_path / "four.onnx")
    assert _known(four) == expected and four.input_shape[0] == 4
    assert _activations(four) == _activations(dynamic) == _activations(_export(torch, model, x, tmp_path / "b.onnx"))


def _resnet_block(torch):
    nn = torch.nn

    class Block(nn.Module):
        """A torchvision-free ResNet basic block with a projection shortcut, then a classifier head."""

        def __init__(self, cin=8, cout=16):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))
            self.head = nn.Linear(cout, 5)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = torch.relu(self.bn2(self.conv2(y)) + self.down(x))
            return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))

    return _randomise(torch, Block())


RESNET_BLOCK = """
input: [8, 16, 16]
layers:
  - type: residual
    body:
      - {type: conv2d, filters: 16, kernel_size: 3, stride: 2, padding: 1, bias: false}
      - {type: batchnorm}
      - {type: relu}
      - {type: conv2d, filters: 16, kernel_size: 3, padding: 1, bias: false}
      - {type: batchnorm}
    shortcut:
      layers:
        - {type: conv2d, filters: 16, kernel_size: 1, stride: 2, bias: false}
        - {type: batchnorm}
  - {type: relu}
  - {type: globalavgpool}
  - {type: dense, units: 5}
"""


def test_resnet_block_equals_fvcore_and_paramcount(torch, fvcore, tmp_path):
    model = _resnet_block(torch)
    x = torch.zeros(1, 8, 16, 16)
    report = _export(torch, model, x, tmp_path / "block.onnx")
    macs, other, conn = _known(report)
    # conv1: 16·8·8 outputs × 8 × 9 = 73,728; conv2: 1,024 × 16 × 9 = 147,456; shortcut 1,024 × 8 = 8,192;
    # head 16 × 5 = 80: 229,456.
    assert macs == _fvcore_macs(fvcore, model, x) == 229_456
    theirs = _spec(RESNET_BLOCK).compute
    assert (macs, conn) == (theirs.macs, theirs.connections)
    # paramcount does not count a residual's addition; ONNX's Add node touches its 1,024 elements.
    assert other == theirs.other_ops + 16 * 8 * 8


def test_resnet18_preset_exported_counts_as_the_preset(torch, tmp_path):
    # The preset as tests/zoo_oracle.py writes it from torchvision's source, exported at 224 × 224.
    builder = load_oracle("zoo_oracle")
    model, x, _ = builder.build("resnet18")
    model = _randomise(torch, model.to_empty(device="cpu"))
    report = _export(torch, model, torch.zeros(x.shape), tmp_path / "resnet18.onnx")
    macs, other, conn = _known(report)
    theirs = analyze(load_preset("resnet18")).compute
    assert (macs, conn) == (theirs.macs, theirs.connections) == (1_814_073_344, 1_682_201_896)
    # ONNX adds each of the 8 blocks' residual (an Add node), paramcount's residual does not:
    # 2 blocks a stage at 64·56², 128·28², 256·14² and 512·7² = 2 × (200,704 + 100,352 + 50,176 + 25,088).
    assert other - theirs.other_ops == 2 * (200_704 + 100_352 + 50_176 + 25_088) == 752_640


def test_external_data_is_not_needed_for_compute(torch, torch_oracle, onnx, tmp_path):
    model, x = _sequential(torch, torch_oracle, CNN)
    inline = _known(_export(torch, model, x, tmp_path / "in.onnx"))
    out = tmp_path / "ext" / "model.onnx"
    out.parent.mkdir()
    onnx.save_model(onnx.load(str(tmp_path / "in.onnx")), str(out), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    (out.parent / "weights.bin").unlink()  # shapes come from the tensors' dims
    assert _known(importer.to_report(out)) == inline


def test_transformer_encoder_layer_equals_fvcore_and_paramcount(torch, fvcore, tmp_path):
    nn = torch.nn

    class Encoder(nn.Module):
        """Post-norm encoder layer, attention written out so that fvcore counts its products (matmul)."""

        def __init__(self, d=16, heads=4, ff=32):
            super().__init__()
            self.heads, self.qkv, self.out = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.f1, self.f2 = nn.Linear(d, ff), nn.Linear(ff, d)

        def forward(self, x):
            n, t, d = x.shape
            q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1) @ v
            x = self.n1(x + self.out(a.transpose(1, 2).reshape(n, t, d)))
            return self.n2(x + self.f2(torch.relu(self.f1(x))))

    model = _randomise(torch, Encoder())
    x = torch.zeros(1, 6, 16)
    static = _known(_export(torch, model, x, tmp_path / "enc.onnx"))
    dynamic = _known(_export(torch, model, x, tmp_path / "dyn.onnx", input_names=["x"],
                             dynamic_axes={"x": {0: "N"}}))
    assert static == dynamic
    # Projections 6 × (16·48 + 16·16) = 6,144; QKᵀ and AV 2 × 6² × 16 = 1,152; feed-forward
    # 2 × 6 × 16 × 32 = 6,144: 13,440.
    assert static[0] == _fvcore_macs(fvcore, model, x, matmul=True) == 13_440
    spec = ("input: [6, 16]\nlayers:\n  - type: residual\n    body: [{type: attention, num_heads: 4}]\n"
            "  - {type: layernorm}\n  - type: residual\n    body:\n"
            "      - {type: dense, units: 32, activation: relu}\n      - {type: dense, units: 16}\n"
            "  - {type: layernorm}\n")
    assert static[0] == _spec(spec).compute.macs


def test_dynamo_export_counts_the_same_macs(torch, torch_oracle, tmp_path):
    # The dynamo exporter's optimiser folds BatchNorm into the convolution before it (a bias, no
    # normalisation node): other_ops and connections follow the file, MACs are the same.
    require("onnxscript")
    model, x = _sequential(torch, torch_oracle, CNN)
    legacy = _known(_export(torch, model, x, tmp_path / "legacy.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamo = _known(_export(torch, model, x, tmp_path / "dynamo.onnx", dynamo=True))
    assert dynamo[0] == legacy[0] == 555_584


def test_ceil_mode_pool_exported_equals_torch_and_fvcore(torch, fvcore, tmp_path):
    # torch's pool gives 3×3 on 5×5 (k=2, s=2, pad 1, ceil_mode): the conv after runs on 3×3, as fvcore
    # and paramcount's spec count it: 8 × 9 × 3 = 216 MACs, bias 72: 288 connections; activations 27 + 72.
    nn = torch.nn
    model = _randomise(torch, nn.Sequential(nn.MaxPool2d(2, 2, 1, ceil_mode=True), nn.Conv2d(3, 8, 1)))
    x = torch.randn(1, 3, 5, 5)
    assert tuple(model(x).shape) == (1, 8, 3, 3)
    for kw in ({}, {"dynamo": True}):
        report = _export(torch, model, x, tmp_path / "ceil.onnx", **kw)
        macs, other, conn = _known(report)
        assert (macs, other, conn) == (216, 75, 75 + 288) and macs == _fvcore_macs(fvcore, model, x)
        assert _activations(report) == 99
    spec = _spec("input: [3, 5, 5]\nlayers:\n  - {type: maxpool2d, kernel_size: 2, stride: 2, padding: 1, "
                 "ceil_mode: true}\n  - {type: conv2d, filters: 8, kernel_size: 1}\n")
    assert spec.compute.macs == 216 and estimate_memory(spec).activation_elements == 99


def test_unrolled_gru_cell_counts_its_first_step_on_zeros(torch, tmp_path):
    # nn.GRUCell with no state starts from zeros(B, H), built from Shape(x) at a dynamic batch: the first
    # step's W_hh product runs per sample. 3 steps × 3 gates × 8 units × (12 + 8) = 1,440 MACs, as
    # paramcount's gru (it was 1,248: the first step's 3 × 8 × 8 = 192 folded as a constant).
    nn = torch.nn

    class Unroll(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.GRUCell(12, 8)

        def forward(self, x):
            h = None
            for t in range(x.shape[1]):
                h = self.c(x[:, t], h)
            return h

    model = _randomise(torch, Unroll())
    report = _export(torch, model, torch.randn(1, 3, 12), tmp_path / "cell.onnx", input_names=["x"],
                     dynamic_axes={"x": {0: "N"}})
    assert _known(report)[0] == 1_440 == _spec("input: [3, 12]\nlayers:\n  - {type: gru, hidden_size: 8}\n").compute.macs


@pytest.mark.parametrize("opset", [9, 11, 12])
def test_an_old_opset_export_counts_as_opset_13(torch, fvcore, tmp_path, opset):
    # Multi-head attention written out (view, permute: Unsqueeze with an `axes` attribute below opset
    # 13). On [1, 6, 16]: qkv 6 × 16 × 48 = 4,608; QKᵀ and AV 4 heads × 6 × 6 × 4 each = 576 + 576:
    # 5,760 MACs, as fvcore and the opset-13 export; every figure equal to opset 13's.
    nn = torch.nn

    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(16, 48)

        def forward(self, x):
            n, t, d = x.shape
            q, k, v = self.qkv(x).view(n, t, 3, 4, 4).permute(2, 0, 3, 1, 4)
            return torch.softmax(q @ k.transpose(-2, -1), -1) @ v

    model = _randomise(torch, Heads())
    x = torch.randn(1, 6, 16)
    new = _export(torch, model, x, tmp_path / "new.onnx", opset_version=13)
    for kw in ({}, {"input_names": ["x"], "dynamic_axes": {"x": {0: "N"}}}):
        old = _export(torch, model, x, tmp_path / "old.onnx", opset_version=opset, **kw)
        assert _known(old) == _known(new) and _known(old)[0] == 5_760 == _fvcore_macs(fvcore, model, x, matmul=True)
        assert _activations(old) == _activations(new)


def test_rows_of_a_not_known_export_at_a_static_batch_show_its_shapes(torch, tmp_path):
    # A conv, then an einsum (not modelled: not known) at a static batch of 3: the rows show the file's
    # [3, ...] shapes, not the batch-1 propagation's.
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(2, 4, 3)

        def forward(self, x):
            y = self.c(x)
            return torch.einsum("bchw,bdhw->bcd", y, y)

    report = _export(torch, _randomise(torch, Net()), torch.randn(3, 2, 6, 6), tmp_path / "e.onnx")
    assert not report.compute.known and "(Einsum)" in report.warnings[0].message
    assert [leaf.output_shape for leaf, _, _ in report.leaves()] == [(3, 4, 4, 4), (3, 4, 4)]


@pytest.mark.parametrize("opset", [9, 17])
def test_zero_pad2d_before_a_conv_equals_the_conv_with_padding(torch, fvcore, tmp_path, opset):
    # nn.ZeroPad2d(1) + Conv2d(3, 8, 3, stride=2) on 8×8 computes what Conv2d(..., padding=1) does: the
    # same 3,456 MACs (fvcore) and 3,032 connections (padding excluded), as paramcount's conv2d.
    nn = torch.nn
    padded = _randomise(torch, nn.Sequential(nn.ZeroPad2d(1), nn.Conv2d(3, 8, 3, stride=2)))
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1)).eval()
    conv[0].load_state_dict(padded[1].state_dict())
    x = torch.randn(1, 3, 8, 8)
    assert torch.allclose(padded(x), conv(x))
    a = _known(_export(torch, padded, x, tmp_path / "pad.onnx", opset_version=opset))
    b = _known(_export(torch, conv, x, tmp_path / "conv.onnx", opset_version=opset))
    assert a == b == (3_456, 0, 3_032) and a[0] == _fvcore_macs(fvcore, padded, x)
    assert a == _spec_figures("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, filters: 8, kernel_size: 3, "
                              "stride: 2, padding: 1}\n")


def test_a_dynamo_export_at_a_static_batch_divides_it_out(torch, tmp_path):
    # The dynamo exporter bakes nn.Flatten's [4, 288] into a Reshape at a batch of 4: the file's figures
    # / 4 equal the batch-1 export's (Conv 8 × 36 × 27 = 7,776 + Linear 4 × 288 = 1,152: 8,928 MACs).
    require("onnxscript")
    nn = torch.nn
    model = _randomise(torch, nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4)))
    one = _export(torch, model, torch.randn(1, 3, 8, 8), tmp_path / "one.onnx")
    four = _export(torch, model, torch.randn(4, 3, 8, 8), tmp_path / "four.onnx", dynamo=True)
    assert _known(four) == _known(one) and _known(one)[0] == 8_928
    assert _activations(four) == _activations(one)
