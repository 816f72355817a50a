"""Composed specs (issue 7) against an independent torch oracle (tests/compose_oracle.py).

Hypothesis draws specs with blocks (arguments, `$name`, `${arithmetic}`, blocks using blocks),
sequences, residuals with and without shortcuts, parallel branches merged by concat / add /
multiply (with NumPy broadcasting), `repeat` (shape-changing first copies included), `shared`
repeats and ties (transposed included), nested up to three deep, over dense, conv1d/2d,
batchnorm, layernorm, embedding, relu, flatten and pools. The generator tracks shapes so that
its specs are meant to be valid; paramcount and torch must agree on every one: both count it
(totals, trainable / non-trainable, every leaf's and composite's counts by dotted path, output
shapes, ties) or both refuse it. Broken specs (one fault injected into a valid one, at any depth)
must be refused by paramcount with one-line `PATH:LINE:COL: ...` errors pointing at the fault, and
by the oracle with its own refusal.

Each property runs PARAMCOUNT_COMPOSE_EXAMPLES examples (350 by default), derandomized unless
that variable is set. torch is optional, as in conftest.load_oracle: these tests skip without it,
and fail under PARAMCOUNT_REQUIRE_TORCH=1.
"""

import math
import os
import re
import textwrap
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import load_oracle
from paramcount import SpecError, analyze, load_text

