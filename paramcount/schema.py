"""JSON Schemas (draft 2020-12) of the spec format and of the `--json` output.

The spec schema is generated on each call from what the parser reads: the layer registry
(`layers.REGISTRY`: types, fields, defaults, docs), the spec's top-level fields (spec.py) and the
composite syntax (tree.py). A new layer type or field appears here without anyone editing this file.
The schema is for editors and CI; the parser stays the authority (it also checks values across
fields, block names used, expressions and shapes).
"""

import inspect
import json

from . import layers, spec, tree
from .analyze import COUNTS, DTYPES  # the package's `analyze` is the function
from .layers import Field
from .limits import MAX_RANK

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_EXPR = {"$ref": "#/$defs/expression"}
_EXTENSION = {"description": "an extension: anchors and notes; paramcount ignores it"}
_ITEM_DOCS = {
    "name": "the layer's name; unnamed layers are named by type (conv2d_1) or, in a sequence, by index",
    "trainable": "false: the layer's parameters are counted as non-trainable",
    "repeat": "copies in sequence, named NAME.0 ... NAME.N-1",
    "shared": "with repeat: the copies share one set of weights",
    "tie": "dotted path of an earlier layer whose weight tensors this layer uses (counted once)",
}


# -- what a field's check accepts -----------------------------------------------------------
#
# Value types are found by asking each field's check, never by naming checks: a check is a pure
# function of the value that raises Invalid when it refuses it, so probing it with sample values
# (booleans, numbers around 0, lists of 1 to MAX_RANK + 1 integers, a nested list, any text, and
# the words the check itself compares against) finds what it takes, for the checks of today and
# for any written later. Comparing `f.check is positive_int` would miss every closure (per_axis,
# padding, choice) and every new check. What probing cannot see (which items a list may hold
# together, an upper bound such as a rate's 1) the parser still checks, and the description says.


def _accepts(check, value):
    try:
        check(value)
        return True
    except Exception:  # Invalid; a TypeError from a check never meant for this kind is a no as well
        return False


def _words(check):
    """Text a check may compare against: its constants and the words its names (closure, globals) hold."""
    try:
        seen = inspect.getclosurevars(check)
    except TypeError:  # not a Python function: nothing to read
        return []
    words = []
    for v in [*seen.nonlocals.values(), *seen.globals.values(), *check.__code__.co_consts]:
        for w in (v if isinstance(v, (tuple, list, set, frozenset)) else (v,)):
            if isinstance(w, str) and w not in words:
                words.append(w)
    return words


def _lists(n):
    return [[1] * n, [0] * n, list(range(n)), [-1] + [1] * (n - 1)]


def _integers(values, kind="integer"):
    s = {"type": kind}
    if min(values) > -1:
        s["minimum"] = min(values)
    return s


def value_schema(check, expressions=False):
    """The JSON Schema of what `check` accepts; `expressions`: list items may be `$name` / `${...}`."""
    if _accepts(check, {}):
        return {}  # anything goes
    kinds = []
    if _accepts(check, True) and _accepts(check, False):
        kinds.append({"type": "boolean"})
    numbers = [v for v in (-1, -0.5, 0, 0.5, 1, 2) if _accepts(check, v)]
    if numbers:
        kinds.append(_integers(numbers, "number" if any(isinstance(v, float) for v in numbers) else "integer"))
    lists = [(n, probe) for n in range(1, MAX_RANK + 2) for probe in _lists(n) if _accepts(check, probe)]
    if lists:
        lengths = {n for n, _ in lists}
        item = _integers([i for _, p in lists for i in p])
        s = {"type": "array", "items": {"anyOf": [item, _EXPR]} if expressions else item, "minItems": min(lengths)}
        if max(lengths) <= MAX_RANK:
            s["maxItems"] = max(lengths)
        kinds.append(s)
    elif _accepts(check, [[0, 1]]):  # a list of lists (a connection table)
        inner = _integers([0] if not _accepts(check, [[-1]]) else [-1])
        kinds.append({"type": "array", "items": {"type": "array", "items": inner}})
    if _accepts(check, "any text, probed"):
        kinds.append({"type": "string"})
    else:
        words = [w for w in _words(check) if _accepts(check, w)]
        if words:
            kinds.append({"enum": words})
    return kinds[0] if len(kinds) == 1 else {"anyOf": kinds}


def _jsonable(v):
    return [_jsonable(i) for i in v] if isinstance(v, (tuple, list)) else v


