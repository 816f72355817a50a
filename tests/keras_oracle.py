"""A second, independent oracle: Keras 3 (on its torch backend) counts what Keras counts differently.

Like ``torch_oracle`` it shares no code with ``paramcount`` (nor with ``torch_oracle``): it reads the
YAML itself, applies the spec format's documented defaults, builds a ``keras.Sequential`` and lets
Keras count (``layer.trainable_weights`` / ``non_trainable_weights``; a weight whose name is
``bias`` is a bias) and infer output shapes.

It covers the layer types whose counts depend on the framework's convention:

* ``rnn``, ``lstm``, ``gru`` with ``convention: keras``: ``SimpleRNN``, ``LSTM``, ``GRU`` (with
  ``reset_after``), stacked ``num_layers`` times, each wrapped in ``Bidirectional`` when asked;
* ``depthwise_conv2d`` and ``separable_conv2d``: ``DepthwiseConv2D`` and ``SeparableConv2D``
  (channels first, as the spec's shapes are; integer padding as a ``ZeroPadding2D`` in front);

plus ``dense``, ``flatten``, ``dropout`` and ``relu`` so that specs can go on from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported anywhere

import keras  # noqa: E402
import yaml  # noqa: E402
from keras import layers as kl  # noqa: E402

REQUIRED = object()
_RECURRENT = {"hidden_size": REQUIRED, "num_layers": 1, "bidirectional": False, "bias": True,
              "return_sequences": True, "convention": "torch"}
_DEPTHWISE = {"kernel_size": REQUIRED, "depth_multiplier": 1, "stride": 1, "padding": 0,
              "dilation": 1, "bias": True}
FIELDS = {
    "rnn": dict(_RECURRENT),
    "lstm": {**_RECURRENT, "proj_size": 0},
    "gru": {**_RECURRENT, "reset_after": True},
    "depthwise_conv2d": dict(_DEPTHWISE),
    "separable_conv2d": {"filters": REQUIRED, **_DEPTHWISE},
    "dense": {"units": REQUIRED, "bias": True, "activation": None},
    "flatten": {},
    "dropout": {"rate": 0.5},
    "relu": {},
}


class OracleSpecError(ValueError):
    """The Keras oracle cannot translate this spec, or Keras refuses it."""


@dataclass
class LayerResult:
    type: str
    trainable: int
    non_trainable: int
    output_shape: list[int]
    weights: int
    biases: int

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


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


def _with_defaults(layer: dict) -> dict:
    kind = layer.get("type")
    if kind not in FIELDS:
        raise OracleSpecError(f"the Keras oracle does not translate {kind!r}")
    unknown = set(layer) - set(FIELDS[kind]) - {"type", "name", "trainable"}
    if unknown:
        raise OracleSpecError(f"{kind}: unknown fields {sorted(unknown)}")
    out = {"trainable": True}
    for key, default in FIELDS[kind].items():
        if key in layer:
            out[key] = layer[key]
        elif default is REQUIRED:
            raise OracleSpecError(f"{kind}: missing {key!r}")
        else:
            out[key] = default
    out.update({k: layer[k] for k in ("type", "trainable") if k in layer})
    return out


def _pair(value):
    return tuple(value) if isinstance(value, list) else (value, value)


def _recurrent(layer) -> list:
    if layer["convention"] != "keras":
        raise OracleSpecError("the Keras oracle counts convention: keras only")
    kind = layer["type"]
    if kind == "lstm" and layer["proj_size"]:
        raise OracleSpecError("Keras's LSTM has no projection")
    cls = {"rnn": kl.SimpleRNN, "lstm": kl.LSTM, "gru": kl.GRU}[kind]
    stack = []
    for i in range(layer["num_layers"]):
        kwargs = dict(use_bias=layer["bias"],
                      return_sequences=layer["return_sequences"] or i < layer["num_layers"] - 1)
        if kind == "gru":
            kwargs["reset_after"] = layer["reset_after"]
        cell = cls(layer["hidden_size"], **kwargs)
        stack.append(kl.Bidirectional(cell, merge_mode="concat") if layer["bidirectional"] else cell)
    return stack


def _depthwise(layer) -> list:
    padding, stack = layer["padding"], []
    if padding not in ("same", "valid"):
        stack.append(kl.ZeroPadding2D(tuple((p, p) for p in _pair(padding)), data_format="channels_first"))
        padding = "valid"
    common = dict(kernel_size=_pair(layer["kernel_size"]), strides=_pair(layer["stride"]), padding=padding,
                  dilation_rate=_pair(layer["dilation"]), depth_multiplier=layer["depth_multiplier"],
                  use_bias=layer["bias"], data_format="channels_first")
    if layer["type"] == "depthwise_conv2d":
        stack.append(kl.DepthwiseConv2D(**common))
    else:
        stack.append(kl.SeparableConv2D(layer["filters"], **common))
    return stack


def _build(layer) -> list:
    kind = layer["type"]
    if kind in ("rnn", "lstm", "gru"):
        return _recurrent(layer)
    if kind in ("depthwise_conv2d", "separable_conv2d"):
        return _depthwise(layer)
    if kind == "dense":
        return [kl.Dense(layer["units"], use_bias=layer["bias"], activation=layer["activation"])]
    if kind == "flatten":
        return [kl.Flatten()]
    if kind == "dropout":
        return [kl.Dropout(layer["rate"])]
    return [kl.ReLU()]


def oracle(spec: dict | str | Path) -> OracleResult:
    """Build the Keras model for ``spec`` (a dict or a YAML path) and count it, layer by layer."""
    if not isinstance(spec, dict):
        with open(spec, encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
    result = OracleResult(input_shape=list(spec["input"]))
    x = keras.Input(shape=tuple(spec["input"]))
    for raw in spec["layers"]:
        layer = _with_defaults(raw)
        trainable = non_trainable = weights = biases = 0
        try:
            for part in _build(layer):
                x = part(x)
                part.trainable = bool(layer["trainable"])
                for w in part.weights:
                    n = int(w.numel()) if hasattr(w, "numel") else int(w.value.numel())
                    if w.trainable and part.trainable:
                        trainable += n
                    else:
                        non_trainable += n
                    if w.name == "bias":
                        biases += n
                    else:
                        weights += n
        except (ValueError, RuntimeError) as e:  # Keras's refusals
            raise OracleSpecError(f"{layer['type']}: Keras refuses: {e}") from e
        result.layers.append(LayerResult(type=layer["type"], trainable=trainable, non_trainable=non_trainable,
                                         output_shape=[int(n) for n in x.shape[1:]], weights=weights,
                                         biases=biases))
    return result
