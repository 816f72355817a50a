"""Keras models to paramcount specs: the model's config (a `.keras` file's `config.json`, or what
`model.to_json()` writes) translated into YAML, counted with Keras's conventions.

Nothing is deserialised and no weights are read: the config is plain JSON, read with `zipfile` and
`json`. Sequential and Functional models translate, nested models become `sequence`s, and a
Functional graph whose merges (`Add`, `Concatenate`, `Multiply`, ...) close simple forks becomes
`residual` (an `Add` of a branch and its own input) or `parallel`. A layer class paramcount cannot
count is an error that names it, never a zero.

Layouts: paramcount's spatial shapes are channels first. A channels_last tensor consumed by a
convolution, pool or BatchNormalization is written with its last axis first; where a later layer
needs Keras's own order back (a Dense on a feature map, say), a `permute` without parameters is
inserted. Layout never changes a count.
"""

import json
import os
import re
import zipfile

from ..errors import fail

__all__ = ["SUPPORTED", "looks_like_keras", "read_config", "to_spec_text", "load"]

MAX_CONFIG_BYTES = 64 * 2**20  # a config.json this large is not a model's config
_MODELS = ("Sequential", "Functional", "Model")
_K, _CF = "keras", "channels_first"  # how a tensor's axes are written in the spec (see the module's doc)
_INPUT = "input"  # the input's layout, decided by its first consumer

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "softmax": "softmax", "gelu": "gelu",
                "silu": "silu", "swish": "silu", "elu": "elu", "leaky_relu": "leaky_relu", "relu6": "relu6",
                "linear": None, None: None}
_DROPOUTS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
             "GaussianDropout", "AlphaDropout", "ActivityRegularization")
_MERGES = {"Add": "add", "Multiply": "multiply", "Concatenate": "concat", "Subtract": "add", "Average": "add",
           "Maximum": "add", "Minimum": "add"}


def _conv_names():
    names = []
    for n in (1, 2, 3):
        names += [f"Conv{n}D", f"Conv{n}DTranspose", f"MaxPooling{n}D", f"AveragePooling{n}D",
                  f"GlobalAveragePooling{n}D", f"GlobalMaxPooling{n}D", f"UpSampling{n}D"]
    return names


SUPPORTED = tuple(sorted(
    ["InputLayer", "Dense", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization", "LayerNormalization",
     "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Flatten", "Reshape", "Permute", "Activation",
     "ReLU", "LeakyReLU", "ELU", "Softmax", "Identity", "MultiHeadAttention", "Rescaling", "Masking"]
    + _conv_names() + list(_DROPOUTS) + list(_MERGES) + list(_MODELS)))


class _Fail(Exception):
    """A translation problem; becomes a SpecError naming the file."""


# -- reading ------------------------------------------------------------------------------------