def field_schema(f, expressions=True, doc=None):
    """A field: what its check takes, null where its default is none, `$name` / `${...}` where
    expressions may stand, and its doc and default as the description an editor shows."""
    s = value_schema(f.check, expressions)
    if s:
        alts = (s["anyOf"] if list(s) == ["anyOf"] else [s]) + ([{"type": "null"}] if f.default is None else [])
        alts += [_EXPR] if expressions else []
        s = {"anyOf": alts} if len(alts) > 1 else dict(s)
    doc = doc if doc is not None else f.doc
    if "default:" in doc:  # the doc says it
        s["description"] = doc
    elif f.default is Field.REQUIRED:
        s["description"] = f"{doc} (required)" if doc else "required"
    else:
        default = json.dumps(_jsonable(f.default), ensure_ascii=False)
        s["description"] = f"{doc} (default: {default})" if doc else f"default: {default}"
        s["default"] = _jsonable(f.default)
    return s


# -- the spec ------------------------------------------------------------------------------------


def _item_fields():
    """What every item of a list of layers takes besides its own fields (tree.ITEM_FIELDS), by reference."""
    return {k: {"$ref": f"#/$defs/item.{k}"} for k in tree.ITEM_FIELDS if k != "type"}


def _item_defs():
    fields = {"name": spec._NAME, "trainable": spec._TRAINABLE, "repeat": tree._REPEAT, "shared": tree._SHARED,
              "tie": spec._NAME}
    return {f"item.{k}": field_schema(fields[k], k == "repeat", _ITEM_DOCS[k]) for k in fields}


def _leaf(t):
    props = {"type": {"const": t.name}, **_item_fields(), "tie": {"$ref": "#/$defs/item.tie"}}
    props.update((f.name, field_schema(f)) for f in t.fields)
    doc = t.doc + ("; PyTorch / Keras names: " + ", ".join(f"{a} is {b}" for a, b in t.aliases.items())
                   if t.aliases else "")
    return {"type": "object", "description": doc, "properties": props,
            "required": ["type", *t.required], "additionalProperties": False}


def _composites(variant):
    """sequence / residual / parallel, whose layers are items of `variant`."""
    items = {"$ref": f"#/$defs/{variant}s"}
    named = {"name": field_schema(spec._NAME, False, "the branch's name"), "layers": items}
    branch = {"anyOf": [items, {"type": "object", "required": ["layers"], "additionalProperties": False,
                                "properties": named}]}
    values = {
        # a description beside a $ref is lost on draft-07 readers (the YAML language server): wrap the ref
        "layers": {"description": "the layers, applied in order; unnamed ones are named by index", "allOf": [items]},
        "body": {"description": "the residual path", "allOf": [items]},
        "shortcut": dict(branch, description="the shortcut path (default: identity); outputs must have equal shapes"),
        "branches": {"type": "array", "minItems": 2, "items": branch,
                     "description": "two or more lists of layers, or {name, layers} mappings, on the same input"},
        "merge": field_schema(tree._MERGE, False, "how the branches' outputs combine"),
        "axis": field_schema(tree._AXIS, False, "the axis concat joins along; negative counts from the end"),
    }
    docs = {"sequence": "layers in sequence, like nn.Sequential",
            "residual": "body plus shortcut (identity when absent)",
            "parallel": "branches on the same input, merged"}
    required = {"sequence": ["layers"], "residual": ["body"], "parallel": ["branches"]}
    return {f"{variant}.{form}": {
        "type": "object", "description": docs.get(form, form), "required": ["type", *required.get(form, [])],
        "properties": {"type": {"const": form}, **_item_fields(), **{k: values[k] for k in keys}},
        "additionalProperties": False} for form, keys in tree._GROUP_FIELDS.items()}


def _dispatch(variant, registry, with_blocks):
    """A layer item: one rule per type, keyed on `type`. `with_blocks`: any other word is a block use."""
    builtin = [*registry, *tree.COMPOSITES]
    refs = [(n, f"type.{n}") for n in registry] + [(c, f"{variant}.{c}") for c in tree.COMPOSITES]
    rules = [{"if": {"required": ["type"], "properties": {"type": {"const": n}}}, "then": {"$ref": f"#/$defs/{ref}"}}
             for n, ref in refs]
    kind = {"enum": builtin}
    if with_blocks:
        kind = {"anyOf": [kind, {"type": "string", "pattern": f"^(?:{tree._IDENT.pattern})$"}]}
        rules.append({"if": {"required": ["type"], "properties": {"type": {"not": {"enum": builtin}}}},
                      "then": {"$ref": "#/$defs/block_use"}})
    kind["description"] = "a layer type, " + ", ".join(tree.COMPOSITES) + (", or a block's name" if with_blocks else "")
    return {"type": "object", "required": ["type"], "properties": {"type": kind}, "allOf": rules}


