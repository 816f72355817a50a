"""Spec to report: each node of the structure infers its output shape from its input and counts
what it owns; composites sum their children; totals come from the top. No formatting here.

Every tensor is counted once, by its owner: a tied layer counts none of the weights it borrows,
and copies that share weights (`repeat` with `shared`) count one set. A repeat whose copies see
the same input shape is analysed once and multiplied, so cost follows the spec, not its expansion.
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .errors import Problem, fail, quote
from .expr import Expr, ExprError
from .layers import Invalid
from .limits import (MAX_ANALYSED, MAX_COUNT_BITS, MAX_COUNT_DIGITS, MAX_NESTING, MAX_PROBLEMS, MAX_RANK,
                     MAX_REPORT_BITS, MAX_REPORT_DIGITS, MAX_FIGURE_BITS, MAX_FIGURE_DIGITS,
                     MAX_SIZE_BITS, MAX_SIZE_DIGITS)
from .shapes import ShapeError, product
from .tree import Group, Leaf, Use, finish, type_of

if TYPE_CHECKING:
    from .spec import Spec

COUNTS = ("weights", "biases", "trainable", "non_trainable", "params", "params_unshared")
BUDGET_KEYS = ("max_params", "max_trainable", "max_params_unshared", "max_layer_params")
# Types that read or make a sequence [T, D]: after one, a dense layer on a rank-2 input is the usual
# per-token projection, not a mistake.
SEQUENCE_TYPES = frozenset({"embedding", "positional_embedding", "class_token", "attention", "rnn", "lstm", "gru"})
CONV2D_TYPES = frozenset({"conv2d", "depthwise_conv2d", "separable_conv2d", "conv2d_transpose"})


class Counts:
    __slots__ = COUNTS
    weights: int
    biases: int
    trainable: int
    non_trainable: int
    params: int
    params_unshared: int

    def __init__(self, weights: int = 0, biases: int = 0, state: int = 0, trainable: bool = True,
                 unshared: int | None = None) -> None:
        """From a layer's weight, bias and state (non-trainable buffer) element counts."""
        learned = weights + biases
        self.weights, self.biases = weights, biases
        self.trainable = learned if trainable else 0
        self.non_trainable = state + (0 if trainable else learned)
        self.params = learned + state
        self.params_unshared = self.params if unshared is None else unshared

    @property
    def state(self) -> int:
        """Non-trainable buffers (BatchNorm's running statistics): not in PyTorch's parameters()."""
        return self.params - self.weights - self.biases

    def add(self, other: "Counts", times: int = 1) -> "Counts":
        for k in COUNTS:
            setattr(self, k, getattr(self, k) + getattr(other, k) * times)
        return self

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNTS}


COMPUTE = ("macs", "other_ops", "connections")


class Compute:
    """What a node computes for one sample at the spec's input size (issue 9): multiply-accumulates
    (FLOPs = 2 × MACs), other elementwise work (`other_ops`: pooling, normalisation, activations) and
    LeCun's connections. Unlike `Counts`, it multiplies by every occurrence: copies that share one set
    of weights (`shared`, ALBERT) and tied layers still compute each time they run."""

    __slots__ = COMPUTE + ("known",)
    macs: int
    other_ops: int
    connections: int
    known: bool  # False where a layer's compute is not known (a node built without it: ONNX imports)

    def __init__(self, macs: int = 0, other_ops: int = 0, connections: int = 0, known: bool = True) -> None:
        self.macs, self.other_ops, self.connections, self.known = macs, other_ops, connections, known

    def add(self, other: "Compute", times: int = 1) -> "Compute":
        for k in COMPUTE:
            setattr(self, k, getattr(self, k) + getattr(other, k) * times)
        self.known = self.known and other.known
        return self

    def as_dict(self) -> dict[str, int | None]:
        """The figures by key; None for each where they are not known (never 0 for unknown)."""
        if not self.known:
            return dict.fromkeys(COMPUTE)
        return {k: getattr(self, k) for k in COMPUTE}

    def __eq__(self, other):
        return isinstance(other, Compute) and self.as_dict() == other.as_dict()

    __hash__ = None