def read_config(source):
    """The model's config dict from a `.keras` path, a `to_json()` path, JSON text or a dict."""
    if isinstance(source, dict):
        if not looks_like_keras(source):
            fail("<keras>", None, "is not a Keras model config (no class_name Sequential, Functional or Model)")
        return source, "<keras>"
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return _parse(source, "<keras>"), "<keras>"
    path = os.fspath(source)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                try:
                    info = z.getinfo("config.json")
                except KeyError:
                    fail(path, None, "is a zip file without config.json: not a Keras 3 .keras model")
                if info.file_size > MAX_CONFIG_BYTES:
                    fail(path, None, f"config.json holds {info.file_size:,} bytes; the limit is {MAX_CONFIG_BYTES:,}")
                with z.open(info) as f:
                    data = f.read(MAX_CONFIG_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        fail(path, None, f"cannot read: {getattr(e, 'strerror', None) or e}")
    if len(data) > MAX_CONFIG_BYTES:
        fail(path, None, f"holds more than {MAX_CONFIG_BYTES:,} bytes of config; not a model's config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail(path, None, "is not UTF-8 JSON: not a Keras config")
    return _parse(text, path), path


def _parse(text, path):
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as e:
        fail(path, None, f"is not JSON: {e}")
    if not looks_like_keras(config):
        fail(path, None, "is not a Keras model config (no class_name Sequential, Functional or Model)")
    return config


def looks_like_keras(obj):
    """Whether parsed JSON is a Keras model's config (what `to_json()` and `config.json` hold)."""
    return isinstance(obj, dict) and obj.get("class_name") in _MODELS and isinstance(obj.get("config"), dict)


# -- translation --------------------------------------------------------------------------------

class _State:
    """A tensor as the translation tracks it: its rank (no batch axis) and how the spec writes it."""

    __slots__ = ("rank", "layout")

    def __init__(self, rank, layout):
        self.rank, self.layout = rank, layout if rank >= 2 else _K


class _Translator:
    def __init__(self):
        self.input_layout = None
        self.notes = []

    # layouts
    def resolved(self, state):
        if state.layout == _INPUT:
            return self.input_layout or _INPUT
        return state.layout

    def need(self, state, layout, name):
        """Items that bring `state` to `layout` (a permute, or nothing), and the new state."""
        if state.rank < 2:
            return [], _State(state.rank, _K)
        current = self.resolved(state)
        if current == _INPUT:
            self.input_layout = current = layout
        if current == layout:
            return [], _State(state.rank, layout)
        r = state.rank
        dims = [r - 1] + list(range(r - 1)) if layout == _CF else list(range(1, r)) + [0]
        suffix = "channels_first" if layout == _CF else "channels_last"
        return [{"type": "permute", "name": f"{name}_{suffix}", "dims": dims}], _State(r, layout)

    # layers
    def layer(self, entry, state):
        """(items, output state) for one Keras layer entry (a dict with class_name and config)."""
        cls, cfg = entry.get("class_name"), entry.get("config") or {}
        name = cfg.get("name") or entry.get("name")
        if not isinstance(name, str) or not name:
            raise _Fail(f"a {cls} layer has no name")
        if cls in _MODELS:
            return self.nested(entry, state, name)
        method = getattr(self, "_" + str(cls), None)
        if cls not in SUPPORTED or method is None:
            raise _Fail(f"Keras layer {name!r} is a {cls}, which paramcount cannot count; supported: "
                        + ", ".join(SUPPORTED))
        items, out = method(cfg, state, name)
        if cfg.get("trainable") is False:
            for item in items:
                if item.get("type") != "permute":
                    item["trainable"] = False
        return items, out

    def nested(self, entry, state, name):
        cfg = entry["config"]
        items, out = self.model(entry, state)
        seq = {"type": "sequence", "name": name, "layers": items or [{"type": "identity"}]}
        if cfg.get("trainable") is False:
            seq["trainable"] = False
        return [seq], out

    def model(self, entry, state):
        """Items of a whole (possibly nested) model fed `state`, and its output state."""
        cls, cfg = entry["class_name"], entry["config"]
        layers = cfg.get("layers")
        if not isinstance(layers, list):
            raise _Fail(f"model {cfg.get('name')!r} lists no layers")
        if cls == "Sequential":
            items = []
            for layer in layers:
                if not isinstance(layer, dict):
                    raise _Fail("a layer entry is not an object")
                if layer.get("class_name") == "InputLayer":
                    continue
                more, state = self.layer(layer, state)
                items += more
            return items, state
        return _Graph(self, cfg).translate(state)

    # -- dense, convolutions, pools
    def _activation(self, cfg, item, name, items):
        act = cfg.get("activation")
        if isinstance(act, dict):  # a serialised activation object
            act = (act.get("config") or {}).get("name") or act.get("class_name")
        if act not in _ACTIVATIONS:
            self.notes.append(f"{name}: activation {act!r} has no parameters and no paramcount name; left out")
            return
        mapped = _ACTIVATIONS[act]
        if mapped is None:
            return
        if mapped == "relu6" or "activation" not in _FIELDS_WITH_ACTIVATION.get(item["type"], ()):
            items.append({"type": mapped, "name": f"{name}_activation"})
        else:
            item["activation"] = mapped

    def _Dense(self, cfg, state, name):
        items, state = self.need(state, _K, name)
        if state.rank < 1:
            raise _Fail(f"Dense {name!r} needs an input with a feature axis")
        item = {"type": "dense", "name": name, "units": _int(cfg, "units", name), "bias": _bool(cfg, "use_bias")}
        items.append(item)
        self._activation(cfg, item, name, items)
        return items, state

    def _spatial(self, cfg, state, name, ndim):
        fmt = cfg.get("data_format") or "channels_last"
        if fmt not in ("channels_last", "channels_first"):
            raise _Fail(f"{name!r}: data_format {fmt!r} is neither channels_last nor channels_first")
        if state.rank != ndim + 1:
            raise _Fail(f"{name!r} needs an input of {ndim + 1} axes besides the batch, got {state.rank}")
        return self.need(state, _CF if fmt == "channels_last" else _K, name)

    def _conv(self, cfg, state, name, ndim, kind=None):
        items, state = self._spatial(cfg, state, name, ndim)
        padding = cfg.get("padding", "valid")
        if padding == "causal":
            self.notes.append(f"{name}: causal padding keeps ceil(L / stride) steps, as padding: same does here")
            padding = "same"
        item = {"type": kind or f"conv{ndim}d", "name": name}
        if kind != "depthwise_conv2d":
            item["filters"] = _int(cfg, "filters", name)
        item.update(kernel_size=_ints(cfg, "kernel_size", name), stride=_ints(cfg, "strides", name, 1),
                    padding=padding, dilation=_ints(cfg, "dilation_rate", name, 1))
        if kind is None:
            item["groups"] = int(cfg.get("groups", 1) or 1)
        else:
            item["depth_multiplier"] = int(cfg.get("depth_multiplier", 1) or 1)
        item["bias"] = _bool(cfg, "use_bias")
        items.append(item)
        self._activation(cfg, item, name, items)
        return items, state

    def _transpose(self, cfg, state, name, ndim):
        """Keras's output length (deconv_output_length) as PyTorch's padding and output_padding."""
        items, state = self._spatial(cfg, state, name, ndim)
        kernel = _per_axis(_ints(cfg, "kernel_size", name), ndim)
        strides = _per_axis(_ints(cfg, "strides", name, 1), ndim)
        dilation = _per_axis(_ints(cfg, "dilation_rate", name, 1), ndim)
        given = cfg.get("output_padding")
        given = None if given is None else _per_axis(_ints(cfg, "output_padding", name), ndim)
        same = cfg.get("padding", "valid") == "same"
        pads, extra = [], []
        for i, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
            span = k + (k - 1) * (d - 1)
            if given is not None:
                p, op = (span // 2 if same else 0), given[i]
            elif not same or span < s:
                p, op = 0, max(s - span, 0)
            else:
                p = (span - s + 1) // 2
                op = 2 * p - (span - s)
            if op and not (op < s or op < d):
                raise _Fail(f"{name!r}: Keras's 'same' output of this transposed convolution (kernel {k}, "
                            f"stride {s}) has no PyTorch padding; paramcount cannot shape it")
            pads.append(p)
            extra.append(op)
        item = {"type": f"conv{ndim}d_transpose", "name": name, "filters": _int(cfg, "filters", name),
                "kernel_size": kernel, "stride": strides, "padding": pads, "output_padding": extra,
                "dilation": dilation, "groups": int(cfg.get("groups", 1) or 1), "bias": _bool(cfg, "use_bias")}
        items.append(item)
        self._activation(cfg, item, name, items)
        return items, state

    def _pool(self, cfg, state, name, ndim, kind):
        items, state = self._spatial(cfg, state, name, ndim)
        size = _ints(cfg, "pool_size", name)
        strides = cfg.get("strides")
        items.append({"type": f"{kind}pool{ndim}d", "name": name, "kernel_size": size,
                      "stride": size if strides is None else _ints(cfg, "strides", name),
                      "padding": cfg.get("padding", "valid")})
        return items, state

    def _global(self, cfg, state, name, ndim, kind):
        items, state = self._spatial(cfg, state, name, ndim)
        items.append({"type": f"global{kind}pool", "name": name})
        if cfg.get("keepdims"):
            items.append({"type": "reshape", "name": f"{name}_keepdims", "shape": [-1] + [1] * ndim})
            return items, state
        return items, _State(1, _K)

    def _upsample(self, cfg, state, name, ndim):
        items, state = self._spatial(cfg, state, name, ndim)
        size = cfg.get("size", 2)
        items.append({"type": "upsample", "name": name, "scale_factor": list(size) if isinstance(size, list) else size})
        return items, state

    def _DepthwiseConv2D(self, cfg, state, name):
        return self._conv(cfg, state, name, 2, "depthwise_conv2d")

    def _SeparableConv2D(self, cfg, state, name):
        return self._conv(cfg, state, name, 2, "separable_conv2d")

    # -- normalisation, embedding, recurrent, attention
    def _BatchNormalization(self, cfg, state, name):
        axis = _axis(cfg.get("axis", -1), state.rank, name)
        if state.rank >= 2 and axis not in (0, state.rank - 1):
            raise _Fail(f"BatchNormalization {name!r} normalises axis {axis + 1} of {state.rank + 1}; "
                        "paramcount handles the first or last axis besides the batch")
        items, state = self.need(state, _CF if axis == state.rank - 1 else _K, name)
        items.append({"type": "batchnorm", "name": name, "affine": _affine(cfg, name, "BatchNormalization"),
                      "eps": cfg.get("epsilon", 1e-3), "momentum": cfg.get("momentum", 0.99)})
        return items, state

    def _LayerNormalization(self, cfg, state, name):
        axis = _axis(cfg.get("axis", -1), state.rank, name)
        if axis != state.rank - 1:
            raise _Fail(f"LayerNormalization {name!r} normalises axis {axis + 1}; paramcount handles the last")
        items, state = self.need(state, _K, name)
        center, scale = cfg.get("center", True) is not False, cfg.get("scale", True) is not False
        if cfg.get("rms_scaling"):
            center = False
        if scale and not center:
            self.notes.append(f"{name}: LayerNormalization without centring learns γ only, counted as rmsnorm")
            items.append({"type": "rmsnorm", "name": name, "eps": cfg.get("epsilon", 1e-3)})
        elif center and not scale:
            raise _Fail(f"LayerNormalization {name!r} with center but not scale has no paramcount equivalent")
        else:
            items.append({"type": "layernorm", "name": name, "affine": scale, "eps": cfg.get("epsilon", 1e-3)})
        return items, state

    def _Embedding(self, cfg, state, name):
        items, state = self.need(state, _K, name)
        items.append({"type": "embedding", "name": name, "num_embeddings": _int(cfg, "input_dim", name),
                      "embedding_dim": _int(cfg, "output_dim", name)})
        return items, _State(state.rank + 1, _K)

    def _recurrent(self, cfg, state, name, bidirectional=False):
        cls = self._current_class
        items, state = self.need(state, _K, name)
        if state.rank != 2:
            raise _Fail(f"{cls} {name!r} needs an input [T, F] besides the batch, got {state.rank} axes")
        if cfg.get("return_state"):
            raise _Fail(f"{cls} {name!r} returns its state; paramcount translates layers with one output")
        item = {"type": {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[cls], "name": name,
                "hidden_size": _int(cfg, "units", name), "convention": "keras", "bias": _bool(cfg, "use_bias"),
                "return_sequences": bool(cfg.get("return_sequences", False))}
        if bidirectional:
            item["bidirectional"] = True
        if cls == "GRU":
            item["reset_after"] = cfg.get("reset_after", True) is not False
        items.append(item)
        return items, _State(2 if item["return_sequences"] else 1, _K)

    def _SimpleRNN(self, cfg, state, name):
        self._current_class = "SimpleRNN"
        return self._recurrent(cfg, state, name)

    def _LSTM(self, cfg, state, name):
        self._current_class = "LSTM"
        return self._recurrent(cfg, state, name)

    def _GRU(self, cfg, state, name):
        self._current_class = "GRU"
        return self._recurrent(cfg, state, name)

    def _Bidirectional(self, cfg, state, name):
        inner = cfg.get("layer") or {}
        cls, inner_cfg = inner.get("class_name"), dict(inner.get("config") or {})
        if cls not in ("SimpleRNN", "LSTM", "GRU"):
            raise _Fail(f"Bidirectional {name!r} wraps a {cls}; paramcount counts SimpleRNN, LSTM and GRU")
        if cfg.get("merge_mode", "concat") != "concat":
            raise _Fail(f"Bidirectional {name!r} merges by {cfg.get('merge_mode')!r}; paramcount concatenates")
        back = cfg.get("backward_layer")
        if back and any((back.get("config") or {}).get(k) != inner_cfg.get(k)
                        for k in ("units", "use_bias", "reset_after")) or back and back.get("class_name") != cls:
            raise _Fail(f"Bidirectional {name!r} has a backward layer unlike its forward one")
        self._current_class = cls
        items, out = self._recurrent(inner_cfg, state, name, bidirectional=True)
        if cfg.get("trainable") is False or inner_cfg.get("trainable") is False:
            items[-1]["trainable"] = False
        return items, out

    def _MultiHeadAttention(self, cfg, state, name):
        items, state = self.need(state, _K, name)
        if state.rank != 2:
            raise _Fail(f"MultiHeadAttention {name!r}: paramcount counts attention over [T, D], got "
                        f"{state.rank} axes besides the batch")
        key_dim = _int(cfg, "key_dim", name)
        value_dim = cfg.get("value_dim")
        if value_dim not in (None, key_dim):
            raise _Fail(f"MultiHeadAttention {name!r}: value_dim {value_dim} differs from key_dim {key_dim}; "
                        "paramcount's attention has one head size")
        if cfg.get("output_shape") not in (None, []):
            raise _Fail(f"MultiHeadAttention {name!r} sets output_shape; paramcount projects back to D")
        if cfg.get("attention_axes") not in (None, [1], 1, [-2], -2):
            raise _Fail(f"MultiHeadAttention {name!r} attends over axes {cfg.get('attention_axes')}")
        bias = _bool(cfg, "use_bias")
        items.append({"type": "attention", "name": name, "num_heads": _int(cfg, "num_heads", name),
                      "head_dim": key_dim, "qkv_bias": bias, "out_bias": bias})
        return items, state

    # -- shape-only layers and activations
    def _Flatten(self, cfg, state, name):
        return [{"type": "flatten", "name": name}], _State(1, _K)

    def _Reshape(self, cfg, state, name):
        items, state = self.need(state, _K, name)
        target = cfg.get("target_shape")
        if not isinstance(target, list) or not target:
            raise _Fail(f"Reshape {name!r} has no target_shape")
        items.append({"type": "reshape", "name": name, "shape": [-1 if d is None else d for d in target]})
        return items, _State(len(target), _K)

    def _Permute(self, cfg, state, name):
        items, state = self.need(state, _K, name)
        dims = cfg.get("dims")
        if not isinstance(dims, list) or sorted(dims) != list(range(1, state.rank + 1)):
            raise _Fail(f"Permute {name!r}: dims {dims!r} do not reorder the {state.rank} axes")
        items.append({"type": "permute", "name": name, "dims": [d - 1 for d in dims]})
        return items, state

    def _simple(self, kind, name, state, **fields):
        return [dict({"type": kind, "name": name}, **fields)], state

    def _Activation(self, cfg, state, name):
        act = cfg.get("activation")
        if isinstance(act, dict):
            act = (act.get("config") or {}).get("name") or act.get("class_name")
        mapped = _ACTIVATIONS.get(act, "?")
        if mapped == "?":
            self.notes.append(f"{name}: activation {act!r} has no parameters; shown as identity")
            mapped = "identity"
        return self._simple(mapped or "identity", name, state)

    def _ReLU(self, cfg, state, name):
        if cfg.get("max_value") == 6 and not cfg.get("negative_slope") and not cfg.get("threshold"):
            return self._simple("relu6", name, state)
        if cfg.get("max_value") is None and cfg.get("negative_slope"):
            return self._simple("leaky_relu", name, state, negative_slope=cfg["negative_slope"])
        if cfg.get("max_value") is not None or cfg.get("threshold"):
            self.notes.append(f"{name}: ReLU with a maximum or threshold counted as relu (no parameters)")
        return self._simple("relu", name, state)

    def _LeakyReLU(self, cfg, state, name):
        slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
        return self._simple("leaky_relu", name, state, negative_slope=slope)

    def _ELU(self, cfg, state, name):
        return self._simple("elu", name, state, alpha=cfg.get("alpha", 1.0))

    def _Softmax(self, cfg, state, name):
        return self._simple("softmax", name, state)

    def _Identity(self, cfg, state, name):
        return self._simple("identity", name, state)

    _Rescaling = _Masking = _Identity  # no weights, the same shape


_FIELDS_WITH_ACTIVATION = {"dense": ("activation",), "conv1d": ("activation",), "conv2d": ("activation",),
                           "conv3d": ("activation",)}


def _install():
    """Per-class methods generated for the families (Conv1D..3D, pools, dropouts)."""
    for n in (1, 2, 3):
        setattr(_Translator, f"_Conv{n}D", lambda self, c, s, name, n=n: self._conv(c, s, name, n))
        for kind, keras_kind in (("max", "Max"), ("avg", "Average")):
            setattr(_Translator, f"_{keras_kind}Pooling{n}D",
                    lambda self, c, s, name, n=n, k=kind: self._pool(c, s, name, n, k))
            setattr(_Translator, f"_Global{keras_kind}Pooling{n}D",
                    lambda self, c, s, name, n=n, k=kind: self._global(c, s, name, n, k))
        setattr(_Translator, f"_Conv{n}DTranspose", lambda self, c, s, name, n=n: self._transpose(c, s, name, n))
        setattr(_Translator, f"_UpSampling{n}D", lambda self, c, s, name, n=n: self._upsample(c, s, name, n))
    for cls in _DROPOUTS:
        setattr(_Translator, f"_{cls}",
                lambda self, c, s, name: self._simple("dropout", name, s, rate=_rate(c.get("rate", 0.0))))


_install()


def _rate(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1 else 0.5


def _int(cfg, key, name):
    value = cfg.get(key)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _Fail(f"{name!r}: {key} is {value!r}, not a positive integer")
    return value


def _ints(cfg, key, name, default=None):
    value = cfg.get(key, default)
    if value is None:
        value = default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value[0] if len(value) == 1 else list(value)
    raise _Fail(f"{name!r}: {key} is {value!r}, not an integer or a list of them")


def _per_axis(value, ndim):
    return list(value) if isinstance(value, list) else [value] * ndim


def _bool(cfg, key):
    return cfg.get(key, True) is not False


def _affine(cfg, name, cls):
    center, scale = cfg.get("center", True) is not False, cfg.get("scale", True) is not False
    if center != scale:
        raise _Fail(f"{cls} {name!r} has center={center} and scale={scale}; paramcount learns both or neither")
    return center


def _axis(axis, rank, name):
    if isinstance(axis, list):
        if len(axis) != 1:
            raise _Fail(f"{name!r} normalises several axes {axis}; paramcount handles one")
        axis = axis[0]
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise _Fail(f"{name!r}: axis {axis!r} is not an integer")
    full = rank + 1  # Keras counts the batch axis
    axis = axis + full if axis < 0 else axis
    if not 1 <= axis < full:
        raise _Fail(f"{name!r}: axis {axis} is out of range or the batch axis")
    return axis - 1


# -- functional graphs ---------------------------------------------------------------------------

def _tensors(value):
    """Every (layer name, node index, tensor index) a call's arguments refer to, in order."""
    found = []
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if isinstance(history, list) and len(history) == 3:
                found.append(tuple(history))
            return found
        for v in value.values():
            found += _tensors(v)
    elif isinstance(value, list):
        if len(value) in (3, 4) and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:3]):
            found.append(tuple(value[:3]))  # Keras 2: [layer, node, tensor, kwargs]
        else:
            for v in value:
                found += _tensors(v)
    return found


class _Graph:
    """A Functional model with one input and one output, as nested series and fork-joins."""

    def __init__(self, tr, cfg):
        self.tr, self.name = tr, cfg.get("name")
        self.entries, self.inputs = {}, {}
        for entry in cfg["layers"]:
            if not isinstance(entry, dict):
                raise _Fail("a layer entry is not an object")
            name = entry.get("name") or (entry.get("config") or {}).get("name")
            if name in self.entries:
                raise _Fail(f"two layers are named {name!r}")
            self.entries[name] = entry
            nodes = entry.get("inbound_nodes") or []
            if len(nodes) > 1:
                raise _Fail(f"layer {name!r} is called {len(nodes)} times (shared weights); paramcount "
                            "translates layers called once")
            refs = _tensors(nodes[0]) if nodes else []
            for layer, node, tensor in refs:
                if node != 0 or tensor != 0:
                    raise _Fail(f"layer {name!r} uses output {tensor} of call {node} of {layer!r}; paramcount "
                                "translates layers with one output, called once")
                if layer not in self.entries:
                    raise _Fail(f"layer {name!r} uses {layer!r}, which is not listed before it")
            ordered = list(dict.fromkeys(layer for layer, _, _ in refs))
            if entry.get("class_name") not in _MERGES and len(ordered) > 1:
                raise _Fail(f"layer {name!r} ({entry.get('class_name')}) takes {len(ordered)} different "
                            "inputs; paramcount translates one input a layer, except merges")
            self.inputs[name] = [layer for layer, _, _ in refs] if entry.get("class_name") in _MERGES else ordered
        self.ins = _endpoints(cfg.get("input_layers"), "input")
        self.outs = _endpoints(cfg.get("output_layers"), "output")
        self.order = {name: i for i, name in enumerate(self.entries)}
        self.emitted = set()
        self.ancestry = {}

    def translate(self, state):
        (src,), (dst,) = self.ins, self.outs
        if src not in self.entries or dst not in self.entries:
            raise _Fail(f"model {self.name!r}: its input or output layer is not listed")
        items, out = self.build(src, dst, state)
        return items, out

    def ancestors(self, name):
        if name not in self.ancestry:
            seen, todo = set(), [name]
            while todo:
                n = todo.pop()
                if n not in seen:
                    seen.add(n)
                    todo += self.inputs.get(n, [])
            self.ancestry[name] = seen
        return self.ancestry[name]

    def build(self, src, dst, state):
        """Items computing layer `dst`'s output from layer `src`'s (whose state is `state`)."""
        chain, cur = [], dst
        while cur != src:  # walk back to src, collecting single-input layers and merges
            ins = self.inputs[cur]
            if not ins:
                raise _Fail(f"model {self.name!r} is not a chain of simple forks and joins: "
                            f"{cur!r} is reached without passing {src!r}")
            if cur in self.emitted:
                raise _Fail(f"model {self.name!r}: the output of {cur!r} is used by more than one branch; "
                            "paramcount translates simple forks and joins")
            self.emitted.add(cur)
            if self.entries[cur].get("class_name") in _MERGES:
                fork = self.fork(cur)
                chain.append((cur, fork))
                cur = fork
            else:
                chain.append((cur, None))
                cur = ins[0]
        items = []
        for name, fork in reversed(chain):
            if fork is None:
                more, state = self.tr.layer(self.entries[name], state)
            else:
                more, state = self.merge(name, fork, state)
            items += more
        return items, state

    def fork(self, merge):
        ins = self.inputs[merge]
        common = set.intersection(*(self.ancestors(i) for i in ins))
        if not common:
            raise _Fail(f"model {self.name!r}: the inputs of {merge!r} share no earlier layer")
        return max(common, key=self.order.__getitem__)

    def merge(self, name, fork, state):
        entry = self.entries[name]
        cls, cfg = entry["class_name"], entry.get("config") or {}
        how = _MERGES[cls]
        if how != {"Add": "add", "Multiply": "multiply", "Concatenate": "concat"}.get(cls):
            self.tr.notes.append(f"{name}: {cls} has no parameters; merged as add (the same shape)")
        branches = []
        for i in self.inputs[name]:
            if i == fork:
                branches.append(([], state))
            else:
                branches.append(self.build(fork, i, state))
        target = self.tr.resolved(branches[0][1])
        if target == _INPUT:
            target = self.tr.resolved(state)
        if target == _INPUT:
            self.tr.input_layout = target = _K
        lists = []
        for items, out in branches:
            more, out = self.tr.need(out, target, f"{name}_{len(lists)}")
            lists.append(items + more)
        rank = branches[0][1].rank
        if how == "add" and len(lists) == 2 and [] in lists and cls == "Add":
            body = lists[0] or lists[1]
            return [{"type": "residual", "body": body}], _State(rank, target)
        group = {"type": "parallel", "name": name, "merge": how,
                 "branches": [items or [{"type": "identity", "name": "identity"}] for items in lists]}
        if how == "concat":
            axis = _axis(cfg.get("axis", -1), rank, name)
            if target == _CF and rank >= 2:
                axis = 0 if axis == rank - 1 else axis + 1
            group["axis"] = axis
        return [group], _State(rank, target)


def _endpoints(value, what):
    """Keras's input_layers/output_layers: one [name, node, tensor] (or a list of them)."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or len(value) != 1:
        raise _Fail(f"the model has {len(value) if isinstance(value, list) else 'no'} {what}s; paramcount "
                    f"translates models with one {what}")
    return [value[0][0]]


# -- the input and the text ----------------------------------------------------------------------

def _input_shape(config, fill=None):
    """The model's input shape without the batch axis, from its InputLayer (or a built layer);
    `fill` stands for axes Keras leaves open (None)."""
    cfg = config["config"]
    layers = cfg.get("layers") or []
    shape = None
    if config["class_name"] != "Sequential":
        (src,) = _endpoints(cfg.get("input_layers"), "input")
        entry = next((e for e in layers if isinstance(e, dict) and
                      (e.get("name") or (e.get("config") or {}).get("name")) == src), None)
        if entry is None or entry.get("class_name") != "InputLayer":
            raise _Fail(f"the model's input {src!r} is not an InputLayer")
        shape = _batch_shape(entry.get("config") or {})
    else:
        first = next((e for e in layers if isinstance(e, dict)), None)
        if first is not None:
            shape = _batch_shape(first.get("config") or {})
            if shape is None and first.get("class_name") != "InputLayer":
                shape = (first.get("build_config") or {}).get("input_shape")
        if shape is None:
            shape = cfg.get("build_input_shape")
    if not isinstance(shape, list) or len(shape) < 2:
        raise _Fail("the model has no input shape: give it a keras.Input, or build it before saving")
    shape = shape[1:]
    if fill is not None:
        shape = [fill if d is None else d for d in shape]
    if any(d is None for d in shape):
        raise _Fail(f"the input shape {[d for d in shape]} has an axis of unknown size (None); paramcount needs "
                    "every size: give keras.Input a fixed shape, or a size for open axes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise _Fail(f"the input shape {shape!r} is not a list of positive integers")
    return shape


def _batch_shape_of(config):
    try:
        cfg = config["config"]
        layers = cfg.get("layers") or []
        if config["class_name"] != "Sequential":
            src = _endpoints(cfg.get("input_layers"), "input")[0]
            layers = [e for e in layers if (e.get("name") or (e.get("config") or {}).get("name")) == src]
        return _batch_shape((layers[0].get("config") or {})) if layers else None
    except (_Fail, AttributeError, TypeError, IndexError, KeyError):
        return None


def _batch_shape(cfg):
    return cfg.get("batch_shape") or cfg.get("batch_input_shape")


def to_spec_text(source, name=None, fill=None):
    """YAML spec text for a Keras model: `source` is a `.keras` path, a `model.to_json()` file's path,
    JSON text or a parsed dict. `fill`: a size for input axes Keras leaves open (`Input((None,))`, a
    text model's length); without it such an axis is an error. Raises paramcount.SpecError naming
    the file on anything it cannot translate (an unsupported layer class names itself and the
    supported ones)."""
    config, path = read_config(source)
    try:
        return _text(config, path, name, fill)
    except _Fail as e:
        fail(path, None, str(e))
    except RecursionError:
        fail(path, None, "the model nests too deeply")
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as e:  # a config Keras never wrote
        fail(path, None, f"is not a well-formed Keras model config ({type(e).__name__}: {e})")


def load(source, name=None, fill=None):
    """The paramcount Spec of a Keras model (to_spec_text, then paramcount's own parser)."""
    from ..spec import load_text

    is_path = isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith("{"))
    path = os.fspath(source) if is_path else "<keras>"
    # Errors in the translated spec name its lines: `--emit-spec` prints that text.
    return load_text(to_spec_text(source, name, fill), f"{path} (translated)", path)


def _text(config, path, name, fill):
    shape = _input_shape(config, fill)
    tr = _Translator()
    items, _ = tr.model(config, _State(len(shape), _INPUT))
    if not items:
        items = [{"type": "identity", "name": "identity"}]
    lines = [f"# Translated from the Keras model in {json.dumps(os.path.basename(path), ensure_ascii=False)} "
             "by paramcount: counts follow Keras (recurrent biases: convention keras;",
             "# BatchNormalization's moving mean and variance: non-trainable)."]
    spec_shape = list(shape)
    if tr.input_layout == _CF and len(shape) >= 2:
        spec_shape = [shape[-1]] + list(shape[:-1])
        lines.append(f"# Input: Keras's {shape} is channels_last; paramcount writes channels first, so it is "
                     f"{spec_shape} here. The layout changes no count.")
    if fill is not None and any(d is None for d in (_batch_shape_of(config) or [])[1:]):
        lines.append(f"# Axes Keras leaves open (None) are {fill} here.")
    for note in tr.notes:
        lines.append("# " + _comment(note))
    model_name = name or config["config"].get("name") or "model"
    lines.append(f"name: {_scalar(model_name)}")
    lines.append(f"input: {_scalar(spec_shape)}")
    lines.append("layers:")
    _emit(items, 1, lines)
    return "\n".join(lines) + "\n"


def _comment(text):
    return "".join(c if c.isprintable() else "?" for c in text)


def _scalar(value):
    """A flow-style YAML value: JSON is valid YAML for what the translation writes."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    if isinstance(value, list):
        return "[" + ", ".join(map(_scalar, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}


def _emit(items, depth, lines):
    pad = "  " * depth
    for item in items:
        nested = {k: v for k, v in item.items() if isinstance(v, list) and v and isinstance(v[0], (dict, list))}
        flat = ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items() if k not in nested)
        if not nested:
            lines.append(f"{pad}- {{{flat}}}")
            continue
        first = True
        for k, v in item.items():
            if k in nested:
                continue
            lines.append(f"{pad}{'- ' if first else '  '}{k}: {_scalar(v)}")
            first = False
        for k, v in nested.items():
            lines.append(f"{pad}{'- ' if first else '  '}{k}:")
            first = False
            if k == "branches":
                for branch in v:
                    lines.append(f"{pad}    - layers:")
                    _emit(branch, depth + 4, lines)
            else:
                _emit(v, depth + 2, lines)
