"""The registry of layer types: one entry per type declares its fields, shape rule and weights.

The parser, the did-you-mean and the README's reference table all read `REGISTRY`,
so adding a layer type touches this file only.
"""

from functools import cached_property
from math import gcd

from .errors import quote
from .limits import MAX_RANK
from .shapes import ShapeError, product, window_positions


class Invalid(Exception):
    """A value is unacceptable; the parser adds the position (of item `index` in a list).

    A field's check raises it about that field. `LayerType.validate` raises it about the layer's
    fields together and names the one to point at with `field` (None: the layer itself).
    """

    def __init__(self, message, index=None, field=None):
        super().__init__(message)
        self.index, self.field = index, field


def describe(v):
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, float):
        return f"{v!r} (a float)"
    if isinstance(v, list):
        if not all(i is None or isinstance(i, (str, int, float)) for i in v[:8]):
            return "a list"
        text = "[" + ", ".join(_short(i) for i in v[:8]) + (", ...]" if len(v) > 8 else "]")
        return text if len(text) < 60 else "a list"
    if isinstance(v, dict):
        return "a mapping"
    if v is None:
        return "nothing (null)"
    if isinstance(v, int) and v.bit_length() > 64:
        return f"an integer of {len(str(abs(v)))} digits"
    if isinstance(v, str):
        return quote(v)
    return repr(v) if isinstance(v, int) else "a nested list or mapping"


def _short(v):
    return str(v).lower() if isinstance(v, bool) else describe(v)


def first_bad(items, ok):
    return next((i for i, v in enumerate(items) if not ok(v)), None)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def positive_int(v, what="a positive integer"):
    if is_int(v) and v > 0:
        return v
    raise Invalid(f"must be {what}, got {describe(v)}")


def boolean(v):
    if isinstance(v, bool):
        return v
    raise Invalid(f"must be true or false, got {describe(v)}")


