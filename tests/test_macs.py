"""MACs, other_ops and connections (issue 9): by hand, against the papers, against torchvision's
published figures, and against fvcore's FlopCountAnalysis (tests/fvcore_oracle.py).

Conventions under test: MACs are multiply-accumulates (FLOPs = 2 × MACs; fvcore's "flop" is one
MAC), at the spec's input size, one sample; a repeat computes once per occurrence, shared copies
included; `other_ops` counts elements touched by pooling, normalisation and activations;
`connections` are LeCun's: each output unit's inputs plus one for its bias.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import load_oracle, require

from paramcount import analyze, load_preset, load_text
from paramcount.layers import REGISTRY, LayerType

TESTS = Path(__file__).resolve().parent
SPECS = sorted((TESTS / "fixtures" / "specs").glob("*.yaml"))
PRESETS = sorted(p.stem for p in (TESTS.parent / "architectures").glob("*.yaml"))


def report(text):
    return analyze(load_text(text))


def leaf(text):
    """The first leaf's (macs, other_ops, connections)."""
    node = next(report(text).leaves())[0]
    return node.compute.macs, node.compute.other_ops, node.compute.connections


def one(input_shape, layer):
    return leaf(f"input: {list(input_shape)}\nlayers:\n  - {{{layer}}}\n")


# -- by hand --------------------------------------------------------------------------------------

def test_dense_on_every_position():
    # [5, 8] -> 3 units on each of 5 positions: 5 × 8 × 3 = 120 MACs; connections 5 × 3 × (8 + 1) = 135.
    assert one([5, 8], "type: dense, units: 3") == (120, 0, 135)
    # with an activation: its 15 outputs are other_ops; without bias: 5 × 3 × 8 = 120 connections.
    assert one([5, 8], "type: dense, units: 3, bias: false, activation: relu") == (120, 15, 120)


def test_grouped_dilated_convolution():
    # [4, 7, 7], 6 filters of 3x3, dilation 2, groups 2, padding 2: 7 + 4 - 5 + 1 = 7 positions a side.
    # Each filter sees 4 / 2 = 2 channels: 49 positions × 6 filters × 2 × 9 = 5,292 MACs.
    # Connections: along an axis, taps o - 2 + 2k in [0, 7) for o in 0..6, k in 0..2: o=0: k=1,2 (2);
    # o=1: k=1,2 (2); o=2..4: 3 each (9); o=5: k=0,1 (2); o=6: k=0,1 (2): 17 pairs; 17² = 289 reads a
    # channel, × 6 × 2 = 3,468, plus a bias for each of 6 × 49 = 294 outputs: 3,762.
    assert one([4, 7, 7], "type: conv2d, filters: 6, kernel_size: 3, dilation: 2, groups: 2, padding: 2") == (
        5_292, 0, 3_762)


def test_locally_connected_computes_as_the_convolution():
    shared = one([3, 8, 8], "type: conv2d, filters: 4, kernel_size: 3")
    local = one([3, 8, 8], "type: conv2d, filters: 4, kernel_size: 3, weight_sharing: false")
    # 6 × 6 positions × 4 filters × 3 × 9 = 3,888 MACs; + 144 biases = 4,032 connections.
    assert shared == local == (3_888, 0, 4_032)


def test_conv_transpose():
    # [2, 3, 3] -> 4 filters of 3x3, stride 2, padding 1: (3 - 1) × 2 - 2 + 3 = 5: [4, 5, 5].
    # Computed where the layer works, at its 9 input positions: each scatters 2 channels × 4 filters ×
    # 9 taps = 72 products: 648 MACs (fvcore's count: products landing in the cropped padding included).
    # Connections: along an axis, input i and tap k land at 2i - 1 + k in [0, 5): i=0: k=1,2; i=1: all 3;
    # i=2: k=0,1: 7 pairs; 7² = 49 per channel pair × 2 × 4 = 392, plus 100 biases: 492.
    assert one([2, 3, 3], "type: conv2d_transpose, filters: 4, kernel_size: 3, stride: 2, padding: 1") == (
        648, 0, 492)


def test_depthwise_and_separable():
    # [3, 6, 6], 3x3, multiplier 2: 4 × 4 positions × 6 kernels × 9 = 864 MACs; separable to 5 filters
    # adds 16 × 6 × 5 = 480: 1,344.
    assert one([3, 6, 6], "type: depthwise_conv2d, kernel_size: 3, depth_multiplier: 2")[0] == 864
    # separable connections: depthwise 864 (no bias), pointwise 16 × 5 × (6 + 1) = 560: 1,424.
    assert one([3, 6, 6], "type: separable_conv2d, filters: 5, kernel_size: 3, depth_multiplier: 2") == (
        1_344, 0, 1_424)


