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
    # alpha, beta, k: not in the issue's field list, but the presets use them;
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

# Issue 7's layer types, with the defaults of its table.
FIELDS["conv2d"]["connections"] = None  # LeNet-1998's partial connection table
for _nd in (1, 2, 3):
    FIELDS[f"conv{_nd}d_transpose"] = {
        "filters": REQUIRED, "kernel_size": REQUIRED, "stride": 1, "padding": 0,
        "output_padding": 0, "dilation": 1, "groups": 1, "bias": True}
_DEPTHWISE = {"kernel_size": REQUIRED, "depth_multiplier": 1, "stride": 1, "padding": 0,
              "dilation": 1, "bias": True}
FIELDS["depthwise_conv2d"] = dict(_DEPTHWISE)
FIELDS["separable_conv2d"] = {"filters": REQUIRED, **_DEPTHWISE}
_RECURRENT = {"hidden_size": REQUIRED, "num_layers": 1, "bidirectional": False, "bias": True,
              "return_sequences": True, "convention": "torch"}
FIELDS["rnn"] = dict(_RECURRENT)
FIELDS["lstm"] = {**_RECURRENT, "proj_size": 0}
FIELDS["gru"] = {**_RECURRENT, "reset_after": True}
FIELDS["attention"] = {"num_heads": REQUIRED, "num_kv_heads": None, "head_dim": None,
                       "qkv_bias": True, "out_bias": True, "kv_dim": None}
FIELDS["rmsnorm"] = {"affine": True, "eps": None}
FIELDS["groupnorm"] = {"num_groups": REQUIRED, "affine": True, "eps": 1e-5}
FIELDS["instancenorm"] = {"affine": False, "track_running_stats": False}
FIELDS["upsample"] = {"scale_factor": None, "size": None}
FIELDS["reshape"] = {"shape": REQUIRED}
FIELDS["permute"] = {"dims": REQUIRED}
FIELDS["relu6"] = {}
FIELDS["positional_embedding"] = {"num_positions": REQUIRED}
FIELDS["class_token"] = {}
FIELDS["select"] = {"axis": 0, "index": 0}
FIELDS["subsample2d"] = {"kernel_size": 2}
FIELDS["rbf"] = {"units": REQUIRED}
# Layers that move values without computing on them: token ids stay token ids.
SHAPE_ONLY = {"flatten", "reshape", "permute", "dropout", "select", "identity"}

LAYER_TYPES = frozenset(FIELDS)
TOP_LEVEL_KEYS = {"name", "description", "input", "budget", "layers"}


class OracleSpecError(ValueError):
    """The oracle cannot translate this spec (it is not a valid spec), or torch refuses it."""


class TorchRefused(OracleSpecError):
    """torch itself refused to build or run a layer (its RuntimeError or ValueError, chained)."""


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
    buffers: int = 0  # numel of the module's buffers: state, never weights or biases

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


