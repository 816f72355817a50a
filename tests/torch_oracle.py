"""An independent differential oracle: translate a paramcount spec into ``torch.nn``.

This module deliberately shares no code with ``paramcount``.  It parses the YAML
itself (``yaml.safe_load``), applies the defaults documented in the spec format
itself, builds one torch module per spec layer, and lets PyTorch do the work:

* parameter counts come from ``numel()`` of the module's parameters and buffers;
* output shapes come from a real forward pass (``eval()``, ``torch.no_grad()``,
  batch of one, zeros; a ``LongTensor`` of zeros when the first layer is an
  ``embedding``).

Conventions checked here (they are the spec's, written down independently):

* trainable      = numel of parameters with ``requires_grad``;
* non_trainable  = numel of buffers (BatchNorm's ``num_batches_tracked`` excluded)
                   + numel of parameters of layers with ``trainable: false``;
* weights/biases = numel of parameters whose name ends in ``weight`` / ``bias``
                   (BatchNorm's gamma is ``weight`` and beta is ``bias``);
* padding ``same`` keeps ceil(L/S) positions; total pad
  ``max((ceil(L/S)-1)*S + D*(K-1) + 1 - L, 0)``, ``left = total // 2``, the extra
  one on the right (TensorFlow's convention; for stride 1 we use torch's own
  ``padding='same'`` on convolutions, which pads the same way);
* ``weight_sharing: false`` builds :class:`LocallyConnected`, one weight set per
  output position.  For every shared convolution the oracle also builds the
  locally connected equivalent (on the ``meta`` device: shapes only, no memory)
  and runs it forward, which gives an independent ``params_unshared``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

REQUIRED = object()  # marker for fields without a default

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softmax": lambda: nn.Softmax(dim=-1),
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}

_CONV_FIELDS = {
    "filters": REQUIRED,
    "kernel_size": REQUIRED,
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias": True,
    "weight_sharing": True,
    "activation": None,
}
_POOL_FIELDS = {"kernel_size": REQUIRED, "stride": None, "padding": 0, "ceil_mode": False}

# Documented fields and defaults of every layer type (``type``, ``name`` and
# ``trainable`` are accepted everywhere).
FIELDS: dict[str, dict[str, Any]] = {
    "dense": {"units": REQUIRED, "bias": True, "activation": None},
    "flatten": {},
    "dropout": {"rate": 0.5},
    # alpha, beta, k: not in the field list, but the presets use them;
    # the defaults are torch's (and Caffe's).
    "lrn": {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0},
    "batchnorm": {"affine": True},
    "layernorm": {"affine": True},
    "embedding": {"num_embeddings": REQUIRED, "embedding_dim": REQUIRED},
    "globalavgpool": {},
    "globalmaxpool": {},
}
for _nd in (1, 2, 3):
    FIELDS[f"conv{_nd}d"] = dict(_CONV_FIELDS)
    FIELDS[f"maxpool{_nd}d"] = dict(_POOL_FIELDS)
    FIELDS[f"avgpool{_nd}d"] = dict(_POOL_FIELDS)
    FIELDS[f"adaptiveavgpool{_nd}d"] = {"output_size": REQUIRED}
    FIELDS[f"adaptivemaxpool{_nd}d"] = {"output_size": REQUIRED}
for _act in ACTIVATIONS:
    FIELDS[_act] = {}
FIELDS["leaky_relu"] = {"negative_slope": 0.01}  # torch's defaults
FIELDS["elu"] = {"alpha": 1.0}

LAYER_TYPES = frozenset(FIELDS)
TOP_LEVEL_KEYS = {"name", "description", "input", "budget", "layers"}


class OracleSpecError(ValueError):
    """The oracle cannot translate this spec (it is not a valid spec)."""


@dataclass
class LayerResult:
    type: str
    name: str | None  # the explicit name from the spec, None when defaulted
    trainable: int
    non_trainable: int
    output_shape: list[int]
    weights: int
    biases: int
    # Conv layers: numel of the locally connected equivalent (for layers with
    # weight_sharing: false that is the layer itself).  None for other layers.
    params_unshared: int | None = None

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def __iter__(self):  # allows ``trainable, non_trainable, shape = layer``
        return iter((self.trainable, self.non_trainable, self.output_shape))


@dataclass
class OracleResult:
    input_shape: list[int]
    layers: list[LayerResult] = field(default_factory=list)

    @property
    def trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def non_trainable(self) -> int:
        return sum(layer.non_trainable for layer in self.layers)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def biases(self) -> int:
        return sum(layer.biases for layer in self.layers)

    @property
    def params_unshared(self) -> int:
        return sum(
            layer.params if layer.params_unshared is None else layer.params_unshared
            for layer in self.layers
        )


# ---------------------------------------------------------------------------
# Helper modules


class Pad(nn.Module):
    """Explicit (possibly asymmetric) padding of the spatial axes.

    ``pads`` is one ``(left, right)`` pair per spatial axis, first axis first.
    """

    def __init__(self, pads: list[tuple[int, int]], value: float = 0.0):
        super().__init__()
        self.pads = [tuple(p) for p in pads]
        self.value = value

    def forward(self, x):
        flat: list[int] = []
        for left, right in reversed(self.pads):  # F.pad wants the last axis first
            flat += [left, right]
        return F.pad(x, flat, value=self.value)


class LocallyConnected(nn.Module):
    """A convolution without weight sharing, for 1, 2 or 3 spatial dimensions.

    weight: (positions, filters, in_channels // groups * prod(kernel))
    bias:   (positions, filters)                   (when ``bias`` is true)
    """

    def __init__(self, nd, in_channels, filters, kernel, stride, dilation, pads,
                 groups, bias, out_spatial, device=None):
        super().__init__()
        self.nd, self.kernel, self.stride, self.dilation = nd, kernel, stride, dilation
        self.groups, self.filters = groups, filters
        self.pad = Pad(pads)
        positions = math.prod(out_spatial)
        per_filter = in_channels // groups * math.prod(kernel)
        self.weight = nn.Parameter(torch.zeros(positions, filters, per_filter, device=device))
        self.bias = (nn.Parameter(torch.zeros(positions, filters, device=device))
                     if bias else None)

    def forward(self, x):
        x = self.pad(x)
        n, c = x.shape[:2]
        # Sliding windows along every spatial axis: (N, C, *out, *kernel).
        for axis in range(self.nd):
            k, s, d = self.kernel[axis], self.stride[axis], self.dilation[axis]
            x = x.unfold(2 + axis, d * (k - 1) + 1, s)[..., ::d]
        out_spatial = list(x.shape[2:2 + self.nd])
        positions = math.prod(out_spatial)
        g = self.groups
        # (N, G, C/G, *out, *kernel) -> (N, *out, G, C/G, *kernel) -> (N, P, G, C/G*prod(K))
        x = x.reshape(n, g, c // g, *x.shape[2:])
        perm = [0, *range(3, 3 + self.nd), 1, 2, *range(3 + self.nd, 3 + 2 * self.nd)]
        x = x.permute(*perm).reshape(n, positions, g, -1)
        w = self.weight.reshape(positions, g, self.filters // g, -1)
        y = torch.einsum("npgk,pgfk->npgf", x, w).reshape(n, positions, self.filters)
        if self.bias is not None:
            y = y + self.bias
        return y.permute(0, 2, 1).reshape(n, self.filters, *out_spatial)


# ---------------------------------------------------------------------------
# Spec handling


def load_spec(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def with_defaults(layer: dict) -> dict:
    if not isinstance(layer, dict) or "type" not in layer:
        raise OracleSpecError(f"layer without a type: {layer!r}")
    kind = layer["type"]
    if kind not in FIELDS:
        raise OracleSpecError(f"unknown layer type {kind!r}")
    fields = FIELDS[kind]
    unknown = set(layer) - set(fields) - {"type", "name", "trainable"}
    if unknown:
        raise OracleSpecError(f"{kind}: unknown fields {sorted(unknown)}")
    out = {"trainable": True, "name": None}
    for key, default in fields.items():
        if key in layer:
            out[key] = layer[key]
        elif default is REQUIRED:
            raise OracleSpecError(f"{kind}: missing required field {key!r}")
        else:
            out[key] = default
    out.update({k: layer[k] for k in ("type", "name", "trainable") if k in layer})
    return out


def per_dim(value, nd: int, what: str) -> list[int]:
    if isinstance(value, bool):
        raise OracleSpecError(f"{what}: bool where an int belongs")
    if isinstance(value, int):
        return [value] * nd
    if isinstance(value, list) and len(value) == nd and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    raise OracleSpecError(f"{what}: expected an int or {nd} ints, got {value!r}")


def same_pads(spatial, kernel, stride, dilation) -> list[tuple[int, int]]:
    """TensorFlow's 'same': ceil(L/S) outputs, the odd pad element on the right."""
    pads = []
    for length, k, s, d in zip(spatial, kernel, stride, dilation):
        out = -(-length // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - length, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def resolve_padding(padding, nd, spatial, kernel, stride, dilation, what):
    """Return one (left, right) pair per spatial dimension."""
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        return same_pads(spatial, kernel, stride, dilation)
    return [(p, p) for p in per_dim(padding, nd, what)]


def conv_out_spatial(spatial, kernel, stride, dilation, pads):
    # Only used to size the locally connected weight; its forward pass (unfold)
    # computes the real geometry and fails on any disagreement.
    return [
        (length + left + right - d * (k - 1) - 1) // s + 1
        for length, k, s, d, (left, right) in zip(spatial, kernel, stride, dilation, pads)
    ]


# ---------------------------------------------------------------------------
# Layer builders: each returns (module, unshared_factory or None)


def _conv(layer, in_shape, nd):
    if len(in_shape) != nd + 1:
        raise OracleSpecError(f"{layer['type']} needs a rank-{nd + 1} input, got {in_shape}")
    channels, spatial = in_shape[0], in_shape[1:]
    kernel = per_dim(layer["kernel_size"], nd, "kernel_size")
    stride = per_dim(layer["stride"], nd, "stride")
    dilation = per_dim(layer["dilation"], nd, "dilation")
    pads = resolve_padding(layer["padding"], nd, spatial, kernel, stride, dilation, "padding")
    filters, groups, bias = layer["filters"], layer["groups"], layer["bias"]

    def locally_connected(device=None):
        return LocallyConnected(nd, channels, filters, kernel, stride, dilation, pads, groups,
                                bias, conv_out_spatial(spatial, kernel, stride, dilation, pads),
                                device=device)

    if not layer["weight_sharing"]:
        return locally_connected(), None

    conv_cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[nd]
    kwargs = dict(kernel_size=tuple(kernel), stride=tuple(stride), dilation=tuple(dilation),
                  groups=groups, bias=bias)
    if layer["padding"] == "same" and all(s == 1 for s in stride):
        module = conv_cls(channels, filters, padding="same", **kwargs)  # torch's own 'same'
    elif all(left == right for left, right in pads):
        module = conv_cls(channels, filters, padding=tuple(left for left, _ in pads), **kwargs)
    else:  # 'same' with stride > 1: torch has no such padding mode
        module = nn.Sequential(Pad(pads), conv_cls(channels, filters, padding=0, **kwargs))
    return module, locally_connected


def _pool(layer, in_shape, nd, kind):
    if len(in_shape) != nd + 1:
        raise OracleSpecError(f"{layer['type']} needs a rank-{nd + 1} input, got {in_shape}")
    kernel = per_dim(layer["kernel_size"], nd, "kernel_size")
    stride = kernel if layer["stride"] is None else per_dim(layer["stride"], nd, "stride")
    cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("max", 3): nn.MaxPool3d,
           ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d, ("avg", 3): nn.AvgPool3d}[kind, nd]
    kwargs = dict(kernel_size=tuple(kernel), stride=tuple(stride), ceil_mode=layer["ceil_mode"])
    padding = layer["padding"]
    if padding == "same":
        pads = same_pads(in_shape[1:], kernel, stride, [1] * nd)
        fill = float("-inf") if kind == "max" else 0.0
        return nn.Sequential(Pad(pads, fill), cls(padding=0, **kwargs)), None
    if padding == "valid":
        return cls(padding=0, **kwargs), None
    return cls(padding=tuple(per_dim(padding, nd, "padding")), **kwargs), None


def _spatial_rank(layer, in_shape):
    nd = len(in_shape) - 1
    if nd not in (1, 2, 3):
        raise OracleSpecError(f"{layer['type']} needs a rank 2-4 input, got {in_shape}")
    return nd


def build_layer(layer: dict, in_shape: list[int]):
    """Translate one spec layer (defaults applied) into (module, unshared_factory)."""
    kind = layer["type"]
    unshared = None
    if kind == "dense":
        module = nn.Linear(in_shape[-1], layer["units"], bias=layer["bias"])
    elif kind in ("conv1d", "conv2d", "conv3d"):
        module, unshared = _conv(layer, in_shape, int(kind[4]))
    elif kind[:7] in ("maxpool", "avgpool"):
        module, unshared = _pool(layer, in_shape, int(kind[7]), kind[:3])
    elif kind.startswith("adaptive"):
        nd = int(kind[-2])
        cls = {("avg", 1): nn.AdaptiveAvgPool1d, ("avg", 2): nn.AdaptiveAvgPool2d,
               ("avg", 3): nn.AdaptiveAvgPool3d, ("max", 1): nn.AdaptiveMaxPool1d,
               ("max", 2): nn.AdaptiveMaxPool2d, ("max", 3): nn.AdaptiveMaxPool3d}[kind[8:11], nd]
        module = cls(tuple(per_dim(layer["output_size"], nd, "output_size")))
    elif kind in ("globalavgpool", "globalmaxpool"):
        nd = _spatial_rank(layer, in_shape)
        cls = {"avg": (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d),
               "max": (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)}
        module = nn.Sequential(cls[kind[6:9]][nd - 1](1), nn.Flatten())
    elif kind == "flatten":
        module = nn.Flatten()
    elif kind == "dropout":
        module = nn.Dropout(p=layer["rate"])
    elif kind == "lrn":
        module = nn.LocalResponseNorm(layer["size"], alpha=layer["alpha"], beta=layer["beta"],
                                      k=layer["k"])
    elif kind == "leaky_relu":
        module = nn.LeakyReLU(negative_slope=layer["negative_slope"])
    elif kind == "elu":
        module = nn.ELU(alpha=layer["alpha"])
    elif kind in ACTIVATIONS:
        module = ACTIVATIONS[kind]()
    elif kind == "batchnorm":
        cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}
        if len(in_shape) not in cls:
            raise OracleSpecError(f"batchnorm needs a rank 1-4 input, got {in_shape}")
        module = cls[len(in_shape)](in_shape[0], affine=layer["affine"])
    elif kind == "layernorm":
        module = nn.LayerNorm(in_shape[-1], elementwise_affine=layer["affine"])
    elif kind == "embedding":
        module = nn.Embedding(layer["num_embeddings"], layer["embedding_dim"])
    else:  # pragma: no cover - with_defaults already rejected it
        raise OracleSpecError(f"unknown layer type {kind!r}")

    activation = layer.get("activation")
    if activation is not None:
        if activation not in ACTIVATIONS:
            raise OracleSpecError(f"unknown activation {activation!r}")
        module = nn.Sequential(module, ACTIVATIONS[activation]())
    return module, unshared


