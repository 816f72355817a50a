"""ONNX files: count the initializers the graph's nodes use, each once, per node and in total.

The graph is read with `onnx.load(path, load_external_data=False)`: an initializer's size comes
from its `dims`, never from its bytes, so a model whose weights live in external files is counted
from the `.onnx` file alone. Output shapes come from the graph's value_info after ONNX's own shape
inference (run without data); an axis ONNX names symbolically (a batch axis `N`) is printed by
name, one it cannot tell as `?`. ONNX shapes keep the batch axis.

What counts:
- every initializer (and sparse initializer: its stored values) that a node uses as an input,
  directly, through `Identity` nodes, or from inside a subgraph (`If`, `Loop`, `Scan`), once: the
  first node in graph order that uses it owns it; later users show it as shared (`tied_to` the owner);
- not initializers that no node uses (listed as `unused`), nor index and shape operands
  (`Reshape`'s shape, `Slice`'s starts, `Gather`'s indices, `Clip`'s bounds, a recurrent op's
  initial states, ...) and integer
  tensors outside the weight inputs of quantized operators (listed as `constants`);
- roles: the bias input of Conv, ConvTranspose, Gemm, the normalisations and the recurrent
  operators, and a 1-D tensor added to a MatMul's, Conv's or Gemm's output, is a bias;
  BatchNormalization's mean and variance inputs are state (non-trainable, as PyTorch's buffers
  and Keras's moving statistics); everything else is a weight.
`Constant` nodes are not initializers and are not counted.

Compute (`to_report`), per sample, with the conventions of paramcount's own layer types (layers.py):
- shapes: ONNX's shape inference run node by node, evaluating on the way the small constants that
  shapes are computed from (`Shape`, `Gather`, `Concat`...: torch's exporter computes reshape targets so),
  each op at the version the file's opset_import gives (opset 9 to 12 exports included);
- the batch is axis 0 of the graph's inputs. A static batch B is divided out: the figures are those
  of the graph with that axis set to 1, which must be exactly 1/B of those of the graph as it is; a
  symbolic one (`N`, or unnamed) is taken as 1 and checked the same way against 2. Where the exporter
  baked a static B into a constant (a Reshape's target), the figures are the file's own / B, if every
  node not counted at one sample works element by element, against a weight, or on axis 0 as
  independent samples, and every figure divides by B (rows then show the file's shapes). Rows show one
  sample's shapes (the batch axis kept, at 1), or where the compute is not known the file's own
  shapes; the report's input shape is the file's;
- MACs: Conv (output elements × C/groups × kernel), ConvTranspose (input elements × M/groups ×
  kernel), Gemm and MatMul (output elements × the axis they sum over), the second operand a weight
  or an activation (attention's QKᵀ and AV: paramcount's attention counts those);
- other_ops, elements touched: each output element of an activation, a normalisation, softmax,
  elementwise arithmetic or comparison (an Add's too: a residual's addition is a node here, where
  paramcount's residual does not count it), Resize, and a lookup in a constant table (Gather:
  paramcount's embedding); the input elements every pool window reads (padding excluded), all of a
  global pool's or a reduction's input (a zero `Pad` before the pool: as its padding); a recurrent op's gate units, one per step;
- connections (LeCun's): the MACs' products, padding excluded (a `Pad` node adding zeros right
  before a Conv or pool is that op's padding: nn.ZeroPad2d, Keras's ZeroPadding2D), plus one per
  output of a bias (Conv's, ConvTranspose's, Gemm's, or an Add of one constant per channel to a
  MatMul's, Gemm's or Conv's output); pools' and reductions' reads; a recurrent op's products and its two bias vectors per gate unit;
- nothing for ops that only move values (Reshape, Transpose, Concat, Slice, Gather of activations...);
- nodes that compute constants (what they compute depends on no input's values: `Shape` arithmetic,
  a weight's Transpose, a `Constant`) are not rows: each folds into the first row that reads what it
  computes, and its tensors show there;
- activations: each row's first output, its elements for one sample (an activation function is a
  node of its own, so its output counts apart from the convolution's before it), but none for a bias
  Add after a linear op (the op and its bias are one layer: paramcount's dense);
- not known, for the whole report (a warning names the first node and why): an op not listed here or
  in another domain, a shape inference cannot give, a zero `Pad` before a Conv or pool whose amounts
  cannot be told or that pads the batch or channel axis, an input axis other than the batch without a
  fixed size, inputs that disagree on the batch, LSTM peepholes, a `sequence_lens` input, a recurrent
  op whose batch axis is not the graph's, figures that do not follow the batch.
"""

import os

from ..errors import Problem, fail, quote

__all__ = ["OnnxCount", "NodeCount", "Tensor", "count", "to_report"]

# Inputs that carry shapes, indices, axes or bounds rather than learned values.
_SHAPE_INPUTS = {
    "Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Unsqueeze": {1}, "Squeeze": {1},
    "Pad": {1, 2, 3}, "Resize": {1, 2, 3}, "Upsample": {1}, "ConstantOfShape": {0}, "Range": {0, 1, 2},
    "TopK": {1}, "Split": {1}, "Gather": {1}, "GatherElements": {1}, "GatherND": {1},
    "ScatterElements": {1}, "ScatterND": {1}, "Scatter": {1}, "OneHot": {0, 1, 2}, "CumSum": {1},
    "Trilu": {1}, "Clip": {1, 2}, "Dropout": {1, 2}, "Compress": {1}, "Where": {0},
    "QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2}, "DynamicQuantizeLinear": set(),
    "CenterCropPad": {1}, "Col2Im": {1, 2}, "DFT": {1, 2}, "STFT": {1, 2, 3}, "RandomNormalLike": set(),
    # a recurrent op's sequence_lens and initial states (dynamo writes zero states as initializers)
    "RNN": {4, 5}, "GRU": {4, 5}, "LSTM": {4, 5, 6},
}
for _op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"):
    _SHAPE_INPUTS[_op] = {1}

# Integer tensors that are weights: the quantized operators' weight inputs.
_INTEGER_WEIGHTS = {"DequantizeLinear": {0}, "ConvInteger": {1}, "MatMulInteger": {1}, "QLinearConv": {3},
                    "QLinearMatMul": {3}, "MatMulNBits": {1}, "GatherBlockQuantized": {0},
                    "DynamicQuantizeMatMul": {1}, "QGemm": {3}}

# (op type -> input index -> role) where it is not "weight".
_ROLES = {
    "Conv": {2: "bias"}, "ConvTranspose": {2: "bias"}, "Gemm": {2: "bias"}, "QLinearConv": {8: "bias"},
    "ConvInteger": {}, "BatchNormalization": {2: "bias", 3: "state", 4: "state"},
    "InstanceNormalization": {2: "bias"}, "LayerNormalization": {2: "bias"}, "GroupNormalization": {2: "bias"},
    "SkipLayerNormalization": {3: "bias", 4: "bias"}, "RNN": {3: "bias"}, "LSTM": {3: "bias"},
    "GRU": {3: "bias"}, "Attention": {2: "bias"}, "MultiHeadAttention": {3: "bias"},
}
_PRODUCES_LINEAR = ("MatMul", "Conv", "Gemm", "ConvTranspose", "MatMulInteger", "QLinearMatMul")