class Lambda(nn.Module):
    """A parameter-free shape operation on the batched tensor."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Partial(nn.Module):
    """A convolution whose filter f sees only the input channels ``table[f]`` (LeNet-1998's C3):
    one single-filter module per filter, on its own channels, outputs concatenated."""

    def __init__(self, table, modules):
        super().__init__()
        self.table = [list(t) for t in table]
        self.convs = nn.ModuleList(modules)

    def forward(self, x):
        return torch.cat([conv(x[:, idx]) for idx, conv in zip(self.table, self.convs)], dim=1)


class Recurrent(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU, batch first; the whole sequence or its last step."""

    def __init__(self, rnn, return_sequences):
        super().__init__()
        self.rnn, self.return_sequences = rnn, return_sequences

    def forward(self, x):
        out, _ = self.rnn(x)
        return out if self.return_sequences else out[:, -1]


class MHA(nn.Module):
    """nn.MultiheadAttention as self-attention, or attending to a sequence of kv_dim features."""

    def __init__(self, mha, kv_dim):
        super().__init__()
        self.mha, self.kv_dim = mha, kv_dim

    def forward(self, x):
        kv = x if self.kv_dim == x.shape[-1] else x.new_zeros(*x.shape[:-1], self.kv_dim)
        return self.mha(x, kv, kv, need_weights=False)[0]


class GQA(nn.Module):
    """Llama/Mistral-style attention from nn.Linear: num_kv_heads heads of keys and values, each
    shared by num_heads // num_kv_heads query heads."""

    def __init__(self, dim, heads, kv_heads, head_dim, kv_dim, qkv_bias, out_bias):
        super().__init__()
        if heads % kv_heads:
            raise OracleSpecError(f"num_heads {heads} is not a multiple of num_kv_heads {kv_heads}")
        self.heads, self.kv_heads, self.head_dim, self.kv_dim = heads, kv_heads, head_dim, kv_dim
        self.q = nn.Linear(dim, heads * head_dim, bias=qkv_bias)
        self.k = nn.Linear(kv_dim, kv_heads * head_dim, bias=qkv_bias)
        self.v = nn.Linear(kv_dim, kv_heads * head_dim, bias=qkv_bias)
        self.o = nn.Linear(heads * head_dim, dim, bias=out_bias)

    def forward(self, x):
        n, t, _ = x.shape
        kv = x if self.kv_dim == x.shape[-1] else x.new_zeros(n, t, self.kv_dim)
        q = self.q(x).view(n, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(kv).view(n, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v(kv).view(n, t, self.kv_heads, self.head_dim).transpose(1, 2)
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.o(y.transpose(1, 2).reshape(n, t, self.heads * self.head_dim))


class PositionalEmbedding(nn.Module):
    def __init__(self, positions, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(positions, dim))

    def forward(self, x):
        positions = torch.arange(x.shape[1], device=x.device)  # as Hugging Face looks them up
        try:
            return x + F.embedding(positions, self.weight)
        except IndexError as e:  # more steps than positions: torch's refusal
            raise TorchRefused(str(e)) from e


class ClassToken(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], dim=1)


class Subsample(nn.Module):
    """LeNet-1998's S layers: window sums times a coefficient, plus a bias, per channel."""

    def __init__(self, channels, kernel):
        super().__init__()
        self.pool = nn.AvgPool2d(kernel, stride=kernel)
        self.area = math.prod(kernel)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return self.pool(x) * self.area * self.weight[:, None, None] + self.bias[:, None, None]


class RBF(nn.Module):
    """LeNet-1998's output: squared Euclidean distance to one centre per unit."""

    def __init__(self, features, units):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(units, features))

    def forward(self, x):
        return ((x.unsqueeze(-2) - self.weight) ** 2).sum(-1)


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


def _int(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise OracleSpecError(f"{what}: expected an int, got {value!r}")
    return value


def _rank(layer, in_shape, ranks):
    if len(in_shape) not in ranks:
        raise OracleSpecError(f"{layer['type']} needs an input of rank {sorted(ranks)}, got {in_shape}")


def _partial_conv(layer, in_shape):
    """conv2d with a connection table: filter f is a one-filter conv on channels table[f]."""
    table, channels = layer["connections"], in_shape[0]
    if not isinstance(table, list) or len(table) != layer["filters"]:
        raise OracleSpecError("connections must list one entry per filter")
    if layer["groups"] != 1:
        raise OracleSpecError("connections with groups > 1")
    for seen in table:
        if (not isinstance(seen, list) or not seen or len(set(seen)) != len(seen)
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < channels
                           for c in seen)):
            raise OracleSpecError(f"connections entry {seen!r} on {channels} channels")
    parts = [_conv({**layer, "filters": 1}, [len(seen), *in_shape[1:]], 2) for seen in table]
    module = Partial(table, [m for m, _ in parts])
    if layer["weight_sharing"]:
        return module, lambda device=None: Partial(table, [f(device=device) for _, f in parts])
    return module, None


def _transpose(layer, in_shape, nd):
    _rank(layer, in_shape, {nd + 1})
    cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[nd]
    return cls(in_shape[0], layer["filters"], tuple(per_dim(layer["kernel_size"], nd, "kernel_size")),
               stride=tuple(per_dim(layer["stride"], nd, "stride")),
               padding=tuple(per_dim(layer["padding"], nd, "padding")),
               output_padding=tuple(per_dim(layer["output_padding"], nd, "output_padding")),
               groups=layer["groups"], bias=layer["bias"],
               dilation=tuple(per_dim(layer["dilation"], nd, "dilation"))), None


def _depthwise(layer, in_shape, separable):
    """Conv2d with groups = C (Keras DepthwiseConv2D); separable: that without a bias, then a 1x1
    Conv2d with one (Keras SeparableConv2D)."""
    _rank(layer, in_shape, {3})
    inner = in_shape[0] * _int(layer["depth_multiplier"], "depth_multiplier")
    depthwise = {"type": layer["type"], "kernel_size": layer["kernel_size"], "stride": layer["stride"],
                 "padding": layer["padding"], "dilation": layer["dilation"], "filters": inner,
                 "groups": in_shape[0], "bias": layer["bias"] and not separable, "weight_sharing": True}
    module, unshared = _conv(depthwise, in_shape, 2)
    if not separable:
        return module, unshared
    pointwise = nn.Conv2d(inner, layer["filters"], 1, bias=layer["bias"])

    def locally_connected(device=None):
        lc = unshared(device=device)
        out = lc(torch.zeros((1, *in_shape), device="meta")).shape[2:]
        return nn.Sequential(lc, LocallyConnected(2, inner, layer["filters"], [1, 1], [1, 1], [1, 1],
                                                  [(0, 0), (0, 0)], 1, layer["bias"], list(out),
                                                  device=device))

    return nn.Sequential(module, pointwise), locally_connected


def _recurrent(layer, in_shape):
    _rank(layer, in_shape, {2})  # [T, F]: the spec's sequences have no batch axis
    if layer["convention"] != "torch":
        raise OracleSpecError(f"convention {layer['convention']!r}: torch counts only its own "
                              "(keras_oracle counts Keras's)")
    kwargs = dict(num_layers=layer["num_layers"], bias=layer["bias"], batch_first=True,
                  bidirectional=layer["bidirectional"])
    kind = layer["type"]
    if kind == "lstm":
        kwargs["proj_size"] = layer["proj_size"]
    if kind == "gru" and layer["reset_after"] is not True:
        raise OracleSpecError("torch's GRU always resets after the recurrent product")
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    return Recurrent(cls(in_shape[1], layer["hidden_size"], **kwargs), layer["return_sequences"]), None


def _attention(layer, in_shape):
    _rank(layer, in_shape, {2})
    dim, heads = in_shape[1], layer["num_heads"]
    kv_heads = heads if layer["num_kv_heads"] is None else layer["num_kv_heads"]
    kv_dim = dim if layer["kv_dim"] is None else layer["kv_dim"]
    head_dim = layer["head_dim"]
    if head_dim is None:
        if dim % heads:  # nn.MultiheadAttention asserts this; a refusal, not an oracle failure
            raise OracleSpecError(f"embed_dim {dim} must be divisible by num_heads {heads}")
        head_dim = dim // heads
    if kv_heads == heads and head_dim * heads == dim and layer["qkv_bias"] == layer["out_bias"]:
        return MHA(nn.MultiheadAttention(dim, heads, bias=layer["qkv_bias"], kdim=kv_dim,
                                         vdim=kv_dim, batch_first=True), kv_dim), None
    return GQA(dim, heads, kv_heads, head_dim, kv_dim, layer["qkv_bias"], layer["out_bias"]), None


def _upsample(layer, in_shape):
    _rank(layer, in_shape, {2, 3, 4})  # torch's Upsample would read [C] as a batch
    size, scale = layer["size"], layer["scale_factor"]
    size = tuple(size) if isinstance(size, list) else size
    scale = tuple(float(s) for s in scale) if isinstance(scale, list) else scale
    return nn.Upsample(size=size, scale_factor=None if scale is None else scale), None


def _select(layer, in_shape):
    _rank(layer, in_shape, {2, 3, 4, 5, 6, 7, 8})
    axis, index = _int(layer["axis"], "axis"), _int(layer["index"], "index")
    if not -len(in_shape) <= axis < len(in_shape):
        raise OracleSpecError(f"axis {axis} on {in_shape}")
    axis = axis % len(in_shape) + 1  # past the batch axis

    def select(x):
        try:
            return x.select(axis, index)
        except IndexError as e:  # torch's refusal of an index out of range
            raise TorchRefused(str(e)) from e

    return Lambda(select), None


def _permute(layer, in_shape):
    dims = layer["dims"]
    if not isinstance(dims, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                             for d in dims):
        raise OracleSpecError(f"dims must be non-negative axes, got {dims!r}")
    return Lambda(lambda x: x.permute(0, *(d + 1 for d in dims))), None


def _reshape(layer, in_shape):
    shape = layer["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                              for d in shape):
        raise OracleSpecError(f"shape must list integers, got {shape!r}")
    if 0 in shape:  # torch would take 0 for an empty axis; no spec axis is empty
        raise OracleSpecError("a shape of 0")
    return Lambda(lambda x: x.reshape(x.shape[0], *shape)), None


def _new_layer(layer, in_shape):
    """Issue 7's layer types; None for the others."""
    kind = layer["type"]
    if kind in ("conv1d_transpose", "conv2d_transpose", "conv3d_transpose"):
        return _transpose(layer, in_shape, int(kind[4]))
    if kind in ("depthwise_conv2d", "separable_conv2d"):
        return _depthwise(layer, in_shape, kind == "separable_conv2d")
    if kind in ("rnn", "lstm", "gru"):
        return _recurrent(layer, in_shape)
    if kind == "attention":
        return _attention(layer, in_shape)
    if kind == "rmsnorm":
        return nn.RMSNorm(in_shape[-1], eps=layer["eps"], elementwise_affine=layer["affine"]), None
    if kind == "groupnorm":
        return nn.GroupNorm(layer["num_groups"], in_shape[0], eps=layer["eps"],
                            affine=layer["affine"]), None
    if kind == "instancenorm":
        _rank(layer, in_shape, {2, 3, 4})
        cls = {2: nn.InstanceNorm1d, 3: nn.InstanceNorm2d, 4: nn.InstanceNorm3d}[len(in_shape)]
        return cls(in_shape[0], affine=layer["affine"],
                   track_running_stats=layer["track_running_stats"]), None
    if kind == "upsample":
        return _upsample(layer, in_shape)
    if kind == "reshape":
        return _reshape(layer, in_shape)
    if kind == "permute":
        return _permute(layer, in_shape)
    if kind == "select":
        return _select(layer, in_shape)
    if kind == "relu6":
        return nn.ReLU6(), None
    if kind == "positional_embedding":
        _rank(layer, in_shape, {2})
        return PositionalEmbedding(layer["num_positions"], in_shape[1]), None
    if kind == "class_token":
        _rank(layer, in_shape, {2})
        return ClassToken(in_shape[1]), None
    if kind == "subsample2d":
        _rank(layer, in_shape, {3})
        return Subsample(in_shape[0], per_dim(layer["kernel_size"], 2, "kernel_size")), None
    if kind == "rbf":
        return RBF(in_shape[-1], layer["units"]), None
    return None


def build_layer(layer: dict, in_shape: list[int]):
    """Translate one spec layer (defaults applied) into (module, unshared_factory)."""
    kind = layer["type"]
    unshared = None
    built = _new_layer(layer, in_shape)
    if built is not None:
        module, unshared = built
    elif kind == "conv2d" and layer["connections"] is not None:
        module, unshared = _partial_conv(layer, in_shape)
    elif kind == "dense":
        module = nn.Linear(in_shape[-1], layer["units"], bias=layer["bias"])
    elif kind in ("conv1d", "conv2d", "conv3d"):
        module, unshared = _conv(layer, in_shape, int(kind[4]))
    elif kind[:7] in ("maxpool", "avgpool"):
        module, unshared = _pool(layer, in_shape, int(kind[7]), kind[:3])
    elif kind.startswith("adaptive"):
        nd = int(kind[-2])
        _rank(layer, in_shape, {nd + 1})  # torch would read a batch of one as an unbatched input
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


def count(module: nn.Module) -> tuple[int, int, int, int, int]:
    """(trainable, non_trainable, weights, biases, buffers) of one module."""
    trainable = non_trainable = weights = biases = buffers = 0
    for name, param in module.named_parameters():
        if param.requires_grad:
            trainable += param.numel()
        else:
            non_trainable += param.numel()
        last = name.split(".")[-1]  # bias, torch RNNs' bias_ih_l0, MultiheadAttention's in_proj_bias
        if last == "bias" or last.startswith("bias_") or last.endswith("_bias"):
            biases += param.numel()
        else:
            weights += param.numel()
    for name, buf in module.named_buffers():
        if name.split(".")[-1] != "num_batches_tracked":
            non_trainable += buf.numel()
            buffers += buf.numel()
    return trainable, non_trainable, weights, biases, buffers


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

    # Token ids (a LongTensor) when the first layer that computes is an embedding.
    first = next((layer["type"] for layer in layers if layer["type"] not in SHAPE_ONLY), None)
    x = torch.zeros((1, *input_shape), dtype=torch.long if first == "embedding" else torch.float32)

    with torch.no_grad():
        for index, layer in enumerate(layers):
            in_shape = list(x.shape[1:])
            try:
                module = None
                module, unshared_factory = build_layer(layer, in_shape)
                if not layer["trainable"]:
                    for param in module.parameters():
                        param.requires_grad_(False)
                # InstanceNorm checks its input only when it uses the input's statistics, as in
                # training; everything else is counted in eval mode.
                module.train(layer["type"] == "instancenorm")
                y = module(x)
                if 0 in y.shape:  # grouped ConvTranspose3d gives an empty output where the others refuse
                    raise TorchRefused(f"layer {index} ({layer['type']}) on {in_shape}: an empty output "
                                       f"{list(y.shape[1:])}")
            except OracleSpecError:
                raise
            except (RuntimeError, ValueError) as e:  # torch's refusals; any other error is a bug
                raise TorchRefused(f"layer {index} ({layer['type']}) on {in_shape}: {e}") from e
            trainable, non_trainable, weights, biases, buffers = count(module)

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
                weights=weights, biases=biases, params_unshared=params_unshared, buffers=buffers))
            x = y
    return result
