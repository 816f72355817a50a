"""`--explain`: each layer's count as a formula with its numbers filled in, in plain words.

Every explanation is derived from the report alone (a LayerReport's type, shapes, tensors, counts,
`repeat`, `shared`, `tied_to` and children), never from the spec's config: what a student checks
against a textbook is what was counted. `EXPLAIN` maps every registered layer type to a function
`(node, name) -> str` giving one copy's formula; composites (sequence, residual, parallel, blocks)
sum their parts. `name` formats text from the spec (a code span in markdown).
"""

from __future__ import annotations

import textwrap
from math import prod

from . import render

# -- helpers ------------------------------------------------------------------------------------


def n(x):
    return f"{x:,}"


def plural(count, word, many=None):
    return f"{n(count)} {word if count == 1 else many or word + 's'}"


def times(dims):
    """[28, 28] -> '28 × 28'."""
    return " × ".join(n(d) for d in dims)


def _by_role(node, role):
    return [t for t in node.tensors or () if t.role == role]


def _find(node, name):
    for t in node.tensors or ():
        if t.name == name:
            return t
    return None


def _size(t):
    return prod(t.shape) if t is not None else 0


def _total(node):
    return sum(_size(t) for t in node.tensors or ())


# -- leaf layer types ---------------------------------------------------------------------------


def _none(why=""):
    def explain(node, name):
        return "no parameters" + (f" ({why})" if why else "")
    return explain


def _sharing(node, one, positions):
    """'; without sharing, 28 × 28 positions × 156 = 122,304' where sharing saves something."""
    if prod(positions) <= 1:
        return "; at a single position, sharing saves nothing" if positions else ""
    return f"; without sharing, {times(positions)} positions × {n(one)} = {n(prod(positions) * one)}"


def _conv(node, name):
    kernel, bias = _find(node, "kernel"), _find(node, "bias")
    channels, filters, positions = node.input_shape[0], node.output_shape[0], node.output_shape[1:]
    ndim = len(positions)
    bias_word = " + 1 bias" if bias is not None else ""
    if len(kernel.shape) == ndim + 2 and kernel.shape[:ndim] == tuple(positions) and kernel.shape[ndim] == filters \
            and (bias is None or len(bias.shape) > 1):
        # locally connected: one kernel (and bias) per output position
        per = kernel.shape[-1]
        one = filters * (per + (1 if bias is not None else 0))
        return (f"locally connected (no sharing): {times(positions)} positions × {plural(filters, 'filter')} × "
                f"({plural(per, 'weight')}{bias_word}) = {n(prod(positions) * one)}")
    if len(kernel.shape) == ndim + 1:  # a connection table: each filter sees its own input channels
        links, window = kernel.shape[0], kernel.shape[1:]
        if bias is not None and len(bias.shape) > 1:  # and no sharing
            per = kernel.shape[-1]
            one = per + filters
            return (f"locally connected (no sharing), a connection table: {times(positions)} positions × "
                    f"({n(per)} weights + {plural(filters, 'bias', 'biases')}) = {n(prod(positions) * one)}")
        one = links * prod(window) + (filters if bias is not None else 0)
        text = (f"{plural(filters, 'filter')} see {n(links)} input channels in all (a connection table): "
                f"{n(links)} × {times(window)} weights" + (f" + {plural(filters, 'bias', 'biases')}" if bias else "")
                + f" = {n(one)}")
        return text + _sharing(node, one, positions)
    fan_in, window = kernel.shape[1], kernel.shape[2:]
    one = _total(node)
    groups = channels // fan_in if fan_in else 1
    seen = plural(fan_in, "channel") + (f" (of {n(channels)}, in {n(groups)} groups)" if groups > 1 else "")
    inner = f"{seen} × {times(window)} weights{bias_word}"
    text = f"{plural(filters, 'filter')} × " + (f"({inner})" if bias is not None else inner) + f" = {n(one)}"
    return text + _sharing(node, one, positions)