class Tensor:
    """An initializer: its name, dims, element type, role and whether its bytes are external."""

    __slots__ = ("name", "dims", "dtype", "role", "external", "size")

    def __init__(self, name, dims, dtype, external, size=None):
        self.name, self.dims, self.dtype, self.external = name, tuple(dims), dtype, external
        self.role = "weight"
        self.size = _product(self.dims) if size is None else size

    def __repr__(self):
        return f"Tensor({self.name!r}, {list(self.dims)}, {self.dtype}, {self.role})"


class NodeCount:
    """One node: what it owns (counted here), what it uses that an earlier node owns, its shapes."""

    __slots__ = ("name", "op_type", "domain", "inputs", "outputs", "output_shapes", "owned", "borrowed",
                 "tied_to")

    def __init__(self, name, op_type, domain, inputs, outputs):
        self.name, self.op_type, self.domain = name, op_type, domain
        self.inputs, self.outputs = inputs, outputs
        self.output_shapes = []
        self.owned, self.borrowed, self.tied_to = [], [], None

    def totals(self):
        """(weights, biases, state) element counts of the tensors this node owns."""
        out = {"weight": 0, "bias": 0, "state": 0}
        for t in self.owned:
            out[t.role] += t.size
        return out["weight"], out["bias"], out["state"]


class OnnxCount:
    """What `count` returns: per node, the totals, and the initializers left out and why."""

    __slots__ = ("path", "name", "graph_name", "inputs", "nodes", "tensors", "unused", "constants", "opset")

    def __init__(self, path, name, graph_name=""):
        self.path, self.name, self.graph_name = path, name, graph_name
        self.inputs, self.nodes, self.tensors, self.unused, self.constants = [], [], {}, [], []
        self.opset = {}

    def _sum(self, role):
        return sum(t.size for t in self.tensors.values() if t.role == role)

    @property
    def weights(self):
        return self._sum("weight")

    @property
    def biases(self):
        return self._sum("bias")

    @property
    def state(self):
        return self._sum("state")

    @property
    def params(self):
        return sum(t.size for t in self.tensors.values())

    def as_dict(self):
        return {
            "name": self.name, "path": self.path,
            "inputs": [{"name": n, "shape": list(s)} for n, s in self.inputs],
            "nodes": [{"name": n.name, "op_type": n.op_type, "output_shapes": [None if s is None else list(s)
                                                                              for s in n.output_shapes],
                       "initializers": [t.name for t in n.owned], "shared": [t.name for t in n.borrowed],
                       "tied_to": n.tied_to} for n in self.nodes],
            "totals": {"weights": self.weights, "biases": self.biases, "state": self.state, "params": self.params},
            "unused": [t.name for t in self.unused], "constants": [t.name for t in self.constants],
        }