def spec_schema():
    """The JSON Schema of a spec, generated from the registry and the parser's own fields."""
    registry = layers.REGISTRY
    not_args = ("tie", *tree.SHAPE_NAMES)  # what a block use never takes
    reserved = [*tree.ITEM_FIELDS, *not_args]  # what no argument may be called
    defs = {"expression": {"type": "string", "pattern": r"^\$(?:[A-Za-z_][A-Za-z0-9_]*|\{.*\})$",
                           "description": "inside a block: `$name` (an argument) or `${integer arithmetic}` over "
                                          "arguments, in_channels and in_features"}, **_item_defs()}
    defs.update((f"type.{n}", _leaf(t)) for n, t in registry.items())
    for variant, with_blocks in (("layer", True), ("plain_layer", False)):
        defs[variant] = _dispatch(variant, registry, with_blocks)
        defs[variant + "s"] = {"type": "array", "minItems": 1, "items": {"$ref": f"#/$defs/{variant}"}}
        defs.update(_composites(variant))
    defs["block_use"] = {
        "type": "object", "description": "a use of a block: its arguments as fields (a value, a list or an expression)",
        "properties": {"type": {"type": "string"}, **_item_fields(), **{k: False for k in not_args}},
        "additionalProperties": {"not": {"type": "object"}}}
    defs["block"] = {
        "type": "object", "required": ["layers"], "additionalProperties": False,
        "patternProperties": {"^x-": _EXTENSION},
        "properties": {
            "args": {"type": "object",
                     "description": "the block's arguments and their defaults; `required` marks one without",
                     "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "not": {"enum": reserved}}},
            "layers": {"$ref": "#/$defs/layers"},
            "description": {"type": "string"}}}

    props = {k: field_schema(f, False, _top_doc(k)) for k, f in spec._TOP.items()}
    budget_docs = {
        "max_params": "the most parameters the model may have",
        "max_trainable": "the most trainable parameters",
        "max_params_unshared": "the most parameters with no weight sharing (every position its own kernel)",
        "max_layer_params": "the most parameters any single layer may have (one copy of a repeat)"}
    props["budget"] = {"description": "limits the model must keep to (null: none)", "anyOf": [{"type": "null"}, {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {k: _size(f"{budget_docs.get(k, k)}, like {spec.SIZE_EXAMPLES}") for k in spec.BUDGET_KEYS}}]}
    props["blocks"] = {"type": "object", "description": "named, parameterised building blocks, used as layer types",
                       "additionalProperties": {"$ref": "#/$defs/block"},
                       "propertyNames": {"pattern": f"^(?:{tree._IDENT.pattern})$", "maxLength": 64,
                                         "not": {"enum": [*registry, *tree.COMPOSITES]}}}
    props["layers"] = {"type": "array", "description": "the model's layers, in order"}
    props.update((k, {}) for k in spec.TOP_FIELDS if k not in props)
    return {
        "$schema": DRAFT, "title": "paramcount spec",
        "description": "A neural network for paramcount to count: its input shape and layers.",
        "type": "object", "properties": props, "patternProperties": {"^x-": _EXTENSION}, "additionalProperties": False,
        "required": [k for k, f in spec._TOP.items() if f.default is Field.REQUIRED],
        # Without `blocks` a type must be a known one, so a misspelt type is caught; with blocks
        # any word may name a block (JSON Schema cannot check that it is one of them).
        "if": {"required": ["blocks"]}, "then": {"properties": {"layers": {"$ref": "#/$defs/layers"}}},
        "else": {"properties": {"layers": {"$ref": "#/$defs/plain_layers"}}},
        "$defs": defs,
    }


def _top_doc(key):
    return {"name": "the model's name; default: the file's stem", "description": "what the model is",
            "input": "the input shape without the batch axis, channels first", "layers": ""}.get(key, "")


def _size(doc):
    pattern = getattr(spec, "_SIZE", None)  # the size syntax parse_size reads
    # (?!\n): Python's `$` also matches before a final newline, which parse_size refuses
    text = {"type": "string", **({"pattern": f"^(?:{pattern})$(?!\\n)"} if pattern else {})}
    return {"description": doc, "anyOf": [{"type": "integer", "minimum": 1}, text]}


# -- the JSON output -----------------------------------------------------------------------------


def output_schema():
    """The JSON Schema of `--json`: a report, or an array of reports (and failures) for several specs."""
    counts = {k: {"type": "integer", "minimum": 0} for k in COUNTS}
    known = {"type": ["integer", "null"], "minimum": 0}  # null: not known (never 0 for unknown)
    compute = {  # issue 9: at the spec's input size, one sample
        "macs": dict(known, description="multiply-accumulates (FLOPs = 2 × MACs), every occurrence, shared "
                                        "copies included; null where not known"),
        "other_ops": dict(known, description="elements touched by pooling, normalisation, activations (not MACs)"),
        "connections": dict(known, description="LeCun's connections: each output unit's inputs plus one for its bias"),
        "activations": dict(known, description="output elements per sample (a leaf: one occurrence's, its last "
                                               "copy's where copies sharing its row change shape; a node and the "
                                               "totals: every occurrence exactly, the input not included)")}
    shape = {"type": "array", "items": {"type": "integer", "minimum": 1}, "description": "without the batch axis"}
    text, count = {"type": "string"}, {"type": "integer", "minimum": 1}

    def obj(props, doc, required=None):
        return {"type": "object", "description": doc, "properties": props,
                "required": list(props) if required is None else required, "additionalProperties": False}

    # One object's compute is known or not as a whole: all four figures integers, or all four null.
    all_or_none = {"anyOf": [{"properties": {k: {"type": t} for k in compute}} for t in ("integer", "null")]}

    def computed(o):
        return {**o, "allOf": [all_or_none]}

    layer = computed(obj({"name": dict(text, description="dotted path"), "type": text, "input_shape": shape,
                 "output_shape": shape, **counts, "path": text,
                 "depth": {"type": "integer", "minimum": 0, "description": "0 at the top level"},
                 "repeat": dict(count, description="how often the layer occurs (product of enclosing repeats)"),
                 "copies": {"type": "integer", "minimum": 0,
                            "description": "sets of its weights the totals hold; sum of params × copies = total"},
                 "tied_to": {"type": ["string", "null"], "description": "path of the layer whose weights it uses"},
                 **compute},
                "a leaf layer; counts are one copy's, excluding tied tensors; macs, other_ops and connections "
                "one occurrence's (sum of macs × repeat = total)"))
    node = {"oneOf": [
        obj({"layer": {"type": "integer", "minimum": 0}}, "a leaf: its index in `layers`"),
        computed(obj({"name": text, "path": text,
             "type": dict(text, description="sequence, residual, parallel or a block's name"),
             "input_shape": shape, "output_shape": shape, "repeat": count, "shared": {"type": "boolean"}, **counts,
             **compute,
             "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "a composite or block use; counts include its children and all its copies"))]}
    budget = {"type": ["integer", "null"], "minimum": 1}
    report = obj({"schema_version": {"const": 1}, "name": text, "source": dict(text, description="file, preset or -"),
                  "input_shape": shape, "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}},
                  "tree": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                  "totals": computed(obj({**counts, **compute}, "the whole model; tied tensors and shared copies "
                                         "counted once in the counts, every occurrence in macs, other_ops and "
                                         "connections")),
                  "active_params": {"type": "integer", "minimum": 0, "description": (
                      "only with routed experts (moe): the parameters one token runs through")},
                  "memory": obj({  # issue 9: analyze.Memory has the formulas
                      "dtype": {"enum": list(DTYPES),
                                "description": "--dtype: of weights_bytes and activation_bytes"},
                      "batch": dict(count, description="--batch: samples in activation_bytes and training_adam_bytes"),
                      "weights_bytes": {"type": "integer", "minimum": 0, "description": (
                          "every counted parameter and buffer in dtype (int4: ceil(elements / 2) per tensor)")},
                      "activation_elements": {"type": ["integer", "null"], "minimum": 0, "description": (
                          "per sample: each leaf layer's output elements × its occurrences, the input not "
                          "included; null where not known (an ONNX import)")},
                      "activation_bytes": {"type": ["integer", "null"], "minimum": 0, "description": (
                          "activation_elements × batch in dtype; null where not known")},
                      "training_adam_bytes": {"type": ["integer", "null"], "minimum": 0, "description": (
                          "fp32 with Adam: 16 × trainable + 4 × non_trainable + 4 × activation_elements × batch; "
                          "null where activations are not known")}},
                      "memory in bytes, exact; only with --dtype or --batch (or a Report whose memory is set)"),
                  "budget": {**obj({"max_params": budget, "within": {"type": "boolean"}}, "the limit (null: none)"),
                             "patternProperties": {"^max_": budget}}},
                 "one spec's report", ["schema_version", "name", "source", "input_shape", "layers", "tree", "totals",
                                       "budget"])
    position = {"type": ["integer", "null"], "minimum": 1}
    failure = obj({"source": text, "problems": {"type": "array", "items": obj(
        {"line": position, "column": position, "message": text}, "a problem at a 1-based line and column",
        ["message"])}}, "a spec that could not be counted")
    return {"$schema": DRAFT, "title": "paramcount --json output",
            "description": "One report; with several specs, an array holding every spec's report or failure.",
            "oneOf": [{"$ref": "#/$defs/report"},
                      {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/report"}, {"$ref": "#/$defs/failure"}]}}],
            "$defs": {"report": report, "layer": layer, "node": node, "failure": failure}}


def dumps(schema):
    return json.dumps(schema, indent=2, ensure_ascii=False)