def _conv_transpose(node, name):
    kernel, bias = _find(node, "kernel"), _find(node, "bias")
    channels, per_group, window = kernel.shape[0], kernel.shape[1], kernel.shape[2:]
    filters = node.output_shape[0]
    groups = filters // per_group if per_group else 1
    text = (f"{plural(channels, 'input channel')} × {plural(per_group, 'filter')}"
            + (f" (of {n(filters)}, in {n(groups)} groups)" if groups > 1 else "")
            + f" × {times(window)} weights")
    if bias is not None:
        text += f" + {plural(filters, 'bias', 'biases')}"
    return text + f" = {n(_total(node))} (the kernel is stored input channels first)"


def _depthwise(node, name):
    kernel, bias = _find(node, "depthwise_kernel"), _find(node, "bias")
    channels = node.input_shape[0]
    window = kernel.shape[-2:]
    kernels = kernel.shape[-3]
    per_position = len(kernel.shape) > 3
    multiplier = kernels // channels if channels else 1
    what = plural(kernels, "kernel") + f" ({plural(channels, 'channel')} × multiplier {multiplier})"
    text = f"{what} × ({times(window)} weights" + (" + 1 bias)" if bias is not None else ")")
    positions = node.output_shape[1:]
    if per_position:
        return f"locally connected (no sharing): {times(positions)} positions × {text} = {n(_total(node))}"
    one = _total(node)
    return text + f" = {n(one)}" + _sharing(node, one, positions)


def _separable(node, name):
    depth, point, bias = _find(node, "depthwise_kernel"), _find(node, "pointwise_kernel"), _find(node, "bias")
    kernels, window, filters = depth.shape[-3], depth.shape[-2:], node.output_shape[0]
    positions = node.output_shape[1:]
    text = (f"depthwise {plural(kernels, 'kernel')} × {times(window)} = {n(kernels * prod(window))}, "
            f"pointwise {plural(filters, 'filter')} × {plural(kernels, 'channel')} = {n(filters * kernels)}")
    if bias is not None:
        text += f", {plural(filters, 'bias', 'biases')} (on the pointwise part)"
    if len(depth.shape) > 3:
        return f"locally connected (no sharing): {times(positions)} positions × ({text}) = {n(_total(node))}"
    one = _total(node)
    return text + f": {n(one)}" + _sharing(node, one, positions)


def _dense(node, name):
    kernel, bias = _find(node, "kernel"), _find(node, "bias")
    fan_in, units = kernel.shape
    inner = plural(fan_in, "input") + (" + 1 bias" if bias is not None else "")
    text = f"{plural(units, 'unit')} × " + (f"({inner})" if bias is not None else inner) + f" = {n(_total(node))}"
    positions = prod(node.input_shape[:-1])
    if len(node.input_shape) > 1 and positions > 1:
        text += f", the same weights at each of the {n(positions)} positions"
    return text


def _centres(node, name):
    centres = _find(node, "centres")
    units, size = centres.shape
    return f"{plural(units, 'unit')} × a centre of {plural(size, 'input')}, no bias = {n(_total(node))}"


def _subsample(node, name):
    channels = node.input_shape[0]
    return (f"{plural(channels, 'channel')} × (1 coefficient + 1 bias) = {n(_total(node))}, "
            f"shared by every window of a channel")


def _affine(node, name, axis_word):
    gamma, beta = _find(node, "gamma"), _find(node, "beta")
    state = _by_role(node, "state")
    size = (gamma or beta or (state[0] if state else None))
    parts = []
    if gamma is not None:
        what = "(γ + β)" if beta is not None else "γ"
        parts.append(f"{plural(size.shape[0], axis_word)} × {what} = {n(_size(gamma) + _size(beta))}")
    if state:
        parts.append(f"{plural(size.shape[0], axis_word)} × (running mean + running variance) = "
                     f"{n(sum(map(_size, state)))} running statistics, not trained")
    if not parts:
        return "no parameters (no γ or β)"
    if len(parts) == 2:
        return f"{parts[0]} trained + {parts[1]}: {n(_total(node))}"
    return parts[0]


def _norm(axis_word):
    return lambda node, name: _affine(node, name, axis_word)