def _product(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def _onnx(path):
    try:
        import onnx
    except ImportError:
        fail(path, None, "reading ONNX files needs the onnx package: pip install 'paramcount[onnx]'")
    return onnx


def _load(path):
    onnx = _onnx(path)
    if not os.path.isfile(path):
        fail(path, None, "no such file" if not os.path.lexists(path) else "is not a regular file")
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        fail(path, None, f"is not an ONNX model: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if not model.HasField("graph"):
        fail(path, None, "is not an ONNX model: it holds no graph")
    return onnx, model


def _dims_of(type_proto):
    """A value's shape: ints, symbolic names, '?' for unknown (a negative size too: some exporters
    write -1 for "unknown"); None without a shape."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in type_proto.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(d.dim_value if d.dim_value >= 0 else "?")
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append("?")
    return tuple(dims)


def _shapes(onnx, model):
    """Value name -> shape, from shape inference without data, else what the graph declares."""
    graph = model.graph
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=False)
        graph = inferred.graph
    except Exception:  # a graph inference cannot follow (custom domains): keep the declared shapes
        pass
    shapes = {}
    for vi in list(graph.value_info) + list(graph.output) + list(graph.input):
        dims = _dims_of(vi.type)
        if dims is not None:
            shapes[vi.name] = dims
    return shapes


def _tensor(onnx, t):
    external = t.data_location == onnx.TensorProto.EXTERNAL
    return Tensor(t.name, t.dims, onnx.TensorProto.DataType.Name(t.data_type), external)


def _float(dtype):
    return "FLOAT" in dtype or dtype in ("DOUBLE", "COMPLEX64", "COMPLEX128")


def _subgraph_inputs(node):
    """Names a node's subgraphs read (any depth), and the subgraphs' own initializers."""
    names, inits, todo = [], [], [a for a in node.attribute]
    while todo:
        attr = todo.pop()
        graphs = ([attr.g] if attr.HasField("g") else []) + list(attr.graphs)
        for g in graphs:
            inits += list(g.initializer)
            for n in g.node:
                names += [i for i in n.input if i]
                todo += list(n.attribute)
    return names, inits


def count(path):
    """An OnnxCount of the ONNX file at `path`. Raises paramcount.SpecError on a file it cannot read."""
    path = os.fspath(path)
    onnx, model = _load(path)
    return _count(onnx, model, path)


def _count(onnx, model, path):
    graph = model.graph
    stem = os.path.splitext(os.path.basename(path))[0]
    result = OnnxCount(path, stem or graph.name or "model", graph.name)
    result.opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    inits = {}
    for t in graph.initializer:
        inits.setdefault(t.name, _tensor(onnx, t))
    for s in graph.sparse_initializer:
        name = s.values.name
        inits.setdefault(name, Tensor(name, s.dims, onnx.TensorProto.DataType.Name(s.values.data_type),
                                      s.values.data_location == onnx.TensorProto.EXTERNAL, _product(s.values.dims)))
    shapes = _shapes(onnx, model)
    result.inputs = [(i.name, shapes.get(i.name) or _dims_of(i.type) or ()) for i in graph.input if i.name not in inits]

    alias = {}  # an Identity's output -> the initializer it passes on
    producer = {}
    for n in graph.node:
        for o in n.output:
            producer[o] = n.op_type
        if n.op_type == "Identity" and len(n.input) == 1 and len(n.output) == 1:
            src = alias.get(n.input[0], n.input[0])
            if src in inits:
                alias[n.output[0]] = src

    uses = {}  # initializer -> [(node index, op, input index)]
    names = set()
    for i, n in enumerate(graph.node):
        name = n.name or f"{n.op_type}_{i}"
        if name in names:  # ONNX does not require unique node names; the report's paths are
            name = f"{name}#{i}"
        names.add(name)
        node = NodeCount(name, n.op_type, n.domain, list(n.input), list(n.output))
        node.output_shapes = [shapes.get(o) for o in n.output]
        result.nodes.append(node)
        if n.op_type == "Identity" and n.output and n.output[0] in alias:
            continue  # passes an initializer on: its users count it
        inner, own_inits = _subgraph_inputs(n)
        for t in own_inits:  # a subgraph's initializers belong to the node that holds the subgraph
            inits.setdefault(t.name, _tensor(onnx, t))
        for k, name_in in enumerate(list(n.input) + inner):
            src = alias.get(name_in, name_in)
            if src in inits:
                uses.setdefault(src, []).append((i, n.op_type, k if k < len(n.input) else None, n))

    for tname, t in inits.items():
        if any(d < 0 for d in t.dims) or t.size < 0:
            fail(path, None, f"initializer {quote(tname)} has a negative size in its dims {_show(t.dims)}")
    for tname, t in inits.items():
        found = uses.get(tname)
        if not found:
            result.unused.append(t)
            continue
        parameter = [u for u in found if _is_parameter(t, u)]
        if not parameter:
            result.constants.append(t)
            continue
        first = parameter[0]
        t.role = _role(t, first, producer)
        result.tensors[tname] = t
        owner = result.nodes[first[0]]
        owner.owned.append(t)
        for u in parameter[1:]:
            other = result.nodes[u[0]]
            if other is not owner and t not in other.borrowed:
                other.borrowed.append(t)
                other.tied_to = other.tied_to or owner.name
    return result


def _is_parameter(t, use):
    _, op, k, _ = use
    if k is not None and k in _SHAPE_INPUTS.get(op, ()):
        return False
    if not _float(t.dtype):
        return k is not None and k in _INTEGER_WEIGHTS.get(op, ())
    return True


def _role(t, use, producer):
    _, op, k, node = use
    role = _ROLES.get(op, {}).get(k)
    if role:
        return role
    if op == "Add" and len(t.dims) == 1 and k in (0, 1) and len(node.input) == 2:
        other = node.input[1 - k]
        if producer.get(other) in _PRODUCES_LINEAR:
            return "bias"
    return "weight"


# -- compute (issue 9): MACs, other_ops, connections and activations, per sample ---------------------


class _Unknown(Exception):
    """A node's figures cannot be derived exactly; the message says why."""


_FOLD_LIMIT = 1 << 16  # elements: shape arithmetic is evaluated, weights never are
_DEFAULT_DOMAINS = ("", "ai.onnx")
# Ops that only move, select or retype values: no work counted (paramcount's flatten, reshape, permute,
# select, dropout). Gather-like ops with a constant table are lookups (paramcount's embedding).
_MOVES = frozenset({"Flatten", "Reshape", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Identity", "Dropout",
                    "Split", "Slice", "Expand", "Tile", "Pad", "Cast", "CastLike", "DepthToSpace", "SpaceToDepth",
                    "ConstantOfShape"})
_LOOKUPS = frozenset({"Gather", "GatherElements", "GatherND"})
# Elementwise ops: one operation per output element (activations, arithmetic, comparisons, softmax).
_ELEMENTWISE = frozenset({
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Gelu",
    "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Shrink", "Swish", "Erf", "Exp", "Log", "Sqrt", "Reciprocal",
    "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
    "Asinh", "Acosh", "Atanh", "Clip", "Not", "IsNaN", "IsInf", "Softmax", "LogSoftmax", "Hardmax",
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Mod", "Equal", "Less", "LessOrEqual",
    "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Where", "BitShift", "BitwiseAnd", "BitwiseOr",
    "BitwiseXor", "BitwiseNot"})
_NORMS = frozenset({"BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
                    "LpNormalization", "MeanVarianceNormalization", "RMSNormalization"})
_REDUCE = frozenset({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                     "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin"})
_POOLS = frozenset({"MaxPool", "AveragePool", "LpPool"})
_GLOBAL_POOLS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
_RECURRENT = {"RNN": 1, "GRU": 3, "LSTM": 4}  # gate sets
_LINEAR = frozenset({"MatMul", "Gemm", "Conv", "ConvTranspose"})
# Ops evaluated on small constants even where inference cannot tell their output's size first.
_SHAPE_ARITHMETIC = frozenset({"Concat", "Gather", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Cast", "Add", "Sub",
                               "Mul", "Div", "Mod", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Equal", "Where", "Max",
                               "Min", "Not", "And", "Or", "Less", "Greater", "Identity", "Transpose", "ReduceProd",
                               "ReduceSum", "ReduceMax", "ReduceMin", "Sign", "NonZero"})


def _show(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _constants(graph, inits, varying=frozenset()):
    """Which nodes compute constants: their values do not depend on the input's values (initializers,
    `Constant`s, `Shape` and `Size` of anything, and what is computed from those alone), and their
    size not on the batch (`varying`: outputs whose size does, as torch's `zeros(x.shape[0], H)`: work
    per sample). A list of bools in graph order, and the set of constant value names."""
    const, flags = set(inits), []
    for n in graph.node:
        inner, _ = _subgraph_inputs(n)
        c = n.op_type in ("Shape", "Size") or (all(i in const for i in list(n.input) + inner if i)
                                               and not any(o in varying for o in n.output))
        flags.append(c)
        if c:
            const.update(o for o in n.output if o)
    return flags, const


def _batch(inputs):
    """The graph's batch, axis 0 of its inputs: an int, or a symbol ('?' unnamed) where it is dynamic
    (inputs may name theirs apart: torch's list form of dynamic_axes does), or raises _Unknown. Every
    other axis of an input must be a number: the figures depend on it."""
    first, seen = None, None
    for vi in inputs:
        dims = _dims_of(vi.type)
        if dims is None:
            raise _Unknown(f"input {quote(vi.name)} has no shape")
        if not dims:
            continue
        for k, d in enumerate(dims):
            if k and not isinstance(d, int):
                raise _Unknown(f"input {quote(vi.name)} has axis {k} of no fixed size ({d})")
            if d == 0:
                raise _Unknown(f"input {quote(vi.name)} has axis {k} of size 0 ({_show(dims)})")
        if first is None:
            first, seen = dims[0], vi.name
        elif dims[0] != first and not (isinstance(first, str) and isinstance(dims[0], str)):  # symbols: dynamic
            raise _Unknown(f"the inputs disagree on axis 0, the batch: {quote(seen)} has {first}, "
                           f"{quote(vi.name)} has {dims[0]}")
    return 1 if first is None else first


def _propagate(onnx, model, inputs, batch, declared):
    """Value name -> dims after ONNX's shape inference run node by node, with the graph's inputs' axis 0
    set to `batch` (None: as the file has it), evaluating on the way the constants that shapes are
    computed from (`Shape`, `Gather`, `Concat`... up to _FOLD_LIMIT elements), which ONNX's own data
    propagation does not all follow. `declared`: also take the file's value_info for what inference
    cannot give (a custom op's output)."""
    from onnx import defs, helper, numpy_helper, shape_inference

    graph = model.graph
    opsets = {(o.domain if o.domain != "ai.onnx" else ""): o.version for o in model.opset_import}
    types, values, inits = {}, {}, {}
    for t in graph.initializer:
        types[t.name] = helper.make_tensor_type_proto(t.data_type, list(t.dims))
        inits[t.name] = t
    for sp in graph.sparse_initializer:
        types[sp.values.name] = helper.make_tensor_type_proto(sp.values.data_type, list(sp.dims))
    for vi in inputs:
        tp = onnx.TypeProto()
        tp.CopyFrom(vi.type)
        if batch is not None and tp.tensor_type.shape.dim:
            d = tp.tensor_type.shape.dim[0]
            d.Clear()
            d.dim_value = batch
        types[vi.name] = tp
    fallback = {}
    if declared:
        for vi in list(graph.value_info) + list(graph.output):
            fallback[vi.name] = vi.type
    refused = {}  # output name -> why ONNX's shape inference refuses the default-domain node writing it

    def value(name):
        if name not in values and name in inits:
            t = inits[name]
            if t.data_location != onnx.TensorProto.EXTERNAL and _product(t.dims) <= _FOLD_LIMIT:
                try:
                    values[name] = numpy_helper.to_array(t)
                except Exception:  # a tensor whose bytes do not match its dims
                    pass
        return values.get(name)

    def keep(name, array):
        if array.size <= _FOLD_LIMIT:
            values[name] = array
        types[name] = helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape))

    def small(n, ins):
        """Whether evaluating `n` makes small tensors: its outputs' inferred sizes, else its inputs'."""
        sizes = [_dims_of(types[o]) if o in types else None for o in n.output if o]
        if all(d is not None and all(isinstance(x, int) for x in d) for d in sizes):
            return all(_product(d) <= _FOLD_LIMIT for d in sizes)
        return n.op_type in _SHAPE_ARITHMETIC and all(values[i].size <= 4096 for i in ins)

    for n in graph.node:
        domain = n.domain if n.domain != "ai.onnx" else ""
        has_graphs = any(a.HasField("g") or a.graphs for a in n.attribute)
        if n.op_type in ("Shape", "Size") and domain == "" and n.input and n.input[0] in types:
            dims = _dims_of(types[n.input[0]])
            if dims is not None and all(isinstance(d, int) for d in dims):
                if n.op_type == "Size":
                    keep(n.output[0], _np().array(_product(dims), dtype="int64"))
                    continue
                a = {x.name: x.i for x in n.attribute}
                start, end = a.get("start", 0), a.get("end", len(dims))
                keep(n.output[0], _np().array(dims[start:end], dtype="int64"))
                continue
        if not has_graphs and all(i in types for i in n.input if i):
            try:
                data = {i: numpy_helper.from_array(value(i), i) for i in n.input if i and value(i) is not None}
            except Exception:  # a value numpy cannot hand back as a tensor: inferred without it
                data = {}
            try:
                schema = defs.get_schema(n.op_type, max_inclusive_version=opsets.get(domain, 1), domain=domain)
                out = shape_inference.infer_node_outputs(schema, n, {i: types[i] for i in n.input if i}, data,
                                                         opset_imports=list(model.opset_import),
                                                         ir_version=model.ir_version or 3)
                types.update(out)
                _correct(onnx, n, types)
            except Exception as e:  # no schema (a custom domain), or a refusal: a file no runtime would run
                if domain == "":
                    why = (str(e).strip().splitlines() or [type(e).__name__])[-1].strip()
                    for o in n.output:
                        if o:
                            types.pop(o, None)
                            refused[o] = why[:200]
        for o in n.output:  # a custom op's output: as the file declares it
            if o and o not in types and o in fallback and domain != "":
                types[o] = fallback[o]
        # A constant computed from small constants (shape arithmetic): evaluated, for what reads it.
        ins = [i for i in n.input if i]
        if domain == "" and not has_graphs and (ins or n.op_type == "Constant") and \
                all(value(i) is not None for i in ins) and small(n, ins):
            try:
                outs = _evaluate(model, n, {i: values[i] for i in ins})
                for name, array in zip(n.output, outs):
                    if name:
                        keep(name, _np().asarray(array))
            except Exception:  # the reference implementation refuses it: its inferred type stays
                pass
    dims = _Dims((name, _dims_of(t)) for name, t in types.items())
    dims.refused = refused
    dims.value = value
    dims.nodes = {o: n for n in graph.node for o in n.output if o}
    return dims


def _evaluate(model, n, feeds):
    """The outputs of node `n` on the arrays `feeds`, by onnx's reference implementation at the file's
    own opsets: the node is wrapped in a one-node model carrying the file's opset_import and ir_version
    (a bare node is run at the newest version of its op: opset 11's Unsqueeze with an `axes`
    attribute raises there, and ReduceX or Squeeze would run with another version's semantics)."""
    from onnx import TypeProto, helper
    from onnx.reference import ReferenceEvaluator

    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape))
              for name, array in feeds.items()]
    outputs = [helper.make_value_info(o, TypeProto()) for o in n.output if o]
    graph = helper.make_graph([n], "fold", inputs, outputs)
    one = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version or 3)
    outs = ReferenceEvaluator(one).run(None, feeds)
    names = iter(outs)
    return [next(names) if o else None for o in n.output]


