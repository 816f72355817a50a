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
  (`Reshape`'s shape, `Slice`'s starts, `Gather`'s indices, `Clip`'s bounds, ...) and integer
  tensors outside the weight inputs of quantized operators (listed as `constants`);
- roles: the bias input of Conv, ConvTranspose, Gemm, the normalisations and the recurrent
  operators, and a 1-D tensor added to a MatMul's, Conv's or Gemm's output, is a bias;
  BatchNormalization's mean and variance inputs are state (non-trainable, as PyTorch's buffers
  and Keras's moving statistics); everything else is a weight.
`Constant` nodes are not initializers and are not counted.
"""

import os

from ..errors import fail

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
    """A value's shape: ints, symbolic names, '?' for unknown; None without a shape."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in type_proto.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(d.dim_value)
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


def to_report(path, max_params=None):
    """A paramcount Report of the ONNX file: one leaf row per node (type: the op type), output
    shapes as ONNX has them (batch axis included), totals of the initializers counted once."""
    from ..analyze import Counts, LayerReport, Report
    from ..layers import Weight

    data = count(path)
    known = dict(data.inputs)
    for node in data.nodes:
        for o, shape in zip(node.outputs, node.output_shapes):
            if shape is not None:
                known.setdefault(o, shape)
    layers, totals = [], Counts()
    for node in data.nodes:
        counts = Counts(*node.totals())
        tensors = [Weight(t.name, t.dims, t.role) for t in node.owned + node.borrowed]
        outs = [s for s in node.output_shapes]
        out = outs[0] if outs and outs[0] is not None else ()
        ins = next((known[i] for i in node.inputs if i in known), ())
        tied = node.tied_to
        layers.append(LayerReport(node.name, node.op_type, None, ins, out, counts, tensors, (), node.name, 0,
                                  tied_to=tied))
        totals.add(counts)
    input_shape = data.inputs[0][1] if data.inputs else ()
    return Report(name=data.name, description=None, source=data.path, path=data.path, input_shape=tuple(input_shape),
                  layers=layers, totals=totals, max_params=max_params, budget_mark=None,
                  within=max_params is None or totals.params <= max_params)

