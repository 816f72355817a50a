"""Report to text: a table of plain lines, markdown or JSON. Formatting only; every number comes from
the report, and every text that comes from a spec (a name, a file stem, a type, a path) goes through
`text()`, the one sanitising step, before it reaches output.

The table is laid out here, not by a library: column widths are computed once from the cells, then
each row is printed as one line (or a few, where a text cell wraps), so a table costs time and memory
in proportion to its rows, and every cell is cut with '…' past CELL_LIMIT terminal cells.
"""

import json
import os
import re
import sys
import unicodedata
from operator import itemgetter

from . import errors

CELL_LIMIT = 160  # terminal cells in one table cell; longer text is cut with '…' (JSON has it whole)
TITLE_LIMIT = 400  # characters of a name in a title or a message
WRAP_LINES = 4  # lines a wrapped text cell may take in a report's table; the last is cut with '…'
DEPTH = 2  # levels of the report tree a table shows unless told otherwise: a ResNet-50 fits a screen

# Columns: key -> (header, kind, group). Kinds: "t" text that may wrap between words, "w" kept
# whole, "n" a number, whole and right-aligned. Group: the order in which columns are left out of a
# table too wide for the terminal (0: never). `--columns` picks among these keys (README, "Columns").
COLUMNS = {
    "name": ("Layer", "t", 0),
    "type": ("Type", "t", 0),
    "input": ("Input shape", "w", 3),
    "shape": ("Output shape", "w", 0),
    "weights": ("Weights", "n", 2),
    "biases": ("Biases", "n", 2),
    "trainable": ("Trainable", "n", 2),
    "non_trainable": ("Non-trainable", "n", 0),
    "params": ("Params", "n", 0),
    "unshared": ("Unshared params", "n", 1),
    "macs": ("MACs", "n", 0),
    "other_ops": ("Other ops", "n", 2),
    "connections": ("Connections", "n", 0),
    "memory": ("Param memory", "n", 0),
    "activations": ("Activations", "n", 0),
    "activation_memory": ("Activation memory", "n", 0),
    "share": ("Share of params", "w", 0),
}
DEFAULT_COLUMNS = ("name", "type", "shape", "weights", "biases", "params", "unshared")
# Other spellings --columns takes: the table's headers, the JSON's and CSV's key names, short forms.
COLUMN_ALIASES = {"params_unshared": "unshared", "unshared_params": "unshared", "output": "shape",
                  "output_shape": "shape", "input_shape": "input", "layer": "name", "connection": "connections",
                  "mac": "macs", "share_of_total": "share", "share_of_params": "share", "share_percent": "share",
                  "%": "share", "activation": "activations", "activation_elements": "activations",
                  "param_memory": "memory", "param_bytes": "memory", "parameter_memory": "memory",
                  "activation_bytes": "activation_memory"}
# --columns words in CSV: the CSV key of a table column (the JSON's key where there is one), and
# the three figures CSV derives for a leaf (leaf_figure).
CSV_NAMES = {"shape": "output_shape", "input": "input_shape", "unshared": "params_unshared",
             "memory": "param_bytes", "activation_memory": "activation_bytes", "share": "share_percent"}
CSV_DERIVED = ("param_bytes", "activation_bytes", "share_percent")
# Columns only a CSV row has: where a leaf sits and how often it occurs (a table shows these in its
# tree and its type cell).
CSV_ONLY = ("source", "path", "depth", "repeat", "copies", "tied_to")  # source: always CSV's first
HEADERS = tuple(COLUMNS[k][0] for k in DEFAULT_COLUMNS)
KINDS = "ttwnnnn"
UNKNOWN = "?"  # a figure the report does not know (an ONNX op paramcount does not model): never 0
BAR_CELLS = 10  # terminal cells of a share-of-total bar
_EIGHTHS = " ▏▎▍▌▋▊▉"
PRESET_HEADERS, PRESET_KINDS = ("Preset", "Params", "Description"), "wnt"


def number(n):
    return f"{n:,}"


def shape(dims):
    return "[" + ", ".join(map(str, dims)) + "]"


def decimal(tenths):
    """An integer count of tenths as text with one decimal: 69 -> '6.9' (no arithmetic here)."""
    digits = str(tenths).rjust(2, "0")
    return f"{int(digits[:-1]):,}.{digits[-1]}"


def text(value, limit=None):
    """Text from a spec or the command line, ready for any output: one line, control, invisible
    and text-direction characters and lone surrogates escaped, cut with '…' past `limit` characters."""
    value = str(value)
    # str.isprintable() is not the test: it calls the Hangul fillers (U+3164, U+115F, U+1160,
    # U+FFA0), U+034F and U+17B4/5 printable, and they print as nothing. errors.CONTROL covers them.
    if (limit is None or len(value) <= limit) and errors.CONTROL.search(value) is None:
        return value  # nothing to escape or cut: the common case, and the fast one
    return errors.clean(value, limit)


