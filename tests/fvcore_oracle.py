"""fvcore's FlopCountAnalysis as an oracle for paramcount's MACs (issue 9).

fvcore counts one fused multiply-add as one "flop", so its conv and linear figures are
multiply-accumulates: the convention of torchvision's published "GFLOPS", and of paramcount's
`macs`. This module shares no code with paramcount: it runs fvcore on the torch models that
tests/torch_oracle.py builds from a flat spec and that tests/zoo_oracle.py writes for the presets,
and keeps only fvcore's `conv` and `linear` (`addmm`, `matmul` of a Linear in older traces) counts.
The attention products (QKᵀ, AV) and normalisations fvcore counts apart are left out on purpose:
the comparison is the convolution and dense part, exactly.

Models are traced on the meta device where torch allows it (the transformers: Llama-2-7B
allocates nothing); torch's meta convolution cannot be traced, so a model that fails there is
re-made on the CPU with uninitialised weights (`to_empty`: shapes are all fvcore reads).
"""

from __future__ import annotations

import torch
from fvcore.nn import FlopCountAnalysis
from fvcore.nn.jit_handles import conv_flop_count, get_shape

# fvcore's operator names for the convolution and dense work (its linear handle; addmm where a
# trace spells a Linear that way; _convolution_mode, a string padding, through our handle).
CONV_LINEAR = ("conv", "_convolution_mode", "linear", "addmm")


def _conv_mode(inputs, outputs):
    """fvcore's convolution count for aten::_convolution_mode (a string padding such as 'same'),
    which fvcore 0.1.5 has no handle for: the same formula as its aten::_convolution handle."""
    x, w = (get_shape(v) for v in inputs[:2])
    return conv_flop_count(x, w, get_shape(outputs[0]), transposed=False)


def _count(model, example, train=False):
    analysis = FlopCountAnalysis(model.train(train), example)
    analysis.set_op_handle("aten::_convolution_mode", _conv_mode)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with torch.no_grad():
        ops = analysis.by_operator()
    return {k: int(v) for k, v in ops.items()}


def by_operator(model, example):
    """fvcore's counts by operator for `model` on `example` (batch of one), meta first, then CPU."""
    try:
        return _count(model, example)
    except (TypeError, RuntimeError):
        if example.device.type != "meta":
            raise
        model = model.to_empty(device="cpu")
        return _count(model, torch.zeros(example.shape, dtype=example.dtype))


def conv_linear(ops, einsum=False):
    """The convolution and dense MACs of fvcore's counts; with `einsum`, its einsum too (one MAC a
    product): tests/torch_oracle.py's locally connected layer is an einsum, and nothing else there is."""
    return sum(v for k, v in ops.items() if k in CONV_LINEAR or (einsum and k == "einsum"))


def zoo(name):
    """fvcore's counts by operator for the preset `name` as tests/zoo_oracle.py writes it."""
    from conftest import load_oracle

    model, example, _ = load_oracle("zoo_oracle").build(name)
    return by_operator(model, example)


def flat(spec):
    """fvcore's counts by operator, one dict per layer, for a flat spec (a dict or a YAML path) as
    tests/torch_oracle.py builds it, each layer on its own input (so layers can be compared one by one)."""
    from conftest import load_oracle

    oracle = load_oracle("torch_oracle")
    if not isinstance(spec, dict):
        spec = oracle.load_spec(spec)
    layers = [oracle.with_defaults(raw) for raw in spec["layers"]]
    first = next((layer["type"] for layer in layers if layer["type"] not in oracle.SHAPE_ONLY), None)
    x = torch.zeros((1, *spec["input"]), dtype=torch.long if first == "embedding" else torch.float32)
    out = []
    with torch.no_grad():
        for layer in layers:
            module, _ = oracle.build_layer(layer, list(x.shape[1:]))
            train = layer["type"] == "instancenorm"  # as torch_oracle runs it
            out.append(_count(module, x, train) if layer["type"] not in oracle.SHAPE_ONLY else {})
            x = module.train(train)(x)
    return out