def number(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    raise Invalid(f"must be a number, got {describe(v)}")


def rate(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1:
        return v
    raise Invalid(f"must be a number from 0 up to (not including) 1, got {describe(v)}")


def per_axis(ndim, minimum=1, also=""):
    """An int, or a list of one int per spatial axis, each at least `minimum`; always a tuple."""

    def ok(i):
        return is_int(i) and i >= minimum

    def check(v):
        what = "positive integer" if minimum else "non-negative integer"
        if not isinstance(v, list):
            if ok(v):
                return (v,) * ndim
            raise Invalid(f"must be a {what} or a list of {ndim}{also}, got {describe(v)}")
        if len(v) != ndim:
            raise Invalid(f"must list {ndim} value{'s' if ndim > 1 else ''}, one per spatial axis, got {len(v)}")
        bad = first_bad(v, ok)
        if bad is not None:
            raise Invalid(f"must hold only {what}s, got {describe(v[bad])}", bad)
        return tuple(v)

    return check


def padding(ndim):
    ints = per_axis(ndim, minimum=0, also=", 'valid' or 'same'")

    def check(v):
        if v == "same":
            return v
        if v == "valid":
            return (0,) * ndim
        if isinstance(v, str):
            from .errors import did_you_mean

            raise Invalid(f"must be a non-negative integer or a list of {ndim}, 'valid' or 'same', got {describe(v)}"
                          f"{did_you_mean(v, ('valid', 'same'))}")
        return ints(v)

    return check


def choice(names):
    def check(v):
        if isinstance(v, str) and v in names:
            return v
        from .errors import did_you_mean

        hint = did_you_mean(v, names) if isinstance(v, str) else ""
        raise Invalid(f"must be one of {', '.join(names)}, got {describe(v)}{hint}")

    return check


class Field:
    __slots__ = ("name", "check", "default", "doc")
    REQUIRED = object()

    def __init__(self, name, check, default=REQUIRED, doc=""):
        self.name, self.check, self.default, self.doc = name, check, default, doc


class Weight:
    """A named tensor of a layer; role is 'weight', 'bias' or 'state' (non-trainable buffers)."""

    __slots__ = ("name", "shape", "role")

    def __init__(self, name, shape, role):
        self.name, self.shape, self.role = name, tuple(shape), role


def _axes(n):
    return ["C", "L"] if n == 1 else ["C", "H", "W"] if n == 2 else ["C", "D", "H", "W"]


class LayerType:
    """Zero parameters and shape-preserving unless a subclass says otherwise.

    What the parser reads (`known`, `field_by_name`, `defaults`, `required`) is derived from
    `fields` on first use, whether a subclass declares `fields` on the class or per instance.
    """

    name = ""
    doc = ""
    fields = ()
    aliases = {}  # PyTorch / Keras field names -> ours, for did-you-mean
    min_rank = 1
    takes_ids = False  # its input must hold token ids (embedding)
    keeps_ids = False  # moves values without computing on them: token ids stay token ids

    @cached_property
    def known(self):
        """Every key a layer of this type may hold."""
        return COMMON + tuple(f.name for f in self.fields)

    @cached_property
    def field_by_name(self):
        return {f.name: f for f in self.fields}

    @cached_property
    def defaults(self):
        return {f.name: f.default for f in self.fields if f.default is not Field.REQUIRED}

    @cached_property
    def required(self):
        return tuple(f.name for f in self.fields if f.default is Field.REQUIRED)

    def check_rank(self, shape):
        if len(shape) < self.min_rank:
            raise ShapeError(f"needs an input of at least {self.min_rank} axes")

    def complete(self, cfg):
        """Fill defaults that depend on other fields."""

    def validate(self, cfg):
        """Config-only checks across fields, after each field passed its own check and `complete`.

        Raises Invalid(message, field=NAME) naming the field to point at; returns None when fine.
        A value that failed its own check is None here, and checks involving it are skipped.
        """

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape

    def weights(self, cfg, shape, out):
        return []

    def unshared_weights(self, cfg, shape, out):
        """What the layer would hold without weight sharing; None where sharing does not apply."""
        return None

    # -- compute (issue 9): one copy of the layer, one sample, at the spec's input size -----------
    # A type that holds weights but computes no multiply-accumulates says why here (a normalisation,
    # a lookup, an addition); a test walks the registry so that none reports 0 MACs silently.
    no_macs = None

    def macs(self, cfg, shape, out):
        """Multiply-accumulates (FLOPs = 2 × MACs). Default: none."""
        return 0

    def other_ops(self, cfg, shape, out):
        """Elements touched by work that is not a multiply-accumulate (pooling, normalisation,
        activations, additions). Default: the output's elements for a layer that keeps the shape and
        computes on its values; none for one that only moves values (`keeps_ids`) or changes the shape."""
        return 0 if self.keeps_ids or out != shape else product(out)

    def connections(self, cfg, shape, out):
        """LeCun's connections: for each output unit, the inputs it combines plus one for its bias.
        Default: none (elementwise layers combine nothing)."""
        return 0


def _activation_ops(cfg, out):
    """An `activation` field's work: one element each of the output."""
    return product(out) if cfg.get("activation") else 0


def window_pairs(positions, stride, offset, kernel, dilation, length):
    """Along one axis, how many (position, kernel tap) pairs land inside the input: position o and tap
    k read input index o·stride − offset + k·dilation, counted when it lies in [0, length). Padding
    and windows hanging over the end add no connections.

    All pairs, less those before the input (o·s + k·d ≤ offset − 1) and those past its end (by
    symmetry, o'·s + k'·d ≤ the overhang − 1 with o' = positions − 1 − o, k' = kernel − 1 − k):
    each a count of lattice points under a line, summed over the shorter side, whose length the
    padding bounds."""
    overhang = (positions - 1) * stride + (kernel - 1) * dilation - offset - (length - 1)
    return positions * kernel - _under(offset - 1, stride, dilation, positions, kernel) - _under(
        overhang - 1, stride, dilation, positions, kernel)


def _under(limit, stride, dilation, positions, kernel):
    """#{(o, k): 0 ≤ o < positions, 0 ≤ k < kernel, o·stride + k·dilation ≤ limit}."""
    if limit < 0:
        return 0
    ks, os_ = min(kernel, limit // dilation + 1), min(positions, limit // stride + 1)
    if min(ks, os_) > 1_000_000:  # padding of millions: absurd; counted as all pairs below the line
        return min(ks * os_, positions * kernel)
    if ks <= os_:
        return sum(min((limit - k * dilation) // stride + 1, positions) for k in range(ks))
    return sum(min((limit - o * stride) // dilation + 1, kernel) for o in range(os_))


def _left_pads(cfg, spatial, dilation):
    """The padding before each spatial axis (TensorFlow's split for `same`: the extra one after)."""
    pads = cfg["padding"]
    if pads != "same":
        return pads
    return tuple(max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0) // 2
                 for n, k, s, d in zip(spatial, cfg["kernel_size"], cfg["stride"], dilation))


def _window_reads(cfg, shape, out, dilation):
    """Per output channel, the input elements all windows read, summed (padding excluded)."""
    n = 1
    for o, s, p, k, d, length in zip(out[1:], cfg["stride"], _left_pads(cfg, shape[1:], dilation),
                                     cfg["kernel_size"], dilation, shape[1:]):
        n *= window_pairs(o, s, p, k, d, length)
    return n


class Spatial(LayerType):
    """Convolutions and pools over `ndim` spatial axes, channels first."""

    ndim = 2

    def check_rank(self, shape):
        if len(shape) != self.ndim + 1:
            axes = ", ".join(_axes(self.ndim))
            raise ShapeError(f"needs an input [{axes}]")

    def positions(self, cfg, spatial, dilation, ceil_mode=False):
        pads = cfg["padding"]
        if pads == "same":
            pads = ("same",) * self.ndim
        return tuple(
            window_positions(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip(spatial, cfg["kernel_size"], cfg["stride"], pads, dilation)
        )


ACTIVATIONS = ("relu", "tanh", "sigmoid", "softmax", "gelu", "silu", "leaky_relu", "elu", "identity")


class Conv(Spatial):
    aliases = {
        "out_channels": "filters", "kernel": "kernel_size", "strides": "stride",
        "dilation_rate": "dilation", "use_bias": "bias",
    }

    def __init__(self, ndim):
        self.ndim = ndim
        self.name = f"conv{ndim}d"
        self.doc = f"{ndim}-D convolution, input [{', '.join(_axes(ndim))}]"
        self.fields = (
            Field("filters", positive_int, doc="output channels"),
            Field("kernel_size", per_axis(ndim), doc="int, or one per spatial axis"),
            Field("stride", per_axis(ndim), (1,) * ndim),
            Field("padding", padding(ndim), (0,) * ndim, "int, one per axis, `valid` or `same`"),
            Field("dilation", per_axis(ndim), (1,) * ndim),
            Field("groups", positive_int, 1, "must divide input channels and filters"),
            Field("bias", boolean, True),
            Field("weight_sharing", boolean, True, "false: locally connected, one kernel per output position"),
            Field("activation", choice(ACTIVATIONS), None, "applied after; no parameters"),
        )
        if ndim == 2:
            self.fields += (Field("connections", connection_table, None,
                                  "one list per filter of the input channels it sees (LeNet-1998's C3 table); "
                                  "none: all of them"),)

    def validate(self, cfg):
        filters, groups = cfg["filters"], cfg["groups"]
        if filters and groups and filters % groups:
            raise Invalid(f"groups={groups} does not divide filters={filters}", field="groups")
        table = cfg.get("connections")
        if table is not None:
            if groups and groups != 1:
                raise Invalid(f"groups must be 1 with a connection table, got {groups}", field="groups")
            if filters and len(table) != filters:
                raise Invalid(f"connections lists {len(table)} filter{'s' if len(table) != 1 else ''}, "
                              f"filters is {filters}", field="connections")

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        channels, groups, filters = shape[0], cfg["groups"], cfg["filters"]
        if channels % groups:
            raise ShapeError(f"groups={groups} does not divide the {channels} input channels", "groups")
        if filters % groups:
            raise ShapeError(f"groups={groups} does not divide filters={filters}", "groups")
        table = cfg.get("connections")
        if table is not None:
            top = max(max(seen) for seen in table)
            if top >= channels:
                raise ShapeError(f"connections name input channel {top}, but the input has {channels} "
                                 f"(numbered from 0)", "connections")
        return (filters,) + self.positions(cfg, shape[1:], cfg["dilation"])

    def _tensors(self, cfg, shape, out, per_position):
        filters, fan_in, kernel = cfg["filters"], shape[0] // cfg["groups"], cfg["kernel_size"]
        table = cfg.get("connections")
        if table is not None:  # each filter's kernel covers only its own input channels
            links = sum(len(seen) for seen in table)
            kernel_shape, bias_shape = (links,) + kernel, (filters,)
            if per_position:
                kernel_shape, bias_shape = out[1:] + (links * product(kernel),), out[1:] + (filters,)
        elif per_position:  # locally connected: one kernel and bias per output position
            kernel_shape, bias_shape = out[1:] + (filters, fan_in * product(kernel)), out[1:] + (filters,)
        else:
            kernel_shape, bias_shape = (filters, fan_in) + kernel, (filters,)
        tensors = [Weight("kernel", kernel_shape, "weight")]
        if cfg["bias"]:
            tensors.append(Weight("bias", bias_shape, "bias"))
        return tensors

    def weights(self, cfg, shape, out):
        return self._tensors(cfg, shape, out, not cfg["weight_sharing"])

    def unshared_weights(self, cfg, shape, out):
        return self._tensors(cfg, shape, out, True)

    def _links(self, cfg, shape):
        """Input channels summed over the filters: filters × C/groups, or the connection table's."""
        table = cfg.get("connections")
        return sum(len(seen) for seen in table) if table is not None else cfg["filters"] * (shape[0] // cfg["groups"])

    def macs(self, cfg, shape, out):
        """Every output position, every filter, its input channels × the kernel (padding included, as
        fvcore and torchvision count); the same with or without weight sharing (locally connected)."""
        return product(out[1:]) * self._links(cfg, shape) * product(cfg["kernel_size"])

    def other_ops(self, cfg, shape, out):
        return _activation_ops(cfg, out)

    def connections(self, cfg, shape, out):
        """Inputs each output unit really reads (padding reads none) plus its bias."""
        reads = _window_reads(cfg, shape, out, cfg["dilation"])
        return self._links(cfg, shape) * reads + (product(out) if cfg["bias"] else 0)


def connection_table(v):
    """A list per filter of distinct input channel numbers (from 0); nested lists may come as nodes."""
    what = "a list with one list of input channels (numbered from 0) per filter"
    if not isinstance(v, list) or not v:
        raise Invalid(f"must be {what}, got {describe(v)}")
    table = []
    for i, item in enumerate(v):
        seen = getattr(item, "value", item) if not isinstance(item, (list, str, int, float)) else item
        if not isinstance(seen, list) or not seen:
            raise Invalid(f"must be {what}; item {i} is {describe(_plain(seen))}", i)
        seen = [_plain(c) for c in seen]
        bad = first_bad(seen, lambda c: is_int(c) and c >= 0)
        if bad is not None:
            raise Invalid(f"must hold lists of non-negative integers; item {i} holds {describe(seen[bad])}", i)
        if len(set(seen)) != len(seen):
            raise Invalid(f"must name each input channel of a filter once; item {i} repeats one", i)
        table.append(tuple(seen))
    return tuple(table)


def _plain(v):
    """A value, from a parser node if it is one (nested lists reach field checks as nodes)."""
    if isinstance(v, (list, str, int, float, bool, dict)) or v is None:
        return v
    value = getattr(v, "value", v)
    return [_plain(i) for i in value] if isinstance(value, list) else value


class Pool(Spatial):
    aliases = {"pool_size": "kernel_size", "strides": "stride"}

    def __init__(self, kind, ndim):
        self.ndim = ndim
        self.name = f"{kind}pool{ndim}d"
        self.doc = f"{'maximum' if kind == 'max' else 'average'} over windows of {ndim}-D input [{', '.join(_axes(ndim))}]"
        self.fields = (
            Field("kernel_size", per_axis(ndim)),
            Field("stride", per_axis(ndim), None, "none means kernel_size"),
            Field("padding", padding(ndim), (0,) * ndim, "at most half the kernel; `valid` or `same`"),
            Field("ceil_mode", boolean, False),
        )

    def complete(self, cfg):
        if cfg["stride"] is None:
            cfg["stride"] = cfg["kernel_size"]

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        if cfg["padding"] != "same":
            for k, p in zip(cfg["kernel_size"], cfg["padding"]):
                if p > k // 2:
                    raise ShapeError(f"padding {p} is more than half the kernel {k}", "padding")
            if self.name == "avgpool3d" and any(n < k for n, k in zip(shape[1:], cfg["kernel_size"])):
                # PyTorch's avg_pool3d alone refuses this, padding or not (pool3d_shape_check).
                raise ShapeError("avgpool3d needs every input axis at least as long as the kernel, "
                                 "padding aside (PyTorch's rule)", "kernel_size")
        return shape[:1] + self.positions(cfg, shape[1:], (1,) * self.ndim, cfg["ceil_mode"])

    def other_ops(self, cfg, shape, out):
        """The input elements every window reads (padding and overhang excluded)."""
        return shape[0] * _window_reads(cfg, shape, out, (1,) * self.ndim)

    def connections(self, cfg, shape, out):
        return self.other_ops(cfg, shape, out)


def _adaptive_reads(n, o):
    """Input elements read along one axis by PyTorch's adaptive windows [⌊i·n/o⌋, ⌈(i+1)·n/o⌉):
    their lengths sum to n + o − gcd(n, o) (each window's ceiling adds one unless o divides (i+1)·n)."""
    return n + o - gcd(n, o)


class AdaptivePool(Spatial):
    def __init__(self, kind, ndim):
        self.ndim = ndim
        self.name = f"adaptive{kind}pool{ndim}d"
        self.doc = f"adaptive {'maximum' if kind == 'max' else 'average'} to `output_size`, input [{', '.join(_axes(ndim))}]"
        self.fields = (Field("output_size", per_axis(ndim), doc="int, or one per spatial axis"),)

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape[:1] + cfg["output_size"]

    def other_ops(self, cfg, shape, out):
        """The input elements every window reads (windows may overlap)."""
        n = shape[0]
        for length, o in zip(shape[1:], out[1:]):
            n *= _adaptive_reads(length, o)
        return n

    def connections(self, cfg, shape, out):
        return self.other_ops(cfg, shape, out)


class GlobalPool(LayerType):
    min_rank = 2

    def __init__(self, kind):
        self.name = f"global{kind}pool"
        self.doc = f"{'maximum' if kind == 'max' else 'average'} over all spatial axes, to [C]"

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape[:1]

    def other_ops(self, cfg, shape, out):
        return product(shape)

    def connections(self, cfg, shape, out):
        return product(shape)


class Flatten(LayerType):
    name, doc = "flatten", "to one axis"
    keeps_ids = True

    def output_shape(self, cfg, shape):
        return (product(shape),)


class Dense(LayerType):
    name, doc = "dense", "fully connected, on the last axis (torch Linear)"
    aliases = {"out_features": "units", "use_bias": "bias"}
    fields = (
        Field("units", positive_int, doc="output features"),
        Field("bias", boolean, True),
        Field("activation", choice(ACTIVATIONS), None, "applied after; no parameters"),
    )

    def output_shape(self, cfg, shape):
        return shape[:-1] + (cfg["units"],)

    def weights(self, cfg, shape, out):
        tensors = [Weight("kernel", (shape[-1], cfg["units"]), "weight")]
        if cfg["bias"]:
            tensors.append(Weight("bias", (cfg["units"],), "bias"))
        return tensors

    def macs(self, cfg, shape, out):
        """Inputs × units, on every position of a rank > 1 input (torch Linear, fvcore's linear)."""
        return product(out) * shape[-1]

    def other_ops(self, cfg, shape, out):
        return _activation_ops(cfg, out)

    def connections(self, cfg, shape, out):
        return product(out) * (shape[-1] + (1 if cfg["bias"] else 0))


class BatchNorm(LayerType):
    name, doc = "batchnorm", "over the first (channel) axis; running mean and variance are non-trainable"
    no_macs = "a normalisation: its scale and shift are in other_ops, as torchvision counts"
    aliases = {"epsilon": "eps", "scale": "affine", "center": "affine"}
    fields = (Field("affine", boolean, True, "learn γ and β"), Field("eps", number, 1e-5), Field("momentum", number, 0.1))

    def output_shape(self, cfg, shape):
        if not 1 <= len(shape) <= 4:
            raise ShapeError("needs an input of 1 to 4 axes, channels first")
        return shape

    def weights(self, cfg, shape, out):
        c = shape[:1]
        affine = [Weight("gamma", c, "weight"), Weight("beta", c, "bias")] if cfg["affine"] else []
        return affine + [Weight("running_mean", c, "state"), Weight("running_var", c, "state")]


class LayerNorm(LayerType):
    name, doc = "layernorm", "over the last axis"
    no_macs = "a normalisation: its scale and shift are in other_ops, as torchvision counts"
    aliases = {"elementwise_affine": "affine", "epsilon": "eps"}
    fields = (Field("affine", boolean, True, "learn γ and β"), Field("eps", number, 1e-5))

    def weights(self, cfg, shape, out):
        c = shape[-1:]
        return [Weight("gamma", c, "weight"), Weight("beta", c, "bias")] if cfg["affine"] else []


class Embedding(LayerType):
    name, doc = "embedding", "token ids of any shape to vectors: [N] to [N, D]"
    takes_ids = True
    aliases = {"input_dim": "num_embeddings", "num_tokens": "num_embeddings", "output_dim": "embedding_dim", "vocab_size": "num_embeddings"}
    fields = (Field("num_embeddings", positive_int, doc="vocabulary size"), Field("embedding_dim", positive_int))
    no_macs = "a lookup: each output element is copied from the table (other_ops)"

    def other_ops(self, cfg, shape, out):
        return product(out)

    def output_shape(self, cfg, shape):
        return shape + (cfg["embedding_dim"],)

    def weights(self, cfg, shape, out):
        return [Weight("embeddings", (cfg["num_embeddings"], cfg["embedding_dim"]), "weight")]


class Simple(LayerType):
    """Shape-preserving layers without parameters: activations, dropout, LRN."""

    def __init__(self, name, doc, fields=(), min_rank=1, aliases=None, keeps_ids=False):
        self.name, self.doc, self.fields, self.min_rank = name, doc, fields, min_rank
        self.aliases = aliases or {}
        self.keeps_ids = keeps_ids

    def other_ops(self, cfg, shape, out):
        """Activations: each element once; LRN: `size` channels per element; dropout and identity:
        nothing at inference."""
        if self.name == "dropout":
            return 0
        return product(out) * (cfg["size"] if self.name == "lrn" else 1)


def integer(v):
    if is_int(v):
        return v
    raise Invalid(f"must be an integer, got {describe(v)}")


def non_negative_int(v):
    if is_int(v) and v >= 0:
        return v
    raise Invalid(f"must be a non-negative integer, got {describe(v)}")


def one_or_per_axis(v):
    """A positive int, or a list of one per spatial axis (how many is known from the input)."""
    what = "a positive integer or a list of one per spatial axis"
    if isinstance(v, list):
        if not 1 <= len(v) <= MAX_RANK:
            raise Invalid(f"must be {what}, got a list of {len(v)}")
        bad = first_bad(v, lambda i: is_int(i) and i > 0)
        if bad is not None:
            raise Invalid(f"must hold only positive integers, got {describe(v[bad])}", bad)
        return tuple(v)
    if is_int(v) and v > 0:
        return v
    raise Invalid(f"must be {what}, got {describe(v)}")


def target_shape(v):
    what = f"a list of 1 to {MAX_RANK} positive integers, one of which may be -1"
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_RANK:
        raise Invalid(f"must be {what}, got {describe(v) if not isinstance(v, list) else f'a list of {len(v)}'}")
    bad = first_bad(v, lambda i: is_int(i) and (i > 0 or i == -1))
    if bad is not None:
        raise Invalid(f"must hold positive integers or -1, got {describe(v[bad])}", bad)
    if v.count(-1) > 1:
        raise Invalid("may hold -1 (the rest of the elements) once", [i for i, n in enumerate(v) if n == -1][1])
    return tuple(v)


def permutation(v):
    what = "a list of the axes 0 to N-1 in a new order (no batch axis)"
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_RANK:
        raise Invalid(f"must be {what}, got {describe(v)}")
    bad = first_bad(v, lambda i: is_int(i) and 0 <= i < len(v))
    if bad is None:
        bad = next((i for i, n in enumerate(v) if n in v[:i]), None)
    if bad is not None:
        raise Invalid(f"must be {what}, got {describe(v[bad])} at position {bad}", bad)
    return tuple(v)


def _pairs(values):
    return "[" + ", ".join(map(str, values)) + "]"


class ConvTranspose(Spatial):
    aliases = {"out_channels": "filters", "kernel": "kernel_size", "strides": "stride",
               "dilation_rate": "dilation", "use_bias": "bias"}

    def __init__(self, ndim):
        self.ndim = ndim
        self.name = f"conv{ndim}d_transpose"
        self.doc = (f"{ndim}-D transposed convolution (torch ConvTranspose{ndim}d), input [{', '.join(_axes(ndim))}]; "
                    "out = (L−1)·S − 2P + D·(K−1) + output_padding + 1")
        self.fields = (
            Field("filters", positive_int, doc="output channels"),
            Field("kernel_size", per_axis(ndim), doc="int, or one per spatial axis"),
            Field("stride", per_axis(ndim), (1,) * ndim),
            Field("padding", per_axis(ndim, minimum=0), (0,) * ndim, "int, or one per axis"),
            Field("output_padding", per_axis(ndim, minimum=0), (0,) * ndim,
                  "smaller than the stride or the dilation"),
            Field("dilation", per_axis(ndim), (1,) * ndim),
            Field("groups", positive_int, 1, "must divide input channels and filters"),
            Field("bias", boolean, True),
        )

    def validate(self, cfg):
        filters, groups = cfg["filters"], cfg["groups"]
        if filters and groups and filters % groups:
            raise Invalid(f"groups={groups} does not divide filters={filters}", field="groups")
        extra, stride, dilation = cfg["output_padding"], cfg["stride"], cfg["dilation"]
        if extra and stride and dilation:
            for p, s, d in zip(extra, stride, dilation):
                if p >= s and p >= d:
                    raise Invalid(f"output_padding {p} must be smaller than the stride ({s}) or the dilation ({d})",
                                  field="output_padding")

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        channels, groups = shape[0], cfg["groups"]
        if channels % groups:
            raise ShapeError(f"groups={groups} does not divide the {channels} input channels", "groups")
        out = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, k, s, p, op, d in zip(
            shape[1:], cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["dilation"]))
        if min(out) < 1:
            raise ShapeError(f"the output would be {_pairs(out)}: padding is too large for the input", "padding")
        return (cfg["filters"],) + out

    def weights(self, cfg, shape, out):
        tensors = [Weight("kernel", (shape[0], cfg["filters"] // cfg["groups"]) + cfg["kernel_size"], "weight")]
        if cfg["bias"]:
            tensors.append(Weight("bias", (cfg["filters"],), "bias"))
        return tensors

    def macs(self, cfg, shape, out):
        """Every input position scatters its C channels through filters/groups kernels: positions ×
        C × filters/groups × kernel, what the layer computes (fvcore's count; products that land in
        the padding cropped off are computed too)."""
        return product(shape) * (cfg["filters"] // cfg["groups"]) * product(cfg["kernel_size"])

    def connections(self, cfg, shape, out):
        """Per output unit, the (input, tap) pairs that land on it (cropped padding excluded), plus its bias."""
        pairs = 1
        for n, o, k, s_, p, d in zip(shape[1:], out[1:], cfg["kernel_size"], cfg["stride"], cfg["padding"],
                                     cfg["dilation"]):
            pairs *= window_pairs(n, s_, p, k, d, o)
        links = shape[0] * (cfg["filters"] // cfg["groups"])
        return links * pairs + (product(out) if cfg["bias"] else 0)


class Depthwise(Spatial):
    """depthwise_conv2d (Keras DepthwiseConv2D) and separable_conv2d (Keras SeparableConv2D)."""

    aliases = {"kernel": "kernel_size", "strides": "stride", "dilation_rate": "dilation", "use_bias": "bias",
               "out_channels": "filters"}

    def __init__(self, separable):
        self.separable = separable
        self.name = "separable_conv2d" if separable else "depthwise_conv2d"
        self.doc = ("depthwise convolution, then a 1×1 (pointwise) one to `filters`; one bias, on the pointwise "
                    "part, as Keras SeparableConv2D; input [C, H, W]" if separable else
                    "one kernel per input channel and multiplier (torch Conv2d with groups = C, Keras "
                    "DepthwiseConv2D); input [C, H, W], output [C·depth_multiplier, H', W']")
        self.fields = (
            (Field("filters", positive_int, doc="output channels of the pointwise part"),) if separable else ()
        ) + (
            Field("kernel_size", per_axis(2), doc="int, or one per spatial axis"),
            Field("depth_multiplier", positive_int, 1, "kernels per input channel"),
            Field("stride", per_axis(2), (1, 1)),
            Field("padding", padding(2), (0, 0), "int, one per axis, `valid` or `same`"),
            Field("dilation", per_axis(2), (1, 1)),
            Field("bias", boolean, True),
        )

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        channels = cfg["filters"] if self.separable else shape[0] * cfg["depth_multiplier"]
        return (channels,) + self.positions(cfg, shape[1:], cfg["dilation"])

    def _tensors(self, cfg, shape, out, per_position):
        inner, kernel = shape[0] * cfg["depth_multiplier"], cfg["kernel_size"]
        where = out[1:] if per_position else ()
        if not self.separable:
            tensors = [Weight("depthwise_kernel", where + (inner,) + kernel, "weight")]
            return tensors + ([Weight("bias", where + (inner,), "bias")] if cfg["bias"] else [])
        filters = cfg["filters"]
        tensors = [Weight("depthwise_kernel", where + (inner,) + kernel, "weight"),
                   Weight("pointwise_kernel", where + (filters, inner), "weight")]
        return tensors + ([Weight("bias", where + (filters,), "bias")] if cfg["bias"] else [])

    def weights(self, cfg, shape, out):
        return self._tensors(cfg, shape, out, False)

    def unshared_weights(self, cfg, shape, out):
        return self._tensors(cfg, shape, out, True)

    def macs(self, cfg, shape, out):
        """Depthwise: positions × C·multiplier × kernel; separable adds the pointwise positions ×
        C·multiplier × filters."""
        inner, positions = shape[0] * cfg["depth_multiplier"], product(out[1:])
        depthwise = positions * inner * product(cfg["kernel_size"])
        return depthwise + (positions * inner * cfg["filters"] if self.separable else 0)

    def connections(self, cfg, shape, out):
        inner, bias = shape[0] * cfg["depth_multiplier"], product(out) if cfg["bias"] else 0
        depthwise = inner * _window_reads(cfg, shape, out, cfg["dilation"])
        if not self.separable:
            return depthwise + bias
        return depthwise + product(out[1:]) * inner * cfg["filters"] + bias


class Recurrent(LayerType):
    """rnn, lstm, gru over [T, F], in PyTorch's or Keras's convention."""

    aliases = {"units": "hidden_size", "use_bias": "bias", "num_units": "hidden_size", "hidden_dim": "hidden_size",
               "layers": "num_layers", "projection_size": "proj_size"}
    GATES = {"rnn": 1, "lstm": 4, "gru": 3}

    def __init__(self, name):
        self.name, self.gates = name, self.GATES[name]
        what = {"rnn": "Elman RNN, tanh (torch RNN, Keras SimpleRNN)", "lstm": "LSTM (torch LSTM, Keras LSTM)",
                "gru": "GRU (torch GRU, Keras GRU)"}[name]
        self.doc = (f"{what}; [T, F] to [T, H·directions], or [H·directions] without `return_sequences`; "
                    "biases follow `convention` (see below)")
        self.fields = (
            Field("hidden_size", positive_int, doc="H, features of the hidden state"),
            Field("num_layers", positive_int, 1, "stacked layers, each on the previous one's sequence"),
            Field("bidirectional", boolean, False, "a second, backward pass; outputs concatenated"),
            Field("bias", boolean, True),
            Field("return_sequences", boolean, True, "false: the last step only"),
            Field("convention", choice(("torch", "keras")), "torch", "whose biases to count"),
        )
        if name == "gru":
            self.fields += (Field("reset_after", boolean, True,
                                  "reset gate after the recurrent product (torch always; Keras 2+ default); "
                                  "false (keras only): one bias vector"),)
        if name == "lstm":
            self.fields += (Field("proj_size", non_negative_int, 0,
                                  "torch only: project the hidden state to this size (< hidden_size)"),)

    def validate(self, cfg):
        if self.name == "gru" and cfg["reset_after"] is False and cfg["convention"] == "torch":
            raise Invalid("reset_after: false needs convention: keras (PyTorch's GRU always resets after "
                          "the recurrent product)", field="reset_after")
        if self.name == "lstm" and cfg["proj_size"]:
            if cfg["convention"] == "keras":
                raise Invalid("proj_size needs convention: torch (Keras's LSTM has no projection)", field="proj_size")
            if cfg["hidden_size"] and cfg["proj_size"] >= cfg["hidden_size"]:
                raise Invalid(f"proj_size {cfg['proj_size']} must be smaller than hidden_size {cfg['hidden_size']}",
                              field="proj_size")

    def _size(self, cfg):
        """Features each direction outputs."""
        return cfg.get("proj_size") or cfg["hidden_size"]

    def output_shape(self, cfg, shape):
        if len(shape) != 2:
            raise ShapeError("needs an input [T, F]: time steps, then features")
        features = self._size(cfg) * (2 if cfg["bidirectional"] else 1)
        return (shape[0], features) if cfg["return_sequences"] else (features,)

    LISTED = 4  # layers named one by one; deeper stacks list the rest as one tensor per kind, stacked

    def weights(self, cfg, shape, out):
        """Per layer and direction, in torch's names (weight_ih_l0, ...) or Keras's (0.kernel, ...).

        Layers 1 to N-1 all have the same shapes, so past the first few they are one stacked tensor
        per kind, with a leading axis of the count: the cost never grows with `num_layers`.
        """
        layers, directions = cfg["num_layers"], ("", "_reverse") if cfg["bidirectional"] else ("",)
        tensors = self._layer(cfg, 0, shape[-1], directions, ())
        fan_in = self._size(cfg) * len(directions)
        if layers <= self.LISTED:
            for layer in range(1, layers):
                tensors += self._layer(cfg, layer, fan_in, directions, ())
        else:
            tensors += self._layer(cfg, f"1-{layers - 1}", fan_in, directions, (layers - 1,))
        return tensors

    def _biases(self, cfg):
        """Bias vectors a gate unit adds: torch two; Keras one, two for a GRU with reset_after."""
        if not cfg["bias"]:
            return 0
        if cfg["convention"] == "torch":
            return 2
        return 2 if self.name == "gru" and cfg["reset_after"] else 1

    def _per_step(self, cfg, shape):
        """(MACs, connections, gate units) of one time step, all layers and directions."""
        directions = 2 if cfg["bidirectional"] else 1
        gates, hidden, size = self.gates * cfg["hidden_size"], cfg["hidden_size"], self._size(cfg)
        macs = connections = units = 0
        for layer in range(min(cfg["num_layers"], 2)):
            times = 1 if layer == 0 else cfg["num_layers"] - 1  # layers 1.. all alike
            fan_in = shape[-1] if layer == 0 else size * directions
            one = gates * (fan_in + size) + (size * hidden if size != hidden else 0)
            macs += times * directions * one
            connections += times * directions * (one + gates * self._biases(cfg))
            units += times * directions * gates
        return macs, connections, units

    def macs(self, cfg, shape, out):
        """Every time step (with or without return_sequences), layer and direction: gates·H × (inputs +
        hidden state), plus torch's projection H × proj_size; the same in both conventions."""
        return shape[0] * self._per_step(cfg, shape)[0]

    def other_ops(self, cfg, shape, out):
        """One activation per gate unit and time step (the cell's elementwise products aside)."""
        return shape[0] * self._per_step(cfg, shape)[2]

    def connections(self, cfg, shape, out):
        """MACs' inputs plus the convention's bias vectors per gate unit and step."""
        return shape[0] * self._per_step(cfg, shape)[1]

    def _layer(self, cfg, layer, fan_in, directions, stack):
        gates, hidden, size, bias = self.gates * cfg["hidden_size"], cfg["hidden_size"], self._size(cfg), cfg["bias"]
        tensors = []
        for d in directions:
            if cfg["convention"] == "keras":  # kernel, recurrent_kernel, bias: one vector, two for GRU with reset_after
                at = f"{layer}{'.backward' if d else '.forward' if directions[1:] else ''}."
                tensors += [Weight(at + "kernel", stack + (fan_in, gates), "weight"),
                            Weight(at + "recurrent_kernel", stack + (hidden, gates), "weight")]
                if bias:
                    two = self.name == "gru" and cfg["reset_after"]
                    tensors.append(Weight(at + "bias", stack + ((2, gates) if two else (gates,)), "bias"))
                continue
            at = f"_l{layer}{d}"  # torch's names; every cell has two bias vectors
            tensors += [Weight("weight_ih" + at, stack + (gates, fan_in), "weight"),
                        Weight("weight_hh" + at, stack + (gates, size), "weight")]
            if bias:
                tensors += [Weight("bias_ih" + at, stack + (gates,), "bias"),
                            Weight("bias_hh" + at, stack + (gates,), "bias")]
            if size != hidden:
                tensors.append(Weight("weight_hr" + at, stack + (size, hidden), "weight"))
        return tensors


class Attention(LayerType):
    name = "attention"
    doc = ("multi-head self-attention over [T, D] (torch MultiheadAttention with the defaults; grouped-query "
           "attention with fewer KV heads): query, key, value and output projections; [T, D] to [T, D]")
    aliases = {"heads": "num_heads", "n_heads": "num_heads", "num_key_value_heads": "num_kv_heads",
               "n_kv_heads": "num_kv_heads", "kdim": "kv_dim", "vdim": "kv_dim", "bias": "qkv_bias",
               "use_bias": "qkv_bias", "key_dim": "head_dim"}
    fields = (
        Field("num_heads", positive_int, doc="query heads"),
        Field("num_kv_heads", positive_int, None, "none: num_heads; fewer: grouped-query attention; must divide num_heads"),
        Field("head_dim", positive_int, None, "none: D / num_heads"),
        Field("qkv_bias", boolean, True, "biases on the query, key and value projections"),
        Field("out_bias", boolean, True, "bias on the output projection"),
        Field("kv_dim", positive_int, None, "none: D; the features of the attended sequence (cross-attention)"),
    )

    def complete(self, cfg):
        if cfg["num_kv_heads"] is None:
            cfg["num_kv_heads"] = cfg["num_heads"]

    def validate(self, cfg):
        heads, kv = cfg["num_heads"], cfg["num_kv_heads"]
        if heads and kv and heads % kv:
            raise Invalid(f"num_kv_heads={kv} does not divide num_heads={heads}", field="num_kv_heads")

    def output_shape(self, cfg, shape):
        if len(shape) != 2:
            raise ShapeError("needs an input [T, D]: time steps, then features")
        if cfg["head_dim"] is None and shape[1] % cfg["num_heads"]:
            raise ShapeError(f"num_heads={cfg['num_heads']} does not divide the {shape[1]} features; "
                             "set head_dim", "num_heads")
        return shape

    def weights(self, cfg, shape, out):
        d = shape[1]
        head = cfg["head_dim"] or d // cfg["num_heads"]
        q, kv, source = cfg["num_heads"] * head, cfg["num_kv_heads"] * head, cfg["kv_dim"] or d
        tensors = []
        for part, fan_in, width in (("query", d, q), ("key", source, kv), ("value", source, kv)):
            tensors.append(Weight(part + "_kernel", (fan_in, width), "weight"))
            if cfg["qkv_bias"]:
                tensors.append(Weight(part + "_bias", (width,), "bias"))
        tensors.append(Weight("output_kernel", (q, d), "weight"))
        if cfg["out_bias"]:
            tensors.append(Weight("output_bias", (d,), "bias"))
        return tensors

    def _widths(self, cfg, shape):
        d = shape[1]
        head = cfg["head_dim"] or d // cfg["num_heads"]
        return d, cfg["num_heads"] * head, cfg["num_kv_heads"] * head, cfg["kv_dim"] or d

    def projection_macs(self, cfg, shape, out):
        """The four projections (dense layers on every token): T × (D·q + 2·S·kv + q·D)."""
        d, q, kv, source = self._widths(cfg, shape)
        return shape[0] * (d * q + 2 * source * kv + q * d)

    def macs(self, cfg, shape, out):
        """The projections, plus QKᵀ (T × T × head per query head: T²·q) and AV (the same), over the
        input's T tokens attending to T (no causal saving: a mask is applied after computing)."""
        t, q = shape[0], self._widths(cfg, shape)[1]
        return self.projection_macs(cfg, shape, out) + 2 * t * t * q

    def other_ops(self, cfg, shape, out):
        """The softmax over each head's T × T scores."""
        return shape[0] * shape[0] * cfg["num_heads"]

    def connections(self, cfg, shape, out):
        """Projections' inputs and biases, and each score's and each output's products."""
        d, q, kv, source = self._widths(cfg, shape)
        b, ob = (1 if cfg["qkv_bias"] else 0), (1 if cfg["out_bias"] else 0)
        t = shape[0]
        return t * (q * (d + b) + 2 * kv * (source + b) + d * (q + ob)) + 2 * t * t * q


class RMSNorm(LayerType):
    name, doc = "rmsnorm", "root-mean-square normalisation over the last axis (torch RMSNorm); γ only"
    no_macs = "a normalisation: its scale and shift are in other_ops, as torchvision counts"
    aliases = {"elementwise_affine": "affine", "epsilon": "eps", "scale": "affine"}
    fields = (Field("affine", boolean, True, "learn γ"), Field("eps", number, None, "none: the dtype's epsilon"))

    def weights(self, cfg, shape, out):
        return [Weight("gamma", shape[-1:], "weight")] if cfg["affine"] else []


class GroupNorm(LayerType):
    name, doc = "groupnorm", "normalisation over groups of channels (torch GroupNorm), channels first"
    no_macs = "a normalisation: its scale and shift are in other_ops, as torchvision counts"
    aliases = {"groups": "num_groups", "epsilon": "eps", "scale": "affine", "center": "affine"}
    fields = (Field("num_groups", positive_int, doc="must divide the channels"),
              Field("affine", boolean, True, "learn γ and β per channel"), Field("eps", number, 1e-5))

    def output_shape(self, cfg, shape):
        if shape[0] % cfg["num_groups"]:
            raise ShapeError(f"num_groups={cfg['num_groups']} does not divide the {shape[0]} channels", "num_groups")
        if shape[0] // cfg["num_groups"] * product(shape[1:]) == 1:
            raise ShapeError("every group holds a single value (all zeros; PyTorch refuses it)", "num_groups")
        return shape

    def weights(self, cfg, shape, out):
        c = shape[:1]
        return [Weight("gamma", c, "weight"), Weight("beta", c, "bias")] if cfg["affine"] else []


class InstanceNorm(LayerType):
    name = "instancenorm"
    no_macs = "a normalisation: its scale and shift are in other_ops, as torchvision counts"
    doc = ("per-channel normalisation over the spatial axes (torch InstanceNorm1d/2d/3d by input rank), "
           "input [C, L], [C, H, W] or [C, D, H, W]")
    aliases = {"epsilon": "eps", "scale": "affine", "center": "affine"}
    fields = (Field("affine", boolean, False, "learn γ and β per channel"),
              Field("track_running_stats", boolean, False, "keep running mean and variance: non-trainable state"))

    def output_shape(self, cfg, shape):
        if not 2 <= len(shape) <= 4:
            raise ShapeError("needs an input [C, L], [C, H, W] or [C, D, H, W]")
        if product(shape[1:]) == 1:
            raise ShapeError("normalises over a single spatial element (all zeros; PyTorch refuses it)")
        return shape

    def weights(self, cfg, shape, out):
        c = shape[:1]
        affine = [Weight("gamma", c, "weight"), Weight("beta", c, "bias")] if cfg["affine"] else []
        state = [Weight("running_mean", c, "state"), Weight("running_var", c, "state")]
        return affine + (state if cfg["track_running_stats"] else [])


class Upsample(LayerType):
    name = "upsample"
    doc = "repeats values along the spatial axes (torch Upsample), input [C, L], [C, H, W] or [C, D, H, W]"
    aliases = {"scale": "scale_factor", "factor": "scale_factor", "output_size": "size"}
    fields = (Field("scale_factor", one_or_per_axis, None, "int, or one per spatial axis"),
              Field("size", one_or_per_axis, None, "output size, int or one per spatial axis; instead of scale_factor"))

    def validate(self, cfg):
        if (cfg["scale_factor"] is None) == (cfg["size"] is None):
            raise Invalid("needs exactly one of scale_factor and size", field="size" if cfg["size"] else None)

    def output_shape(self, cfg, shape):
        if not 2 <= len(shape) <= 4:
            raise ShapeError("needs an input [C, L], [C, H, W] or [C, D, H, W]")
        n, field = len(shape) - 1, "size" if cfg["size"] is not None else "scale_factor"
        value = cfg[field]
        if isinstance(value, tuple):
            if len(value) != n:
                raise ShapeError(f"{field} lists {len(value)} value{'s' if len(value) > 1 else ''}; "
                                 f"the input has {n} spatial axes", field)
        else:
            value = (value,) * n
        if field == "size":
            return shape[:1] + value
        return shape[:1] + tuple(a * b for a, b in zip(shape[1:], value))

    def other_ops(self, cfg, shape, out):
        return product(out)


class Reshape(LayerType):
    name, doc, keeps_ids = "reshape", "to `shape` (no batch axis), the same number of elements", True
    aliases = {"target_shape": "shape", "dims": "shape"}
    fields = (Field("shape", target_shape, doc="one -1 takes the rest"),)

    def output_shape(self, cfg, shape):
        target, total = cfg["shape"], product(shape)
        if -1 in target:
            known = -product(target)
            if total % known:
                raise ShapeError(f"cannot hold the input's {total:,} elements in {_pairs(target)}", "shape")
            return tuple(total // known if n == -1 else n for n in target)
        if product(target) != total:
            raise ShapeError(f"{_pairs(target)} holds {product(target):,} elements, the input {total:,}", "shape")
        return target


class Permute(LayerType):
    name, doc, keeps_ids = "permute", "reorders the axes: `dims: [1, 0]` turns [T, D] into [D, T]", True
    aliases = {"axes": "dims", "perm": "dims", "order": "dims"}
    fields = (Field("dims", permutation, doc="0-based over the spec's axes, no batch axis"),)

    def output_shape(self, cfg, shape):
        if len(cfg["dims"]) != len(shape):
            raise ShapeError(f"dims lists {len(cfg['dims'])} axes, the input has {len(shape)}", "dims")
        return tuple(shape[d] for d in cfg["dims"])


class Select(LayerType):
    name, doc, keeps_ids = "select", "takes item `index` of axis `axis`, dropping that axis (BERT's pooler: token 0)", True
    aliases = {"dim": "axis", "position": "index"}
    fields = (Field("axis", integer, 0, "negative counts from the end"),
              Field("index", integer, 0, "negative counts from the end"))

    def output_shape(self, cfg, shape):
        rank, axis, index = len(shape), cfg["axis"], cfg["index"]
        if rank < 2:
            raise ShapeError("needs an input of at least 2 axes")
        if not -rank <= axis < rank:
            raise ShapeError(f"axis {axis} is out of range for {rank} axes", "axis")
        axis %= rank
        if not -shape[axis] <= index < shape[axis]:
            raise ShapeError(f"index {index} is out of range for an axis of {shape[axis]}", "index")
        return shape[:axis] + shape[axis + 1:]


class PositionalEmbedding(LayerType):
    name, doc = "positional_embedding", "adds a learned vector per position: [T, D] to [T, D]; T ≤ num_positions"
    aliases = {"max_position_embeddings": "num_positions", "max_len": "num_positions", "n_positions": "num_positions",
               "sequence_length": "num_positions"}
    fields = (Field("num_positions", positive_int, doc="positions learned"),)
    no_macs = "an addition: one element each of the output (other_ops)"

    def output_shape(self, cfg, shape):
        if len(shape) != 2:
            raise ShapeError("needs an input [T, D]: time steps, then features")
        if shape[0] > cfg["num_positions"]:
            raise ShapeError(f"{shape[0]} time steps, but num_positions is {cfg['num_positions']}", "num_positions")
        return shape

    def weights(self, cfg, shape, out):
        return [Weight("embeddings", (cfg["num_positions"], shape[1]), "weight")]


class ClassToken(LayerType):
    name, doc = "class_token", "prepends a learned vector (ViT's [class] token): [T, D] to [T+1, D]"
    no_macs = "a concatenation: values are moved, not computed"

    def output_shape(self, cfg, shape):
        if len(shape) != 2:
            raise ShapeError("needs an input [T, D]: time steps, then features")
        return (shape[0] + 1, shape[1])

    def weights(self, cfg, shape, out):
        return [Weight("token", (1, shape[1]), "weight")]


class Subsample(LayerType):
    name = "subsample2d"
    doc = ("LeNet-1998's trainable subsampling: sums over non-overlapping windows, times a learned coefficient "
           "plus a learned bias per channel; input [C, H, W]")
    aliases = {"pool_size": "kernel_size"}
    fields = (Field("kernel_size", per_axis(2), (2, 2), "window, and stride"),)

    def output_shape(self, cfg, shape):
        if len(shape) != 3:
            raise ShapeError("needs an input [C, H, W]")
        if any(n < k for n, k in zip(shape[1:], cfg["kernel_size"])):
            raise ShapeError(f"kernel {_pairs(cfg['kernel_size'])} is larger than the input {_pairs(shape[1:])}",
                             "kernel_size")
        return shape[:1] + tuple(n // k for n, k in zip(shape[1:], cfg["kernel_size"]))

    def weights(self, cfg, shape, out):
        return [Weight("coefficient", shape[:1], "weight"), Weight("bias", shape[:1], "bias")]

    def macs(self, cfg, shape, out):
        """One multiply per output unit: the window's sum times the coefficient."""
        return product(out)

    def other_ops(self, cfg, shape, out):
        """The window's sum: every input element it reads."""
        return product(out) * product(cfg["kernel_size"])

    def connections(self, cfg, shape, out):
        """The window's inputs plus the bias: LeNet-1998's S2, 6 × 14 × 14 × (4 + 1) = 5,880."""
        return product(out) * (product(cfg["kernel_size"]) + 1)


class RBF(LayerType):
    name = "rbf"
    doc = ("LeNet-1998's output: per unit, the squared distance to a centre vector, on the last axis; "
           "one centre of the input size per unit, no bias")
    aliases = {"out_features": "units"}
    fields = (Field("units", positive_int, doc="output units"),)

    def output_shape(self, cfg, shape):
        return shape[:-1] + (cfg["units"],)

    def weights(self, cfg, shape, out):
        return [Weight("centres", (cfg["units"], shape[-1]), "weight")]

    def macs(self, cfg, shape, out):
        """(x − c)² accumulated: one multiply-accumulate per input and unit."""
        return product(out) * shape[-1]

    def connections(self, cfg, shape, out):
        return product(out) * shape[-1]


class MoE(LayerType):
    """A routed mixture of experts (Mixtral's sparse MoE block): a router scores `num_experts` MLPs per
    token and `top_k` of them run. Expert tensors are stacked with a leading axis of the expert count."""

    name = "moe"
    doc = ("mixture of experts over [T, D] (Mixtral's sparse MoE block): a router [D, num_experts] and "
           "num_experts MLPs D → hidden → D, top_k of them active per token; [T, D] to [T, D]")
    aliases = {"num_local_experts": "num_experts", "n_experts": "num_experts", "experts": "num_experts",
               "num_experts_per_tok": "top_k", "k": "top_k", "intermediate_size": "hidden", "ffn_dim": "hidden",
               "units": "hidden", "use_bias": "bias"}
    fields = (
        Field("num_experts", positive_int, doc="experts"),
        Field("top_k", positive_int, doc="experts each token runs through, at most num_experts"),
        Field("hidden", positive_int, doc="each expert's intermediate size"),
        Field("gated", boolean, True, "SwiGLU experts: gate, up and down matrices; false: up and down only"),
        Field("bias", boolean, False, "biases on the experts' matrices"),
        Field("router_bias", boolean, False, "a bias on the router"),
    )

    def validate(self, cfg):
        experts, k = cfg["num_experts"], cfg["top_k"]
        if experts and k and k > experts:
            raise Invalid(f"top_k={k} is more than num_experts={experts}", field="top_k")

    def output_shape(self, cfg, shape):
        if len(shape) != 2:
            raise ShapeError("needs an input [T, D]: time steps, then features")
        return shape

    def _tensors(self, cfg, shape, experts):
        d, hidden = shape[1], cfg["hidden"]
        tensors = [Weight("router_kernel", (d, cfg["num_experts"]), "weight")]
        if cfg["router_bias"]:
            tensors.append(Weight("router_bias", (cfg["num_experts"],), "bias"))
        for part, fan_in, width in ((("gate", d, hidden),) if cfg["gated"] else ()) + (("up", d, hidden),
                                                                                      ("down", hidden, d)):
            tensors.append(Weight(f"experts.{part}_kernel", (experts, fan_in, width), "weight"))
            if cfg["bias"]:
                tensors.append(Weight(f"experts.{part}_bias", (experts, width), "bias"))
        return tensors

    def weights(self, cfg, shape, out):
        return self._tensors(cfg, shape, cfg["num_experts"])

    def _matrices(self, cfg):
        return 3 if cfg["gated"] else 2

    def macs(self, cfg, shape, out):
        """Per token: the router D × num_experts, and top_k experts of (gate,) up and down D × hidden."""
        t, d = shape
        return t * (d * cfg["num_experts"] + cfg["top_k"] * self._matrices(cfg) * d * cfg["hidden"])

    def other_ops(self, cfg, shape, out):
        """Per token: the router's softmax, top_k experts' activations, and the weighted sum of their outputs."""
        t, d = shape
        k = cfg["top_k"]
        return t * (cfg["num_experts"] + k * cfg["hidden"] * (2 if cfg["gated"] else 1) + k * d)

    def connections(self, cfg, shape, out):
        t, d = shape
        b, h, k = (1 if cfg["bias"] else 0), cfg["hidden"], cfg["top_k"]
        router = cfg["num_experts"] * (d + (1 if cfg["router_bias"] else 0))
        expert = (self._matrices(cfg) - 1) * h * (d + b) + d * (h + b)
        return t * (router + k * expert)

    def active_weights(self, cfg, shape, out):
        """The tensors one token uses: the router and top_k experts (stacked on a leading top_k axis)."""
        return self._tensors(cfg, shape, cfg["top_k"])


COMMON = ("type", "name", "trainable")  # fields of every layer


def _build():
    types = [Dense(), Flatten(), BatchNorm(), LayerNorm(), Embedding()]
    for n in (1, 2, 3):
        types.append(Conv(n))
        types += [Pool("max", n), Pool("avg", n), AdaptivePool("avg", n), AdaptivePool("max", n)]
    types += [GlobalPool("avg"), GlobalPool("max")]
    types.append(Simple("dropout", "zeroes a fraction `rate` in training", (Field("rate", rate, 0.5),),
                        aliases={"p": "rate"}, keeps_ids=True))
    types.append(Simple("lrn", "local response normalisation across channels", (
        Field("size", positive_int, 5, "channels in a window"), Field("alpha", number, 1e-4),
        Field("beta", number, 0.75), Field("k", number, 1.0)), min_rank=2, aliases={"local_size": "size", "depth_radius": "size", "bias": "k"}))
    types += [Simple(a, "activation, over the last axis" if a == "softmax" else "activation", keeps_ids=a == "identity")
              for a in ACTIVATIONS if a not in ("leaky_relu", "elu")]
    types.append(Simple("leaky_relu", "activation", (Field("negative_slope", number, 0.01),), aliases={"alpha": "negative_slope"}))
    types.append(Simple("elu", "activation", (Field("alpha", number, 1.0),)))
    types.append(Simple("relu6", "activation: min(max(x, 0), 6) (MobileNet)"))
    # Issue 7: transposed, depthwise and separable convolutions, recurrent layers, attention,
    # more normalisations, shape-only layers, and what the presets need beyond them.
    types += [ConvTranspose(n) for n in (1, 2, 3)]
    types += [Depthwise(False), Depthwise(True)]
    types += [Recurrent(n) for n in ("rnn", "lstm", "gru")]
    types += [Attention(), RMSNorm(), GroupNorm(), InstanceNorm(), Upsample(), Reshape(), Permute(), Select(),
              PositionalEmbedding(), ClassToken(), Subsample(), RBF()]
    types.append(MoE())  # issue 10: mixture of experts
    return {t.name: t for t in types}


REGISTRY = _build()
ANY_LAYER_FIELD = tuple(sorted({name for t in REGISTRY.values() for name in t.known}))

# Fields other frameworks need but paramcount reads off the input shape.
INFERRED = {"in_channels", "in_features", "num_features", "normalized_shape", "input_shape", "input_dim"}

# Names other frameworks use for the same layer type, for did-you-mean.
TYPE_ALIASES = {
    "linear": "dense", "fc": "dense", "fullyconnected": "dense", "conv": "conv2d", "convolution": "conv2d",
    "maxpool": "maxpool2d", "avgpool": "avgpool2d", "averagepooling2d": "avgpool2d", "maxpooling2d": "maxpool2d",
    "averagepooling1d": "avgpool1d", "maxpooling1d": "maxpool1d", "averagepooling3d": "avgpool3d", "maxpooling3d": "maxpool3d",
    "batchnorm1d": "batchnorm", "batchnorm2d": "batchnorm", "batchnorm3d": "batchnorm", "batchnormalization": "batchnorm",
    "layernormalization": "layernorm", "localresponsenorm": "lrn", "globalaveragepooling2d": "globalavgpool",
    "globalmaxpooling2d": "globalmaxpool", "leakyrelu": "leaky_relu", "swish": "silu", "adaptiveavgpool": "adaptiveavgpool2d",
    "convtranspose1d": "conv1d_transpose", "convtranspose2d": "conv2d_transpose", "convtranspose3d": "conv3d_transpose",
    "conv2dtranspose": "conv2d_transpose", "conv1dtranspose": "conv1d_transpose", "conv3dtranspose": "conv3d_transpose",
    "deconv2d": "conv2d_transpose", "depthwiseconv2d": "depthwise_conv2d", "separableconv2d": "separable_conv2d",
    "simplernn": "rnn", "multiheadattention": "attention", "mha": "attention", "selfattention": "attention",
    "groupnormalization": "groupnorm", "instancenorm1d": "instancenorm", "instancenorm2d": "instancenorm",
    "instancenorm3d": "instancenorm", "upsampling2d": "upsample", "upsampling1d": "upsample", "upsampling3d": "upsample",
    "rmsnormalization": "rmsnorm", "llamarmsnorm": "rmsnorm", "view": "reshape", "transpose": "permute",
    "clstoken": "class_token", "positionembedding": "positional_embedding", "posembedding": "positional_embedding",
}