EXAMPLES = int(os.environ.get("PARAMCOUNT_COMPOSE_EXAMPLES", "350"))
PROFILE = settings(
    max_examples=EXAMPLES,
    derandomize="PARAMCOUNT_COMPOSE_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
ERROR_LINE = re.compile(r"^compose\.yaml:(\d+):(\d+): \S[^\n]*$")
OUTCOMES = Counter()

pytestmark = [pytest.mark.filterwarnings("ignore:Failed to initialize NumPy"),
              pytest.mark.filterwarnings("ignore:Using padding='same'"),
              pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")]


@pytest.fixture(scope="module")
def compose():
    return load_oracle("compose_oracle")


# -- the generator ------------------------------------------------------------------------------
# It computes shapes for its own small vocabulary, so that what it writes is meant to be valid.


def conv_out(length, k, s, p):
    return (length + 2 * p - k) // s + 1


def broadcast(shapes):
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = {n for n in sizes if n != 1}
        assert len(big) <= 1, shapes
        out.append(big.pop() if big else 1)
    return tuple(out)


class Ctx:
    """Where an item is generated: depth, whether inside a block (shapes vary by use) or a repeat."""

    __slots__ = ("depth", "in_block", "under_repeat", "top")

    def __init__(self, depth=0, in_block=False, under_repeat=False, top=True):
        self.depth, self.in_block, self.under_repeat, self.top = depth, in_block, under_repeat, top

    def deeper(self, **kw):
        c = Ctx(self.depth + 1, self.in_block, self.under_repeat, False)
        for k, v in kw.items():
            setattr(c, k, v)
        return c


MAX_DEPTH = 3


class Gen:
    def __init__(self, draw, input_shape):
        self.draw, self.blocks, self.ties, self.n = draw, {}, [], 0
        self.root = {"in_channels": input_shape[0], "in_features": input_shape[-1]}

    def pick(self, seq):
        return self.draw(st.sampled_from(seq))

    def chance(self, percent):
        return self.draw(st.integers(0, 99)) < percent

    def int(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def arg(self, value, ctx):
        """An argument value as written at the top level: the int, or an expression over the spec's input."""
        if ctx.in_block or not self.chance(30):
            return value
        name = self.pick(sorted(self.root))
        delta = value - self.root[name]
        return f"${{{name} + {delta}}}" if delta >= 0 else f"${{{name} - {-delta}}}"

    # -- leaves ---------------------------------------------------------------------------------

    def leaf(self, shape, ctx):
        rank = len(shape)
        options = ["relu", "batchnorm", "layernorm", "dense", "dense"]
        if rank in (2, 3):
            options += ["conv", "conv", "adaptive", "globalavgpool"]
            if min(shape[1:]) >= 2:
                options.append("pool")
            if math.prod(shape) <= 48:
                options.append("flatten")
        kind = self.pick(options)
        layer, out = getattr(self, "leaf_" + kind)(shape, ctx)
        if self.chance(15):
            layer["trainable"] = False
        if ctx.top and not ctx.in_block and not ctx.under_repeat and "name" not in layer and self.chance(40):
            layer["name"] = self.fresh("t")
        elif "name" not in layer and self.chance(15):
            layer["name"] = self.fresh("n")
        if ctx.top and not ctx.in_block and not ctx.under_repeat and "name" in layer:
            self.register(layer, shape)
        return layer, out

    def register(self, layer, shape, path=None):
        """A leaf outside blocks and repeats, kept as a tie target: (path, kind, key)."""
        t, path = layer["type"], path or layer["name"]
        if t == "dense":
            self.ties.append((path, "2d", (shape[-1], self.value(layer["units"]))))
        elif t == "embedding":
            self.ties.append((path, "2d", (layer["num_embeddings"], layer["embedding_dim"])))
        elif t.startswith("conv"):
            self.ties.append((path, t, (shape[0], layer["filters"], layer["kernel_size"])))
        elif t in ("layernorm", "batchnorm") and layer.get("affine", True):
            self.ties.append((path, t, shape[-1] if t == "layernorm" else shape[0]))

    def twin(self, shape, ctx):
        """A named sequence [A, relu, B] with B tied to A by its root path; A stays a tie target."""
        kind = self.pick(["dense", "transposed", "layernorm", "batchnorm"] + (["conv"] if len(shape) > 1 else []))
        name, f = self.fresh("n"), shape[-1]
        if kind == "dense":
            a, b = {"type": "dense", "units": f}, {"type": "dense", "units": f}
        elif kind == "transposed":  # [F, u] then [u, F]
            a, b = {"type": "dense", "units": self.int(1, 5)}, {"type": "dense", "units": f}
        elif kind == "conv":
            a = self.leaf_conv(shape, ctx.deeper(under_repeat=True), filters=shape[0], same=True)[0]
            b = dict(a)
        else:
            a, b = {"type": kind}, {"type": kind}
        if self.chance(20):
            a["trainable"] = False
        if self.chance(30):
            b["bias"] = False if kind in ("dense", "transposed", "conv") else b.get("bias")
            b = {k: v for k, v in b.items() if v is not None}
        b["tie"] = f"{name}.0"
        self.register(a, shape, f"{name}.0")
        return {"type": "sequence", "name": name, "layers": [a, {"type": "relu"}, b]}, shape

    def tie_to(self, kind, match, ctx, keeps=False):
        """A tie target of `kind` whose key matches, or None. Inside a repeat only for layers that keep
        the shape (every copy sees the same input); never inside blocks (their input varies by use)."""
        if ctx.in_block or (ctx.under_repeat and not keeps) or not self.ties or not self.chance(50):
            return None
        found = [(path, key) for path, k, key in self.ties if k == kind and match(key)]
        return self.pick(found) if found else None

    def leaf_relu(self, shape, ctx):
        return {"type": "relu"}, shape

    def leaf_batchnorm(self, shape, ctx):
        layer = {"type": "batchnorm"}
        tie = self.tie_to("batchnorm", lambda c: c == shape[0], ctx, keeps=True)
        if tie:
            layer["tie"] = tie[0]
        elif self.chance(20):
            layer["affine"] = False
        return layer, shape

    def leaf_layernorm(self, shape, ctx):
        layer = {"type": "layernorm"}
        tie = self.tie_to("layernorm", lambda f: f == shape[-1], ctx, keeps=True)
        if tie:
            layer["tie"] = tie[0]
        elif self.chance(20):
            layer["affine"] = False
        return layer, shape

    def leaf_dense(self, shape, ctx, units=None):
        f = shape[-1]
        tie = None if units is not None else self.tie_to("2d", lambda ab: f in ab, ctx)
        if tie:
            (a, b) = tie[1]
            units = b if a == f else a  # [F, b] equal, else [a, F] transposed
            layer = {"type": "dense", "units": units, "tie": tie[0]}
        else:
            if units is None:
                units = self.int(1, 6)
            layer = {"type": "dense", "units": self.arg(units, ctx) if units != f else units}
        if self.chance(20):
            layer["bias"] = False
        if self.chance(15):
            layer["activation"] = "relu"
        return layer, shape[:-1] + (units,)

    def leaf_conv(self, shape, ctx, filters=None, same=False):
        nd = len(shape) - 1
        t = f"conv{nd}d"
        tie = None if filters is not None else self.tie_to(t, lambda key: key[0] == shape[0], ctx)
        if tie:
            _, filters, k = tie[1]
            layer = {"type": t, "filters": filters, "kernel_size": k, "padding": "same", "tie": tie[0]}
            return layer, (filters,) + shape[1:]
        if filters is None:
            filters = self.int(1, 4)
        k = self.int(1, min(3, min(shape[1:])))
        layer = {"type": t, "filters": filters, "kernel_size": k}
        if same or self.chance(50):
            layer["padding"] = "same"
            out = (filters,) + shape[1:]
        else:
            p, s = self.int(0, k // 2), self.int(1, 2)
            if p:
                layer["padding"] = p
            if s > 1:
                layer["stride"] = s
            out = (filters,) + tuple(conv_out(n, k, s, p) for n in shape[1:])
        if self.chance(20):
            layer["bias"] = False
        return layer, out

    def leaf_pool(self, shape, ctx):
        nd = len(shape) - 1
        return {"type": self.pick([f"maxpool{nd}d", f"avgpool{nd}d"]), "kernel_size": 2}, \
            shape[:1] + tuple(n // 2 for n in shape[1:])

    def leaf_adaptive(self, shape, ctx):
        nd = len(shape) - 1
        return {"type": self.pick([f"adaptiveavgpool{nd}d", f"adaptivemaxpool{nd}d"]), "output_size": 1}, \
            shape[:1] + (1,) * nd

    def leaf_globalavgpool(self, shape, ctx):
        return {"type": "globalavgpool"}, shape[:1]

    def leaf_flatten(self, shape, ctx):
        return {"type": "flatten"}, (math.prod(shape),)

    # -- shape-keeping items ----------------------------------------------------------------------

    def keep_items(self, shape, ctx, lo=1, hi=2):
        return [self.keep_item(shape, ctx) for _ in range(self.int(lo, hi))]

    def keep_item(self, shape, ctx):
        options = ["relu", "batchnorm", "layernorm", "dense"] + (["conv"] if len(shape) > 1 else [])
        if ctx.depth < MAX_DEPTH:
            options += ["residual", "sequence", "parallel", "shared", "block"]
        kind = self.pick(options)
        inner = ctx.deeper()
        if kind == "dense":
            layer = self.leaf_dense(shape, ctx, units=shape[-1])[0]
            tie = self.tie_to("2d", lambda ab: ab == (shape[-1], shape[-1]), ctx, keeps=True)
            return dict(layer, tie=tie[0]) if tie else layer
        if kind == "conv":
            return self.leaf_conv(shape, ctx, filters=shape[0], same=True)[0]
        if kind in ("relu", "batchnorm", "layernorm"):
            return getattr(self, "leaf_" + kind)(shape, ctx)[0]
        if kind == "residual":
            item = {"type": "residual", "body": self.keep_items(shape, inner)}
            if self.chance(30):
                item["shortcut"] = [{"type": "batchnorm"}]
            return self.named(item)
        if kind == "sequence":
            return self.named({"type": "sequence", "layers": self.keep_items(shape, inner)})
        if kind == "parallel":
            return self.merge_parallel(shape, inner, keep=True)[0]
        if kind == "shared":
            item = self.keep_item(shape, ctx.deeper(under_repeat=True))
            item = dict(item, repeat=self.int(2, 3), shared=True)
            item.pop("tie", None)
            return item
        return self.use(shape, ctx, keep=True)[0]

    def named(self, item):
        if self.chance(40):
            item = {"type": item["type"], "name": self.fresh("n"), **{k: v for k, v in item.items() if k != "type"}}
        if self.chance(10):
            item["trainable"] = False
        return item

    # -- any items --------------------------------------------------------------------------------

    def items(self, shape, ctx, lo=1, hi=3):
        out = []
        for _ in range(self.int(lo, hi)):
            item, shape = self.item(shape, ctx)
            out.append(item)
        return out, shape

    def item(self, shape, ctx):
        options = ["leaf", "leaf", "keep"]
        if ctx.depth < MAX_DEPTH:
            options += ["sequence", "residual", "concat", "concat", "merge", "repeat", "repeat", "block", "block"]
        if ctx.top and not ctx.in_block and not ctx.under_repeat:
            options.append("twin")
        kind = self.pick(options)
        inner = ctx.deeper()
        if kind == "twin":
            return self.twin(shape, ctx)
        if kind == "leaf":
            return self.leaf(shape, ctx)
        if kind == "keep":
            return self.keep_item(shape, ctx), shape
        if kind == "sequence":
            layers, out = self.items(shape, inner)
            return self.named({"type": "sequence", "layers": layers}), out
        if kind == "residual":
            return self.residual(shape, inner)
        if kind == "concat":
            return self.concat(shape, inner)
        if kind == "merge":
            return self.merge_parallel(shape, inner)
        if kind == "repeat":
            return self.repeat(shape, ctx)
        return self.use(shape, ctx)

    def shortcut_for(self, shape, out):
        """Layers that take `shape` to `out` (a residual's shortcut), or None."""
        if len(shape) != len(out):
            return None
        if len(shape) == 1:
            return [{"type": "dense", "units": out[0]}]
        nd = len(shape) - 1
        for s in range(1, 5):
            if all((n - 1) // s + 1 == m for n, m in zip(shape[1:], out[1:])):
                conv = {"type": f"conv{nd}d", "filters": out[0], "kernel_size": 1}
                return [dict(conv, stride=s) if s > 1 else conv]
        if shape[:-1] == out[:-1]:
            return [{"type": "dense", "units": out[-1]}]
        if shape[1:-1] == out[1:-1]:
            return [{"type": f"conv{nd}d", "filters": out[0], "kernel_size": 1}, {"type": "dense", "units": out[-1]}]
        return None

    def residual(self, shape, ctx):
        body, out = self.items(shape, ctx.deeper(top=False))
        item = {"type": "residual", "body": body}
        if out != shape:
            short = self.shortcut_for(shape, out)
            if short is None:
                return {"type": "sequence", "layers": body}, out
            item["shortcut"] = {"name": self.fresh("s"), "layers": short} if self.chance(25) else short
        elif self.chance(25):
            item["shortcut"] = [{"type": "batchnorm"}]
        item = self.named(item)
        if out == shape and self.chance(20):
            item.update(repeat=self.int(2, 3), **({"shared": True} if self.chance(50) else {}))
        return item, out

    def branches(self, layer_lists):
        return [{"name": self.fresh("b"), "layers": ls} if self.chance(25) else ls for ls in layer_lists]

    def concat(self, shape, ctx):
        rank, n = len(shape), self.int(2, 3)
        channel = rank > 1 and self.chance(50)
        lists, sizes = [], []
        for _ in range(n):
            keep = self.keep_items(shape, ctx.deeper(top=False), 0, 2)
            size = self.int(1, 4)
            last, _ = (self.leaf_conv(shape, ctx, filters=size, same=True) if channel
                       else self.leaf_dense(shape, ctx, units=size))
            lists.append(keep + [last])
            sizes.append(size)
        if channel:
            axis, out = self.pick([0, -rank]), (sum(sizes),) + shape[1:]
        else:
            axis, out = self.pick([rank - 1, -1]), shape[:-1] + (sum(sizes),)
        item = {"type": "parallel", "branches": self.branches(lists)}
        if axis or self.chance(50):
            item["axis"] = axis
        if self.chance(30):
            item["merge"] = "concat"
        return self.named(item), out

    def gate(self, shape, ctx):
        """A branch whose output broadcasts against `shape`."""
        rank = len(shape)
        if rank == 1:
            return [{"type": "dense", "units": 1}, {"type": "sigmoid"}], (1,)
        nd = rank - 1
        options = [([{"type": f"adaptiveavgpool{nd}d", "output_size": 1},
                     {"type": f"conv{nd}d", "filters": shape[0], "kernel_size": 1}], shape[:1] + (1,) * nd),
                   ([{"type": "globalavgpool"}, {"type": "dense", "units": shape[-1]}], shape[-1:]),
                   ([{"type": "globalavgpool"}, {"type": "dense", "units": 1}], (1,))]
        return self.pick(options)

    def merge_parallel(self, shape, ctx, keep=False):
        lists, outs = [], []
        for i in range(self.int(2, 3)):
            if i and self.chance(50):
                layers, out = self.gate(shape, ctx)
            else:
                layers, out = self.keep_items(shape, ctx.deeper(top=False)), shape
            lists.append(layers)
            outs.append(out)
        if keep and all(o != shape for o in outs):
            lists[0], outs[0] = [{"type": "relu"}], shape
        item = {"type": "parallel", "merge": self.pick(["add", "multiply"]), "branches": self.branches(lists)}
        return self.named(item), broadcast(outs)

    def repeat(self, shape, ctx):
        times = self.int(2, 3)
        inner = ctx.deeper(under_repeat=True, top=False)
        kind = self.pick(["dense", "conv", "use", "keep"] if len(shape) > 1 else ["dense", "use", "keep"])
        if kind == "dense":  # the first copy may change the shape, the others keep it
            item, out = self.leaf_dense(shape, inner)
            item.pop("tie", None)
        elif kind == "conv":
            item, out = self.leaf_conv(shape, inner, same=True)
            item.pop("tie", None)
        elif kind == "use":
            item, out = self.use(shape, inner)
            if "repeat" in item:
                return item, out
            if out != shape:  # copies after the first see `out`: what do they give?
                out = self.block_out(item, out)
        else:
            item, out = self.keep_item(shape, inner), shape
            item.pop("tie", None)
            if "repeat" in item:
                return item, out
            if self.chance(50):
                item = dict(item, shared=True)
        return self.named(dict(item, repeat=times)), out

    # -- blocks -----------------------------------------------------------------------------------

    def block(self, family, nd=None):
        name = family + (f"{nd}d" if nd else "")
        if name not in self.blocks:
            self.blocks[name] = None  # reserved: a block may use blocks defined after it
            self.blocks[name] = getattr(self, "def_" + family)(nd)
        return name

    def def_mlp(self, nd):
        hidden = self.pick(["$hidden", "${hidden * 2}", "${(hidden + in_features) // 2}", "${hidden * 2 - 1}"])
        layers = [{"type": "dense", "name": "k1", "units": hidden}, {"type": "relu"},
                  {"type": "dense", "units": "${in_features}"}]
        if self.chance(50):
            layers[2]["tie"] = "k1"  # [F, H] then [H, F]: transposed
        if self.chance(50):
            layers = [{"type": "residual", "body": layers}]
        return {"args": {"hidden": "required"}, "layers": layers}

    def def_proj(self, nd):
        if self.chance(50):
            return {"args": {"out": "required", "n": 2},
                    "layers": [{"type": "dense", "name": "fc", "units": "$out", "repeat": "$n"}]}
        return {"args": {"out": "required"},
                "layers": [{"type": "dense", "units": "$out"}, {"type": "layernorm"}, {"type": "relu"}]}

    def def_basic(self, nd):
        conv = f"conv{nd}d"
        return {"args": {"filters": "required", "stride": 1}, "layers": [
            {"type": "residual", "body": [
                {"type": conv, "name": "conv1", "filters": "$filters", "kernel_size": 3, "stride": "$stride",
                 "padding": 1, "bias": False},
                {"type": "batchnorm", "name": "bn1"}, {"type": "relu"},
                {"type": conv, "name": "conv2", "filters": "$filters", "kernel_size": 3, "padding": 1, "bias": False},
                {"type": "batchnorm", "name": "bn2"}],
             "shortcut": [{"type": conv, "filters": "$filters", "kernel_size": 1, "stride": "$stride", "bias": False},
                          {"type": "batchnorm"}]},
            {"type": "relu"}]}

    def def_se(self, nd):
        return {"args": {"r": 2}, "layers": [{"type": "parallel", "merge": "multiply", "branches": [
            [{"type": "relu"}],
            {"name": "gate", "layers": [
                {"type": f"adaptiveavgpool{nd}d", "output_size": 1},
                {"type": f"conv{nd}d", "filters": "${in_channels // r + 1}", "kernel_size": 1},
                {"type": "relu"},
                {"type": f"conv{nd}d", "filters": "$in_channels", "kernel_size": 1},
                {"type": "sigmoid"}]}]}]}

    def def_outer(self, nd):
        mlp = self.block("mlp")
        inner = {"type": mlp, "hidden": "$u", "repeat": 2}
        if self.chance(50):
            inner["shared"] = True
        return {"args": {"u": 3}, "layers": [
            {"type": mlp, "hidden": "${u + 1}"},
            {"type": "sequence", "layers": [{"type": "layernorm"}, inner]}]}

    def use(self, shape, ctx, keep=False):
        rank = len(shape)
        nd = rank - 1 if rank in (2, 3) else None
        options = ["mlp", "outer"] + (["se", "basic"] if nd else [])
        if not keep:
            options += ["proj", "proj"]
        family = self.pick(options)
        name = self.block(family, nd if family in ("se", "basic") else None)
        item = {"type": name}
        if family == "mlp":
            item["hidden"] = self.arg(self.int(1, 5), ctx)
        elif family == "outer" and self.chance(50):
            item["u"] = self.arg(self.int(1, 4), ctx)
        elif family == "se" and self.chance(50):
            item["r"] = self.int(1, 3)
        elif family == "proj":
            item["out"] = self.arg(self.int(1, 6), ctx)
            if "n" in self.blocks[name]["args"] and self.chance(50):
                item["n"] = self.int(1, 3)
        elif family == "basic":
            item["filters"] = shape[0] if keep else self.arg(self.int(1, 4), ctx)
            if not keep and self.chance(40):
                item["stride"] = 2
        out = self.block_out(item, shape)
        item = self.named(item)
        if out == shape and not ctx.under_repeat and self.chance(20):
            item.update(repeat=self.int(2, 3), **({"shared": True} if self.chance(50) else {}))
        return item, out

    def value(self, v):
        if isinstance(v, str) and v.startswith("${"):
            name, sign, delta = re.fullmatch(r"\$\{(\w+) ([+-]) (\d+)\}", v).groups()
            return self.root[name] + (int(delta) if sign == "+" else -int(delta))
        return v

    def block_out(self, item, shape):
        family = re.sub(r"\dd$", "", item["type"])
        if family == "proj":
            return shape[:-1] + (self.value(item["out"]),)
        if family == "basic":
            s = item.get("stride", 1)
            return (self.value(item["filters"]),) + tuple((n - 1) // s + 1 for n in shape[1:])
        return shape


def input_shape(draw, kind):
    if kind == "vec":
        return (draw(st.integers(2, 8)),)
    if kind == "seq":
        return (draw(st.integers(1, 4)), draw(st.integers(2, 8)))
    if kind == "img":
        return (draw(st.integers(1, 3)), draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    return (draw(st.integers(2, 6)),)  # token ids


def generate(draw, hi=4):
    """(spec, generator, output shape) of a spec meant to be valid."""
    kind = draw(st.sampled_from(["vec", "seq", "img", "ids"]))
    shape = first = input_shape(draw, kind)
    gen = Gen(draw, shape)
    layers = []
    if kind == "ids":  # token ids: an embedding first, GPT-2 style ties to its table later
        emb = {"type": "embedding", "name": gen.fresh("t"), "num_embeddings": draw(st.integers(3, 9)),
               "embedding_dim": draw(st.integers(2, 5))}
        gen.register(emb, shape)
        layers.append(emb)
        shape = shape + (emb["embedding_dim"],)
    for _ in range(draw(st.integers(1, hi))):
        item, shape = gen.item(shape, Ctx())
        layers.append(item)
    if gen.ties and draw(st.booleans()):
        item, shape = gen.leaf_dense(shape, Ctx())
        layers.append(item)
    spec = {"input": list(first)}
    if gen.blocks:
        spec["blocks"] = gen.blocks
    spec["layers"] = layers
    return spec, gen, shape


@st.composite
def valid_specs(draw):
    return generate(draw)[0]


# -- comparing paramcount's report with the oracle ----------------------------------------------


def pair(d):
    return d["trainable"], d["non_trainable"]


def compare(got, want, text):
    """Totals, output shape, every leaf (one copy, by path), every composite's subtotal and shape."""
    totals = got["totals"]
    assert pair(totals) == (want.trainable, want.non_trainable), text
    assert sum(leaf["params"] * leaf["copies"] for leaf in got["layers"]) == totals["params"], text
    last = got["tree"][-1]
    out = got["layers"][last["layer"]]["output_shape"] if "layer" in last else last["output_shape"]
    assert out == want.output_shape, text
    for leaf in got["layers"]:
        path = leaf["path"]
        one = path if path in want.leaves else path + ".0"  # a repeated leaf's row: one copy
        assert one in want.leaves, (path, text)
        assert pair(leaf) == want.subtotal(one), (path, text)
        assert leaf["output_shape"] == want.shapes[path], (path, text)
        assert leaf["tied_to"] == want.tied.get(one), (path, text)

    def walk(node, parent):
        if "layer" in node:
            return
        path = node["path"]
        if node["name"] != "":  # an unnamed residual adds no level: its path is its parent's
            if node["repeat"] > 1 and not node["shared"] and path not in want.repeats:
                # copies i .. i+r-1 of a repeat whose shape changed before them, in one row
                first = int(node["name"])
                expect = [want.subtotal(f"{parent}.{i}") for i in range(first, first + node["repeat"])]
                expect = tuple(map(sum, zip(*expect)))
            else:
                expect = want.subtotal(path)
            assert pair(node) == expect, (path, text)
            assert node["output_shape"] == want.shapes[path], (path, text)
        for child in node["children"]:
            walk(child, path)

    for node in got["tree"]:
        walk(node, "")


def counted(text):
    return analyze(load_text(text, path="compose.yaml")).to_dict()


def assert_error_lines(error, text):
    lines = text.splitlines()
    assert error.problems, error
    for problem in error.problems:
        m = ERROR_LINE.match(str(problem))
        assert m, str(problem)
        assert 1 <= int(m.group(1)) <= len(lines), (str(problem), text)
    return [lines[int(ERROR_LINE.match(str(p)).group(1)) - 1] for p in error.problems]


@settings(PROFILE)
@given(valid_specs())
def test_composed_specs_agree_with_torch(compose, spec):
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        got = counted(text)
    except SpecError as e:  # meant to be valid: then torch must refuse it too
        assert_error_lines(e, text)
        with pytest.raises(compose.REFUSALS):
            compose.oracle(spec)
        event("refused by both")
        OUTCOMES["refused"] += 1
        return
    want = compose.oracle(spec)
    compare(got, want, text)
    event("counted by both")
    OUTCOMES["counted"] += 1
    for feature in ("blocks", "residual", "parallel", "repeat", "shared", "tie", "multiply", "shortcut"):
        if feature in text:
            OUTCOMES[feature] += 1


def test_enough_valid_specs_were_compared():
    if not OUTCOMES:
        pytest.skip("runs after test_composed_specs_agree_with_torch")
    assert OUTCOMES["counted"] >= 300, OUTCOMES
    assert all(OUTCOMES[f] >= 30 for f in ("blocks", "residual", "parallel", "repeat", "shared", "tie")), OUTCOMES


# -- broken specs: one fault, at any depth -------------------------------------------------------

FAULTS = ("add-mismatch", "merge-mismatch", "shortcut-mismatch", "bad-concat", "unknown-arg", "missing-arg",
          "missing-tie", "tie-later", "tie-shape", "tie-kind", "recursive", "self-recursive", "div-zero",
          "unknown-name", "expr-syntax", "expr-power", "expr-slash", "expr-non-int", "expr-negative",
          "repeat-zero", "late-copy", "shared-changing", "shared-pool", "shared-no-repeat", "ids-after-floats", "dup-name")


def fault(gen, draw, shape, kind, ref):
    """(items, blocks, what the error's line holds): `kind` of fault on input `shape`; `ref(name)` is
    how a tie from inside the fault's wrapping reaches a leaf the fault itself names."""
    f, rank = shape[-1], len(shape)
    blocks = {}
    if kind == "add-mismatch":
        return [{"type": "residual", "body": [{"type": "dense", "units": f + 1}]}], blocks, ("residual",)
    if kind == "shortcut-mismatch":
        return [{"type": "residual", "body": [{"type": "dense", "units": f + 1}],
                 "shortcut": [{"type": "dense", "units": f + 2}]}], blocks, ("residual",)
    if kind == "merge-mismatch":
        a = draw(st.integers(2, 4))
        return [{"type": "parallel", "merge": draw(st.sampled_from(["add", "multiply"])),
                 "branches": [[{"type": "dense", "units": a}], [{"type": "dense", "units": a + 1}]]}], blocks, ("merge",)
    if kind == "bad-concat":
        if rank == 1:
            axis = draw(st.sampled_from([1, 2, -2]))
            return [{"type": "parallel", "axis": axis, "branches": [[{"type": "relu"}], [{"type": "relu"}]]}], \
                blocks, ("axis",)
        return [{"type": "parallel", "merge": "concat",
                 "branches": [[{"type": "relu"}], [{"type": "dense", "units": f + 1}]]}], blocks, ("merge",)
    if kind in ("unknown-arg", "missing-arg"):
        name = gen.fresh("blk")
        blocks[name] = {"args": {"width": "required"}, "layers": [{"type": "dense", "units": "$width"}]}
        use = {"type": name, "width": 3}
        if kind == "unknown-arg":
            use["zz_" + draw(st.sampled_from(["widht", "depth", "x"]))] = 1
            return [use], blocks, ("zz_",)
        del use["width"]
        return [use], blocks, (name,)
    if kind == "missing-tie":
        return [{"type": "dense", "units": 2, "tie": draw(st.sampled_from(["nosuch", "t0.x", "dense_99"]))}], \
            blocks, ("tie",)
    if kind == "tie-later":
        name = gen.fresh("t")
        return [{"type": "dense", "units": f, "tie": ref(name)}, {"type": "dense", "units": f, "name": name}], \
            blocks, ("tie",)
    if kind == "tie-shape":  # [F, F+1] then [F+1, F+2]: neither equal nor transposed
        name = gen.fresh("t")
        return [{"type": "dense", "units": f + 1, "name": name}, {"type": "dense", "units": f + 2, "tie": ref(name)}], \
            blocks, ("tie",)
    if kind == "tie-kind":  # a layernorm's [F] gamma cannot be a dense kernel
        name = gen.fresh("t")
        return [{"type": "dense", "units": f, "name": name}, {"type": "layernorm", "tie": ref(name)}], blocks, ("tie",)
    if kind in ("recursive", "self-recursive"):
        a, b = gen.fresh("rec"), gen.fresh("rec")
        if kind == "self-recursive":
            blocks[a] = {"layers": [{"type": "relu"}, {"type": a}]}
        else:
            blocks[a] = {"layers": [{"type": "relu"}, {"type": b}]}
            blocks[b] = {"layers": [{"type": "sequence", "layers": [{"type": a}]}]}
        return [{"type": a}], blocks, ("rec",)
    if kind.startswith("expr") or kind in ("div-zero", "unknown-name", "repeat-zero"):
        text = {"div-zero": "${in_features // (in_channels - in_channels)}", "unknown-name": "${nosuch + 1}",
                "expr-syntax": draw(st.sampled_from(["${2 +}", "${(in_features}", "${}", "${in_features 2}"])),
                "expr-power": "${in_features ** 2}", "expr-slash": "${in_features / 2}",
                "expr-non-int": "${act + 1}", "expr-negative": "${in_features - 100}",
                "repeat-zero": "${in_features - in_features}"}[kind]
        layer = {"type": "dense", "units": text}
        if kind == "repeat-zero":
            layer = {"type": "dense", "units": 2, "repeat": text}
        if kind == "expr-non-int" or draw(st.booleans()):  # inside a block, the arguments in scope
            name = gen.fresh("blk")
            blocks[name] = {"args": {"act": "relu", "k": 2}, "layers": [{"type": "relu"}, layer]}
            return [{"type": name}], blocks, ("$",)
        return [layer], blocks, ("$",)
    if kind == "late-copy":  # each copy one feature narrower: copy F gives 0 features (torch: copy F+1 fails)
        name = gen.fresh("shrink")
        blocks[name] = {"layers": [{"type": "dense", "units": "${in_features - 1}"}]}
        return [{"type": name, "repeat": f + 1}], blocks, ("$",)
    if kind == "shared-changing":
        return [{"type": "dense", "units": f + 1, "repeat": 2, "shared": True}], blocks, ("shared",)
    if kind == "shared-pool":
        return [{"type": "relu"}, {"type": "maxpool1d", "kernel_size": 2, "repeat": 2, "shared": True}], blocks, \
            ("shared",)
    if kind == "shared-no-repeat":
        return [{"type": "dense", "units": 2, "shared": True}], blocks, ("shared",)
    if kind == "ids-after-floats":
        return [{"type": "dense", "units": 2}, {"type": "embedding", "num_embeddings": 4, "embedding_dim": 2}], \
            blocks, ("embedding",)
    assert kind == "dup-name"
    return [{"type": "dense", "units": 2, "name": "same"}, {"type": "relu", "name": "same"}], blocks, ("name",)


@st.composite
def broken_specs(draw, kind):
    spec, gen, shape = generate(draw, hi=2)
    if kind == "shared-pool":  # a pool that keeps running on its own, smaller, output
        spec["input"], spec["layers"], shape = [2, 8], [{"type": "relu"}], (2, 8)
        spec.pop("blocks", None)
        gen.blocks = {}
    wrap = draw(st.sampled_from(["top", "sequence", "branch", "block"]))
    name = gen.fresh("w")
    prefix = {"top": "", "sequence": f"{name}.", "branch": f"{name}.0.", "block": ""}[wrap]
    items, blocks, expect = fault(gen, draw, shape, kind, lambda leaf: prefix + leaf)
    if wrap == "sequence":
        items = [{"type": "sequence", "name": name, "layers": items}]
    elif wrap == "branch":
        items = [{"type": "parallel", "name": name, "branches": [items, [{"type": "relu"}]]}]
    elif wrap == "block":
        blocks[name + "b"] = {"layers": items}
        items = [{"type": name + "b", "name": name}]
    at = draw(st.integers(len(spec["layers"]) if kind in ("ids-after-floats",) else 0, len(spec["layers"])))
    if kind in ("shared-changing", "shared-pool", "bad-concat", "late-copy", "merge-mismatch", "add-mismatch",
                "shortcut-mismatch", "tie-later", "tie-shape", "tie-kind"):
        at = len(spec["layers"])  # built for the shape at the end
    spec["layers"][at:at] = items
    if blocks:
        spec["blocks"] = {**spec.get("blocks", {}), **blocks}
        spec = {"input": spec["input"], "blocks": spec["blocks"], "layers": spec["layers"]}
    return kind, spec, expect


@pytest.mark.parametrize("kind", FAULTS)
@settings(PROFILE, max_examples=-(-EXAMPLES // len(FAULTS)))
@given(data=st.data())
def test_broken_composed_specs_are_refused(compose, kind, data):
    kind, spec, expect = data.draw(broken_specs(kind))
    text = yaml.safe_dump(spec, sort_keys=False)
    with pytest.raises(SpecError) as refused:
        counted(text)
    lines = assert_error_lines(refused.value, text)
    assert any(e in lines[0] for e in expect), (kind, str(refused.value), lines[0], text)
    with pytest.raises(compose.REFUSALS):
        compose.oracle(spec)
    OUTCOMES["broken"] += 1


def test_enough_broken_specs_were_refused():
    if not OUTCOMES["broken"]:
        pytest.skip("runs after test_broken_composed_specs_are_refused")
    assert OUTCOMES["broken"] >= 300, OUTCOMES


# -- curated specs against the oracle: corners the generator reaches rarely ---------------------

CURATED = {
    "tie from every copy of a repeated block to a root layer": """
        input: [4]
        blocks:
          b:
            layers: [{type: dense, units: 4, tie: a}, {type: batchnorm}]
        layers:
          - {type: dense, units: 4, name: a}
          - {type: b, repeat: 3}
    """,
    "token ids into both branches": """
        input: [5]
        layers:
          - type: parallel
            merge: add
            branches:
              - [{type: embedding, num_embeddings: 7, embedding_dim: 3}]
              - [{type: embedding, num_embeddings: 9, embedding_dim: 3}]
    """,
    "token ids through a sequence and flatten": """
        input: [2, 3]
        layers:
          - {type: sequence, layers: [{type: flatten}, {type: embedding, num_embeddings: 7, embedding_dim: 3}]}
    """,
    "list arguments and arithmetic in list items": """
        input: [2, 5, 6]
        blocks:
          c:
            args: {k: [3, 1], f: 4}
            layers:
              - {type: conv2d, filters: $f, kernel_size: $k}
              - {type: conv2d, filters: "${f * 2}", kernel_size: ["${f - 2}", 2]}
        layers:
          - {type: c}
          - {type: c, k: [1, 2], f: 3}
    """,
    "a frozen shared sequence with batchnorm": """
        input: [3, 4]
        layers:
          - type: sequence
            trainable: false
            repeat: 3
            shared: true
            layers: [{type: conv1d, filters: 3, kernel_size: 1}, {type: batchnorm}]
    """,
    "a repeat inside a repeated block whose shape changes": """
        input: [3]
        blocks:
          p:
            args: {n: 2, u: 4}
            layers: [{type: dense, units: $u, repeat: $n}, {type: layernorm}]
        layers:
          - {type: p, repeat: 3, u: 5}
          - {type: p, n: 1, u: 5, name: last}
    """,
    "arguments computed from the enclosing block's": """
        input: [3]
        blocks:
          inner:
            args: {w: required}
            layers: [{type: dense, units: "${w * 2}"}]
          outer:
            args: {w: 1}
            layers: [{type: inner, w: "${w + in_features}"}, {type: inner, w: $w}]
        layers:
          - {type: outer, w: 2}
    """,
    "a frozen named residual around a concat": """
        input: [2, 4, 4]
        layers:
          - type: residual
            name: r
            trainable: false
            body:
              - type: parallel
                axis: 0
                branches:
                  - [{type: conv2d, filters: 1, kernel_size: 1}]
                  - [{type: conv2d, filters: 1, kernel_size: 3, padding: 1}]
              - {type: batchnorm}
    """,
    "multiply broadcasting three ranks": """
        input: [2, 3, 4]
        layers:
          - type: parallel
            merge: multiply
            branches:
              - [{type: relu}]
              - [{type: globalavgpool}, {type: dense, units: 4}]
              - [{type: adaptiveavgpool2d, output_size: [3, 1]}]
    """,
    "add broadcasting to a larger shape": """
        input: [3, 1]
        layers:
          - {type: parallel, merge: add, branches: [[{type: relu}], [{type: flatten}, {type: dense, units: 5}]]}
    """,
    "a dense on a vocabulary-sized input tied to the embedding (transposed in torch)": """
        input: [6]
        layers:
          - {type: embedding, num_embeddings: 6, embedding_dim: 2, name: e}
          - {type: flatten}
          - {type: dense, units: 6}
          - {type: dense, units: 2, tie: e}
    """,
    "repeat from an expression at the top": """
        input: [3]
        layers:
          - {type: dense, units: 3, repeat: "${in_features - 1}"}
    """,
    "shared copies tied to a root layer": """
        input: [4]
        blocks:
          b:
            layers: [{type: dense, units: 4, tie: a}]
        layers:
          - {type: dense, units: 4, name: a}
          - {type: b, repeat: 2, shared: true}
    """,
    "a tie by full path into a block": """
        input: [4]
        blocks:
          b:
            layers: [{type: dense, units: 4, name: k}]
        layers:
          - {type: b, name: x}
          - {type: dense, units: 4, tie: x.k}
    """,
    "a chain of ties, transposed twice": """
        input: [4]
        layers:
          - {type: dense, units: 6, name: a}
          - {type: dense, units: 4, tie: a, name: b}
          - {type: dense, units: 4, name: c}
          - {type: dense, units: 6, tie: b}
    """,
    "in_channels in a top-level argument": """
        input: [3, 5]
        blocks:
          b:
            args: {f: required}
            layers: [{type: conv1d, filters: $f, kernel_size: 1}]
        layers:
          - {type: conv1d, filters: 7, kernel_size: 1}
          - {type: b, f: "${in_channels * 2}"}
    """,
    "named and unnamed shortcuts in one namespace": """
        input: [4]
        layers:
          - {type: residual, body: [{type: dense, units: 3}], shortcut: {name: proj, layers: [{type: dense, units: 3}]}}
          - {type: residual, body: [{type: dense, units: 3}], shortcut: [{type: dense, units: 3}]}
          - {type: residual, body: [{type: dense, units: 3}], shortcut: [{type: dense, units: 3}]}
    """,
    "an unnamed residual in a sequence": """
        input: [4]
        layers:
          - type: sequence
            layers:
              - {type: dense, units: 4}
              - {type: residual, body: [{type: dense, units: 4}, {type: relu}], shortcut: [{type: dense, units: 4}]}
              - {type: dense, units: 4}
    """,
    "ALBERT: one shared transformer-ish block": """
        input: [3, 8]
        blocks:
          layer:
            layers:
              - {type: residual, body: [{type: dense, units: 8, name: attn}, {type: layernorm}]}
              - {type: residual, body: [{type: dense, units: 16, name: ffn}, {type: dense, units: 8, tie: ffn}]}
        layers:
          - {type: dense, units: 8, name: proj}
          - {type: layer, name: encoder, repeat: 12, shared: true}
    """,
}


def dedent(text):
    return textwrap.dedent(text).strip() + "\n"


@pytest.mark.parametrize("label", CURATED)
def test_curated_composed_specs_agree_with_torch(compose, label):
    text = dedent(CURATED[label])
    compare(counted(text), compose.oracle(yaml.safe_load(text)), text)


def test_tie_to_a_later_copy_of_a_repeat(compose):
    text = dedent("""
        input: [4]
        layers:
          - {type: dense, units: 4, name: d, repeat: 2}
          - {type: dense, units: 4, tie: d.1}
    """)
    want = compose.oracle(yaml.safe_load(text))
    assert (want.trainable, want.non_trainable) == (44, 0)  # d.0 20, d.1 20, the tied layer's own bias 4
    compare(counted(text), want, text)


# -- by hand: totals derived in the comments, no torch needed -------------------------------------

BY_HAND = {
    # mlp: fc1 4×8+8 = 40, fc2 8×4+4 = 36, one copy 76; two copies m.0, m.1: 152; out 4×3+3 = 15.
    "two-copy residual MLP": ("""
        input: [4]
        blocks:
          mlp:
            args: {hidden: required}
            layers:
              - type: residual
                body:
                  - {type: dense, name: fc1, units: $hidden}
                  - {type: relu}
                  - {type: dense, name: fc2, units: "${in_features}"}
        layers:
          - {type: mlp, name: m, hidden: 8, repeat: 2}
          - {type: dense, name: out, units: 3}
    """, (167, 0), [3], {"m": (152, 0), "m.0.fc1": (40, 0), "m.0.fc2": (36, 0), "out": (15, 0)}),
    # shared: one 6×6+6 = 42 for all four copies; batchnorm once: γ, β 12 trainable, running stats 12.
    "ALBERT-style shared copies": ("""
        input: [6]
        layers:
          - {type: dense, name: s, units: 6, repeat: 4, shared: true}
          - {type: batchnorm, name: bn, repeat: 3, shared: true}
    """, (54, 12), [6], {"s": (42, 0), "bn": (12, 12)}),
    # wte 10×4 = 40; layernorm 8; lm_head's kernel [4, 10] is wte's table transposed: only its bias, 10.
    "GPT-2-style tied output projection": ("""
        input: [5]
        layers:
          - {type: embedding, name: wte, num_embeddings: 10, embedding_dim: 4}
          - {type: layernorm, name: ln_f}
          - {type: dense, name: lm_head, units: 10, tie: wte}
    """, (58, 0), [5, 10], {"wte": (40, 0), "ln_f": (8, 0), "lm_head": (10, 0)}),
    # the explainer's text CNN: branches 2×(4×5)+2 = 42, 2×(3×5)+2 = 32, 2×(2×5)+2 = 22 (96),
    # each max-pooled to [2, 1, 1] and flattened; concat [6]; dense 6×2+2 = 14. Total 110.
    "text CNN: concat of three branches": ("""
        input: [1, 7, 5]
        layers:
          - type: parallel
            name: regions
            branches:
              - {name: r4, layers: [{type: conv2d, filters: 2, kernel_size: [4, 5]},
                                    {type: adaptivemaxpool2d, output_size: 1}, {type: flatten}]}
              - {name: r3, layers: [{type: conv2d, filters: 2, kernel_size: [3, 5]},
                                    {type: adaptivemaxpool2d, output_size: 1}, {type: flatten}]}
              - {name: r2, layers: [{type: conv2d, filters: 2, kernel_size: [2, 5]},
                                    {type: adaptivemaxpool2d, output_size: 1}, {type: flatten}]}
          - {type: dense, name: fc, units: 2}
    """, (110, 0), [2], {"regions": (96, 0), "regions.r4": (42, 0), "regions.r3": (32, 0),
                         "regions.r2": (22, 0), "fc": (14, 0)}),
    # squeeze-and-excitation: [4, 3, 3] times a gate [4, 1, 1] (pool, 1×1 conv 4×4+4 = 20), and a
    # gate [3] from dense 4×2+2 = 10 and 2×3+3 = 9, which NumPy aligns with the last axis (W = 3).
    "multiply with broadcasting": ("""
        input: [4, 3, 3]
        layers:
          - type: parallel
            name: se
            merge: multiply
            branches:
              - [{type: relu}]
              - [{type: adaptiveavgpool2d, output_size: 1}, {type: conv2d, filters: 4, kernel_size: 1}]
              - [{type: globalavgpool}, {type: dense, units: 2}, {type: relu}, {type: dense, units: 3}]
    """, (39, 0), [4, 3, 3], {"se": (39, 0), "se.1": (20, 0), "se.2": (19, 0)}),
    # ResNet basic block, 2 → 4 channels, stride 2: conv1 4×2×9 = 72, bn1 8 (+8 running), conv2 4×4×9 = 144,
    # bn2 8 (+8), shortcut conv 4×2 = 8, bn 8 (+8): 248 trainable, 24 non-trainable; 5×5 → 3×3.
    "ResNet basic block with a projection shortcut": ("""
        input: [2, 5, 5]
        blocks:
          basic:
            args: {filters: required, stride: 1}
            layers:
              - type: residual
                body:
                  - {type: conv2d, name: conv1, filters: $filters, kernel_size: 3, stride: $stride, padding: 1, bias: false}
                  - {type: batchnorm, name: bn1}
                  - {type: relu}
                  - {type: conv2d, name: conv2, filters: $filters, kernel_size: 3, padding: 1, bias: false}
                  - {type: batchnorm, name: bn2}
                shortcut:
                  - {type: conv2d, filters: $filters, kernel_size: 1, stride: $stride, bias: false}
                  - {type: batchnorm}
              - {type: relu}
        layers:
          - {type: basic, name: layer2, filters: 4, stride: 2}
    """, (248, 24), [4, 3, 3], {"layer2": (248, 24), "layer2.conv1": (72, 0), "layer2.bn1": (8, 8),
                                "layer2.shortcut": (16, 8)}),
    # the first copy changes the shape (2 → 5: 2×5+5 = 15), the other two keep it (5×5+5 = 30 each).
    "a repeat whose first copy changes the shape": ("""
        input: [2]
        layers:
          - {type: dense, name: d, units: 5, repeat: 3}
    """, (75, 0), [5], {"d": (75, 0)}),
}


def subtotals(got):
    out = {}

    def walk(node):
        if "layer" in node:
            leaf = got["layers"][node["layer"]]
            out.setdefault(leaf["path"], pair(leaf))
            return
        if node["name"] != "":
            out[node["path"]] = pair(node)
        for child in node["children"]:
            walk(child)

    for node in got["tree"]:
        walk(node)
    return out


@pytest.mark.parametrize("label", BY_HAND)
def test_by_hand(label):
    text, totals, shape, parts = BY_HAND[label]
    got = counted(dedent(text))
    assert pair(got["totals"]) == totals
    last = got["tree"][-1]
    assert (got["layers"][last["layer"]]["output_shape"] if "layer" in last else last["output_shape"]) == shape
    found = subtotals(got)
    assert {path: found.get(path) for path in parts} == parts


@pytest.mark.parametrize("label", BY_HAND)
def test_by_hand_agrees_with_torch(compose, label):
    text, totals, shape, parts = BY_HAND[label]
    want = compose.oracle(yaml.safe_load(dedent(text)))
    assert ((want.trainable, want.non_trainable), want.output_shape) == (totals, shape)
    assert {path: want.subtotal(path) for path in parts} == parts


def test_a_broken_composed_spec_exits_2_with_one_line(cli_run):
    """The CLI's contract for a composition error: exit 2, nothing on stdout, one PATH:LINE:COL line."""
    text = dedent("""
        input: [4]
        blocks:
          b:
            args: {w: required}
            layers:
              - type: residual
                body: [{type: dense, units: $w}]
        layers:
          - {type: b, w: 5}
    """)
    result = cli_run("--format", "json", "-", input=text)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and re.match(r"^<stdin>:6:\d+: in b_1 \(block 'b'\): \S", lines[0]), lines
    assert "[5]" in lines[0] and "[4]" in lines[0], lines