class _Dims(dict):
    """Value name -> dims, and `refused`: output name -> why shape inference refused its node."""

    refused = {}
    value = staticmethod(lambda name: None)  # a value's array, where evaluated (shape arithmetic, small constants)
    nodes = {}  # value name -> the node that writes it


def _spatial(a, x, nsp):
    """A convolution's or pool's (strides, dilations, begin pads, end pads) over `nsp` spatial axes,
    checked: ranks that fit and strides and dilations of at least 1 (raises _Unknown)."""
    strides = list(a.get("strides") or [1] * nsp)
    dil = list(a.get("dilations") or [1] * nsp)
    pads = list(a.get("pads") or [0] * (2 * nsp))
    if len(strides) != nsp or len(dil) != nsp or len(pads) != 2 * nsp:
        raise _Unknown(f"its strides, dilations or pads do not fit its {nsp} spatial axes")
    if min(strides + dil, default=1) < 1 or min(pads, default=0) < 0:
        raise _Unknown("a stride or dilation below 1, or a negative pad")
    return strides, dil, pads[:nsp], pads[nsp:]


def _ceil_pool(a, x):
    """A pool's output spatial sizes with ceil_mode=1 (explicit pads): as ONNX's spec and torch have
    it, a window that would start in the end padding is dropped. Raises _Unknown where not exact."""
    kernel = list(a.get("kernel_shape") or [])
    nsp = len(x) - 2
    if len(kernel) != nsp or min(kernel, default=1) < 1:
        raise _Unknown(f"its kernel_shape {_show(kernel)} does not fit its {nsp} spatial axes")
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise _Unknown(f"ceil_mode with auto_pad {a['auto_pad']} is not modelled")
    strides, dil, begin, end = _spatial(a, x, nsp)
    outs = []
    for n, k, s, d, pb, pe in zip(x[2:], kernel, strides, dil, begin, end):
        span = n + pb + pe - ((k - 1) * d + 1)
        if span < 0:
            raise _Unknown("its window is larger than its padded input")
        o = -(-span // s) + 1
        if (o - 1) * s >= n + pb:
            o -= 1
        outs.append(o)
    return outs


def _correct(onnx, n, types):
    """Where ONNX's shape inference departs from the spec, the output's shape as the spec gives it: a
    pool with ceil_mode=1 (inference keeps windows that start in the end padding) and a ConvTranspose
    with auto_pad SAME (inference ignores it: the spec's output is input × stride). Where the spec's
    size cannot be told, the output's shape is dropped (and the node's figures say why)."""
    from onnx import helper

    if n.domain not in _DEFAULT_DOMAINS or not n.output or not n.output[0] or not n.input:
        return
    a = _attrs(onnx, n)
    pool = n.op_type in _POOLS and a.get("ceil_mode", 0)
    same = n.op_type == "ConvTranspose" and a.get("auto_pad") in ("SAME_UPPER", "SAME_LOWER") and \
        "output_shape" not in a
    if not (pool or same):
        return
    out = n.output[0]
    x = _dims_of(types[n.input[0]]) if n.input[0] in types else None
    y = _dims_of(types[out]) if out in types else None
    try:
        if x is None or y is None or len(x) < 3 or len(y) != len(x) or \
                not all(isinstance(d, int) for d in x[2:]):
            raise _Unknown("")
        if pool:
            sizes = _ceil_pool(a, x)
        else:
            strides = list(a.get("strides") or [1] * (len(x) - 2))
            if len(strides) != len(x) - 2:
                raise _Unknown("")
            sizes = [d * s for d, s in zip(x[2:], strides)]
    except _Unknown:
        for o in n.output:
            types.pop(o, None)
        return
    for o in n.output:  # MaxPool's indices too
        if o in types:
            dims = _dims_of(types[o])
            if dims is not None and len(dims) == len(x):
                elem = types[o].tensor_type.elem_type
                types[o] = helper.make_tensor_type_proto(elem, list(dims[:2]) + sizes)


def _np():
    import numpy

    return numpy


def _attrs(onnx, node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def _int_dims(dims, name):
    if dims is None or not all(isinstance(d, int) for d in dims):
        raise _Unknown(f"the shape of {quote(name)} is not known" + (f" ({_show(dims)})" if dims else ""))
    if 0 in dims:  # an empty tensor: no runtime computes a model on one (a kernel larger than its input)
        raise _Unknown(f"{quote(name)} has an axis of size 0 ({_show(dims)})")
    return tuple(dims)


def _begin_pads(a, sizes, outs, kernel, strides, dilations):
    """The padding before each spatial axis of a convolution or pool."""
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        total = [max((o - 1) * s + (k - 1) * d + 1 - n, 0) for n, o, k, s, d in zip(sizes, outs, kernel, strides,
                                                                                     dilations)]
        return [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
    if auto == "VALID":
        return [0] * len(sizes)
    pads = list(a.get("pads") or [0] * (2 * len(sizes)))
    return pads[:len(sizes)]


def _zero_pad(onnx, n, dims):
    """Where a Conv's or pool's input is written by a `Pad` adding zeros (constant mode, value 0 or
    none: nn.ZeroPad2d, Keras's ZeroPadding2D through tf2onnx), (the Pad's input's spatial sizes, its
    begin pads): the window reads that land in those zeros are padding, as the op's own `pads` are.
    None where there is no such Pad (or it adds nothing: a crop reads input elements only); raises
    _Unknown where a zero Pad's amounts cannot be told or it pads the batch or channel axes."""
    pad = getattr(dims, "nodes", {}).get(n.input[0]) if n.input else None
    if pad is None or pad.op_type != "Pad" or pad.domain not in _DEFAULT_DOMAINS or not pad.input:
        return None
    a = _attrs(onnx, pad)
    if a.get("mode", "constant") != "constant":
        return None  # reflect, edge, wrap: copies of input elements, read as such
    value = getattr(dims, "value", lambda name: None)
    arg = lambda k: pad.input[k] if len(pad.input) > k else ""  # noqa: E731
    why = f"the Pad {quote(pad.name or pad.output[0])} before it"
    x = _int_dims(dims.get(pad.input[0]), pad.input[0])
    rank = len(x)
    if "pads" in a or "paddings" in a:  # opset 1 to 10: attributes
        amounts, fill, axes = list(a.get("pads", a.get("paddings"))), a.get("value", 0.0), None
    else:
        amounts = value(arg(1)) if arg(1) else None
        fill = value(arg(2)) if arg(2) else 0
        axes = value(arg(3)) if arg(3) else None
        if amounts is None or (arg(3) and axes is None):
            raise _Unknown(f"the amounts {why} adds are not known (its padding reads cannot be told apart)")
        amounts = [int(v) for v in _np().asarray(amounts).reshape(-1)]
        if fill is None:
            raise _Unknown(f"the value {why} pads with is not known")
    fill = _np().asarray(fill).reshape(-1)
    if fill.size > 1 or (fill.size == 1 and fill[0] != 0):
        return None  # padding with another constant: not the op's zero padding, its reads counted
    if axes is not None:
        axes = [int(v) + rank if int(v) < 0 else int(v) for v in _np().asarray(axes).reshape(-1)]
        if len(amounts) != 2 * len(axes) or any(not 0 <= v < rank for v in axes) or len(set(axes)) != len(axes):
            raise _Unknown(f"the amounts and axes {why} does not fit its input {_show(x)}")
        full = [0] * (2 * rank)
        for k, v in enumerate(axes):
            full[v], full[rank + v] = amounts[k], amounts[len(axes) + k]
        amounts = full
    if len(amounts) != 2 * rank:
        raise _Unknown(f"the amounts {why} adds do not fit its input {_show(x)}")
    if max(amounts) <= 0:
        return None
    if min(amounts) < 0:
        raise _Unknown(f"{why} crops and pads at once (not modelled)")
    if any(amounts[k] or amounts[rank + k] for k in (0, 1)):
        raise _Unknown(f"{why} pads its batch or channel axis (not modelled)")
    return list(x[2:]), amounts[2:rank]


def _windows(a, x, out, kernel, dilations, padded=None):
    """(input element, tap) pairs of every window along the spatial axes, padding excluded (a zero Pad
    before the op too: `padded`, the Pad's input's spatial sizes and its begin pads)."""
    from ..layers import window_pairs

    nsp = len(x) - 2
    strides = list(a.get("strides") or [1] * nsp)
    begin = _begin_pads(a, x[2:], out[2:], kernel, strides, dilations)
    sizes = list(x[2:])
    if padded is not None:  # positions shift by the Pad's begin; only the Pad's input is read
        sizes, begin = padded[0], [b + p for b, p in zip(begin, padded[1])]
    pairs = 1
    for o, s, p, k, d, n in zip(out[2:], strides, begin, kernel, dilations, sizes):
        pairs *= window_pairs(o, s, p, k, d, n)
    return pairs


def _figures(onnx, n, dims, const, producer):
    """(MACs, other_ops, connections, output elements, batch witness) of node `n` on the shapes `dims`,
    for the whole tensors (at a batch of one: one sample), or raises _Unknown. The conventions are
    paramcount's layer types' (layers.py): see the module's docstring."""
    try:
        return _node_figures(onnx, n, dims, const, producer)
    except _Unknown:
        raise
    except Exception as e:  # attributes that do not fit the op (a file no runtime would run)
        raise _Unknown(f"its attributes and shapes do not fit together ({type(e).__name__})") from None


def _node_figures(onnx, n, dims, const, producer):
    op = n.op_type
    if n.domain not in _DEFAULT_DOMAINS:
        raise _Unknown(f"{n.domain}.{op} is not modelled")
    outputs = [o for o in n.output if o]
    if not outputs:
        raise _Unknown("it has no output")
    refused = getattr(dims, "refused", {}).get(outputs[0])
    if refused is not None:  # a file no runtime would run; its declared shapes are not taken on trust
        raise _Unknown(f"ONNX's shape inference refuses it ({refused})")
    a = _attrs(onnx, n)
    if op in _POOLS and a.get("ceil_mode", 0) and n.input:  # why its output's shape was dropped, if it was
        _ceil_pool(a, _int_dims(dims.get(n.input[0]), n.input[0]))
    out = _int_dims(dims.get(outputs[0]), outputs[0])
    y = _product(out)
    arg = lambda k: n.input[k] if len(n.input) > k else ""  # noqa: E731
    shape = lambda k: _int_dims(dims.get(arg(k)), arg(k))  # noqa: E731
    witness = 0
    if op in _MOVES:
        macs = other = conn = 0
    elif op in _LOOKUPS:
        macs = conn = 0
        other = y if arg(0) in const else 0  # a lookup in a table (paramcount's embedding), else a selection
    elif op == "Add" and len(n.input) == 2 and _bias(n, dims, const, producer, out):
        macs, other, conn = 0, 0, y  # a bias after a linear op: one connection per output unit
    elif op in _ELEMENTWISE or op in _NORMS or op in ("Resize", "Upsample"):
        macs = conn = 0
        other = y
    elif op == "LRN":
        macs = conn = 0
        other = y * a.get("size", 1)
    elif op in _REDUCE or op in _GLOBAL_POOLS:
        macs = 0
        other = conn = _product(shape(0))
    elif op == "MatMul":
        x = shape(0)
        shape(1)
        macs = conn = y * x[-1]
        other = 0
    elif op == "Gemm":
        x = shape(0)
        shape(1)
        k = x[0] if a.get("transA", 0) else x[-1]
        bias = arg(2) != ""
        macs = y * k
        conn = macs + (y if bias else 0)
        other = (y if a.get("alpha", 1.0) != 1.0 else 0) + (y if bias and a.get("beta", 1.0) != 1.0 else 0)
    elif op == "Conv":
        x, w = shape(0), shape(1)
        kernel = _check_conv(a, x, w, x[1], w[1] * a.get("group", 1))
        dil = list(a.get("dilations") or [1] * len(kernel))
        macs = y * _product(w[1:])
        conn = out[0] * out[1] * w[1] * _windows(a, x, out, kernel, dil, _zero_pad(onnx, n, dims)) + \
            (y if arg(2) else 0)
        other = 0
    elif op == "ConvTranspose":
        x, w = shape(0), shape(1)
        _check_conv(a, x, w, x[1], w[0])
        macs = _product(x) * _product(w[1:])
        conn = x[0] * x[1] * w[1] * _scatter_pairs(a, x, out, w) + (y if arg(2) else 0)
        other = 0
    elif op in _POOLS:
        x = shape(0)
        kernel = list(a.get("kernel_shape") or [])
        if len(x) < 3 or len(kernel) != len(x) - 2 or min(kernel) < 1:
            raise _Unknown(f"its kernel_shape {_show(kernel)} does not fit its input {_show(x)}")
        _spatial(a, x, len(kernel))
        if a.get("ceil_mode", 0) and list(out[2:]) != _ceil_pool(a, x):
            raise _Unknown("its output's size is not the one ceil_mode gives")
        dil = list(a.get("dilations") or [1] * len(kernel))
        macs = 0
        other = conn = x[0] * x[1] * _windows(a, x, out, kernel, dil, _zero_pad(onnx, n, dims))
    elif op in _RECURRENT:
        x, r = shape(0), shape(2)
        if arg(4):
            raise _Unknown("its sequence_lens input makes the steps it runs depend on the input's values")
        if op == "LSTM" and arg(7):
            raise _Unknown("peephole connections are not modelled")
        layout = a.get("layout", 0)
        steps, witness = (x[0], x[1]) if layout == 0 else (x[1], x[0])
        directions = 2 if a.get("direction", "forward") == "bidirectional" else 1
        hidden = r[-1]
        units = _RECURRENT[op] * hidden
        runs = steps * witness * directions
        macs = runs * units * (x[-1] + hidden)
        other = runs * units
        conn = macs + runs * units * (2 if arg(3) else 0)  # ONNX's B holds two bias vectors (W's and R's)
    else:
        raise _Unknown(f"{op} is not modelled")
    return macs, other, conn, y, witness


def _check_conv(a, x, w, channels, expected):
    """A Conv's or ConvTranspose's shapes and attributes that fit together (raises _Unknown): input and
    weight of one rank, its input channels what the weight and group take, a kernel_shape matching
    the weight, strides, dilations and pads one per spatial axis, none below 1 (pads below 0)."""
    group = a.get("group", 1)
    if len(x) < 3 or len(w) != len(x) or group < 1:
        raise _Unknown(f"its input {_show(x)}, weight {_show(w)} and group {group} do not fit together")
    if channels != expected or channels % group:
        raise _Unknown(f"its input has {channels} channels where its weight {_show(w)} and group {group} "
                       f"take {expected}")
    kernel = list(a.get("kernel_shape") or w[2:])
    if kernel != list(w[2:]):
        raise _Unknown(f"its kernel_shape {_show(kernel)} is not its weight's {_show(w[2:])}")
    _spatial(a, x, len(x) - 2)
    return kernel


def _bias(n, dims, const, producer, out):
    """Whether an Add adds a bias to a linear op's output: a constant holding one value per output
    channel (the last axis after MatMul and Gemm, axis 1 after a convolution), the other operand the op's."""
    for k in (0, 1):
        b, other = n.input[k], n.input[1 - k]
        op = producer.get(other)
        if b not in const or other in const or op not in _LINEAR:
            continue
        shape = dims.get(b)
        if shape is None or not all(isinstance(d, int) for d in shape) or len(shape) > len(out):
            continue
        padded = (1,) * (len(out) - len(shape)) + tuple(shape)
        channel = len(out) - 1 if op in ("MatMul", "Gemm") else 1
        if channel < len(out) and padded[channel] == out[channel] and out[channel] != 1 and \
                all(d == 1 for i, d in enumerate(padded) if i != channel):
            return True
    return False


def _scatter_pairs(a, x, out, w):
    """A transposed convolution's (input element, tap) pairs that land inside its output, per channel pair."""
    from ..layers import window_pairs

    nsp = len(x) - 2
    kernel = list(a.get("kernel_shape") or w[2:])
    strides = list(a.get("strides") or [1] * nsp)
    dil = list(a.get("dilations") or [1] * nsp)
    extra = list(a.get("output_padding") or [0] * nsp)
    auto = a.get("auto_pad", "NOTSET")
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        total = [s * (n - 1) + e + (k - 1) * d + 1 - o for n, o, k, s, d, e in zip(x[2:], out[2:], kernel, strides,
                                                                                   dil, extra)]
        if min(total) < 0:
            raise _Unknown(f"its output {_show(out[2:])} is larger than its input reaches (padding that "
                           "adds output no input reaches is not modelled)")
        begin = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
    elif auto == "VALID":
        begin = [0] * nsp
    else:
        begin = list(a.get("pads") or [0] * (2 * nsp))[:nsp]
    pairs = 1
    for n, o, k, s, p, d in zip(x[2:], out[2:], kernel, strides, begin, dil):
        pairs *= window_pairs(n, s, p, k, d, o)
    return pairs


class _Compute:
    """Per node (graph order): (macs, other_ops, connections) for one sample, or None where not known;
    per node the shapes of its outputs for one sample; and why, where something is not known."""

    __slots__ = ("figures", "dims", "reasons", "batch", "flags", "const", "biases", "whole", "scale")

    def __init__(self):
        self.figures, self.dims, self.reasons, self.batch = [], {}, [], None
        self.flags, self.const, self.biases = [], set(), set()
        self.whole = None  # the shapes of the graph as the file has it, where already propagated
        self.scale = 1  # B where the figures are the file's / B (a batch baked into a constant): dims the file's


def _compute(onnx, model, node_const):
    """The figures of every node that is not a constant, at one sample (see the module's docstring)."""
    graph = model.graph
    inits = {t.name for t in graph.initializer} | {s.values.name for s in graph.sparse_initializer}
    inputs = [vi for vi in graph.input if vi.name not in inits]
    flags, const = node_const
    result = _Compute()
    result.flags, result.const = flags, const
    producer = {o: n.op_type for n in graph.node for o in n.output if o}
    try:
        batch = _batch(inputs)
    except _Unknown as e:
        result.dims = _propagate(onnx, model, inputs, None, True)
        result.figures = [None] * len(graph.node)
        result.reasons.append((None, str(e)))
        return result
    result.batch = batch
    if batch == 1:
        one, check = _propagate(onnx, model, inputs, None, True), None
    else:
        one = _propagate(onnx, model, inputs, 1, False)
        times = batch if isinstance(batch, int) else 2
        check = (times, _propagate(onnx, model, inputs, None if isinstance(batch, int) else 2, isinstance(batch, int)))
        if isinstance(batch, int):
            result.whole = check[1]
    result.dims = one
    # Constants computed from the input's shape whose size follows the batch (torch's zeros(B, H) for
    # a cell's first state, and what is computed from it): work per sample, counted as rows.
    derived = set()
    for n, c in zip(graph.node, flags):
        if c and (n.op_type in ("Shape", "Size") or any(i in derived for i in n.input if i)):
            derived.update(o for o in n.output if o)
    suspects = [(i, n) for i, (n, c) in enumerate(zip(graph.node, flags))
                if c and n.op_type not in ("Shape", "Size") and any(o in derived for o in n.output)]
    if suspects:
        other = check[1] if check is not None else _propagate(onnx, model, inputs, 2, False)
        varying = set()
        for i, n in suspects:
            for o in n.output:
                a, b = one.get(o), other.get(o)
                if not o or a is None or not all(isinstance(d, int) for d in a):
                    continue
                if b is None or not all(isinstance(d, int) for d in b):
                    result.reasons.append((None, f"node {quote(n.name or o)} ({n.op_type}) computes {quote(o)} "
                                                 "from the input's shape, and its size at another batch is not known"))
                elif _product(a) != _product(b):
                    varying.add(o)
        if varying:
            flags, const = _constants(graph, inits, varying)
            result.flags, result.const = flags, const
    written = {}  # SSA: each value written once, by one node, and never an input's or initializer's name
    for index, n in enumerate(graph.node):
        for o in n.output:
            if o and (o in written or o in inits or any(o == vi.name for vi in inputs)):
                result.reasons.append((None, f"node {quote(n.name or n.op_type)} writes {quote(o)}, which "
                                              + ("node " + quote(graph.node[written[o]].name or o) + " writes too"
                                                 if o in written else "the graph already holds")))
            written.setdefault(o, index)
    for index, (n, c) in enumerate(zip(graph.node, flags)):
        if c:
            result.figures.append((0, 0, 0))
            continue
        try:
            macs, other, conn, elements, witness = _figures(onnx, n, one, const, producer)
            outs = [o for o in n.output if o]
            if n.op_type == "Add" and len(n.input) == 2 and _bias(n, one, const, producer, one[outs[0]]):
                result.biases.add(index)  # part of the linear op before it: its output is that op's
            if n.op_type in _RECURRENT and witness != 1:
                axis = 1 if _attrs(onnx, n).get("layout", 0) == 0 else 0
                raise _Unknown(f"axis {axis} of its input, its batch, holds {witness} for one sample "
                               "(a time-major input? The batch is taken as axis 0 of the graph's inputs)")
            if check is not None:
                times, dims = check
                try:
                    at = _figures(onnx, n, dims, const, producer)
                except _Unknown as e:
                    raise _Unknown(f"at a batch of {times}, {e}") from None
                if at != tuple(times * v for v in (macs, other, conn, elements, witness)):
                    raise _Unknown(f"its figures do not grow with the batch (axis 0 of the graph's inputs) "
                                   f"as one sample's × {times}")
            result.figures.append((macs, other, conn))
        except _Unknown as e:
            result.figures.append(None)
            result.reasons.append((index, str(e)))
    if isinstance(batch, int) and batch > 1 and result.reasons and all(r[0] is not None for r in result.reasons) \
            and _bakes(graph, one, check[1], const, batch):
        _baked(onnx, graph, result, check[1], producer)
    return result


def _bakes(graph, one, whole, const, batch):
    """Whether a Reshape, Expand or Resize takes a shape holding the static batch `batch` from a
    constant that does not follow the batch (the same at one sample as in the file): the exporter
    baked the batch in (nn.Flatten's [B, -1] in a dynamo export, attention's head split)."""
    for n in graph.node:
        k = {"Reshape": 1, "Expand": 1, "Resize": 3}.get(n.op_type)
        if k is None or len(n.input) <= k or n.input[k] not in const or n.input[0] in const:
            continue
        a, b = getattr(one, "value", lambda name: None)(n.input[k]), getattr(whole, "value", lambda name: None)(n.input[k])
        if a is not None and b is not None and a.shape == b.shape and (a == b).all() and (b == batch).any():
            return True
    return False


def _linear_in_batch(onnx, n, dims, const, batch):
    """Why node `n`'s work on the file's shapes `dims` may not be `batch` × one sample's, or None: ops
    that work element by element (moves, elementwise, normalisations, lookups), a MatMul or Gemm with
    a constant operand (its work follows its other operand's elements), and ops that keep axis 0 as
    independent samples (Conv, ConvTranspose, pools, reductions not over axis 0) where axis 0 is the
    batch on their input and output. Not: a product of two activations (x·xᵀ mixes samples), a
    recurrent op, a reduction over axis 0."""
    op = n.op_type
    if op in _MOVES or op in _ELEMENTWISE or op in _NORMS or op in _LOOKUPS or op in ("Resize", "Upsample", "LRN"):
        return None
    ins = [i for i in n.input if i]
    if op in ("MatMul", "Gemm") and len(ins) >= 2:
        if (ins[1] in const and not _attrs(onnx, n).get("transA", 0)) or (op == "MatMul" and ins[0] in const):
            return None
        return "it multiplies two activations (its work need not follow the batch)"
    if op in ("Conv", "ConvTranspose") or op in _POOLS or op in _GLOBAL_POOLS or op in _REDUCE:
        x, y = dims.get(ins[0]) if ins else None, dims.get(n.output[0])
        if not x or not y or x[0] != batch or y[0] != batch:
            return f"axis 0 of its input or output is not the batch of {batch}"
        if op in _REDUCE:
            a = _attrs(onnx, n)
            axes = a.get("axes") if "axes" in a else ([a.get("axis", 0)] if op in ("ArgMax", "ArgMin") else None)
            if axes is None and len(ins) > 1:
                axes = getattr(dims, "value", lambda name: None)(ins[1])
            if axes is None or any(int(v) % len(x) == 0 for v in _np().asarray(axes).reshape(-1)):
                return "it may reduce over axis 0, the batch"
        return None
    return f"{op}'s work is not modelled as following the batch"


def _baked(onnx, graph, result, whole, producer):
    """A static batch B that the exporter baked into a constant (a Reshape's target: the batch-1
    propagation breaks): the figures are those of the file's own shapes / B, where every node not
    counted at one sample works linearly in the batch and all figures divide by B. Else the reasons
    say that the batch is baked into a constant."""
    batch, figures, biases = result.batch, [], set()
    first = min(r[0] for r in result.reasons)
    for index, (n, c) in enumerate(zip(graph.node, result.flags)):
        if c:
            figures.append((0, 0, 0))
            continue
        try:
            macs, other, conn, elements, _ = _figures(onnx, n, whole, result.const, producer)
        except _Unknown:
            return  # not counted on the file's own shapes either: the node's own reason stands
        outs = [o for o in n.output if o]
        if n.op_type == "Add" and len(n.input) == 2 and _bias(n, whole, result.const, producer, whole[outs[0]]):
            biases.add(index)
        why = None
        if result.figures[index] is None:
            why = _linear_in_batch(onnx, n, whole, result.const, batch)
        if why is None and any(v % batch for v in (macs, other, conn, elements)):
            why = f"its figures on the file's shapes do not divide by {batch}"
        if why is not None:
            name = graph.node[first].name or graph.node[first].op_type
            result.reasons.insert(0, (None, f"the batch of {batch} is baked into a constant the graph computes "
                                            f"shapes from (at one sample, node {quote(name)} cannot be counted), and "
                                            f"the file's figures / {batch} are not taken: node "
                                            f"{quote(n.name or outs[0])} ({n.op_type}): {why}"))
            return
        figures.append((macs // batch, other // batch, conn // batch))
    result.figures, result.reasons, result.biases, result.dims, result.scale = figures, [], biases, whole, batch


def to_report(path, max_params=None):
    """A paramcount Report of the ONNX file: a leaf row per node that runs per sample (type: the op
    type), each constant-computing node folded into the first such node that reads what it computes,
    totals of the initializers counted once, and compute per sample (see the module's docstring)."""
    from ..analyze import Compute, Counts, LayerReport, Report
    from ..layers import Weight

    path = os.fspath(path)
    onnx, model = _load(path)
    data = _count(onnx, model, path)
    graph = model.graph
    inits = {t.name for t in graph.initializer} | {s.values.name for s in graph.sparse_initializer}
    flags, const = _constants(graph, inits)
    comp = _compute(onnx, model, (flags, const))
    flags, const = comp.flags, comp.const
    readers = {}  # value name -> indices of the nodes that read it (a subgraph's outer names too)
    for i, n in enumerate(graph.node):
        inner, _ = _subgraph_inputs(n)
        for name in set(list(n.input) + inner):
            readers.setdefault(name, []).append(i)
    host = [None] * len(graph.node)
    for i in reversed(range(len(graph.node))):
        if not flags[i]:
            host[i] = i
            continue
        hosts = [host[j] for o in graph.node[i].output if o for j in readers.get(o, ()) if host[j] is not None]
        host[i] = min(hosts) if hosts else None
    members = {}
    for i, h in enumerate(host):
        if h is None and (data.nodes[i].owned or data.nodes[i].borrowed):  # a constant nothing per sample reads
            h = host[i] = i
            comp.figures[i] = None
            comp.reasons.append((i, "it computes a constant that no node running per sample reads"))
        if h is not None:
            members.setdefault(h, []).append(i)
    index = {node.name: i for i, node in enumerate(data.nodes)}
    reasons = sorted(comp.reasons, key=lambda r: -1 if r[0] is None else r[0])
    if reasons and comp.batch not in (None, 1):  # not divided out: rows show the file's own shapes, not
        # the batch-1 propagation's (which need not be one sample's: a batch baked into a constant)
        comp.dims = comp.whole if comp.whole is not None else \
            _propagate(onnx, model, [vi for vi in graph.input if vi.name not in inits], None, True)
    layers, totals = [], Counts()
    for h in sorted(members):
        group = [data.nodes[i] for i in members[h]]
        owned = [t for node in group for t in node.owned]
        mine = {t.name for t in owned}
        borrowed = []
        for node in group:
            borrowed += [t for t in node.borrowed if t.name not in mine and t not in borrowed]
        tied = None
        for node in group:
            if node.tied_to is not None and index.get(node.tied_to) is not None:
                owner = host[index[node.tied_to]]
                if owner is not None and owner != h:
                    tied = data.nodes[owner].name
                    break
        counts = Counts(*_totals(owned))
        figures = comp.figures[h]
        compute = Compute(*figures) if figures is not None and not (reasons and reasons[0][0] is None) \
            else Compute(known=False)
        n = graph.node[h]
        outs = [o for o in n.output if o]
        out = comp.dims.get(outs[0]) if outs else None
        ins = [i for i in n.input if i and comp.dims.get(i) is not None]
        first = next((i for i in ins if i not in const), ins[0] if ins else None)
        layers.append(LayerReport(data.nodes[h].name, n.op_type, None, tuple(comp.dims[first]) if first else (),
                                  tuple(out) if out is not None else (), counts,
                                  [Weight(t.name, t.dims, t.role) for t in owned + borrowed], (),
                                  data.nodes[h].name, 0, tied_to=tied, compute=compute))
        if h in comp.biases:  # a linear op's bias: the layer's output counts once, at the op's row
            layers[-1].acts = 0
        elif comp.scale != 1 and out is not None:  # the file's shapes: B samples' (divisible, checked)
            layers[-1].acts = _product(out) // comp.scale
        totals.add(counts)
    warnings = []
    if reasons:
        where, why = reasons[0]
        what = why if where is None else f"node {quote(data.nodes[where].name)} ({graph.node[where].op_type}): {why}"
        more = len({r[0] for r in reasons}) - 1
        warnings.append(Problem(path, 1, 1, "MACs, other ops, connections and activations are not known: " + what
                                + (f" (and {more:,} more node{'s' if more > 1 else ''})" if more > 0 else "")))
    input_shape = data.inputs[0][1] if data.inputs else ()
    return Report(name=data.name, description=None, source=data.path, path=data.path, input_shape=tuple(input_shape),
                  layers=layers, totals=totals, max_params=max_params, budget_mark=None,
                  within=max_params is None or totals.params <= max_params, warnings=warnings)


def _totals(tensors):
    out = {"weight": 0, "bias": 0, "state": 0}
    for t in tensors:
        out[t.role] += t.size
    return out["weight"], out["bias"], out["state"]