class LayerReport:
    """One node of the report tree: a leaf layer, or a composite whose counts include its children's.

    `repeat`: the row stands for that many consecutive copies (counts already multiplied, unless
    `shared`, when they share one set of weights); its children describe one copy.
    """

    __slots__ = ("name", "path", "depth", "type", "activation", "input_shape", "output_shape", "counts",
                 "tensors", "children", "repeat", "shared", "tied_to", "active", "compute", "acts")
    name: str
    path: str
    depth: int
    type: str
    activation: str | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    counts: Counts
    tensors: list[Any] | None
    children: list["LayerReport"]
    repeat: int
    shared: bool
    tied_to: str | None
    compute: Compute

    def __init__(self, name, type_, activation, input_shape, output_shape, counts, tensors, children=(),
                 path=None, depth=0, repeat=1, shared=False, tied_to=None, compute=None):
        self.name, self.type, self.activation = name, type_, activation
        self.input_shape, self.output_shape = input_shape, output_shape
        self.counts, self.tensors, self.children = counts, tensors, list(children)
        self.path, self.depth = path if path is not None else name, depth
        self.repeat, self.shared, self.tied_to = repeat, shared, tied_to
        self.active = None  # a routed mixture of experts: the params one token runs through, one copy
        # All occurrences of this row, shared or not (a composite: its children's sum, times repeat).
        self.compute = compute if compute is not None else Compute(known=False)
        # Output elements per sample over all occurrences, as analysis adds them up (copies that
        # share a row may differ in shape: a repeated class token); None: from the shapes.
        self.acts = None

    @property
    def is_leaf(self) -> bool:
        return self.tensors is not None

    def one_copy(self) -> dict[str, int]:
        """A leaf's counts for one copy: a repeated leaf's row holds all its copies (unless shared)."""
        counts = self.counts.as_dict()
        return counts if self.repeat == 1 or self.shared else {k: v // self.repeat for k, v in counts.items()}

    def as_dict(self, times: int = 1, copies: int = 1) -> dict[str, Any]:
        """A leaf's JSON object: the core keys (counts of one copy), then where it sits, how often it
        occurs and how many copies of its weights the totals hold (sum of params × copies = total)."""
        d = {"name": self.path, "type": self.type,
             "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}
        d.update(self.one_copy())
        d.update(path=self.path, depth=self.depth, repeat=times, copies=copies, tied_to=self.tied_to)
        # One occurrence: a row's copies compute alike (analysis merges only copies of equal compute).
        d.update({k: None if v is None else v // self.repeat for k, v in self.compute.as_dict().items()})
        # One occurrence's: a row that stands for one (every import's) has its own count (an ONNX
        # bias Add is part of the layer before it: none); a repeated row's last copy's output.
        acts = self.activations()
        d["activations"] = None if acts is None else acts if self.repeat == 1 else product(self.output_shape)
        return d

    def tree_dict(self, index: Mapping[int, int]) -> dict[str, Any]:
        """A composite's JSON object with its children; a leaf is {"layer": its index in `layers`}."""
        if self.is_leaf:
            i = index[id(self)]
            return {"layer": i}
        d = {"name": self.name, "path": self.path, "type": self.type, "input_shape": list(self.input_shape),
             "output_shape": list(self.output_shape), "repeat": self.repeat, "shared": self.shared}
        d.update(self.counts.as_dict())
        d.update(self.compute.as_dict())
        d["activations"] = self.activations()
        d["children"] = [c.tree_dict(index) for c in self.children]
        return d

    def activations(self) -> int | None:
        """Output elements per sample over every time the node runs: what analysis added up, or for
        a report built otherwise (an import), a leaf's output × its repeat and a composite's leaves'
        sum × its repeat; None where not known."""
        if not self.compute.known:
            return None
        if self.acts is not None:
            return self.acts
        if self.is_leaf:
            return product(self.output_shape) * self.repeat
        return sum(c.activations() for c in self.children) * self.repeat


class Budget:
    """One limit and how the model stands against it.

    `key`: one of BUDGET_KEYS; `limit`: the stricter of the spec's and the option's; `value`: what it
    limits (totals.params, .trainable, .params_unshared, or the params of one copy of the largest leaf);
    `layer`: that leaf's dotted path for max_layer_params, else None; `mark`: the YAML mark of the
    spec's `budget.<key>` value, None when the limit came from the command line; `within`: value <= limit.
    """

    __slots__ = ("key", "limit", "value", "layer", "mark", "within")
    key: str
    limit: int
    value: int
    layer: str | None
    mark: Any
    within: bool

    def __init__(self, key: str, limit: int, value: int, layer: str | None = None, mark: Any = None) -> None:
        self.key, self.limit, self.value, self.layer, self.mark = key, limit, value, layer, mark
        self.within = value <= limit

    def __repr__(self):
        return f"Budget({self.key}={self.limit}, value={self.value}, within={self.within})"


class Report:
    __slots__ = ("name", "description", "source", "path", "input_shape", "layers", "totals",
                 "max_params", "budget_mark", "within", "budgets", "warnings", "compute", "memory")
    name: str
    description: str | None
    source: str
    path: str
    input_shape: tuple[int, ...]
    layers: list[LayerReport]
    totals: Counts
    max_params: int | None
    budget_mark: Any
    within: bool
    budgets: list[Budget]
    warnings: list[Any]
    compute: Compute
    # Set for --dtype / --batch: then the JSON has `memory`. None: the table shows fp32 at batch 1.
    memory: "Memory | None"

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        if self.compute is None:  # the sum of the top-level nodes' compute (all occurrences)
            self.compute = Compute()
            for node in self.layers or ():
                self.compute.add(getattr(node, "compute", None) or Compute(known=False))
        if self.budgets is None:
            self.budgets = []
        if self.warnings is None:
            self.warnings = []

    def largest_layer(self) -> tuple[int, str | None]:
        """(params of one copy, dotted path) of the leaf with the most parameters, the first of equals;
        (0, None) without leaves. Counts exclude tied tensors, as in `layers`."""
        best, path = 0, None
        for leaf, _, _ in self.leaves():
            params = leaf.one_copy()["params"]
            if path is None or params > best:
                best, path = params, leaf.path
        return best, path

    def leaves(self) -> Iterator[tuple[LayerReport, int, int]]:
        """(leaf, times, copies) in order: `times` how often the leaf occurs (the product of enclosing
        repeats), `copies` how many sets of its weights the totals hold (shared repeats hold one)."""
        todo = [(node, 1, 1) for node in reversed(self.layers)]
        while todo:
            node, times, copies = todo.pop()
            times, copies = times * node.repeat, copies * (1 if node.shared else node.repeat)
            if node.is_leaf:
                yield node, times, copies
            else:
                todo += [(c, times, copies) for c in reversed(node.children)]

    @property
    def sharing_tenths(self) -> int | None:
        """How many times more parameters without weight sharing, in tenths; None when no layer shares."""
        t = self.totals
        return _tenths(t.params_unshared, t.params) if t.params and t.params_unshared != t.params else None

    @property
    def memory_fp32(self) -> tuple[int, str]:
        """The parameters' size at 4 bytes each: (bytes, "B"), or (tenths, "KiB" / "MiB" / "GiB")."""
        nbytes = self.totals.params * 4
        for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if nbytes >= scale:
                return _tenths(nbytes, scale), unit
        return nbytes, "B"

    @property
    def active_params(self) -> int | None:
        """With routed experts (`moe`), the parameters one token runs through: every other layer, and
        the router and top_k experts of each mixture (embeddings included, as Mistral counts). None
        for a model without experts."""
        total, routed = 0, False
        for leaf, _, copies in self.leaves():
            one = leaf.one_copy()["params"]
            routed = routed or leaf.active is not None
            total += (one if leaf.active is None else leaf.active) * copies
        return total if routed else None

    def to_dict(self) -> dict[str, Any]:
        leaves, index = [], {}
        for leaf, times, copies in self.leaves():
            index.setdefault(id(leaf), len(leaves))
            leaves.append(leaf.as_dict(times, copies))
        active = self.active_params
        return {
            "schema_version": 1,
            "name": self.name,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "layers": leaves,
            "tree": [node.tree_dict(index) for node in self.layers],
            "totals": {**self.totals.as_dict(), **self.compute.as_dict(), "activations": self._activations()},
            **({} if active is None else {"active_params": active}),
            **({} if self.memory is None else {"memory": self.memory.as_dict()}),
            "budget": self._budget_dict(),
        }

    def _activations(self):
        if not getattr(self.compute, "known", True):
            return None
        return sum(node.activations() for node in self.layers)

    def _budget_dict(self):
        limits = {b.key: b.limit for b in self.budgets}
        d = {k: limits.get(k) for k in BUDGET_KEYS}
        d["max_params"] = self.max_params
        d["within"] = self.within
        return d


# Bytes per element of each --dtype, as (numerator, denominator): int4 packs two values a byte.
DTYPE_BYTES = {"fp32": (4, 1), "fp16": (2, 1), "bf16": (2, 1), "fp8": (1, 1), "int8": (1, 1), "int4": (1, 2)}
DTYPES = tuple(DTYPE_BYTES)
MEMORY = ("dtype", "batch", "weights_bytes", "activation_elements", "activation_bytes", "training_adam_bytes")
ADAM_BYTES, FP32_BYTES = 16, 4  # per trainable parameter: weight, gradient, two moments, fp32 each


def dtype_bytes(elements: int, dtype: str) -> int:
    """Bytes of one tensor of `elements` values in `dtype`: elements × 4 (fp32), × 2 (fp16, bf16),
    × 1 (int8, fp8), and for int4 half a byte each, rounded up: ceil(elements / 2)."""
    num, den = DTYPE_BYTES[dtype]
    return -(-elements * num // den)


class Memory:
    """What a report's model needs in memory (issue 9), exact integers of bytes. Formulas:

    - `weights_bytes`: every tensor the totals count (weights, biases and non-trainable buffers; a
      tied tensor once, a shared repeat's one set) in `dtype`: params × 4 (fp32), × 2 (fp16, bf16),
      × 1 (int8, fp8); int4 packs each tensor on its own, ceil(elements / 2) bytes per tensor, so a
      tensor of odd size ends in half a byte unused. Quantisation scales and zero points are not counted.
    - `activation_elements`: per sample, the sum over leaf layers of their output's elements × how
      often the layer runs (repeats and shared copies included). The input is not counted (it is
      data, not an activation), nor are a merge's results (a residual's sum, a concatenation) or a
      layer's internal tensors (attention scores, recurrent gates): one output tensor per layer.
    - `activation_bytes`: activation_elements × batch in `dtype` (int4: ceil of half of that).
    - `training_adam_bytes`: plain fp32 training with Adam, whatever `dtype`: 16 bytes per trainable
      parameter (weight, gradient and Adam's two moments, 4 bytes each) + 4 × non-trainable
      parameters (buffers and frozen layers: the weight alone) + 4 × activation_elements × batch.

    Where activations are not known (a report built without analysis: an ONNX import),
    `activation_elements`, `activation_bytes` and `training_adam_bytes` are None, never 0.
    """

    __slots__ = MEMORY
    dtype: str
    batch: int
    weights_bytes: int
    activation_elements: int | None
    activation_bytes: int | None
    training_adam_bytes: int | None

    def __init__(self, dtype, batch, weights_bytes, activation_elements, activation_bytes, training_adam_bytes):
        self.dtype, self.batch, self.weights_bytes = dtype, batch, weights_bytes
        self.activation_elements, self.activation_bytes = activation_elements, activation_bytes
        self.training_adam_bytes = training_adam_bytes

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in MEMORY}


def estimate_memory(report: "Report", dtype: str = "fp32", batch: int = 1) -> Memory:
    """The Memory of `report` with weights and activations in `dtype` and `batch` samples (see Memory)."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not (isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1):
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    t = report.totals
    # int4 packs each leaf's tensors on its own; any other dtype is the total params' bytes.
    weights = (sum(param_bytes(node, dtype) for node in report.layers or ()) if dtype == "int4"
               else dtype_bytes(t.params, dtype))
    known = getattr(report.compute, "known", True)
    # Activations: every top-level node's, as the JSON's totals count them (a composite keeps the
    # exact sum of its copies, which may differ in shape).
    elements = sum(node.activations() for node in report.layers) if known else None
    if not known:
        return Memory(dtype, batch, weights, None, None, None)
    activations = dtype_bytes(elements * batch, dtype)
    training = ADAM_BYTES * t.trainable + FP32_BYTES * t.non_trainable + FP32_BYTES * elements * batch
    return Memory(dtype, batch, weights, elements, activations, training)


def param_bytes(node, dtype="fp32"):
    """A row's parameter bytes in `dtype`: its params (all copies the row holds; a shared repeat's one
    set; a tied layer without the tensors it borrows); int4 packs each tensor on its own, so a
    composite's are its leaves'. Reads only what a renderer's duck-typed node has too."""
    if dtype != "int4":
        return dtype_bytes(node.counts.params, dtype)
    children = getattr(node, "children", None)
    one = sum(param_bytes(c, dtype) for c in children) if children else _int4_bytes(node)
    return one * (1 if getattr(node, "shared", False) else getattr(node, "repeat", 1))


def _int4_bytes(leaf):
    """One copy of a leaf's counted tensors in int4, each packed on its own: sum of ceil(n / 2).
    Counted: a tied leaf's own (non-weight) tensors, else all; where the tensors do not add up to the
    leaf's count (an import whose rows list borrowed tensors), ceil(params / 2) for the leaf."""
    tensors = getattr(leaf, "tensors", None) or ()
    if getattr(leaf, "tied_to", None) is not None:
        tensors = [w for w in tensors if w.role != "weight"]
    one = leaf.one_copy()["params"]
    sizes = [product(w.shape) for w in tensors]
    if sum(sizes) != one:
        return dtype_bytes(one, "int4")
    return sum(dtype_bytes(n, "int4") for n in sizes)


def _tenths(numerator, denominator):
    """numerator / denominator in tenths, rounded half up, by integer arithmetic."""
    return (numerator * 10 + denominator // 2) // denominator


def _elements(tensors):
    """Element counts of (weights, biases, state)."""
    weights = biases = state = 0
    for t in tensors:
        n = product(t.shape)
        if t.role == "weight":
            weights += n
        elif t.role == "bias":
            biases += n
        else:
            state += n
    return weights, biases, state


class _Scope:
    """Where analysis stands: argument values, the path prefix, depth, and what errors should say."""

    __slots__ = ("values", "prefix", "depth", "trainable", "where", "block_prefix", "times")

    def __init__(self, values, prefix, depth, trainable, where, block_prefix, times=1):
        self.values, self.prefix, self.depth, self.trainable = values, prefix, depth, trainable
        self.where, self.block_prefix, self.times = where, block_prefix, times

    def join(self, name):
        return f"{self.prefix}.{name}" if self.prefix else name

    def inside(self, prefix, trainable=True, depth=1):
        return _Scope(self.values, prefix, self.depth + depth, self.trainable and trainable, self.where,
                      self.block_prefix, self.times)

    def copied(self, times):
        """The scope of `times` copies: how often what is inside occurs, bounded like any count."""
        return _Scope(self.values, self.prefix, self.depth, self.trainable, self.where, self.block_prefix,
                      self.times * times)


class _Run:
    """One analysis: the file's path for errors, the budget of analyses, owners of tensors by path."""

    def __init__(self, path):
        self.path, self.analysed, self.bits, self.owners, self.figure_bits = path, 0, 0, {}, 0
        self.warnings, self.warned, self.sequence_seen, self.input_shape = [], set(), False, None
        self.repeats = {}  # path of a repeat -> [(first copy, copies)] for each run analysed once
        self.blocks = set()  # paths of composites and block uses, for a tie that names one

    def owner(self, path):
        """The analysed layer at `path`, where a copy inside a run stands for the run's first copy."""
        if path in self.owners:
            return self.owners[path]
        parts = path.split(".")
        for i in range(1, len(parts)):
            runs = self.repeats.get(".".join(parts[:i]))
            if runs is not None and parts[i].isdigit() and parts[i].isascii():
                k = int(parts[i])
                start = next((a for a, n in runs if a <= k < a + n), None)
                if start is not None:
                    parts[i] = str(start)
        return self.owners.get(".".join(parts))

    def fail(self, scope, mark, message):
        where = f"in {_cut(scope.where)}: " if scope.where else ""
        fail(self.path, mark, where + message)

    def warn(self, mark, message):
        """A warning at `mark`, once per place in the file (a block's layer used ten times warns once)."""
        problem = Problem.at(self.path, mark, message)
        if (problem.line, problem.col) in self.warned or len(self.warnings) >= MAX_PROBLEMS:
            return
        self.warned.add((problem.line, problem.col))
        self.warnings.append(problem)

    def spend(self, scope, mark, path):
        """One analysis, and a long path costs by its length: the expansion stays bounded."""
        self.analysed += 1 + len(path) // 64
        if self.analysed > MAX_ANALYSED:
            self.fail(scope, mark, f"the spec expands to more than {MAX_ANALYSED:,} layer analyses (every use of a "
                                   "block counts; a repeat counts once only while its copies keep the shape)")

    def record(self, node, scope, mark):
        if not node.is_leaf and node.path:
            self.blocks.add(node.path)
        c = node.compute
        bits = node.counts.params_unshared.bit_length()
        widest = max(bits, c.macs.bit_length(), c.other_ops.bit_length(), c.connections.bit_length(),
                     (node.acts or 0).bit_length())
        if widest > MAX_COUNT_BITS:  # Python will not print an int of 4,300 digits or more
            self.fail(scope, mark, f"layer {quote(node.path)} would count more than {MAX_COUNT_DIGITS:,} digits")
        self.bits += bits  # the counts' digits: what the report's rows print most of
        if self.bits > MAX_REPORT_BITS:  # hundreds of digits in every row: too much to print
            self.fail(scope, mark, f"the counts up to layer {quote(node.path)} hold more than "
                                   f"{MAX_REPORT_DIGITS:,} digits in all; the limit keeps output bounded")
        self.figure_bits += widest  # every row prints its compute and activations too
        if self.figure_bits > MAX_FIGURE_BITS:
            self.fail(scope, mark, f"the figures up to layer {quote(node.path)} hold more than "
                                   f"{MAX_FIGURE_DIGITS:,} digits in all; the limit keeps output bounded")
        return node


def _cut(text, limit=120):
    """A long path for a message: its start and its end, which name the top block and the layer."""
    return text if len(text) <= limit else text[:limit // 2 - 1] + "…" + text[-(limit // 2):]


def dims(shape, limit=120):
    """A shape for a message: hundreds of digits an axis are cut short, like any long text."""
    text = "[" + ", ".join(map(str, shape)) + "]"
    return text if len(text) <= limit else text[:limit - 2] + "…]"


def _check_out(run, scope, mark, what, out):
    if len(out) > MAX_RANK:
        run.fail(scope, mark, f"{what} would output {len(out)} axes; the limit is {MAX_RANK}")
    if out and max(out) >> MAX_SIZE_BITS:  # an axis of 2**1660 or more: embedding and flatten, again and again
        run.fail(scope, mark, f"{what} would output an axis of more than {MAX_SIZE_DIGITS:,} digits")


def _sequence(run, items, shape, ids, scope):
    """Items one after another: (reports, output shape, whether the output holds token ids)."""
    reports = []
    for item in items:
        report, shape, ids = _item(run, item, shape, ids, scope)
        reports.append(report)
    return reports, shape, ids


def _item(run, item, shape, ids, scope):
    path = scope.prefix if getattr(item, "transparent", False) else scope.join(item.name)
    times = _repeat(run, item, scope)
    if times == 1:
        return _once(run, item, shape, ids, scope, path, item.name)
    if (scope.times * times).bit_length() > MAX_COUNT_BITS:  # repeats inside repeats multiply
        run.fail(scope, item.mark_of("repeat"), f"repeats inside repeats make more than {MAX_COUNT_DIGITS:,}-digit "
                                                "copies of a layer; the limit keeps every count printable")
    runs, i, copy_shape, copy_ids, scope = [], 0, shape, ids, scope.copied(times)
    while i < times:  # copies run by run: once a copy's output shape equals its input, the rest are alike
        report, out, out_ids = _once(run, item, copy_shape, copy_ids, scope, f"{path}.{i}", str(i))
        same = out == copy_shape and (out_ids == copy_ids or not _takes_ids(item))
        count = times - i if same else 1
        if item.shared and count != times:
            run.fail(scope, item.mark_of("shared"), f"shared copies of {quote(item.name)} must keep the shape: "
                                                    f"the first takes {dims(copy_shape)} and gives {dims(out)}")
        previous = runs[-1][0] if runs else None
        if (previous is not None and previous.counts.as_dict() == report.counts.as_dict()
                and previous.compute == report.compute):
            # Copies that change the shape but not the counts (a class token, a shrinking
            # convolution's weights) share a row, so output follows the spec, not its expansion;
            # copies that compute differently do not (a row's MACs stay one copy's times its repeat).
            runs[-1] = (previous, runs[-1][1] + count, runs[-1][2] + report.acts * count)
            previous.output_shape = out
            start, n = run.repeats[path][-1]
            run.repeats[path][-1] = (start, n + count)
        else:
            runs.append((report, count, report.acts * count))
            run.repeats.setdefault(path, []).append((i, count))
        i, copy_shape, copy_ids = i + count, out, out_ids
    if len(runs) == 1:
        report, _, report.acts = runs[0]
        report.name, report.path, report.repeat, report.shared = item.name, path, times, item.shared
        if not item.shared:
            report.counts = Counts().add(report.counts, times)
        report.compute = Compute().add(report.compute, times)  # shared copies still run `times` times
        return run.record(report, scope, item.node.mark), copy_shape, copy_ids
    counts, compute = Counts(), Compute()
    for report, count, acts in runs:
        report.repeat, report.acts = count, acts
        report.counts = Counts().add(report.counts, count)
        report.compute = Compute().add(report.compute, count)
        counts.add(report.counts)
        compute.add(report.compute)
    node = LayerReport(item.name, type_of(item), None, shape, copy_shape, counts, None, [r for r, _, _ in runs],
                       path, scope.depth, compute=compute)
    node.acts = _acts(node.children)
    for report, _, _ in runs:
        _deepen(report)
    return run.record(node, scope, item.node.mark), copy_shape, copy_ids


def _takes_ids(item):
    """Whether anything in `item` reads token ids, so that its copies differ by what they are fed."""
    if isinstance(item, Leaf):
        return item.kind.takes_ids
    if isinstance(item, Use):
        parts = item.block.items
    else:
        parts = item.body + [i for b in item.branches + ([item.shortcut] if item.shortcut else []) for i in b.items]
    return any(_takes_ids(i) for i in parts)


def _deepen(node):
    """Copies of a repeat whose shape changes sit one level below the repeat's own row."""
    node.depth += 1
    for c in node.children:
        _deepen(c)


def _repeat(run, item, scope):
    times = item.repeat
    if isinstance(times, Expr):
        times = _evaluate(run, item, "repeat", times, scope)
        if not (isinstance(times, int) and not isinstance(times, bool) and times > 0):
            from .layers import describe

            run.fail(scope, item.mark_of("repeat"), f"repeat must be a positive integer, got {describe(times)}")
    return times


def _evaluate(run, item, field, expr, scope):
    try:
        return expr.evaluate(scope.values)
    except ExprError as e:
        run.fail(scope, item.mark_of(field), f"{field} {quote(expr.text)}: {e}")


def _once(run, item, shape, ids, scope, path, name):
    if scope.depth >= MAX_NESTING:  # blocks using blocks: written once each, nested at use
        run.fail(scope, item.node.mark, f"blocks and composites nest more than {MAX_NESTING} deep here")
    trainable = item.trainable is not False
    if isinstance(item, Leaf):
        return _leaf(run, item, shape, ids, scope, path, name, trainable)
    if isinstance(item, Use):
        return _use(run, item, shape, ids, scope, path, name, trainable)
    return _group(run, item, shape, ids, scope, path, name, trainable)


def _config(run, leaf, scope):
    """A leaf's fields with its block's arguments put in, checked as if written so."""
    cfg = dict(leaf.cfg)
    for key, value in leaf.cfg.items():
        if isinstance(value, Expr):
            written = _evaluate(run, leaf, key, value, scope)
        elif isinstance(value, list) and any(isinstance(v, Expr) for v in value):
            written = [_evaluate(run, leaf, key, v, scope) if isinstance(v, Expr) else v for v in value]
        else:
            continue
        field = leaf.kind.field_by_name[key]
        if written is None and field.default is None:
            cfg[key] = None
            continue
        try:
            cfg[key] = field.check(written)
        except Invalid as e:
            entry = leaf.node.value[key]
            mark = entry.value[e.index].mark if e.index is not None and isinstance(entry.value, list) else entry.mark
            run.fail(scope, mark, f"{key} {e}")
    problem = finish(leaf.kind, cfg)
    if problem is not None:
        run.fail(scope, leaf.mark_of(problem[0]), problem[1])
    return cfg


def _leaf(run, leaf, shape, ids, scope, path, name, trainable):
    kind = leaf.kind
    run.spend(scope, leaf.node.mark, path)
    cfg = _config(run, leaf, scope) if leaf.deferred else leaf.cfg
    what = f"{kind.name} layer {quote(path)}"
    if kind.takes_ids and not ids:
        run.fail(scope, leaf.node.mark, f"{what} takes token ids, but its input {dims(shape)} holds floats from the "
                                        "layer before it (ids come from the spec's input, through shape-only layers)")
    try:
        out = kind.output_shape(cfg, shape)
    except ShapeError as e:
        hint = _channels_last(run, kind, shape, ids, e)
        run.fail(scope, leaf.mark_of(e.field), f"{what} on input {dims(shape)}: {e}{hint}")
    _check_out(run, scope, leaf.node.mark, what, out)
    if kind.name in SEQUENCE_TYPES:
        run.sequence_seen = True
    elif kind.name == "dense" and _dense_warns(run, shape):
        run.warn(leaf.node.mark, f"{what} acts on the last axis of {dims(shape)} only, as in PyTorch and Keras; "
                                 "put a flatten before it to connect every input")
    tensors = kind.weights(cfg, shape, out)
    counted, tied_to = tensors, None
    if leaf.tie is not None:
        counted, tied_to = _tie(run, leaf, tensors, scope, what)
    unshared = kind.unshared_weights(cfg, shape, out) if tied_to is None else None
    if unshared is not None:
        unshared = sum(_elements(unshared))
    counts = Counts(*_elements(counted), trainable and scope.trainable, unshared)
    compute = Compute(kind.macs(cfg, shape, out), kind.other_ops(cfg, shape, out), kind.connections(cfg, shape, out))
    report = LayerReport(name, kind.name, cfg.get("activation"), shape, out, counts, tensors, (),
                         path, scope.depth, tied_to=tied_to, compute=compute)
    report.acts = product(out)
    if hasattr(kind, "active_weights"):
        report.active = sum(_elements(kind.active_weights(cfg, shape, out)))
    run.owners.setdefault(path, report)
    return run.record(report, scope, leaf.node.mark), out, ids and kind.keeps_ids


def _dense_warns(run, shape):
    """Whether a dense layer on `shape` most likely meant to connect every input. Rank 3 or more
    always ([C, H, W] after a convolution). Rank 2 only before any sequence-type layer (embedding,
    attention, recurrent, positional embedding, class token): after one, [T, D] is tokens and their
    features, and a dense layer per token is the transformer's own projection; before one, [C, L]
    is most often a conv1d's channels and length, or an image's rows."""
    return len(shape) >= 3 or (len(shape) == 2 and not run.sequence_seen)


def _channels_last(run, kind, shape, ids, error):
    """A hint for a 2-D convolution fed the spec's input written channels last ([28, 28, 1]): when
    its channels look like a spatial size (last axis at most 4, first at least 8), or the error is
    about channels or groups and the last axis is the smaller; '' otherwise."""
    if kind.name not in CONV2D_TYPES or not ids or shape != run.input_shape or len(shape) != 3:
        return ""
    first, last = shape[0], shape[-1]
    about_channels = getattr(error, "field", None) == "groups" or "channel" in str(error)
    if not ((last <= 4 and first >= 8) or (about_channels and last < first)):
        return ""
    return f"; inputs are channels first: did you mean {dims((last,) + tuple(shape[:-1]))}?"


def _tie(run, leaf, tensors, scope, what):
    """The tensors this leaf still owns, and the path of the layer whose weights it uses."""
    target, mark = leaf.tie, leaf.mark_of("tie")
    candidates = ([f"{scope.block_prefix}.{target}"] if scope.block_prefix else []) + [target]
    found = next(((c, o) for c, o in zip(candidates, map(run.owner, candidates)) if o is not None), None)
    owner_path, owner = found if found is not None else (None, None)
    if owner is None:
        hint = ""
        if len(run.owners) <= 2000:
            from .errors import did_you_mean

            hint = did_you_mean(target, run.owners)
        if any(c in run.blocks for c in candidates):
            run.fail(scope, mark, f"tie: {quote(target)} is a block or a composite; a tie names one layer in it")
        run.fail(scope, mark, f"tie: no earlier layer {quote(target)}{hint}")
    if owner.tied_to is not None:  # a chain of ties ends at the first owner
        owner_path = owner.tied_to
        owner = run.owner(owner_path)
    mine = [t for t in tensors if t.role == "weight"]
    theirs = [t for t in owner.tensors if t.role == "weight"]
    shapes = lambda ts: ", ".join(dims(t.shape) for t in ts) or "none"  # noqa: E731
    if len(mine) != len(theirs) or not all(
            a.shape == b.shape or (len(a.shape) == 2 and a.shape == b.shape[::-1]) for a, b in zip(mine, theirs)):
        run.fail(scope, mark, f"{what} cannot use the weights of {quote(owner_path)}: its weights are "
                              f"{shapes(mine)}, those are {shapes(theirs)} (equal, or 2-D transposed)")
    return [t for t in tensors if t.role != "weight"], owner_path


def _use(run, use, shape, ids, scope, path, name, trainable):
    block = use.block
    values = {k: v for k, v in block.params.items()}
    for key, value in use.args.items():
        if isinstance(value, Expr):
            value = _evaluate(run, use, key, value, scope)
        elif isinstance(value, list) and any(isinstance(v, Expr) for v in value):
            value = [_evaluate(run, use, key, v, scope) if isinstance(v, Expr) else v for v in value]
        values[key] = value
    values["in_channels"], values["in_features"] = shape[0], shape[-1]
    inner = _Scope(values, path, scope.depth + 1, scope.trainable and trainable,
                   f"{path} (block '{block.name}')", path, scope.times)
    children, out, out_ids = _sequence(run, block.items, shape, ids, inner)
    counts, compute = _sums(children)
    node = LayerReport(name, block.name, None, shape, out, counts, None, children, path, scope.depth,
                       compute=compute)
    node.acts = _acts(children)
    return run.record(node, scope, use.node.mark), out, out_ids


def _branch(run, branch, shape, ids, scope, prefix, kind):
    path = f"{prefix}.{branch.name}" if prefix else branch.name
    children, out, out_ids = _sequence(run, branch.items, shape, ids, scope.inside(path))
    counts, compute = _sums(children)
    node = LayerReport(branch.name, kind, None, shape, out, counts, None, children, path, scope.depth,
                       compute=compute)
    node.acts = _acts(children)
    return node, out, out_ids


def _group(run, group, shape, ids, scope, path, name, trainable):
    inner = scope.inside(path, trainable)
    mark, what = group.node.mark, "the residual" if group.transparent else f"{group.form} {quote(path)}"
    if group.form == "sequence":
        children, out, out_ids = _sequence(run, group.body, shape, ids, inner)
    elif group.form == "residual":
        children, out, body_ids = _sequence(run, group.body, shape, ids, inner)
        other, other_ids = shape, ids
        if group.shortcut is not None:
            node, other, other_ids = _branch(run, group.shortcut, shape, ids, inner, path, "shortcut")
            children.append(node)
        if out != other:
            source = "the shortcut" if group.shortcut is not None else "the input (identity shortcut)"
            run.fail(scope, mark, f"{what}: the body gives {dims(out)} but {source} gives "
                                  f"{dims(other)}; they must be equal to be added")
        out_ids = body_ids and other_ids  # integers added stay integers, as in torch
    else:
        children, outs, all_ids = [], [], True
        for branch in group.branches:
            node, o, branch_ids = _branch(run, branch, shape, ids, inner, path, "branch")
            children.append(node)
            outs.append(o)
            all_ids = all_ids and branch_ids
        out = _merge(run, group, outs, scope, what)
        _check_out(run, scope, mark, what, out)
        out_ids = all_ids and group.merge == "concat"  # ids side by side are still ids
    counts, compute = _sums(children)
    node = LayerReport(name if not group.transparent else "", group.form, None, shape, out, counts, None,
                       children, path, scope.depth, compute=compute)
    node.acts = _acts(children)
    return run.record(node, scope, mark), out, out_ids


def _sums(children):
    """A composite's counts and compute: its children's sums (a merge's additions are not counted)."""
    counts, compute = Counts(), Compute()
    for c in children:
        counts.add(c.counts)
        compute.add(c.compute)
    return counts, compute


def _acts(children):
    """A composite's output elements: its children's (a merge's result is not counted, as in Memory)."""
    return sum(c.acts for c in children)


def _merge(run, group, outs, scope, what):
    mark = group.mark_of("merge")
    listed = " and ".join(dims(o) for o in outs[:4]) + (f" and {len(outs) - 4:,} more" if len(outs) > 4 else "")
    if group.merge == "concat":
        rank = len(outs[0])
        axis = group.axis + rank if group.axis < 0 else group.axis
        if all(len(o) == rank for o in outs) and not 0 <= axis < rank:
            run.fail(scope, group.mark_of("axis"), f"{what}: axis {group.axis} is out of range for {listed} "
                                                   f"(from {-rank} to {rank - 1})")
        if any(len(o) != rank for o in outs) or any(
                o[:axis] + o[axis + 1:] != outs[0][:axis] + outs[0][axis + 1:] for o in outs):
            run.fail(scope, group.mark_of("axis") if group.axis else mark,
                     f"{what} cannot concatenate {listed} on axis {group.axis}: "
                     "every other axis must agree")
        return outs[0][:axis] + (sum(o[axis] for o in outs),) + outs[0][axis + 1:]
    rank = max(len(o) for o in outs)  # NumPy broadcasting: align on the right, 1 stretches
    padded = [(1,) * (rank - len(o)) + tuple(o) for o in outs]
    out = []
    for sizes in zip(*padded):
        big = {s for s in sizes if s != 1}
        if len(big) > 1:
            run.fail(scope, mark, f"{what} cannot {group.merge} {listed}: shapes broadcast "
                                  "as in NumPy (aligned on the right; each axis equal or 1)")
        out.append(big.pop() if big else 1)
    return tuple(out)


def analyze(spec: "Spec", max_params: int | None = None, limits: Mapping[str, int | None] | None = None) -> Report:
    """A Report of `spec`. `limits` maps budget keys (BUDGET_KEYS) to limits from options, and
    `max_params` is one more for max_params; where the spec's `budget` sets a key too, the stricter
    counts (the spec's, with its mark, when they are equal)."""
    run = _Run(spec.path)
    shape = spec.input_shape
    scope = _Scope({"in_channels": shape[0], "in_features": shape[-1]}, "", 0, True, None, "")
    run.input_shape = shape
    layers, _, _ = _sequence(run, spec.layers, shape, True, scope)
    totals = Counts()
    for node in layers:
        totals.add(node.counts)
    options = dict(limits or {})
    unknown = set(options) - set(BUDGET_KEYS)
    if unknown:
        raise ValueError(f"unknown budget keys: {', '.join(sorted(unknown))}")
    if max_params is not None:
        options["max_params"] = min(max_params, options.get("max_params") or max_params)
    written = getattr(spec, "budgets", None)
    if written is None:  # a Spec built by hand, with max_params only
        written = {"max_params": (spec.max_params, spec.budget_mark)} if spec.max_params is not None else {}
    report = Report(name=spec.name, description=spec.description, source=spec.source, path=spec.path,
                    input_shape=spec.input_shape, layers=layers, totals=totals, warnings=run.warnings)
    values = {"max_params": totals.params, "max_trainable": totals.trainable,
              "max_params_unshared": totals.params_unshared}
    for key in BUDGET_KEYS:
        mine, mark = written.get(key, (None, None))
        theirs = options.get(key)
        if mine is None and theirs is None:
            continue
        limit = min(v for v in (mine, theirs) if v is not None)
        mark = mark if limit == mine else None
        if key == "max_layer_params":
            value, layer = report.largest_layer()
            report.budgets.append(Budget(key, limit, value, layer, mark))
        else:
            report.budgets.append(Budget(key, limit, values[key], None, mark))
    first = report.budgets[0] if report.budgets and report.budgets[0].key == "max_params" else None
    report.max_params = first.limit if first else None
    report.budget_mark = first.mark if first else None
    report.within = all(b.within for b in report.budgets)
    return report
