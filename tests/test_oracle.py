"""Differential tests: paramcount against an independent ``torch.nn`` translation.

For every fixture in ``tests/fixtures/specs/`` and every preset in
``architectures/``, ``tests/torch_oracle.py`` builds the torch model, counts its
parameters and buffers and runs a forward pass; paramcount's report must agree
on every layer's output shape, trainable / non-trainable counts, weights,
biases and unshared count, and on the totals.

torch is optional: without it these tests skip, unless the environment sets
``PARAMCOUNT_REQUIRE_TORCH=1`` (as ``.ci/run`` does), in which case they fail.
The fixture-coverage test at the end needs only pyyaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = sorted((TESTS / "fixtures" / "specs").glob("*.yaml"))
COMPOSITE = {"sequence", "residual", "parallel"}


def _flat(path):
    """A flat spec: no blocks, no composite layers, no repeat, ties or sharing. The composed zoo
    presets are checked against their own hand-built torch models in test_zoo.py."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return "blocks" not in data and all(
        isinstance(layer, dict) and layer.get("type") not in COMPOSITE
        and not {"repeat", "tie", "shared"} & set(layer) for layer in data["layers"])


PRESETS = sorted(p for p in (ROOT / "architectures").glob("*.yaml") if _flat(p))

# Harmless torch warnings (numpy missing; even kernels with padding='same').
pytestmark = [pytest.mark.filterwarnings("ignore:Failed to initialize NumPy"),
              pytest.mark.filterwarnings("ignore:Using padding='same'")]

CASES = [pytest.param(p, id=f"fixture-{p.stem}") for p in FIXTURES] + [
    pytest.param(p, id=f"preset-{p.stem}") for p in PRESETS
]


def test_cases_were_collected():
    assert len(FIXTURES) >= 15, FIXTURES
    if (ROOT / "architectures").is_dir():
        assert {p.stem for p in PRESETS} >= {"lenet5", "alexnet", "alexnet-torchvision"}


@pytest.mark.parametrize("path", CASES)
def test_paramcount_agrees_with_torch(path, torch_oracle):
    from paramcount import analyze, load_file

    expected = torch_oracle.oracle(path)
    got = analyze(load_file(str(path))).to_dict()

    problems = []

    def check(where, what, ours, theirs):
        if ours != theirs:
            problems.append(f"{where}: {what}: paramcount {ours!r}, torch {theirs!r}")

    check("model", "input_shape", got["input_shape"], expected.input_shape)
    check("model", "number of layers", len(got["layers"]), len(expected.layers))
    shape = expected.input_shape
    for i, (layer, oracle_layer) in enumerate(zip(got["layers"], expected.layers)):
        where = f"layer {i} ({layer.get('name')}, {oracle_layer.type})"
        check(where, "type", layer["type"], oracle_layer.type)
        if oracle_layer.name is not None:
            check(where, "name", layer["name"], oracle_layer.name)
        check(where, "input_shape", list(layer["input_shape"]), shape)
        check(where, "output_shape", list(layer["output_shape"]), oracle_layer.output_shape)
        check(where, "trainable", layer["trainable"], oracle_layer.trainable)
        check(where, "non_trainable", layer["non_trainable"], oracle_layer.non_trainable)
        check(where, "params", layer["params"], oracle_layer.params)
        check(where, "weights", layer["weights"], oracle_layer.weights)
        check(where, "biases", layer["biases"], oracle_layer.biases)
        # Conv layers: numel of the locally connected torch module (the layer itself
        # when weight_sharing is false); every other layer: its params.
        unshared = (oracle_layer.params if oracle_layer.params_unshared is None
                    else oracle_layer.params_unshared)
        check(where, "params_unshared", layer["params_unshared"], unshared)
        shape = oracle_layer.output_shape

    totals = got["totals"]
    check("totals", "trainable", totals["trainable"], expected.trainable)
    check("totals", "non_trainable", totals["non_trainable"], expected.non_trainable)
    check("totals", "params", totals["params"], expected.params)
    # State (running statistics) is what is neither a weight nor a bias: torch's buffers.
    check("totals", "params - weights - biases (state)",
          totals["params"] - totals["weights"] - totals["biases"],
          sum(layer.buffers for layer in expected.layers))
    check("totals", "weights", totals["weights"], expected.weights)
    check("totals", "biases", totals["biases"], expected.biases)
    check("totals", "params_unshared", totals["params_unshared"], expected.params_unshared)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------
# The oracle's own building blocks, checked against torch directly.

LC_CASES = [
    # nd, channels, filters, spatial, kernel, stride, dilation, pads, groups, bias
    (1, 3, 4, [11], [3], [1], [1], [(0, 0)], 1, True),
    (1, 4, 6, [12], [4], [3], [2], [(1, 2)], 2, False),
    (2, 2, 4, [7, 9], [3, 2], [2, 1], [1, 2], [(1, 1), (0, 1)], 2, True),
    (2, 3, 3, [6, 6], [2, 3], [1, 2], [1, 1], [(0, 0), (2, 2)], 1, False),
    (3, 2, 4, [4, 5, 6], [2, 3, 2], [1, 2, 2], [1, 1, 2], [(1, 0), (0, 1), (1, 1)], 2, True),
]