def test_lstm_over_the_sequence_in_both_conventions():
    # T=5, F=3, H=4: each step 4 gates × 4 × (3 inputs + 4 hidden) = 112; × 5 steps = 560 MACs.
    # 16 gate units × 5 steps = 80 activations. Connections add the biases per gate unit and step:
    # torch two (16 × 9 × 5 = 720), Keras one (16 × 8 × 5 = 640). MACs do not depend on the convention.
    assert one([5, 3], "type: lstm, hidden_size: 4") == (560, 80, 720)
    assert one([5, 3], "type: lstm, hidden_size: 4, convention: keras") == (560, 80, 640)
    # the last step only: every step still runs.
    assert one([5, 3], "type: lstm, hidden_size: 4, return_sequences: false")[0] == 560
    # both directions: twice. Projection to 2: 16 × (3 + 2) + 2 × 4 = 88 a step: 440.
    assert one([5, 3], "type: lstm, hidden_size: 4, bidirectional: true")[0] == 1_120
    assert one([5, 3], "type: lstm, hidden_size: 4, proj_size: 2")[0] == 440
    # two layers: the second reads 4 features: 16 × (4 + 4) = 128 a step; (112 + 128) × 5 = 1,200.
    assert one([5, 3], "type: lstm, hidden_size: 4, num_layers: 2")[0] == 1_200
    # GRU: 3 gates: 12 × 7 × 5 = 420, either convention.
    assert one([5, 3], "type: gru, hidden_size: 4")[0] == one([5, 3], "type: gru, hidden_size: 4, convention: keras")[0] == 420


def test_attention_projections_and_products():
    # T=4, D=8, 2 heads of 4 (q = kv = 8). Projections: 4 tokens × (8·8 query + 2 × 8·8 key, value +
    # 8·8 output) = 4 × 256 = 1,024. QKᵀ: per head 4 × 4 scores of 4 products: 64, × 2 heads = 128;
    # AV: the same, 128. In all 1,280 MACs. Softmax over 2 × 4 × 4 = 32 scores (other_ops).
    # Connections: 4 × (8 × 9 + 2 × 8 × 9 + 8 × 9) = 1,152 with the biases, + 256 products: 1,408.
    assert one([4, 8], "type: attention, num_heads: 2") == (1_280, 32, 1_408)
    # Grouped-query: 4 heads of 2, 2 KV heads (kv = 4): 4 × (64 + 2 × 8·4 + 64) = 768; products
    # 2 × 4 × 4 × 8 = 256: 1,024.
    assert one([4, 8], "type: attention, num_heads: 4, num_kv_heads: 2")[0] == 1_024


def test_moe_router_and_top_k_experts():
    # [5, 8], 4 gated experts of 16, top 2: per token router 8 × 4 = 32 and 2 × 3 × 8 × 16 = 768: 4,000.
    assert one([5, 8], "type: moe, num_experts: 4, top_k: 2, hidden: 16")[0] == 4_000
    assert one([5, 8], "type: moe, num_experts: 4, top_k: 2, hidden: 16, gated: false")[0] == 5 * (32 + 2 * 2 * 128)


def test_pools_and_normalisations_are_other_ops():
    # maxpool 2x2 on [3, 4, 4]: 3 × 2 × 2 windows of 4 = 48 elements, 48 connections, no MACs.
    assert one([3, 4, 4], "type: maxpool2d, kernel_size: 2") == (0, 48, 48)
    assert one([3, 4, 4], "type: batchnorm") == (0, 48, 0)
    assert one([3, 4, 4], "type: relu") == (0, 48, 0)
    assert one([3, 4, 4], "type: flatten") == (0, 0, 0)
    assert one([3, 4, 4], "type: globalavgpool") == (0, 48, 48)
    # adaptive average 5 -> 3 along each axis: windows [0,2) [1,4) [3,5): 2 + 3 + 2 = 7; 3 × 7² = 147.
    assert one([3, 5, 5], "type: adaptiveavgpool2d, output_size: 3") == (0, 147, 147)


def test_shared_copies_compute_every_time_and_tied_layers_too():
    r = report("input: [8]\nlayers:\n  - {type: dense, units: 8, repeat: 3, shared: true}\n")
    assert r.totals.params == 72 and r.compute.macs == 3 * 64
    doc = r.to_dict()
    assert doc["layers"][0]["macs"] == 64 and doc["layers"][0]["repeat"] == 3 and doc["totals"]["macs"] == 192
    r = report("input: [4]\nlayers:\n  - {type: embedding, num_embeddings: 10, embedding_dim: 6, name: emb}\n"
               "  - {type: dense, units: 10, tie: emb, bias: false}\n")
    assert r.compute.macs == 4 * 6 * 10  # the tied projection still computes


