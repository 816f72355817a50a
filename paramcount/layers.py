"""The registry of layer types: one entry per type declares its fields, shape rule and weights.

The parser, the did-you-mean and the README's reference table all read `REGISTRY`,
so adding a layer type touches this file only.
"""

from .errors import quote
from .shapes import ShapeError, product, window_positions


class Invalid(Exception):
    """A field's value is unacceptable; the parser adds the position (of item `index` in a list)."""

    def __init__(self, message, index=None):
        super().__init__(message)
        self.index = index


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
    """Zero parameters and shape-preserving unless a subclass says otherwise."""

    name = ""
    doc = ""
    fields = ()
    aliases = {}  # PyTorch / Keras field names -> ours, for did-you-mean
    min_rank = 1

    def check_rank(self, shape):
        if len(shape) < self.min_rank:
            raise ShapeError(f"needs an input of at least {self.min_rank} axes")

    def complete(self, cfg):
        """Fill defaults that depend on other fields."""

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape

    def weights(self, cfg, shape, out):
        return []

    def unshared_weights(self, cfg, shape, out):
        """What the layer would hold without weight sharing; None where sharing does not apply."""
        return None


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

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        channels, groups, filters = shape[0], cfg["groups"], cfg["filters"]
        if channels % groups:
            raise ShapeError(f"groups={groups} does not divide the {channels} input channels", "groups")
        if filters % groups:
            raise ShapeError(f"groups={groups} does not divide filters={filters}", "groups")
        return (filters,) + self.positions(cfg, shape[1:], cfg["dilation"])

    def _tensors(self, cfg, shape, out, per_position):
        filters, fan_in, kernel = cfg["filters"], shape[0] // cfg["groups"], cfg["kernel_size"]
        if per_position:  # locally connected: one kernel and bias per output position
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


class AdaptivePool(Spatial):
    def __init__(self, kind, ndim):
        self.ndim = ndim
        self.name = f"adaptive{kind}pool{ndim}d"
        self.doc = f"adaptive {'maximum' if kind == 'max' else 'average'} to `output_size`, input [{', '.join(_axes(ndim))}]"
        self.fields = (Field("output_size", per_axis(ndim), doc="int, or one per spatial axis"),)

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape[:1] + cfg["output_size"]


class GlobalPool(LayerType):
    min_rank = 2

    def __init__(self, kind):
        self.name = f"global{kind}pool"
        self.doc = f"{'maximum' if kind == 'max' else 'average'} over all spatial axes, to [C]"

    def output_shape(self, cfg, shape):
        self.check_rank(shape)
        return shape[:1]


class Flatten(LayerType):
    name, doc = "flatten", "to one axis"

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


class BatchNorm(LayerType):
    name, doc = "batchnorm", "over the first (channel) axis; running mean and variance are non-trainable"
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
    aliases = {"elementwise_affine": "affine", "epsilon": "eps"}
    fields = (Field("affine", boolean, True, "learn γ and β"), Field("eps", number, 1e-5))

    def weights(self, cfg, shape, out):
        c = shape[-1:]
        return [Weight("gamma", c, "weight"), Weight("beta", c, "bias")] if cfg["affine"] else []


class Embedding(LayerType):
    name, doc = "embedding", "token ids of any shape to vectors: [N] to [N, D]"
    aliases = {"input_dim": "num_embeddings", "num_tokens": "num_embeddings", "output_dim": "embedding_dim", "vocab_size": "num_embeddings"}
    fields = (Field("num_embeddings", positive_int, doc="vocabulary size"), Field("embedding_dim", positive_int))

    def output_shape(self, cfg, shape):
        return shape + (cfg["embedding_dim"],)

    def weights(self, cfg, shape, out):
        return [Weight("embeddings", (cfg["num_embeddings"], cfg["embedding_dim"]), "weight")]


class Simple(LayerType):
    """Shape-preserving layers without parameters: activations, dropout, LRN."""

    def __init__(self, name, doc, fields=(), min_rank=1, aliases=None):
        self.name, self.doc, self.fields, self.min_rank = name, doc, fields, min_rank
        self.aliases = aliases or {}


COMMON = ("type", "name", "trainable")  # fields of every layer


def _build():
    types = [Dense(), Flatten(), BatchNorm(), LayerNorm(), Embedding()]
    for n in (1, 2, 3):
        types.append(Conv(n))
        types += [Pool("max", n), Pool("avg", n), AdaptivePool("avg", n), AdaptivePool("max", n)]
    types += [GlobalPool("avg"), GlobalPool("max")]
    types.append(Simple("dropout", "zeroes a fraction `rate` in training", (Field("rate", rate, 0.5),), aliases={"p": "rate"}))
    types.append(Simple("lrn", "local response normalisation across channels", (
        Field("size", positive_int, 5, "channels in a window"), Field("alpha", number, 1e-4),
        Field("beta", number, 0.75), Field("k", number, 1.0)), min_rank=2, aliases={"local_size": "size", "depth_radius": "size", "bias": "k"}))
    types += [Simple(a, "activation, over the last axis" if a == "softmax" else "activation")
              for a in ACTIVATIONS if a not in ("leaky_relu", "elu")]
    types.append(Simple("leaky_relu", "activation", (Field("negative_slope", number, 0.01),), aliases={"alpha": "negative_slope"}))
    types.append(Simple("elu", "activation", (Field("alpha", number, 1.0),)))
    for t in types:  # derived once, for the parser's single pass over a layer
        t.known = COMMON + tuple(f.name for f in t.fields)
        t.field_by_name = {f.name: f for f in t.fields}
        t.defaults = {f.name: f.default for f in t.fields if f.default is not Field.REQUIRED}
        t.required = tuple(f.name for f in t.fields if f.default is Field.REQUIRED)
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
}
