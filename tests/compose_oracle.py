"""An independent torch oracle for composed specs (issue 7): blocks, repeat, residual, parallel, ties.

It shares no code with ``paramcount``: the spec is read with ``yaml.safe_load`` (or given as a
dict), composition is expanded here, and each leaf layer is built by ``tests/torch_oracle.py``'s
``with_defaults`` + ``build_layer``. The model is then what torch makes of it:

* every copy of a ``repeat`` is its own module, run in sequence; ``shared: true`` reuses one module
  for all copies, so ``model.parameters()`` (which deduplicates by identity) counts it once;
* ``tie: PATH`` puts the owner's very ``weight`` Parameter into the tied module (GPT-2's
  ``lm_head.weight = wte.weight``: ``nn.Linear.weight`` is [out, in], the embedding's [vocab, dim]);
  when the torch shapes are 2-D transposes of each other the tied module computes with the owner's
  Parameter transposed (``W.t()``, a view: no Parameter of its own);
* residual adds (equal shapes), parallel concatenates (axis + 1 for the batch axis) or adds /
  multiplies with NumPy broadcasting over the non-batch axes;
* totals: trainable = numel of ``model.parameters()`` with ``requires_grad``; non-trainable = frozen
  parameters + buffers (``num_batches_tracked`` excluded); output shapes from a forward pass on zeros
  (``LongTensor`` zeros when the spec has an embedding: token ids).

Subtotals by dotted path follow the design's naming: top-level and block items unnamed get
``type_n``, sequence and branch items their index, an unnamed residual (no name, no repeat) adds no
level, its shortcut is ``shortcut`` (``shortcut_2`` for a second one in the same namespace),
repeat copies are ``NAME.0`` ... Each tensor belongs to the leaf that created it (the owner of a tie).

Refusals raise ``OracleSpecError`` (torch_oracle's), ``TorchRefused`` when torch itself refused
(its exception chained), ``ComposeRefused`` for composition rules this oracle enforces itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import torch
import yaml
from torch import nn

from conftest import load_oracle  # tests/ is on sys.path, as for every test module

LEAF = load_oracle("torch_oracle")  # the very module the torch_oracle fixture hands out: one copy

OracleSpecError = LEAF.OracleSpecError
TorchRefused = LEAF.TorchRefused


class ComposeRefused(OracleSpecError):
    """A composition rule refuses the spec (unknown argument, missing tie target, bad merge, ...)."""


REFUSALS = (OracleSpecError,)  # every refusal of this oracle is one of these (TorchRefused, ComposeRefused)
COMPOSITES = ("sequence", "residual", "parallel")
ITEM_KEYS = ("type", "name", "trainable", "repeat", "shared")
SHAPE_NAMES = ("in_channels", "in_features")
_TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError)


# -- expressions -------------------------------------------------------------------------------

_EXPR_CHARS = re.compile(r"[0-9A-Za-z_+\-*/() \t]*")


def evaluate(value, env):
    """A field value with `$name` (any value) or `${arithmetic}` (ints, + - * //, unary minus)."""
    if isinstance(value, list):
        return [evaluate(v, env) for v in value]
    if not (isinstance(value, str) and value.startswith("$")):
        return value
    if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", value):
        if value[1:] not in env:
            raise ComposeRefused(f"{value}: no such argument")
        return env[value[1:]]
    if not (value.startswith("${") and value.endswith("}")):
        raise ComposeRefused(f"{value!r}: not $name or ${{...}}")
    text = value[2:-1]
    if not _EXPR_CHARS.fullmatch(text) or re.search(r"(?<!/)/(?!/)|///|\*\*", text):
        raise ComposeRefused(f"{value!r}: only integers, names, + - * // and parentheses")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ComposeRefused(f"{value!r}: {e.msg}") from e
    return _eval(tree, env, value)


def _eval(node, env, text):
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        v = env.get(node.id)
        if type(v) is not int:
            raise ComposeRefused(f"{text!r}: {node.id!r} is not an integer argument")
        return v
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, env, text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
        a, b = _eval(node.left, env, text), _eval(node.right, env, text)
        if isinstance(node.op, ast.FloorDiv):
            if b == 0:
                raise ComposeRefused(f"{text!r}: division by zero")
            return a // b
        return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
    raise ComposeRefused(f"{text!r}: not integer arithmetic")


# -- names -------------------------------------------------------------------------------------


def _transparent(item):
    return item.get("type") == "residual" and "name" not in item and "repeat" not in item


def _members(items):
    """What shares a namespace: items, and through an unnamed residual its body and its shortcut."""
    for item in items:
        if isinstance(item, dict) and _transparent(item):
            yield from _members(item.get("body") or [])
            if "shortcut" in item:
                yield ("shortcut", item["shortcut"])
        else:
            yield item


def _branch_parts(entry, default):
    """(name, given, layers) of a parallel branch or a shortcut: a list, or {name, layers}."""
    if isinstance(entry, dict):
        if set(entry) - {"name", "layers"} or "layers" not in entry:
            raise ComposeRefused(f"bad branch {entry!r}")
        return (entry["name"], True, entry["layers"]) if "name" in entry else (default, False, entry["layers"])
    return default, False, entry


def _type_name(item):
    return item["type"]


def name_members(items, by_index, names):
    """Fill names[id(obj)] for every member of a list (items, and shortcuts of unnamed residuals)."""
    counts, seen = {}, []
    for position, member in enumerate(_members(items)):
        if isinstance(member, tuple):  # a shortcut
            name, given, _ = _branch_parts(member[1], "shortcut")
            if not given and name in seen:
                name = f"shortcut_{sum(1 for n in seen if n.startswith('shortcut')) + 1}"
            key = id(member[1])
        else:
            if not isinstance(member, dict) or "type" not in member:
                raise ComposeRefused(f"not a layer: {member!r}")
            name = member.get("name")
            if name is None:
                t = _type_name(member)
                counts[t] = counts.get(t, 0) + 1
                name = str(position) if by_index else f"{t}_{counts[t]}"
            key = id(member)
        if name in seen:
            raise ComposeRefused(f"layer name {name!r} is used twice")
        seen.append(name)
        names[key] = str(name)


# -- the model ---------------------------------------------------------------------------------


@dataclass
class Owned:
    path: str  # the leaf that created it
    numel: int
    trainable: bool


@dataclass
class ComposeResult:
    trainable: int
    non_trainable: int
    output_shape: list
    model: nn.Module
    owned: list = field(default_factory=list)  # Owned, one per distinct tensor
    shapes: dict = field(default_factory=dict)  # path -> output shape of that node / copy / leaf
    repeats: set = field(default_factory=set)  # paths of items with repeat > 1 (their copies: PATH.i)
    leaves: set = field(default_factory=set)  # paths of leaves
    tied: dict = field(default_factory=dict)  # leaf path -> owner path

    @property
    def params(self):
        return self.trainable + self.non_trainable

    def subtotal(self, path):
        """(trainable, non_trainable) of the tensors created under `path` (a node or a leaf)."""
        t = n = 0
        for o in self.owned:
            if o.path == path or o.path.startswith(path + "."):
                if o.trainable:
                    t += o.numel
                else:
                    n += o.numel
        return t, n


class _Seq(nn.Module):
    def __init__(self, modules):
        super().__init__()
        self.items = nn.ModuleList(modules)

    def forward(self, x):
        for m in self.items:
            x = m(x)
        return x


class _Leaf(nn.Module):
    """A leaf layer; one that computes on its input gives floats, never token ids."""

    def __init__(self, module, shape_only):
        super().__init__()
        self.layer, self.shape_only = module, shape_only

    def forward(self, x):
        y = self.layer(x)
        return y if self.shape_only or y.is_floating_point() else y.float()


class _Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return _add(self.body(x), x if self.shortcut is None else self.shortcut(x))


def _add(y, other):
    """A residual's sum: equal shapes (torch alone would broadcast)."""
    if y.shape != other.shape:
        _torch(torch.add, y, other)  # torch refuses what does not broadcast
        raise ComposeRefused(f"residual: the body gives {list(y.shape[1:])}, the shortcut {list(other.shape[1:])}")
    return (y + other).float()


class _Parallel(nn.Module):
    def __init__(self, branches, item):
        super().__init__()
        self.branches, self.item = nn.ModuleList(branches), item

    def forward(self, x):
        return _merge(self.item, [b(x) for b in self.branches])


class _Scope:
    __slots__ = ("env", "prefix", "block_prefix", "trainable", "stack")

    def __init__(self, env, prefix, block_prefix, trainable, stack):
        self.env, self.prefix, self.block_prefix, self.trainable, self.stack = env, prefix, block_prefix, trainable, stack

    def join(self, name):
        return f"{self.prefix}.{name}" if self.prefix else name

    def inside(self, prefix, trainable=True):
        return _Scope(self.env, prefix, self.block_prefix, self.trainable and trainable, self.stack)


def _torch(fn, *args):
    try:
        return fn(*args)
    except _TORCH_ERRORS as e:
        raise TorchRefused(f"torch refused: {e}") from e


class _Builder:
    def __init__(self, spec):
        self.blocks = spec.get("blocks") or {}
        if not isinstance(self.blocks, dict):
            raise ComposeRefused("blocks must be a mapping")
        self.owners = {}  # leaf path -> (module, root path of its weights)
        self.owned, self.seen = [], set()
        self.shapes, self.repeats, self.leaves, self.tied = {}, set(), set(), {}
        self.names = {}

    # naming, cached per list object
    def named(self, items, by_index):
        if not isinstance(items, list) or not items:
            raise ComposeRefused("a list of layers must hold at least one layer")
        if id(items) not in self.names:
            names = {}
            name_members(items, by_index, names)
            self.names[id(items)] = names
        return self.names[id(items)]

    def sequence(self, items, x, scope, by_index, names=None):
        names = names if names is not None else self.named(items, by_index)
        modules = []
        for item in items:
            m, x = self.item(item, x, scope, names)
            modules.append(m)
        return _Seq(modules), x

    def item(self, item, x, scope, names):
        transparent = _transparent(item)
        path = scope.prefix if transparent else scope.join(names[id(item)])
        times = evaluate(item.get("repeat", 1), scope.env)
        if type(times) is not int or times < 1:
            raise ComposeRefused(f"repeat must be a positive integer, got {times!r}")
        shared = item.get("shared", False)
        if shared and times == 1:
            raise ComposeRefused("shared needs repeat")
        if times == 1:
            return self.once(item, x, scope, path, names)
        self.repeats.add(path)
        copies = []
        for i in range(times):
            if shared and i:
                y = _torch(copies[0], x)
                self.shapes[f"{path}.{i}"] = list(y.shape[1:])
                if y.shape != x.shape:
                    raise ComposeRefused(f"shared copies of {path} change the shape {list(x.shape[1:])}"
                                         f" -> {list(y.shape[1:])}")
                copies.append(copies[0])
            else:
                m, y = self.once(item, x, scope, f"{path}.{i}", names)
                copies.append(m)
                if shared and y.shape != x.shape:
                    raise ComposeRefused(f"shared copies of {path} change the shape")
            x = y
        self.shapes[path] = list(x.shape[1:])
        return _Seq(copies), x

    def once(self, item, x, scope, path, names):
        kind = item["type"]
        trainable = item.get("trainable", True)
        if kind in COMPOSITES:
            return self.group(item, kind, x, scope, path, names, trainable)
        if kind in self.blocks:
            return self.use(item, x, scope, path, trainable)
        return self.leaf(item, x, scope, path)

    def record(self, path, module):
        for p in module.parameters():
            if id(p) not in self.seen:
                self.seen.add(id(p))
                self.owned.append(Owned(path, p.numel(), p.requires_grad))
        for name, b in module.named_buffers():
            if name.split(".")[-1] != "num_batches_tracked" and id(b) not in self.seen:
                self.seen.add(id(b))
                self.owned.append(Owned(path, b.numel(), False))

    def leaf(self, item, x, scope, path):
        cfg = {k: evaluate(v, scope.env) for k, v in item.items() if k not in ("repeat", "shared", "tie")}
        layer = LEAF.with_defaults(cfg)
        module, _ = _torch(LEAF.build_layer, layer, list(x.shape[1:]))
        if not (layer["trainable"] and scope.trainable):
            for p in module.parameters():
                p.requires_grad_(False)
        root = path
        if "tie" in item:
            root = self.tie(module, item["tie"], scope, path)
            self.tied[path] = root
        module.eval()
        wrapped = _Leaf(module, layer["type"] in LEAF.SHAPE_ONLY)
        y = _torch(wrapped, x)
        self.record(path, module)
        self.owners.setdefault(path, (module, root))
        self.leaves.add(path)
        self.shapes[path] = list(y.shape[1:])
        return wrapped, y

    @staticmethod
    def weight_slots(module):
        return [(sub, name) for _, sub in module.named_modules() for name, p in sub._parameters.items()
                if p is not None and name == "weight"]

    def tie(self, module, target, scope, path):
        if not isinstance(target, str):
            raise ComposeRefused(f"tie must name a layer, got {target!r}")
        candidates = ([f"{scope.block_prefix}.{target}"] if scope.block_prefix else []) + [target]
        found = next((c for c in candidates if c in self.owners), None)
        if found is None:
            raise ComposeRefused(f"tie: no earlier layer {target!r}")
        root = self.owners[found][1]
        owner = self.owners[root][0]
        theirs = [getattr(sub, name) for sub, name in self.weight_slots(owner)]
        mine = self.weight_slots(module)
        if len(mine) != len(theirs):
            raise ComposeRefused(f"{path}: {len(mine)} weight tensors, {root} has {len(theirs)}")
        for (sub, name), p in zip(mine, theirs):
            shape = tuple(getattr(sub, name).shape)
            if shape == tuple(p.shape):
                setattr(sub, name, p)  # the very Parameter, as GPT-2's lm_head.weight = wte.weight
            elif len(shape) == 2 and shape == tuple(p.shape)[::-1]:
                del sub._parameters[name]
                setattr(sub, name, p.t())  # a transposed view: no Parameter of its own
            else:
                raise ComposeRefused(f"{path}: weight {list(shape)} cannot be {root}'s {list(p.shape)}")
        return root

    def use(self, item, x, scope, path, trainable):
        name = item["type"]
        block = self.blocks[name]
        if name in scope.stack:
            raise ComposeRefused(f"block {name!r} uses itself")
        args = block.get("args") or {}
        env = {k: v for k, v in args.items() if v != "required"}
        for key, value in item.items():
            if key in ITEM_KEYS:
                continue
            if key not in args:
                raise ComposeRefused(f"{key!r} is not an argument of block {name!r}")
            env[key] = evaluate(value, scope.env)
        missing = [k for k, v in args.items() if v == "required" and k not in env]
        if missing:
            raise ComposeRefused(f"block {name!r} needs {missing}")
        shape = list(x.shape[1:])
        env["in_channels"], env["in_features"] = shape[0], shape[-1]
        inner = _Scope(env, path, path, scope.trainable and trainable, scope.stack + (name,))
        module, y = self.sequence(block["layers"], x, inner, by_index=False)
        self.shapes[path] = list(y.shape[1:])
        return module, y

    def branch(self, entry, default, x, scope, prefix):
        name, _, layers = _branch_parts(entry, default)
        path = f"{prefix}.{name}" if prefix else str(name)
        module, y = self.sequence(layers, x, scope.inside(path), by_index=True)
        self.shapes[path] = list(y.shape[1:])
        return module, y

    def group(self, item, kind, x, scope, path, names, trainable):
        inner = scope.inside(path, trainable)
        if kind == "sequence":
            module, y = self.sequence(item.get("layers"), x, inner, by_index=True)
        elif kind == "residual":
            if _transparent(item):  # named with the enclosing list
                body, y = self.sequence(item.get("body"), x, inner, False, names)
                short_name = names[id(item["shortcut"])] if "shortcut" in item else None
            else:
                parts = {}
                name_members([{"type": "residual", "body": item.get("body") or [],
                               **({"shortcut": item["shortcut"]} if "shortcut" in item else {})}], False, parts)
                body, y = self.sequence(item.get("body"), x, inner, False, parts)
                short_name = parts[id(item["shortcut"])] if "shortcut" in item else None
            other, short = x, None
            if short_name is not None:
                _, _, layers = _branch_parts(item["shortcut"], short_name)
                spath = f"{path}.{short_name}" if path else short_name
                short, other = self.sequence(layers, x, inner.inside(spath), by_index=True)
                self.shapes[spath] = list(other.shape[1:])
            module = _Residual(body, short)
            y = _add(y, other)
        else:
            branches = item.get("branches")
            if not isinstance(branches, list) or len(branches) < 2:
                raise ComposeRefused("parallel needs at least two branches")
            seen, mods, outs = set(), [], []
            for i, entry in enumerate(branches):
                bname = _branch_parts(entry, str(i))[0]
                if bname in seen:
                    raise ComposeRefused(f"branch name {bname!r} twice")
                seen.add(bname)
                m, o = self.branch(entry, str(i), x, inner, path)
                mods.append(m)
                outs.append(o)
            y = _merge(item, outs)
            module = _Parallel(mods, item)
        self.shapes[path] = list(y.shape[1:])
        return module, y


def _merge(item, outs):
    merge = item.get("merge", "concat")
    if merge == "concat":
        axis = item.get("axis", 0)
        rank = outs[0].dim() - 1
        if type(axis) is not int or not -rank <= axis < rank:
            raise ComposeRefused(f"concat axis {axis!r} on rank {rank}")
        return _torch(torch.cat, outs, axis + 1 if axis >= 0 else axis).float()
    if merge not in ("add", "multiply") or "axis" in item:
        raise ComposeRefused(f"merge {merge!r}")
    rank = max(o.dim() for o in outs)
    outs = [o.reshape(o.shape[0], *([1] * (rank - o.dim())), *o.shape[1:]) for o in outs]  # pad after batch
    y = outs[0]
    for o in outs[1:]:
        y = _torch(torch.add if merge == "add" else torch.mul, y, o)
    return y.float()


def _has_embedding(spec):
    def walk(v):
        if isinstance(v, dict):
            return v.get("type") == "embedding" or any(walk(w) for w in v.values())
        if isinstance(v, list):
            return any(walk(w) for w in v)
        return False
    return walk(spec.get("layers")) or walk(spec.get("blocks"))


def oracle(spec) -> ComposeResult:
    """Build and run the torch model of a composed spec (a dict, or YAML text)."""
    if isinstance(spec, str):
        spec = yaml.safe_load(spec)
    if not isinstance(spec, dict) or "input" not in spec or "layers" not in spec:
        raise ComposeRefused("a spec needs input and layers")
    shape = list(spec["input"])
    builder = _Builder(spec)
    dtype = torch.long if _has_embedding(spec) else torch.float32
    x = torch.zeros((1, *shape), dtype=dtype)
    scope = _Scope({"in_channels": shape[0], "in_features": shape[-1]}, "", "", True, ())
    with torch.no_grad():
        model, y = builder.sequence(spec["layers"], x, scope, by_index=False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for n, b in model.named_buffers() if n.split(".")[-1] != "num_batches_tracked")
    result = ComposeResult(trainable, frozen + buffers, list(y.shape[1:]), model, builder.owned, builder.shapes,
                           builder.repeats, builder.leaves, builder.tied)
    # every tensor counted by model.parameters() / buffers() has exactly one owner, and nothing more
    assert sum(o.numel for o in builder.owned) == result.params, (builder.owned, result.params)
    return result