# -- terminal cells -----------------------------------------------------------------------------

_WIDTHS = {}
_DROP_ASCII = dict.fromkeys(range(128))


def _char_cells(c):
    w = _WIDTHS.get(c)
    if w is None:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            w = 0
        else:
            w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        _WIDTHS[c] = w
    return w


def cells(s):
    """How many terminal cells `s` takes: a CJK character or an emoji takes two, a combining mark none."""
    if s.isascii():
        return len(s)
    other = s.translate(_DROP_ASCII)  # measured one by one: usually an ellipsis or a few letters
    return len(s) - len(other) + sum(map(_char_cells, other))


def cut(s, limit, ellipsis="…"):
    """`s` cut to at most `limit` cells, ending in an ellipsis when anything was cut."""
    if s.isascii():
        return s if len(s) <= limit else s[:max(limit - cells(ellipsis), 0)] + ellipsis
    if cells(s) <= limit:
        return s
    room, used, out = limit - cells(ellipsis), 0, []
    for c in s:
        used += _char_cells(c)
        if used > room:
            break
        out.append(c)
    return "".join(out) + ellipsis


# -- the report as rows ---------------------------------------------------------------------------


def _attr(node, name, default):
    return getattr(node, name, default)


def walk(report, depth=None):
    """(node, level) in table order, `depth` levels deep (None: all), and whether rows were left out."""
    out, hidden = [], False
    todo = [(node, 0) for node in reversed(report.layers)]
    while todo:
        node, level = todo.pop()
        out.append((node, level))
        children = _attr(node, "children", None) or ()
        if children:
            if depth is not None and level + 1 >= depth:
                hidden = True
            else:
                todo += [(c, level + 1) for c in reversed(children)]
    return out, hidden


