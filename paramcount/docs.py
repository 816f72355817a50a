"""The README's layer reference, generated from the registry (a test keeps the README in step).

Run `python -m paramcount.docs` to print it.
"""

from .layers import COMMON, REGISTRY, Field


def _default(field):
    d = field.default
    if d is Field.REQUIRED:
        return "required"
    if isinstance(d, tuple) and len(set(d)) == 1:
        d = d[0]
    if d is None:
        return "none"
    return str(d).lower() if isinstance(d, bool) else str(d)


def reference():
    lines = ["| type | what it does | fields (default) |", "| --- | --- | --- |"]
    for kind in REGISTRY.values():
        fields = "; ".join(
            f"`{f.name}` ({_default(f)})" + (f": {f.doc}" if f.doc else "") for f in kind.fields
        )
        lines.append(f"| `{kind.name}` | {kind.doc} | {fields or '—'} |")
    lines.append("")
    lines.append(f"Every layer also takes {', '.join(f'`{c}`' for c in COMMON)}.")
    lines.append("")
    lines += CONVENTIONS
    return "\n".join(lines) + "\n"


# Where PyTorch and Keras count the same layer differently, and what `convention` changes.
CONVENTIONS = [
    "#### Where PyTorch and Keras count differently",
    "",
    "- **Recurrent biases** (`rnn`, `lstm`, `gru`; g = 1, 4 or 3 gate sets of H units each). Both",
    "  frameworks have the same matrices: per layer and direction, an input kernel g·H × F and a",
    "  recurrent kernel g·H × H (F: the layer's input features). PyTorch gives every cell two bias",
    "  vectors (`bias_ih`, `bias_hh`: 2·g·H); Keras one (g·H), except `GRU` with `reset_after: true`",
    "  (its default), which has two. `convention: torch` (the default) counts PyTorch's layer,",
    "  `convention: keras` Keras's: a 256-unit LSTM on 128 features holds 395,264 parameters in",
    "  PyTorch and 394,240 in Keras. Only Keras has `reset_after: false` (a GRU with one bias vector),",
    "  only PyTorch has `proj_size` (an LSTM whose hidden state is projected, adding P × H per",
    "  direction); each needs its convention. `num_layers` stacks layers as `nn.LSTM(num_layers=N)`",
    "  does, and as N Keras layers with `return_sequences`; `bidirectional` doubles every layer and",
    "  concatenates, as `Bidirectional` does.",
    "- **Separable convolutions**: `separable_conv2d` is Keras's `SeparableConv2D`: a depthwise kernel",
    "  (C·M × K), a pointwise kernel (filters × C·M) and one bias, on the pointwise part (filters).",
    "  PyTorch has no such layer; the usual pair (`Conv2d(groups=C)` then a 1×1 `Conv2d`) has a bias",
    "  in each by default, C·M more: write it as `depthwise_conv2d` and a 1×1 `conv2d` to count that.",
    "  `depthwise_conv2d` counts the same in both (C·M kernels and C·M biases).",
    "- **Running statistics**: `batchnorm`'s running mean and variance, and `instancenorm`'s with",
    "  `track_running_stats`, are non-trainable state: buffers in PyTorch (not in",
    "  `model.parameters()`), non-trainable weights in Keras (in `count_params()`). paramcount counts",
    "  them in `params` and `non_trainable`, never in `trainable`.",
    "- **Everything else** counts the same in both where both have the layer; where only one has it,",
    "  paramcount counts that one: `attention` is `nn.MultiheadAttention` (Keras's `MultiHeadAttention`",
    "  has the same count with equal sizes), `rmsnorm` is `nn.RMSNorm` (γ only), `instancenorm`",
    "  defaults to PyTorch's `affine: false`.",
]


if __name__ == "__main__":
    print(reference(), end="")