@pytest.mark.parametrize("case", LC_CASES, ids=[f"lc{c[0]}d-{i}" for i, c in enumerate(LC_CASES)])
def test_locally_connected_with_tied_weights_is_the_conv(case, torch_oracle):
    """LocallyConnected with every position's weights set to the conv's kernel is the conv."""
    import torch

    nd, channels, filters, spatial, kernel, stride, dilation, pads, groups, bias = case
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[nd](
        channels, filters, kernel, stride=stride, dilation=dilation, groups=groups, bias=bias)
    padded_conv = torch.nn.Sequential(torch_oracle.Pad(pads), conv)
    out_spatial = torch_oracle.conv_out_spatial(spatial, kernel, stride, dilation, pads)
    lc = torch_oracle.LocallyConnected(nd, channels, filters, kernel, stride, dilation, pads,
                                       groups, bias, out_spatial)
    positions = lc.weight.shape[0]
    assert list(lc.weight.shape) == [positions, filters,
                                     channels // groups * int(torch.tensor(kernel).prod())]
    with torch.no_grad():
        lc.weight.copy_(conv.weight.reshape(filters, -1).expand(positions, -1, -1))
        if bias:
            lc.bias.copy_(conv.bias.expand(positions, -1))
        x = torch.randn(2, channels, *spatial)
        want = padded_conv(x)
        have = lc(x)
    assert list(want.shape[2:]) == out_spatial
    assert have.shape == want.shape
    torch.testing.assert_close(have, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel,dilation", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (2, 3)])
def test_same_padding_stride1_is_torchs_same(kernel, dilation, torch_oracle):
    """For stride 1, the oracle's TensorFlow-style pads reproduce torch's padding='same'."""
    import torch

    conv = torch.nn.Conv1d(2, 3, kernel, dilation=dilation, padding="same")
    pads = torch_oracle.same_pads([9], [kernel], [1], [dilation])
    explicit = torch.nn.Sequential(torch_oracle.Pad(pads), torch.nn.Conv1d(2, 3, kernel,
                                                                           dilation=dilation))
    explicit[1].load_state_dict(conv.state_dict())
    x = torch.randn(1, 2, 9)
    with torch.no_grad():
        torch.testing.assert_close(explicit(x), conv(x))


# --------------------------------------------------------------------------
# The fixtures cover every layer type and option (needs only pyyaml).

LAYER_FIELDS = {
    "dense": {"units", "bias", "activation"},
    "flatten": set(), "dropout": {"rate"}, "lrn": {"size"},
    "batchnorm": {"affine"}, "layernorm": {"affine"},
    "embedding": {"num_embeddings", "embedding_dim"},
    "globalavgpool": set(), "globalmaxpool": set(),
    **{a: set() for a in ("relu", "tanh", "sigmoid", "softmax", "gelu", "silu",
                          "leaky_relu", "elu", "identity")},
}
for _nd in (1, 2, 3):
    LAYER_FIELDS[f"conv{_nd}d"] = {"filters", "kernel_size", "stride", "padding", "dilation",
                                   "groups", "bias", "weight_sharing", "activation"}
    for _pool in ("maxpool", "avgpool"):
        LAYER_FIELDS[f"{_pool}{_nd}d"] = {"kernel_size", "stride", "padding", "ceil_mode"}
    for _pool in ("adaptiveavgpool", "adaptivemaxpool"):
        LAYER_FIELDS[f"{_pool}{_nd}d"] = {"output_size"}


def _fixture_layers():
    for path in FIXTURES:
        for layer in yaml.safe_load(path.read_text(encoding="utf-8"))["layers"]:
            yield path, layer


def test_every_fixture_has_a_description():
    for path in FIXTURES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data.get("description"), str) and data["description"], path.name


def test_fixtures_cover_every_layer_type_and_field():
    seen_types = set()
    seen_fields = {kind: set() for kind in LAYER_FIELDS}
    for _, layer in _fixture_layers():
        seen_types.add(layer["type"])
        seen_fields.setdefault(layer["type"], set()).update(layer)
    assert set(LAYER_FIELDS) <= seen_types, sorted(set(LAYER_FIELDS) - seen_types)
    for kind, fields in LAYER_FIELDS.items():
        assert fields <= seen_fields[kind], (kind, sorted(fields - seen_fields[kind]))


def test_fixtures_cover_every_option_value():
    seen = set()
    for _, layer in _fixture_layers():
        kind, dims = layer["type"], layer["type"][-2:]
        padding = layer.get("padding")
        if "conv" in kind or "pool" in kind:
            if padding in ("same", "valid"):
                strided = layer.get("stride", 1 if "conv" in kind else 2) != 1
                seen.add((kind[:4], padding, strided if padding == "same" else None))
            elif isinstance(padding, list):
                seen.add((kind[:4], "list", None))
            elif isinstance(padding, int) and padding:
                seen.add((kind[:4], "int", None))
        if layer.get("weight_sharing") is False:
            seen.add(("unshared", dims))
        if layer.get("ceil_mode") is True:
            seen.add(("ceil_mode", kind[:3]))
        for flag in ("bias", "affine", "trainable"):
            if layer.get(flag) is False:
                seen.add((flag, False))
        if "activation" in layer:
            seen.add(("activation", layer["activation"]))
            seen.add(("activation on", kind[:4]))
    wanted = {("conv", "same", False), ("conv", "same", True), ("conv", "valid", None),
              ("conv", "list", None), ("conv", "int", None),
              ("maxp", "same", True), ("avgp", "same", False), ("maxp", "valid", None),
              ("avgp", "list", None), ("maxp", "int", None),
              ("unshared", "1d"), ("unshared", "2d"), ("unshared", "3d"),
              ("ceil_mode", "max"), ("ceil_mode", "avg"),
              ("bias", False), ("affine", False), ("trainable", False),
              ("activation on", "conv"), ("activation on", "dens")}
    wanted |= {("activation", a) for a in ("relu", "tanh", "sigmoid", "softmax", "gelu", "silu",
                                            "leaky_relu", "elu", "identity")}
    assert wanted <= seen, sorted(wanted - seen)