def _table(what):
    def explain(node, name):
        rows, width = _by_role(node, "weight")[0].shape
        return f"{plural(rows, what)} × {plural(width, 'feature')} = {n(rows * width)}"
    return explain


def _class_token(node, name):
    return f"1 token × {plural(node.input_shape[-1], 'feature')} = {n(_total(node))}, prepended"


def _attention(node, name):
    parts, same = [], set()
    for part in ("query", "key", "value", "output"):
        kernel, bias = _find(node, part + "_kernel"), _find(node, part + "_bias")
        same.add((kernel.shape, None if bias is None else bias.shape))
        parts.append(f"{part} {times(kernel.shape)}" + (f" + {n(_size(bias))}" if bias is not None else ""))
    if len(same) == 1:
        kernel_shape, bias_shape = same.pop()
        inner = f"{times(kernel_shape)} weights" + (f" + {n(prod(bias_shape))} biases" if bias_shape else "")
        return f"4 projections (query, key, value, output) × ({inner}) = {n(_total(node))}"
    return ", ".join(parts) + f" = {n(_total(node))}"


_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _recurrent(node, name):
    """Per layer (and direction): gates × units × (inputs + recurrent + biases), from the tensors."""
    gates = _GATES[node.type]
    groups = {}  # (layer label, stacked layers) -> list of per-direction descriptions (text, count)
    order = []
    for t in node.tensors:
        if t.name.startswith("weight_ih_l"):  # torch
            at = t.name[len("weight_ih"):]
            layer, reverse = at[2:].removesuffix("_reverse"), at.endswith("_reverse")
            stack = t.shape[0] if len(t.shape) == 3 else 1
            width, fan_in = t.shape[-2:]
            hidden = width // gates
            rec = _find(node, "weight_hh" + at).shape[-1]
            biases = sum(1 for b in ("bias_ih", "bias_hh") if _find(node, b + at) is not None)
            proj = _find(node, "weight_hr" + at)
            convention = "PyTorch: two bias vectors, b_ih and b_hh" if biases == 2 else "no bias"
        elif t.name.endswith(".kernel") and not t.name.endswith("recurrent_kernel"):  # keras
            at = t.name[:-len("kernel")]
            layer, reverse = at.split(".")[0], ".backward." in at
            stack = t.shape[0] if len(t.shape) == 3 else 1
            fan_in, width = t.shape[-2:]
            hidden, rec, proj = width // gates, width // gates, None
            bias = _find(node, at + "bias")
            biases = 0 if bias is None else (2 if len(bias.shape) - (stack > 1) == 2 else 1)
            convention = ("Keras, reset_after: two bias vectors" if biases == 2 else
                          "Keras: one bias vector" if biases else "no bias")
        else:
            continue
        per = gates * hidden * (fan_in + rec + biases) + (_size(proj) // stack if proj is not None else 0)
        words = (f"{plural(gates, 'gate')} × {plural(hidden, 'unit')} × ({n(fan_in)} inputs + {n(rec)} recurrent"
                 + (f" + {plural(biases, 'bias', 'biases')}" if biases else "") + ")")
        if proj is not None:
            words += f" + {times(proj.shape[-2:])} projection"
        key = (layer, stack)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((words, per, convention))
    pieces, total, sums = [], 0, []
    for layer, stack in order:
        directions = groups[(layer, stack)]
        words, per, convention = directions[0]
        count = len(directions) * stack
        head = ""
        if len(order) > 1:
            head = f"layer{'s' if stack > 1 else ''} {layer}: "
        mult = (f"{n(stack)} layers × " if stack > 1 else "") + ("2 directions × " if len(directions) > 1 else "")
        text = head + mult + (f"({words})" if mult else words) + f" = {n(per * count)}"
        pieces.append(text)
        total += per * count
        sums.append(n(per * count))
    note = groups[order[0]][0][2] if order else ""
    return "; ".join(pieces) + (f"; in all, {' + '.join(sums)} = {n(total)}" if len(pieces) > 1 else "") + (f" ({note})" if note else "")


def _moe(node, name):
    router, router_bias = _find(node, "router_kernel"), _find(node, "router_bias")
    d, experts = router.shape
    text = f"router {d:,} × {experts:,}" + (f" + {n(experts)} biases" if router_bias is not None else "")
    parts = []
    for part in ("gate", "up", "down"):
        kernel, bias = _find(node, f"experts.{part}_kernel"), _find(node, f"experts.{part}_bias")
        if kernel is not None:
            parts.append(f"{part} {times(kernel.shape[1:])}" + (f" + {n(bias.shape[-1])}" if bias is not None else ""))
    text += f", + {plural(experts, 'expert')} × ({' + '.join(parts)}) = {n(_total(node))}"
    active = getattr(node, "active", None)
    router_size = _size(router) + _size(router_bias)
    per_expert = (_total(node) - router_size) // experts
    if active is not None and per_expert:
        k = (active - router_size) // per_expert
        text += f"; each token runs through the router and {n(k)} of the {plural(experts, 'expert')}: {n(active)}"
    return text


def _build():
    table = {
        "dense": _dense, "batchnorm": _norm("channel"), "layernorm": _norm("feature"), "rmsnorm": _norm("feature"),
        "groupnorm": _norm("channel"), "instancenorm": _norm("channel"), "embedding": _table("token"),
        "positional_embedding": _table("position"), "class_token": _class_token, "subsample2d": _subsample,
        "rbf": _centres, "attention": _attention, "moe": _moe,
        "depthwise_conv2d": _depthwise, "separable_conv2d": _separable,
        "flatten": _none("a reshape"), "reshape": _none("a reshape"), "permute": _none("reorders the axes"),
        "select": _none("takes one item"), "dropout": _none("zeroes values in training"),
        "lrn": _none("a fixed normalisation"), "upsample": _none("repeats values"),
        "globalavgpool": _none("a fixed average"), "globalmaxpool": _none("a fixed maximum"),
    }
    for d in (1, 2, 3):
        table[f"conv{d}d"] = _conv
        table[f"conv{d}d_transpose"] = _conv_transpose
        for kind, what in (("max", "a fixed maximum over each window"), ("avg", "a fixed average over each window")):
            table[f"{kind}pool{d}d"] = _none(what)
            table[f"adaptive{kind}pool{d}d"] = _none(what)
    for name in _GATES:
        table[name] = _recurrent
    for name in ("relu", "tanh", "sigmoid", "softmax", "gelu", "silu", "leaky_relu", "elu", "identity", "relu6"):
        table[name] = _none("an activation")
    return table


EXPLAIN = _build()


# -- one node -----------------------------------------------------------------------------------


def _one_copy(node):
    """Params of one copy of `node` (counts hold all copies unless shared)."""
    params = node.counts.params
    return params if node.shared or node.repeat <= 1 else params // node.repeat


def _tied(node, owners, name):
    owner = owners.get(node.tied_to)
    words = []
    owner_weights = _by_role(owner, "weight") if owner is not None and owner.tensors else []
    for i, t in enumerate(_by_role(node, "weight")):
        source = owner_weights[i] if i < len(owner_weights) else None
        what = {"embeddings": "table", "kernel": "kernel"}.get(source.name, source.name) if source else "weights"
        flip = ", transposed" if source is not None and source.shape != t.shape else ""
        words.append(f"its {render.shape(t.shape)} {t.name} is {name(node.tied_to)}'s {what}{flip}: counted there")
    own = node.counts.params
    biases = _by_role(node, "bias")
    if biases:
        words.append(f"its own {' + '.join(n(_size(b)) for b in biases)} biases = {n(own)}")
    return "; ".join(words)


def _part(node, name):
    """A part of a composite, by name; by type where it has none, or only an index (`0`)."""
    return name(node.name) if node.name and not node.name.isdigit() else name(node.type)


def _composite(node, name):
    """One copy of a composite: the sum of its parts that hold parameters."""
    parts = [c for c in node.children if c.counts.params]
    if not parts:
        return "no parameters"
    if len(parts) == 1:
        return f"{_part(parts[0], name)} {n(parts[0].counts.params)}"
    return " + ".join(f"{_part(c, name)} {n(c.counts.params)}" for c in parts) + f" = {n(_one_copy(node))}"


def explain_node(node, owners, name=str):
    """One node's explanation, without its name: a leaf's formula, a composite's sum of parts."""
    leaf = node.tensors is not None
    if node.tied_to:
        text = _tied(node, owners, name)
    elif leaf:
        fn = EXPLAIN.get(node.type)
        text = fn(node, name) if fn else (f"{n(_one_copy(node))} params" if node.counts.params else "no parameters")
    else:
        text = _composite(node, name)
    one, copies = _one_copy(node), node.repeat
    if copies > 1 and one:
        if node.shared:
            text = f"its {n(copies)} copies share one set of weights, counted once: {text}"
        elif leaf:
            text += f"; {n(copies)} copies × {n(one)} = {n(node.counts.params)}"
        elif len([c for c in node.children if c.counts.params]) > 1:
            text = f"{n(copies)} × {n(one)} = {n(node.counts.params)}; one copy: {text}"
        else:
            text = f"{n(copies)} × {n(one)} = {n(node.counts.params)}"
    c = node.counts
    if c.weights + c.biases and c.trainable == 0:
        text += " (frozen: not trainable)"
    return text


def label(node, name=str):
    """'C1' for a layer, 'layer1 (basic ×2)' for a block or repeated layer."""
    if node.tensors is not None and node.repeat <= 1:
        return name(node.name)
    kind = name(node.type) + (f" ×{node.repeat}" if node.repeat > 1 else "") + (", shared" if node.shared else "")
    return f"{name(node.name)} ({kind})" if node.name else kind


def explanations(report, depth=None, name=str):
    """(level, text) per row of the table, `depth` levels deep, in the table's order."""
    owners = {}
    stack = list(report.layers)
    while stack:
        node = stack.pop()
        if node.tensors is not None:  # a tie names a leaf
            owners.setdefault(node.path, node)
        stack.extend(node.children)
    nodes, _ = render.walk(report, depth)
    for node, level in nodes:
        yield level, f"{label(node, name)}: {explain_node(node, owners, name)}"
    parts = [node.counts.params for node in report.layers if node.counts.params]
    total = report.totals.params
    if len(parts) > 1 and sum(parts) == total:
        yield 0, "Total: " + " + ".join(map(n, parts)) + f" = {n(total)}"
    else:
        yield 0, f"Total: {n(total)}"


# -- output -------------------------------------------------------------------------------------

HEADING = "Where the numbers come from:"


def _fit(stream):
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "×γβ…".encode(encoding)
        return lambda s: s
    except (UnicodeEncodeError, LookupError):
        table = str.maketrans({"×": "x", "γ": "gamma", "β": "beta", "…": "..."})

        def fit(s):
            s = s.translate(table)
            return s.encode(encoding, "backslashreplace").decode(encoding, "replace")
        return fit


def text_lines(report, depth=None, width=80, fit=str):
    """The explanations under a table: each wrapped between words to `width`, continued indented."""
    yield ""
    yield HEADING
    for level, line in explanations(report, depth, lambda s: render.text(s, render.TITLE_LIMIT)):
        lead = "  " * (level + 1)
        yield from textwrap.wrap(fit(line), width=max(width, 20), initial_indent=lead,
                                 subsequent_indent=lead + "    ", break_long_words=True,
                                 break_on_hyphens=False)


def markdown_lines(report, depth=None):
    yield ""
    yield "#### Where the numbers come from"
    yield ""
    for level, line in explanations(report, depth, lambda s: render.code(render.text(s, render.TITLE_LIMIT))):
        yield "  " * level + "- " + line


def write_text(out, report, depth=None, width=None):
    width = width or render.terminal_width(out)
    fit = _fit(out)
    out.write("".join(line + "\n" for line in text_lines(report, depth, width, fit)))


def write_markdown(out, report, depth=None):
    out.write("".join(line + "\n" for line in markdown_lines(report, depth)))
