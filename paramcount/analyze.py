"""Spec to report: per-layer facts first, totals summed from them, no formatting."""

from .errors import fail
from .limits import MAX_RANK, MAX_REPORT_BITS, MAX_REPORT_DIGITS, MAX_SIZE_BITS, MAX_SIZE_DIGITS
from .shapes import ShapeError, product

COUNTS = ("weights", "biases", "trainable", "non_trainable", "params", "params_unshared")


class Counts:
    __slots__ = COUNTS

    def __init__(self, weights=0, biases=0, state=0, trainable=True, unshared=None):
        """From a layer's weight, bias and state (non-trainable buffer) element counts."""
        learned = weights + biases
        self.weights, self.biases = weights, biases
        self.trainable = learned if trainable else 0
        self.non_trainable = state + (0 if trainable else learned)
        self.params = learned + state
        self.params_unshared = self.params if unshared is None else unshared

    def add(self, other):
        self.weights += other.weights
        self.biases += other.biases
        self.trainable += other.trainable
        self.non_trainable += other.non_trainable
        self.params += other.params
        self.params_unshared += other.params_unshared
        return self

    def as_dict(self):
        return {"weights": self.weights, "biases": self.biases, "trainable": self.trainable,
                "non_trainable": self.non_trainable, "params": self.params, "params_unshared": self.params_unshared}


class LayerReport:
    """One layer's facts. `children` lets a composite layer nest its parts; its counts include theirs."""

    __slots__ = ("name", "type", "activation", "input_shape", "output_shape", "counts", "tensors", "children")

    def __init__(self, name, type_, activation, input_shape, output_shape, counts, tensors, children=()):
        self.name, self.type, self.activation = name, type_, activation
        self.input_shape, self.output_shape = input_shape, output_shape
        self.counts, self.tensors, self.children = counts, tensors, children

    def as_dict(self):
        d = {"name": self.name, "type": self.type,
             "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}
        d.update(self.counts.as_dict())
        return d


class Report:
    __slots__ = ("name", "description", "source", "path", "input_shape", "layers", "totals",
                 "max_params", "budget_mark", "within")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def sharing_tenths(self):
        """How many times more parameters without weight sharing, in tenths; None when no layer shares."""
        t = self.totals
        return _tenths(t.params_unshared, t.params) if t.params and t.params_unshared != t.params else None

    @property
    def memory_fp32(self):
        """The parameters' size at 4 bytes each: (bytes, "B"), or (tenths, "KiB" / "MiB" / "GiB")."""
        nbytes = self.totals.params * 4
        for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if nbytes >= scale:
                return _tenths(nbytes, scale), unit
        return nbytes, "B"

    def to_dict(self):
        return {
            "schema_version": 1,
            "name": self.name,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "layers": [layer.as_dict() for layer in self.layers],
            "totals": self.totals.as_dict(),
            "budget": {"max_params": self.max_params, "within": self.within},
        }


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


def layer_report(layer, shape, path):
    kind, cfg = layer.type, layer.cfg
    try:
        out = kind.output_shape(cfg, shape)
    except ShapeError as e:
        fail(path, layer.mark_of(e.field), f"{kind.name} layer '{layer.name}' on input {list(shape)}: {e}")
    if len(out) > MAX_RANK:
        fail(path, layer.mark_of(None), f"{kind.name} layer '{layer.name}' would output {len(out)} axes; the limit is {MAX_RANK}")
    if max(out) >> MAX_SIZE_BITS:  # an axis of 2**1660 or more: embedding and flatten, again and again
        fail(path, layer.mark_of(None), f"{kind.name} layer '{layer.name}' would output an axis of more than {MAX_SIZE_DIGITS:,} digits")
    tensors = kind.weights(cfg, shape, out)
    unshared = kind.unshared_weights(cfg, shape, out)
    if unshared is not None:
        unshared = sum(_elements(unshared))
    counts = Counts(*_elements(tensors), layer.trainable, unshared)
    return LayerReport(layer.name, kind.name, cfg.get("activation"), shape, out, counts, tensors)


def analyze(spec, max_params=None):
    """A Report of `spec`; `max_params` adds a limit to the spec's own budget (the stricter counts)."""
    shape, layers, totals, bits = spec.input_shape, [], Counts(), 0
    for layer in spec.layers:
        report = layer_report(layer, shape, spec.path)
        layers.append(report)
        totals.add(report.counts)
        shape = report.output_shape
        bits += report.counts.params_unshared.bit_length()
        if bits > MAX_REPORT_BITS:  # hundreds of digits in every layer: too much to print
            fail(spec.path, layer.mark_of(None), f"the counts up to layer '{layer.name}' hold more than "
                                                 f"{MAX_REPORT_DIGITS:,} digits in all; the limit keeps output bounded")
    limits = [m for m in (spec.max_params, max_params) if m is not None]
    limit = min(limits) if limits else None
    return Report(
        name=spec.name, description=spec.description, source=spec.source, path=spec.path,
        input_shape=spec.input_shape, layers=layers, totals=totals, max_params=limit,
        budget_mark=spec.budget_mark if limit == spec.max_params else None,
        within=limit is None or totals.params <= limit,
    )