def parse_columns(value):
    """What `--columns` asks for: ("only", [key, ...]) for 'name,params,macs' (those, in that
    order), or ("change", [(sign, key), ...]) for '+share,-biases' (every item signed: the default
    set with those added or removed); None for None. ValueError (one line) for an unknown key, an
    empty item, a sign without a name or a key named twice."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")]
    if not any(items):
        raise ValueError("--columns: name at least one column")
    if "" in items:
        raise ValueError("--columns: an empty item (two commas, or one at an end)")
    bare = [item for item in items if item in ("+", "-")]
    if bare:
        raise ValueError(f"--columns: {bare[0]} needs a column name after it ({bare[0]}macs)")
    signed = [item[0] in "+-" for item in items]
    if any(signed) and not all(signed):
        raise ValueError("--columns: either name the columns, or change the default set with +COLUMN and -COLUMN")
    picked = []
    for item in items:
        sign, word = (item[0], item[1:].strip()) if signed[0] else ("", item)
        if not word:
            raise ValueError(f"--columns: {sign} needs a column name after it ({sign}macs)")
        key = word.lower().replace("-", "_").replace(" ", "_")
        key = COLUMN_ALIASES.get(key, key)
        if key not in COLUMNS and key not in CSV_ONLY:
            hint = errors.did_you_mean(key, list(COLUMNS) + list(CSV_ONLY))
            raise ValueError(f"--columns: unknown column '{text(word, 40)}'{hint} "
                             f"(columns: {', '.join(COLUMNS)}; in CSV also {', '.join(CSV_ONLY)})")
        if key in (k for _, k in picked):
            raise ValueError(f"--columns: {key} is named twice")
        picked.append((sign, key))
    if signed[0]:
        return ("change", picked)
    return ("only", [k for _, k in picked])


def check_columns(picked, default, names=None, optional=()):
    """ValueError where `picked` names a column only CSV has (`names` None: a table, markdown or
    HTML), takes away (-COLUMN) one that `default` does not have, or leaves none but `optional`
    ones (non-trainable: in the default set only where a report has any)."""
    if picked is None:
        return
    mode, items = picked
    named = items if mode == "only" else [k for _, k in items]
    only = [k for k in named if k in CSV_ONLY]
    if names is None and only:
        raise ValueError(f"--columns: {only[0]} is a CSV column; a table's columns: {', '.join(COLUMNS)}")
    if mode == "change":
        absent = [k for sign, k in items if sign == "-" and (names or {}).get(k, k) not in default]
        if absent:
            raise ValueError(f"--columns: -{absent[0]}: not a column shown by default")
    left = apply_columns(default, picked, names)
    if not (left if mode == "only" else [k for k in left if k not in optional]):
        raise ValueError("--columns: no column left")


def apply_columns(default, picked, names=None):
    """`default` (a list of keys) changed as `picked` says; `names` maps a table key to the key of
    another output (CSV's). A column named outright replaces the default set."""
    names = names or {}
    if picked is None:
        return list(default)
    mode, items = picked
    if mode == "only":
        return [names.get(k, k) for k in items]
    keys = list(default)
    for sign, key in items:
        key = names.get(key, key)
        if sign == "+" and key not in keys:
            keys.append(key)
        elif sign == "-" and key in keys:
            keys.remove(key)
    return keys


def default_columns(non_trainable=True):
    """The default set: non-trainable joins it where a report has any."""
    keys = list(DEFAULT_COLUMNS)
    if non_trainable:
        keys.insert(keys.index("params"), "non_trainable")
    return keys


def columns(report, picked=None):
    """The columns a report's table, markdown and HTML have: the default set or what `picked`
    (parse_columns, checked by check_columns) makes of it."""
    return apply_columns(default_columns(bool(report.totals.non_trainable)), picked) or list(DEFAULT_COLUMNS)


def share_tenths(part, whole):
    """part / whole in tenths of a percent, rounded half up, by integer arithmetic (0 of 0 is 0)."""
    return (part * 1000 + whole // 2) // whole if whole else 0


def percent(tenths):
    return f"{tenths // 10}.{tenths % 10}%"


def bar(tenths, cells=BAR_CELLS, padded=True, some=None):
    """A share (tenths of a percent) as a bar of `cells` terminal cells in eighths of a cell, and
    its figure: '█████▏     51.6%'. A share that is not nothing (`some`, default: tenths > 0)
    shows at least an eighth, however small: 9,408 of 25,610,152 reads '▏ 0.0%', 0 of them ' 0.0%'.
    Not `padded` (markdown, where a browser folds spaces): the figure first: '51.6% █████▏'."""
    eighths = (tenths * cells * 8 + 500) // 1000
    if (tenths if some is None else some) and not eighths:
        eighths = 1
    full, part = divmod(eighths, 8)
    drawn = "█" * full + (_EIGHTHS[part] if part else "")
    if not padded:
        return (percent(tenths) + " " + drawn).rstrip()
    return drawn.ljust(cells) + " " + percent(tenths).rjust(6)


def kind_of(node, code=str):
    """A row's type cell: the type and activation, its multiplier, whether its copies share one set
    of weights, and the layer whose weights it uses. `code` wraps the spec's text (markdown)."""
    kind = node.type + (f" + {node.activation}" if _attr(node, "activation", None) else "")
    out = code(text(kind, TITLE_LIMIT))
    repeat = _attr(node, "repeat", 1)
    if repeat != 1:
        out += f" ×{repeat}"
    notes = []
    if _attr(node, "shared", False):
        notes.append("shared")
    tied = _attr(node, "tied_to", None)
    if tied:
        notes.append("tied: " + code(text(tied, TITLE_LIMIT)))
    return out + (f" ({'; '.join(notes)})" if notes else "")


def leaf_figure(report, leaf, copies, key):
    """The figures CSV derives for a leaf row (its other cells are the JSON's, one copy each):
    `param_bytes` one copy's parameters in the report's dtype, `activation_bytes` one occurrence's
    output in it (None where not known), `share_percent` the share of the total params its
    `copies` hold, as text with one decimal ('45.3')."""
    if key == "share_percent":
        return percent(share_tenths(leaf.one_copy()["params"] * copies, report.totals.params))[:-1]
    from .analyze import _int4_bytes, dtype_bytes
    from .shapes import product

    dtype = _dtype(report)
    if key == "param_bytes":
        return _int4_bytes(leaf) if dtype == "int4" else dtype_bytes(leaf.one_copy()["params"], dtype)
    if not getattr(leaf.compute, "known", True):
        return None
    return dtype_bytes(product(leaf.output_shape), dtype)


def _dtype(report):
    memory = _attr(report, "memory", None)
    return memory.dtype if memory is not None else "fp32"


def _figure(node, key, report):
    """A row's number for a numeric column, or None where the report does not know it."""
    if key in ("macs", "other_ops", "connections"):
        compute = node.compute
        return getattr(compute, key) if getattr(compute, "known", True) else None
    if key == "memory":
        from .analyze import param_bytes

        return param_bytes(node, _dtype(report))
    if key in ("activations", "activation_memory"):
        from .analyze import dtype_bytes

        elements = node.activations()
        if elements is None or key == "activations":
            return elements
        return dtype_bytes(elements, _dtype(report))
    if key == "unshared":
        return node.counts.params_unshared
    return getattr(node.counts, key)


def _cells(node, level, keys, indent, code, report):
    row = []
    for k in keys:
        if k == "name":
            row.append(indent * level + code(text(node.name, TITLE_LIMIT)))
        elif k == "type":
            row.append(kind_of(node, code))
        elif k == "shape":
            row.append(shape(node.output_shape))
        elif k == "input":
            row.append(shape(node.input_shape))
        elif k == "share":
            params = node.counts.params
            row.append(bar(share_tenths(params, report.totals.params), padded=code is str, some=params > 0))
        else:
            value = _figure(node, k, report)
            row.append(UNKNOWN if value is None else binary(value) if k in ("memory", "activation_memory")
                       else number(value))
    return tuple(row)


def _total_cell(key, report, padded=True):
    """The totals row's cell of a column: what the summary under the table says, in the column's form."""
    t = report.totals
    if key == "name":
        return "Total"
    if key in ("type", "shape", "input"):
        return ""
    if key == "share":
        return bar(1000 if t.params else 0, padded=padded)
    if key in ("macs", "other_ops", "connections"):
        compute = _attr(report, "compute", None)
        known = compute is not None and getattr(compute, "known", True)
        return number(getattr(compute, key)) if known else UNKNOWN
    if key in ("memory", "activations", "activation_memory"):
        from .analyze import dtype_bytes, estimate_memory

        m = estimate_memory(report, _dtype(report))
        if key == "memory":
            return binary(m.weights_bytes)
        if m.activation_elements is None:
            return UNKNOWN
        if key == "activations":
            return number(m.activation_elements)
        return binary(dtype_bytes(m.activation_elements, m.dtype))
    return number(t.params_unshared if key == "unshared" else getattr(t, key))


def unknown_note(body, total):
    """The line that says what '?' means, where a cell holds it."""
    if UNKNOWN in total or any(UNKNOWN in row for row in body):
        return [f"{UNKNOWN}: not known (a layer whose compute paramcount does not model)"]
    return []


def rows(report, depth=None, keys=None, indent="  ", code=str):
    """One tuple of cells per row (the tree, `depth` levels deep), then the totals; shared by the
    table, the markdown and the HTML. `keys`: the columns (default: columns(report))."""
    return _rows(report, depth, keys, indent, code)[:2]


def _rows(report, depth, keys, indent="  ", code=str):
    keys = keys or columns(report)
    nodes, hidden = walk(report, depth)
    body = [_cells(node, level, keys, indent, code, report) for node, level in nodes]
    total = tuple(_total_cell(k, report, code is str) for k in keys)
    return body, total, hidden


def _state_types(report):
    """The layer types that hold non-trainable buffers (BatchNorm's running statistics), in order."""
    found, todo = [], list(reversed(report.layers))
    while todo:
        node = todo.pop()
        children = _attr(node, "children", None) or ()
        if children:
            todo += reversed(children)
            continue
        c = node.counts
        if c.params - c.weights - c.biases and node.type not in found:
            found.append(node.type)
    return found


_NORMS = {"batchnorm": "BatchNorm", "instancenorm": "InstanceNorm"}
# Layer types whose count is one framework's: the recurrent layers follow their `convention` field,
# separable_conv2d is Keras's SeparableConv2D (one bias; PyTorch has no such module).
CONVENTION_TYPES = frozenset(("rnn", "lstm", "gru", "separable_conv2d"))


def _convention_types(report):
    """Whether any leaf of the report is of a type whose count depends on the framework."""
    todo = list(report.layers)
    while todo:
        node = todo.pop()
        children = _attr(node, "children", None) or ()
        if children:
            todo += children
        elif node.type in CONVENTION_TYPES:
            return True
    return False


def summary(report):
    """The lines under the table: totals, how they relate to PyTorch's and Keras's, what sharing
    saves, memory, the budget."""
    t = report.totals
    lines = [
        f"Total params: {number(t.params)}",
        f"Trainable params: {number(t.trainable)}",
        f"Non-trainable params: {number(t.non_trainable)}",
    ]
    active = _attr(report, "active_params", None)
    if active is not None:  # routed experts (moe): what one token runs through
        lines.insert(1, f"Active params per token: {number(active)}")
    state = t.params - t.weights - t.biases
    if state:
        kinds = _state_types(report)
        known = [_NORMS[k] for k in kinds if k in _NORMS]
        what = (" and ".join(known) + " statistics" if known and len(known) == len(kinds)
                else "state of " + ", ".join(text(k, 40) for k in kinds[:4]) + (", …" if len(kinds) > 4 else ""))
        # These two lines restate the spec's own totals. Where a layer's count depends on the
        # framework (rnn, lstm, gru: their `convention` decides one bias vector or two;
        # separable_conv2d: counted as Keras does, one bias), the figures hold for the conventions the
        # spec's layers name, not for a port of the whole model to the other framework: so said.
        lines.append(f"PyTorch parameters(): {number(t.weights + t.biases)}, plus {number(state)} {what} in buffers")
        lines.append(f"Keras count_params(): {number(t.params)}, buffers included")
        if _convention_types(report):
            lines.append("(both as each layer's `convention` counts)")
    sharing = f"Without weight sharing: {number(t.params_unshared)} params"
    if report.sharing_tenths is not None:
        sharing += f" (sharing makes it {decimal(report.sharing_tenths)}x smaller)"
    lines.append(sharing)
    lines += compute_lines(report)
    lines += memory_lines(report)
    if report.max_params is not None:
        verdict = "within budget" if report.within else "OVER BUDGET"
        lines.append(f"Budget: {number(t.params)} of {number(report.max_params)} max params ({verdict})")
    return lines


def metric(n):
    """A large count in hundredths of K, M, G or T (decimal prefixes, as torchvision's "GFLOPS"),
    rounded half up by integer arithmetic: 1,814,073,344 -> '1.81 G'; None below a thousand."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            hundredths = (n * 100 + scale // 2) // scale
            return f"{hundredths // 100:,}.{hundredths % 100:02d} {unit}"
    return None


def compute_lines(report):
    """MACs (FLOPs = 2 × MACs) and LeCun's connections at the spec's input size; where a layer's
    compute is not known (an ONNX op paramcount does not model), said so: unknown never reads 0.
    Nothing for a report that carries no compute at all."""
    compute = _attr(report, "compute", None)
    if compute is None:
        return []
    if not getattr(compute, "known", True):
        return ["MACs: not known", "Connections: not known"]
    short = metric(compute.macs)
    macs = f"MACs: {number(compute.macs)}" + (f" ({short})" if short else "") + "; FLOPs = 2 × MACs"
    return [macs, f"Connections: {number(compute.connections)}"]


def binary(nbytes):
    """Bytes in binary units with one decimal, rounded half up: 246,824 -> '241.0 KiB'; under 1 KiB
    in bytes ('512 B'). The unit is the largest that nbytes reaches, or the next where the rounding
    would read 1,024.0 (1 MiB less a byte: '1.0 MiB')."""
    if nbytes < 2**10:
        return f"{nbytes:,} B"
    units = (("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30), ("TiB", 2**40))
    for i, (unit, scale) in enumerate(units):
        tenths = (nbytes * 10 + scale // 2) // scale
        if i + 1 == len(units) or tenths < 10240:
            return f"{decimal(tenths)} {unit}"


def memory_lines(report):
    """The parameters' and activations' memory in the report's dtype, and the Adam training estimate
    (analyze.Memory has the formulas): the report's `memory` (--dtype, --batch), else fp32 at batch
    1. Where activations are not known (an ONNX op paramcount does not model), said so, never 0."""
    from .analyze import ADAM_BYTES, FP32_BYTES, dtype_bytes, estimate_memory

    m = _attr(report, "memory", None) or estimate_memory(report)
    lines = [f"Parameter memory ({m.dtype}): {binary(m.weights_bytes)}"]
    if m.activation_elements is None:
        t = report.totals
        lines.append("Activation memory: not known")
        lines.append(f"Adam training (fp32): {binary(ADAM_BYTES * t.trainable + FP32_BYTES * t.non_trainable)}"
                     " + activations (not known)")
        return lines
    per_sample = f"Activation memory ({m.dtype}): {binary(dtype_bytes(m.activation_elements, m.dtype))} per sample"
    if m.batch > 1:
        per_sample += f", {binary(m.activation_bytes)} for a batch of {m.batch:,}"
    lines.append(per_sample)
    lines.append(f"Adam training (fp32, batch {m.batch:,}): {binary(m.training_adam_bytes)}")
    return lines


def title(report, escape=str):
    return f"{escape(text(report.name, TITLE_LIMIT))} (input {shape(report.input_shape)})"


def depth_note(depth):
    return f"Rows deeper than {depth} level{'s' if depth != 1 else ''} are folded into their blocks; --depth N shows more"


# -- JSON -----------------------------------------------------------------------------------------

# One encoder, made once: json.dumps would set one up per call, and a 10,000-layer report makes
# 10,000 calls. ensure_ascii: every control, invisible or non-ASCII character comes out escaped.
_ENCODE = json.JSONEncoder(check_circular=False).encode


def json_pieces(d):
    """A report's JSON document in pieces: a key a line, and a line for each item of a list of objects
    (a layer, a node of the tree). Readable, and json's C encoder does the work."""
    yield "{\n"
    last = len(d) - 1
    for i, (key, value) in enumerate(d.items()):
        end = ",\n" if i < last else "\n"
        if isinstance(value, list) and value and isinstance(value[0], dict):
            yield f"  {_ENCODE(key)}: [\n    "
            for j in range(0, len(value), 512):  # in pieces: the document is never one string
                yield (",\n    " if j else "") + ",\n    ".join(map(_item, value[j:j + 512]))
            yield "\n  ]" + end
        else:
            yield f"  {_ENCODE(key)}: {_ENCODE(value)}{end}"
    yield "}"


def _item(o):
    """One line of a list: a leaf of the tree, `{"layer": N}`, written directly (a tree holds one per
    layer, and an encoder call each would cost more than the rest of the line); the rest encoded."""
    if len(o) == 1 and type(o.get("layer")) is int:
        return f'{{"layer": {o["layer"]}}}'
    return _ENCODE(o)


def _json_document(d):
    return "".join(json_pieces(d))


def to_json(reports, many):
    docs = [_json_document(r.to_dict()) for r in reports]
    return "[\n" + ",\n".join(docs) + "\n]" if many else docs[0]


def presets_json(presets):
    """(preset name, report) pairs as the JSON list of --list-presets --format json."""
    return json.dumps([{"preset": name, "name": r.name, "params": r.totals.params, "description": r.description}
                       for name, r in presets], indent=2)


# -- markdown -------------------------------------------------------------------------------------

# Prose of ours (preset descriptions): escape what could make emphasis, code, HTML, a link or a table cell.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*_~`<>[]#@!"})
_TICKS = re.compile("`+")


def _md(s):
    return text(s).translate(_MD_SPECIAL)


def code(s):
    """Text from a spec as a markdown code span: GitHub shows it as it is, with no link, autolink,
    mention, issue reference, emphasis or HTML, whatever it holds. A pipe is escaped for the table
    (GitHub's table parser reads `\\|` even inside code)."""
    if not s:
        return ""  # an unnamed node (a residual that adds no level to paths)
    fence = "`" * (max(map(len, _TICKS.findall(s)), default=0) + 1)
    pad = " " if s[:1] == "`" or s[-1:] == "`" or (s[:1] == " " and s[-1:] == " ") else ""
    return f"{fence}{pad}{s.replace('|', chr(92) + '|')}{pad}{fence}"


def markdown_table(headers, body, kinds, escape=None):
    """Lines of a GitHub table; text ("t") cells escaped by `escape` (default: as prose)."""
    escape = escape or _md
    align = ["---:" if k == "n" else "---" for k in kinds]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(escape(cell) if k == "t" else cell for cell, k in zip(row, kinds)) + " |"
              for row in body]
    return lines


def markdown_lines(report, depth=None, picked=None):
    """The markdown of a report, line by line: a heading, the table (the tree as indented names),
    the summary as a list. Every text from the spec is in a code span. `picked`: parse_columns'."""
    keys = columns(report, picked)
    body, total, hidden = _rows(report, depth, keys, indent="&emsp;", code=code)
    yield f"### {title(report, code)}"
    yield ""
    headers = [COLUMNS[k][0] for k in keys]
    yield "| " + " | ".join(headers) + " |"
    yield "| " + " | ".join("---:" if COLUMNS[k][1] == "n" else "---" for k in keys) + " |"
    for row in body:
        yield "| " + " | ".join(row) + " |"
    yield "| " + " | ".join(f"**{c}**" if c else "" for c in total) + " |"
    yield ""
    notes = summary(report) + ([depth_note(depth)] if hidden else []) + unknown_note(body, total)
    for line in notes:
        yield f"- {line}"


def to_markdown(report, depth=None, picked=None):
    return "\n".join(markdown_lines(report, depth, picked)) + "\n"


def write_markdown(out, report, depth=None, picked=None):
    """Stream a report's markdown to `out` in pieces: memory stays bounded by a piece, not the report.
    On a stream that cannot hold the table's glyphs (ASCII), share bars are '#' and '+', as in a table."""
    lines = markdown_lines(report, depth, picked)
    if not _encodable(out)[1]:
        lines = (line.translate(_TO_ASCII) for line in lines)
    _write_lines(out, lines)


def presets_markdown(presets):
    return "\n".join(markdown_table(PRESET_HEADERS, presets, PRESET_KINDS)) + "\n"


def _write_lines(out, lines, piece=512):
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= piece:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")


# -- the table ------------------------------------------------------------------------------------

# top, header, under the header, body, above the footer, bottom: (left, fill, between, right)
BOX = ("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "├─┼┤", "└─┴┘")
ASCII_BOX = ("+-++", "| ||", "+=++", "| ||", "+-++", "+-++")
_GLYPHS = "┏━┳┓┃┡╇┩│├─┼┤└┴┘…×█▏▎▍▌▋▊▉"
# A share bar on a terminal without these glyphs: '#' a full cell, '+' a part of one (widths unchanged).
_TO_ASCII = str.maketrans({"…": "...", "×": "x", "█": "#", **dict.fromkeys("▏▎▍▌▋▊▉", "+")})


def terminal_width(stream=None):
    """COLUMNS when set, else the terminal's width when `stream` is one, else 80 (a pipe, a file)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and 0 < int(columns) < 100_000:
        return int(columns)
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        pass
    return 80


def _bold(stream):
    """Whether the title may be bold: a terminal (or FORCE_COLOR), without NO_COLOR, not TERM=dumb."""
    env = os.environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    if env.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _target(out, width):
    """(stream, width, bold) from a stream or from an object with `.file` and `.width` (rich's Console)."""
    stream = getattr(out, "file", None) or out
    if width is None:
        width = getattr(out, "width", None) if stream is not out else None
    if width is None:
        width = terminal_width(stream)
    if stream is not out:  # a console decides on styles itself
        bold = bool(getattr(out, "color_system", None)) and not getattr(out, "no_color", False)
    else:
        bold = _bold(stream)
    return stream, width, bold


def _encodable(stream):
    """A function that makes a string printable on `stream`: what its encoding cannot hold is
    written as a backslash escape (and '…', '×' as ASCII) before widths are measured, so a table
    on an ASCII terminal stays aligned and never raises."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        _GLYPHS.encode(encoding)
        unicode_box = True
    except (UnicodeEncodeError, LookupError):
        unicode_box = False

    def fit(s):
        if s.isascii():
            return s
        if not unicode_box:
            s = s.translate(_TO_ASCII)
        try:
            s.encode(encoding)
            return s
        except (UnicodeEncodeError, LookupError):
            return s.encode(encoding, "backslashreplace").decode(encoding, "replace")

    return fit, unicode_box


def _header_words(h):
    return re.findall(r"[^ -]+-?|-", h)


def _wrap(s, width, max_lines, ellipsis):
    """`s` in lines of at most `width` cells, broken between words; at most `max_lines` lines. Leading
    spaces (a tree's indentation) start every line; a word longer than a line is cut with '…'."""
    if cells(s) <= width:
        return [s]
    body = s.lstrip(" ")
    lead = s[:len(s) - len(body)]
    if lead:
        if len(lead) >= width:  # no room for the indentation: the text alone
            lead = ""
        return [lead + line for line in _wrap(body, width - len(lead), max_lines, ellipsis)]
    lines, line, used = [], [], 0
    for word in s.split():
        if cells(word) > width:
            word = cut(word, width, ellipsis)
        w = cells(word)
        if line and used + 1 + w > width:
            lines.append(" ".join(line))
            line, used = [], 0
        used += w + (1 if line else 0)
        line.append(word)
    if line:
        lines.append(" ".join(line))
    if max_lines and len(lines) > max_lines:  # the rest is cut: a row's height stays bounded
        lines = lines[:max_lines]
        lines[-1] = cut(lines[-1], width - cells(ellipsis), "") + ellipsis
    return lines


def _wrap_header(h, width):
    lines, line = [], ""
    for word in _header_words(h):
        joined = line + ("" if not line or line.endswith("-") else " ") + word
        if line and cells(joined) > width:
            lines.append(line)
            line = word
        else:
            line = joined
    return lines + [line]


def _widest(column):
    """The widest cell of a column, in terminal cells."""
    if not column:
        return 0
    return max(map(len, column)) if "".join(column).isascii() else max(map(cells, column))


def _plan(headers, kinds, groups, columns_cells, available, wide, max_lines, natural_cell):
    """Which columns to show and how wide: (shown indices, widths, whether headers wrap)."""
    n = len(headers)
    header_full = [cells(h) for h in headers]
    header_word = [max(map(cells, _header_words(h)), default=0) for h in headers]

    def total(idx, widths):
        return sum(widths[i] for i in idx) + 3 * len(idx) + 1

    everything = list(range(n))
    natural = [max(natural_cell[i], header_full[i]) for i in everything]
    if wide or total(everything, natural) <= available:
        return everything, natural, False
    narrow = [max(natural_cell[i], header_word[i]) for i in everything]
    shown = everything
    for group in [0] + sorted({g for g in groups if g}):
        shown = [i for i in shown if not group or groups[i] != group]
        if total(shown, narrow) <= available:
            return shown, narrow, True
    # Still too wide: text columns wrap between words, each at least its longest word.
    floor = list(narrow)
    for i in shown:
        if kinds[i] == "t":
            longest = max((cells(w) for c in columns_cells[i] for w in c.split()), default=0)
            floor[i] = max(header_word[i], min(longest, natural_cell[i]))
            if max_lines:  # a cell wraps to at most max_lines lines: keep the column wide enough to matter
                floor[i] = max(floor[i], min(natural_cell[i], 12))
    widths = list(floor)
    spare = max(available - total(shown, floor), 0)
    widths = list(floor)
    spare = max(available - total(shown, floor), 0)
    wrapping = sorted((i for i in shown if kinds[i] == "t"), key=lambda i: narrow[i] - floor[i])
    for k, i in enumerate(wrapping):  # smallest needs first, each up to a fair share of what is left
        give = min(narrow[i] - floor[i], spare // (len(wrapping) - k))
        widths[i] += give
        spare -= give
    return shown, widths, True


def print_table(out, heading, headers, body, kinds, footer=None, after=(), width=None, groups=None,
                wide=False, limit=CELL_LIMIT, max_lines=None, notes=()):
    """A table as plain lines on `out` (a stream, or rich's Console: its file and width are used, and
    nothing of it is changed). Widths are computed once; a column too wide for the terminal is
    left out in the order `groups` gives (a note says which, and that --wide shows them), then text
    cells wrap between words; where even that cannot fit, the table is printed wider. Each cell is
    cut with '…' past `limit` cells, so a row never costs more than the columns times the limit."""
    stream, available, bold = _target(out, width)
    fit, unicode_box = _encodable(stream)
    ellipsis = "…" if unicode_box else "..."
    box = BOX if unicode_box else ASCII_BOX
    groups = groups or [0] * len(headers)

    def prepare(cell):
        if cell.isascii() and (limit is None or len(cell) <= limit):
            return cell  # the common case, checked first
        cell = fit(cell)
        return cell if limit is None else cut(cell, limit, ellipsis)

    body = [tuple(map(prepare, row)) for row in body]
    footer = tuple(map(prepare, footer)) if footer else None
    columns_cells = [[row[i] for row in body] + ([footer[i]] if footer else []) for i in range(len(headers))]
    natural_widths = [_widest(col) for col in columns_cells]
    shown, widths, wrapped = _plan(headers, kinds, groups, columns_cells, available, wide, max_lines, natural_widths)
    left_out = [headers[i] for i in range(len(headers)) if i not in shown]
    del columns_cells

    ws = [widths[i] for i in shown]
    right = [kinds[i] == "n" for i in shown]

    def rule(spec):
        left, fill, mid, end = spec
        return left + mid.join(fill * (w + 2) for w in ws) + end

    def pad(s, w, r):
        gap = w - cells(s)
        return (" " * gap + s) if r else (s + " " * gap)

    edge = box[3][0]

    # An ASCII row whose text cells fit their columns (every row, unless cells wrap) is one format
    # call: str.format pads in C.
    line = (f"{edge} " + f" {edge} ".join(f"{{:{'>' if r else '<'}{w}}}" for w, r in zip(ws, right)) + f" {edge}").format
    narrowed = [j for j, i in enumerate(shown) if kinds[i] == "t" and widths[i] < natural_widths[i]]
    pick = (lambda row: [row[shown[0]]]) if len(shown) == 1 else itemgetter(*shown)

    def lines_of(row, bar):
        cols = pick(row)
        if "".join(cols).isascii() and all(len(cols[j]) <= ws[j] for j in narrowed):
            return [line(*cols)]
        multi = False
        parts = []
        for j, (s, w) in enumerate(zip(cols, ws)):
            if cells(s) > w:
                multi = True
                parts.append(_wrap(s, w, max_lines, ellipsis))
            else:
                parts.append(None)
        if not multi:
            return [f"{bar} " + f" {bar} ".join(pad(s, w, r) for s, w, r in zip(cols, ws, right)) + f" {bar}"]
        parts = [p if p is not None else [s] for p, s in zip(parts, cols)]
        height = max(map(len, parts))
        return [f"{bar} " + f" {bar} ".join(pad(p[k] if k < len(p) else "", w, r) for p, w, r in zip(parts, ws, right))
                + f" {bar}" for k in range(height)]

    def generate():
        yield f"\x1b[1m{fit(heading)}\x1b[0m" if bold else fit(heading)
        yield rule(box[0])
        hb = box[1][0]
        heads = [_wrap_header(headers[i], widths[i]) if wrapped else [headers[i]] for i in shown]
        height = max(map(len, heads))
        for k in range(height):
            cells_k = [h[k - (height - len(h))] if k >= height - len(h) else "" for h in heads]
            yield f"{hb} " + f" {hb} ".join(pad(c, w, r) for c, w, r in zip(cells_k, ws, right)) + f" {hb}"
        yield rule(box[2])
        for row in body:
            yield from lines_of(row, edge)
        if footer:
            yield rule(box[4])
            yield from lines_of(footer, edge)
        yield rule(box[5])
        if left_out:
            yield from note(f"Not shown at {available} columns: {', '.join(left_out)}; --wide shows them")
        for line in notes:
            yield from note(line)
        for line in after:
            yield from note(line)

    def note(line):
        """A line under the table, wrapped between words to the terminal's width (continued two
        spaces in), unless the table itself is printed wide."""
        line = fit(line)
        if wide or cells(line) <= available:
            yield line
            return
        first, *rest = _wrap(line, available, None, ellipsis)
        yield first
        if rest:
            yield from ("  " + part for part in _wrap(" ".join(rest), available - 2, None, ellipsis))

    _write_lines(stream, generate())


def print_report(out, report, width=None, depth=None, wide=False, picked=None):
    """A report as a table on `out` (a text stream, or rich's Console): the tree `depth` levels deep
    (None: all), columns left out to fit `width` (default: the terminal's) unless `wide`; `picked`:
    the columns parse_columns read from --columns (None: the default set)."""
    keys = columns(report, picked)
    body, total, hidden = _rows(report, depth, keys)
    notes = [depth_note(depth)] if hidden else []
    notes += unknown_note(body, total)
    # Columns named outright are all shown (text wraps instead); the default set drops to fit.
    groups = [0] * len(keys) if picked and picked[0] == "only" else [COLUMNS[k][2] for k in keys]
    print_table(out, title(report), [COLUMNS[k][0] for k in keys], body, "".join(COLUMNS[k][1] for k in keys),
                footer=total, after=[line.replace("`", "'") for line in summary(report)], width=width,
                groups=groups,
                wide=wide, max_lines=WRAP_LINES, notes=notes)