# ---------------------------------------------------------------------------
# Counting


def count(module: nn.Module) -> tuple[int, int, int, int]:
    """(trainable, non_trainable, weights, biases) of one module."""
    trainable = non_trainable = weights = biases = 0
    for name, param in module.named_parameters():
        if param.requires_grad:
            trainable += param.numel()
        else:
            non_trainable += param.numel()
        if name.split(".")[-1] == "bias":
            biases += param.numel()
        else:
            weights += param.numel()
    for name, buf in module.named_buffers():
        if name.split(".")[-1] != "num_batches_tracked":
            non_trainable += buf.numel()
    return trainable, non_trainable, weights, biases


def oracle(spec: dict | str | Path) -> OracleResult:
    """Build the torch model for ``spec`` (a dict or a YAML path) and count it."""
    if not isinstance(spec, dict):
        spec = load_spec(spec)
    unknown = set(spec) - TOP_LEVEL_KEYS
    if unknown:
        raise OracleSpecError(f"unknown top-level keys {sorted(unknown)}")
    input_shape = list(spec["input"])
    layers = [with_defaults(raw) for raw in spec["layers"]]
    result = OracleResult(input_shape=input_shape)

    if layers and layers[0]["type"] == "embedding":
        x = torch.zeros((1, *input_shape), dtype=torch.long)
    else:
        x = torch.zeros((1, *input_shape))

    with torch.no_grad():
        for layer in layers:
            in_shape = list(x.shape[1:])
            module, unshared_factory = build_layer(layer, in_shape)
            if not layer["trainable"]:
                for param in module.parameters():
                    param.requires_grad_(False)
            module.eval()
            y = module(x)
            trainable, non_trainable, weights, biases = count(module)

            params_unshared = None
            if isinstance(module, LocallyConnected) or (
                    isinstance(module, nn.Sequential) and isinstance(module[0], LocallyConnected)):
                params_unshared = trainable + non_trainable
            elif unshared_factory is not None:
                # Shapes only: the meta device allocates nothing, so even
                # AlexNet's 10^8-parameter equivalents cost no memory.
                lc = unshared_factory(device="meta")
                lc_out = lc(torch.zeros((1, *in_shape), device="meta"))
                if list(lc_out.shape) != list(y.shape):  # activations keep the shape
                    raise AssertionError(
                        f"locally connected equivalent of {layer['type']} gives "
                        f"{list(lc_out.shape)}, the conv {list(y.shape)}")
                params_unshared = sum(p.numel() for p in lc.parameters())

            result.layers.append(LayerResult(
                type=layer["type"], name=layer["name"], trainable=trainable,
                non_trainable=non_trainable, output_shape=[int(n) for n in y.shape[1:]],
                weights=weights, biases=biases, params_unshared=params_unshared))
            x = y
    return result