def test_composites_sum_their_parts_and_copies_that_compute_differently_keep_rows():
    r = report("""\
input: [3, 16, 16]
blocks:
  b:
    layers:
      - type: residual
        body: [{type: conv2d, filters: 3, kernel_size: 3, padding: 1}, {type: relu}]
layers:
  - {type: b, repeat: 2}
  - {type: conv2d, filters: 3, kernel_size: 3, repeat: 3}
""")
    total = sum(leaf.compute.macs // leaf.repeat * times for leaf, times, _ in r.leaves())
    assert r.compute.macs == total == 2 * 256 * 81 + (14 * 14 + 12 * 12 + 10 * 10) * 81
    assert r.layers[0].compute.macs == 2 * 256 * 81
    doc = r.to_dict()
    assert sum(layer["macs"] * layer["repeat"] for layer in doc["layers"]) == doc["totals"]["macs"]
    assert doc["tree"][0]["macs"] == 2 * 256 * 81


def test_no_type_holding_weights_reports_zero_macs_silently():
    """Walk the registry through every hand case (tests/test_geometry_hand.py covers every type): a
    layer that holds weights computes MACs, or its type says why not (`no_macs`)."""
    from test_geometry_hand import HAND, spec

    seen = set()
    for input_shape, layer, _, _ in HAND:
        r = analyze(load_text(spec(input_shape, layer)))
        node = next(r.leaves())[0]
        seen.add(node.type)
        kind = REGISTRY[node.type]
        if node.counts.weights:
            assert node.compute.macs > 0 or kind.no_macs, (node.type, layer)
    assert seen >= set(REGISTRY)
    for kind in REGISTRY.values():
        if kind.no_macs:
            assert type(kind).macs is LayerType.macs, kind.name  # says "none" and means it
    assert {k for k, t in REGISTRY.items() if t.no_macs} == {
        "batchnorm", "layernorm", "rmsnorm", "groupnorm", "instancenorm", "embedding", "positional_embedding",
        "class_token"}


# -- against the papers and torchvision ------------------------------------------------------------

def test_lenet5_1998_connections_as_the_paper():
    # LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    # Proc. IEEE 1998, section II.B, typed by hand: C1 122,304 connections; S2 5,880; C3 151,600;
    # S4 2,000; C5 48,120 (a full connection, weights = connections); F6 10,164; the output RBF 84 × 10
    # = 840. 340,908 in all.
    r = analyze(load_preset("lenet5-1998"))
    got = {leaf.path: leaf.compute.connections for leaf, _, _ in r.leaves() if leaf.compute.connections}
    assert got == {"C1": 122_304, "S2": 5_880, "C3": 151_600, "S4": 2_000, "C5": 48_120, "F6": 10_164,
                   "OUTPUT": 840}
    assert r.compute.connections == 340_908


# torchvision's model cards ("GFLOPS", which are MACs of convolutions and linear layers), as published.
PUBLISHED = {"alexnet-torchvision": "0.71", "vgg16": "15.47", "resnet18": "1.81", "resnet50": "4.09",
             "mobilenet-v2": "0.30"}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_torchvision_published_gmacs(name):
    r = analyze(load_preset(name))
    assert f"{r.compute.macs / 1e9:.2f}" == PUBLISHED[name]


def test_json_and_schema_hold_the_new_keys(cli_run):
    doc = json.loads(cli_run("--json", "resnet18").stdout)
    assert doc["totals"]["macs"] == 1_814_073_344
    assert {"macs", "other_ops", "connections"} <= set(doc["layers"][0])
    layer1 = next(node for node in doc["tree"] if node.get("name") == "layer1")
    assert layer1["macs"] == sum(layer["macs"] * layer["repeat"] for layer in doc["layers"]
                                 if layer["name"].startswith("layer1."))
    jsonschema = pytest.importorskip("jsonschema")
    from paramcount.schema import output_schema

    jsonschema.validate(doc, output_schema())


def test_the_summary_states_macs_flops_and_connections():
    from paramcount.render import summary

    lines = summary(analyze(load_preset("resnet18")))
    assert "MACs: 1,814,073,344 (1.81 G); FLOPs = 2 × MACs" in lines
    assert any(line.startswith("Connections: ") for line in lines)


# -- against fvcore ------------------------------------------------------------------------------

def fvcore_oracle():
    require("torch")
    return load_oracle("fvcore_oracle")


CONV_DENSE = {"dense", "conv1d", "conv2d", "conv3d", "conv1d_transpose", "conv2d_transpose", "conv3d_transpose",
              "depthwise_conv2d", "separable_conv2d"}


def conv_dense_macs(leaf):
    """A leaf's MACs of convolutions and dense layers, one occurrence: attention's projections are
    dense layers in torch (its QKᵀ and AV products are not)."""
    c = leaf.compute.macs // leaf.repeat
    if leaf.type in CONV_DENSE:
        return c
    if leaf.type == "attention":  # four kernels [fan_in, width], each on every token
        kernels = [t.shape for t in leaf.tensors if t.name.endswith("_kernel")]
        return leaf.input_shape[0] * sum(a * b for a, b in kernels)
    return 0


def test_attention_projection_macs_from_tensors():
    r = report("input: [4, 8]\nlayers:\n  - {type: attention, num_heads: 4, num_kv_heads: 2}\n")
    node = next(r.leaves())[0]
    assert conv_dense_macs(node) == 768


ZOO = ("lenet5-1998", "textcnn", "vgg16", "vgg16-bn", "resnet18", "resnet50", "mobilenet-v2", "gpt2",
       "bert-base", "albert-base", "llama2-7b")


@pytest.mark.parametrize("name", ZOO)
def test_conv_and_dense_macs_equal_fvcore_on_the_zoo(name):
    fv = fvcore_oracle()
    load_oracle("zoo_oracle")
    r = analyze(load_preset(name))
    mine = sum(conv_dense_macs(leaf) * times for leaf, times, _ in r.leaves())
    assert mine == fv.conv_linear(fv.zoo(name))


FLAT_PRESETS = ("lenet5", "alexnet", "alexnet-torchvision")


@pytest.mark.parametrize("source", [*FLAT_PRESETS, *SPECS], ids=lambda s: getattr(s, "stem", s))
def test_conv_and_dense_macs_equal_fvcore_layer_by_layer(source):
    fv = fvcore_oracle()
    path = TESTS.parent / "architectures" / f"{source}.yaml" if isinstance(source, str) else source
    r = analyze(load_preset(source) if isinstance(source, str) else load_text(path.read_text(), str(path)))
    theirs = fv.flat(path)
    leaves = [leaf for leaf, _, _ in r.leaves()]
    assert len(leaves) == len(theirs)
    for leaf, ops in zip(leaves, theirs):
        assert conv_dense_macs(leaf) == fv.conv_linear(ops, einsum=True), leaf.path


def test_conv_transpose_and_grouped_dilated_equal_fvcore():
    fv = fvcore_oracle()
    for input_shape, layer in (([2, 3, 3], "type: conv2d_transpose, filters: 4, kernel_size: 3, stride: 2, padding: 1"),
                               ([4, 7, 7], "type: conv2d, filters: 6, kernel_size: 3, dilation: 2, groups: 2, padding: 2"),
                               ([4, 9], "type: conv1d_transpose, filters: 6, kernel_size: 4, groups: 2, dilation: 2")):
        text = f"input: {input_shape}\nlayers:\n  - {{{layer}}}\n"
        (ops,) = fv.flat(yaml.safe_load(text))
        assert one(input_shape, layer)[0] == fv.conv_linear(ops), layer


def test_window_pairs_count_what_a_loop_counts():
    """The connections of padded windows, in closed form, against the pairs counted one by one."""
    import random

    from paramcount.layers import _adaptive_reads, window_pairs

    rng = random.Random(9)
    for _ in range(3_000):
        p, s, off, k, d, n = (rng.randint(1, 12), rng.randint(1, 4), rng.randint(0, 6), rng.randint(1, 7),
                              rng.randint(1, 3), rng.randint(1, 20))
        assert window_pairs(p, s, off, k, d, n) == sum(
            1 for o in range(p) for t in range(k) if 0 <= o * s - off + t * d < n), (p, s, off, k, d, n)
    for n in range(1, 30):
        for o in range(1, 30):
            assert _adaptive_reads(n, o) == sum(-(-(i + 1) * n // o) - i * n // o for i in range(o))


def test_huge_axes_cost_no_loop():
    # a 10^8-long padded axis and a 10^6-wide adaptive pool: closed forms, at once.
    assert one([1, 100_000_000], "type: maxpool1d, kernel_size: 3, stride: 1, padding: 1")[1] == 3 * 100_000_000 - 2
    assert one([1, 3_000_001], "type: adaptiveavgpool1d, output_size: 1000000")[1] == 3_000_001 + 1_000_000 - 1
