"""ONNX importer: torch models exported with torch.onnx.export must count as torch counts them:
parameters plus the buffers the exporter keeps (BatchNorm's running mean and variance), each
initializer once however many nodes use it.

Exports use the TorchScript exporter (`dynamo=False`) with `do_constant_folding=False`: constant
folding fuses BatchNorm into the convolution before it (eval mode) and stores transposed copies of
weights (a tied output projection becomes a second initializer), which would count what the file
holds, not what the torch model has. Every parameter and buffer is filled with random values
first: the exporter merges initializers of equal value (a fresh BatchNorm's γ and running variance
are both ones), which would hide tensors. One test exports with `dynamo=True` a model without
BatchNorm or ties, where the file holds exactly the parameters plus shape constants, left out."""

import sys
import warnings

import pytest

import paramcount
from conftest import require
from paramcount import render
from paramcount.importers import onnx as importer


@pytest.fixture(scope="module")
def onnx():
    return require("onnx")


@pytest.fixture(scope="module")
def torch(onnx):
    return require("torch")


def _randomise(torch, model):
    """Random values everywhere: torch's exporter merges initializers of equal value."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
        for _, b in model.named_buffers():
            if b.is_floating_point():
                b.uniform_(0.5, 1.5)
    return model.eval()


def _torch_count(model):
    """torch's parameters (each once: parameters() skips tied repeats) plus BatchNorm's statistics."""
    params = sum(p.numel() for p in model.parameters())
    state = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    return params, state


def _export(torch, model, args, path, **kw):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opts = dict(dynamo=False, do_constant_folding=False)
        opts.update(kw)
        torch.onnx.export(model, args, str(path), **opts)
    return path


def _check(torch, model, args, tmp_path, name="m.onnx"):
    _randomise(torch, model)
    path = _export(torch, model, args, tmp_path / name)
    params, state = _torch_count(model)
    data = importer.count(path)
    assert (data.params, data.state) == (params + state, state)
    report = importer.to_report(path)
    t = report.totals
    assert (t.params, t.trainable, t.non_trainable) == (params + state, params, state)
    assert sum(leaf.counts.params for leaf, _, _ in report.leaves()) == t.params
    assert report.compute.known and not report.warnings, [w.message for w in report.warnings]
    render_all(report)
    return data, report


def render_all(report):
    """The existing renderers print the report: table rows, summary, JSON, markdown."""
    render.rows(report)
    render.summary(report)
    render.to_json([report], False)
    render.to_markdown(report)
    d = report.to_dict()
    assert d["totals"]["params"] == report.totals.params


def _spec_model(torch, oracle, spec):
    """A torch nn.Sequential from a flat paramcount spec, layer by layer as the torch oracle builds them."""
    layers, shape = [], list(spec["input"])
    ids = spec["layers"][0]["type"] == "embedding"
    x = torch.zeros((1, *shape), dtype=torch.long if ids else torch.float32)
    for raw in spec["layers"]:
        module, _ = oracle.build_layer(oracle.with_defaults(raw), list(x.shape[1:]))
        module.eval()
        with torch.no_grad():
            x = module(x)
        layers.append(module)
    ids = spec["layers"][0]["type"] == "embedding"
    return torch.nn.Sequential(*layers), torch.zeros((1, *shape), dtype=torch.long if ids else torch.float32)


CNN = {"input": [3, 32, 32], "layers": [
    {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "filters": 32, "kernel_size": 3, "stride": 2, "groups": 2, "bias": False},
    {"type": "batchnorm"}, {"type": "globalavgpool"}, {"type": "dropout"},
    {"type": "dense", "units": 10}]}

TEXT = {"input": [20], "layers": [
    {"type": "embedding", "num_embeddings": 1000, "embedding_dim": 32},
    {"type": "layernorm"}, {"type": "conv1d", "filters": 8, "kernel_size": 3},
    {"type": "flatten"}, {"type": "dense", "units": 4}]}


@pytest.mark.parametrize("spec", [CNN, TEXT], ids=["cnn_bn", "text"])
def test_onnx_torch_oracle_models(torch, torch_oracle, tmp_path, spec):
    model, x = _spec_model(torch, torch_oracle, spec)
    data, report = _check(torch, model, (x,), tmp_path)
    assert not data.unused
    convs = [n for n in data.nodes if n.op_type == "Conv"]
    assert convs and all(n.output_shapes[0] is not None for n in convs)
    if spec is CNN:  # per node: the first convolution owns its kernel and bias
        first = convs[0]
        assert first.totals() == (16 * 3 * 9, 16, 0)
        bn = next(n for n in data.nodes if n.op_type == "BatchNormalization")
        assert bn.totals() == (16, 16, 32)
        assert report.input_shape == (1, 3, 32, 32)  # ONNX keeps the batch axis


def test_onnx_recurrent_and_attention(torch, tmp_path):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(12, 16, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(32, 8, batch_first=True)
            self.att = nn.MultiheadAttention(8, 2, batch_first=True)
            self.norm = nn.LayerNorm(8)
            self.out = nn.Linear(8, 3)

        def forward(self, x):
            h, _ = self.lstm(x)
            h, _ = self.gru(h)
            a, _ = self.att(h, h, h, need_weights=False)
            return self.out(self.norm(h + a))

    _check(torch, Net(), (torch.zeros(1, 10, 12),), tmp_path)


def _tied_lm(torch):
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.pos = nn.Parameter(torch.zeros(8, 16))
            self.ln = nn.LayerNorm(16)
            self.head = nn.Linear(16, 50, bias=False)
            self.head.weight = self.emb.weight  # tied: one tensor, two nodes
            self.scale = nn.Parameter(torch.tensor(2.0))

        def forward(self, ids):
            return self.head(self.ln(self.emb(ids) + self.pos)) * self.scale

    return LM()


def test_onnx_tied_weight_counted_once(torch, tmp_path):
    data, report = _check(torch, _tied_lm(torch), (torch.zeros(1, 8, dtype=torch.long),), tmp_path)
    users = [n for n in data.nodes if any(t.name == "emb.weight" for t in n.owned + n.borrowed)]
    assert len(users) == 2
    owner, other = users
    assert [t.name for t in owner.owned] == ["emb.weight"] and other.tied_to == owner.name
    tied = [leaf for leaf, _, _ in report.leaves() if leaf.tied_to]
    assert tied and tied[0].counts.params == 0


def test_onnx_dynamo_export_without_folding_artifacts(torch, tmp_path):
    require("onnxscript")
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
    _randomise(torch, model)
    path = _export(torch, model, (torch.zeros(1, 3, 8, 8),), tmp_path / "d.onnx", dynamo=True)
    data = importer.count(path)
    assert data.params == sum(p.numel() for p in model.parameters())
    assert all(t.dtype == "INT64" for t in data.constants)  # Reshape's target shape: not a parameter


def test_onnx_external_data_is_not_read(torch, torch_oracle, onnx, tmp_path):
    model, x = _spec_model(torch, torch_oracle, CNN)
    _randomise(torch, model)
    path = _export(torch, model, (x,), tmp_path / "in.onnx")
    proto = onnx.load(str(path))
    out = tmp_path / "ext" / "model.onnx"
    out.parent.mkdir()
    onnx.save_model(proto, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    weights = out.parent / "weights.bin"
    assert weights.stat().st_size > 0
    params, state = _torch_count(model)
    data = importer.count(out)
    assert data.params == params + state and all(t.external for t in data.tensors.values())
    weights.unlink()  # the bytes are never needed
    assert importer.count(out).params == params + state


def test_onnx_hand_built_graph_shared_unused_and_constants(onnx, tmp_path):
    from onnx import TensorProto, helper

    def init(name, dims, dtype=TensorProto.FLOAT):
        n = 1
        for d in dims:
            n *= d
        return helper.make_tensor(name, dtype, dims, [1] * n)

    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="mm1"),
        helper.make_node("Add", ["h", "b"], ["hb"], name="add1"),
        helper.make_node("MatMul", ["hb", "W"], ["h2"], name="mm2"),  # the same W again
        helper.make_node("Identity", ["b"], ["b_alias"], name="alias"),
        helper.make_node("Add", ["h2", "b_alias"], ["h3"], name="add2"),
        helper.make_node("Reshape", ["h3", "shape"], ["y"], name="reshape"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[init("W", [4, 4]), init("b", [4]), init("unused", [100]),
                     init("shape", [2], TensorProto.INT64)])
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    data = importer.count(path)
    assert (data.params, data.weights, data.biases) == (20, 16, 4)
    assert [t.name for t in data.unused] == ["unused"] and [t.name for t in data.constants] == ["shape"]
    by = {n.name: n for n in data.nodes}
    assert by["mm2"].tied_to == "mm1" and by["add2"].tied_to == "add1" and not by["alias"].owned
    assert by["mm1"].output_shapes == [("N", 4)]
    report = importer.to_report(path)
    assert report.totals.params == 20
    render_all(report)


def test_onnx_not_an_onnx_file(onnx, tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"\xff\xff\xff not protobuf")
    with pytest.raises(paramcount.SpecError) as e:
        importer.count(bad)
    assert "not an ONNX model" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(paramcount.SpecError, match="no such file"):
        importer.count(tmp_path / "missing.onnx")


def test_onnx_missing_package_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    path = tmp_path / "x.onnx"
    path.write_bytes(b"")
    with pytest.raises(paramcount.SpecError, match=r"paramcount\[onnx\]"):
        importer.count(path)


def test_onnx_recurrent_initial_states_are_not_parameters(onnx, tmp_path):
    # LSTM(12 -> 16) with zero initial_h/initial_c written as initializers (inputs 5 and 6, as dynamo
    # exports write them): W 4·16·12 = 768, R 4·16·16 = 1,024, B 8·16 = 128: 1,920 params, as torch's
    # nn.LSTM(12, 16); the two [1, 1, 16] states are constants, not weights.
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.ones(d, np.float32), n) for n, d in
             [("W", (1, 64, 12)), ("R", (1, 64, 16)), ("B", (1, 128)), ("h0", (1, 1, 16)), ("c0", (1, 1, 16))]]
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], ["y"], name="lstm", hidden_size=16)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "lstm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    data = importer.count(str(path))
    assert data.params == 1_920 and sorted(t.name for t in data.constants) == ["c0", "h0"]
