"""YAML to a typed spec, keeping the source position of every node.

The YAML is composed (never constructed) with libyaml's safe loader where present.
"""

import re
from typing import Any

import yaml

from .errors import _BREAK, LimitExceeded, clean, Problem, SpecError, did_you_mean, fail, position, quote, text_position, unprintable
from .limits import MAX_BYTES, MAX_DIGITS, MAX_LAYERS, MAX_NODES, MAX_PROBLEMS, MAX_RANK
from .layers import ANY_LAYER_FIELD, INFERRED, Field, Invalid, boolean, describe, first_bad, is_int

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _SEQ, _MAP, _MERGE = (
    _TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge"))
_PLAIN = "tag:paramcount,2026:plain"  # a plain scalar, typed when (and only when) the spec reads it


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's parser where present; scalars are typed later, on use, which halves the cost of a large file."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


_RESOLVER = yaml.resolver.Resolver()  # YAML 1.1's implicit types, as the safe loader has them
_IMPLICIT = _RESOLVER.yaml_implicit_resolvers  # by first character
_SAFE = yaml.constructor.SafeConstructor()  # its scalar methods type ints, floats and bools
_CONSTRUCT = {_INT: _SAFE.construct_yaml_int, _FLOAT: _SAFE.construct_yaml_float, _BOOL: _SAFE.construct_yaml_bool}
_UNSET = object()
TOP_FIELDS = ("name", "description", "input", "budget", "blocks", "layers")


def _refusal(y):
    return f"tag {clean(y.tag.replace(_TAG, '!!'), 60)} is not allowed: a spec holds only plain YAML values"


class Node:
    """A YAML node, typed on first use; it knows where it starts, and a mapping where each key does.

    Only what the spec reads is ever typed, so an alias bomb parked anywhere costs nothing,
    and no tag can build a Python object: scalars are typed here, tag by tag.
    """

    __slots__ = ("y", "check", "_value", "_keys", "_used")

    def __init__(self, y, check, used=None):
        self.y, self.check, self._value, self._keys, self._used = y, check, _UNSET, None, used

    @property
    def mark(self):
        """Where the value is written; for an alias, where it is used (the key, or the list)."""
        here, used = self.y.start_mark, self._used
        return used if used is not None and here.index < used.index else here

    @property
    def value(self):
        """A scalar's value, a list of Nodes, or a dict of Nodes by key."""
        if self._value is _UNSET:
            y = self.y
            if isinstance(y, yaml.ScalarNode):
                self._value = self._scalar()
            elif isinstance(y, yaml.SequenceNode):
                self._tag("seq")
                self.check.spend(self, len(y.value))
                self._value = [Node(item, self.check, y.start_mark) for item in y.value]
            else:
                self._tag("map")
                self.check.spend(self, len(y.value))
                self._value, self._keys = self._mapping()
        return self._value

    @property
    def keys(self):
        """A mapping's keys and where each starts."""
        self.value  # noqa: B018 (typing the mapping fills them)
        return self._keys

    def _refuse(self):
        fail(self.check.path, self.y.start_mark, _refusal(self.y))

    def _tag(self, kind):
        if self.y.tag != _TAG + kind:
            self._refuse()

    def _scalar(self):
        y = self.y
        tag, text = y.tag, y.value
        if len(text) > 64:  # long text costs by its length, each time an alias uses it
            self.check.spend(self, len(text) // 64)
        if tag == _PLAIN:
            if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0") and len(text) <= MAX_DIGITS:
                return int(text)  # the common case; YAML 1.1 reads 010 as octal, so that goes on
            if text[:1] not in _IMPLICIT:  # no implicit type starts with this character: text
                return text
            tag = y.tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
        if tag == _STR or tag == _TIMESTAMP:
            return text
        if tag == _NULL:
            return None
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            self._refuse()
        if tag == _INT and len(text) > MAX_DIGITS:
            fail(self.check.path, y.start_mark, f"an integer may have at most {MAX_DIGITS} digits")
        try:
            if tag != _BOOL and (not text.isascii() or text.strip() != text):  # `!!int "٣"`: int() reads any script's digits
                raise ValueError(text)
            return construct(y)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError):  # `!!int abc`, `0x_`, `!!bool maybe`
            fail(self.check.path, y.start_mark, f"{quote(text)} is not a valid {tag.replace(_TAG, '')}")

    def _mapping(self):
        value, keys, merged = {}, {}, []
        for ky, vy in self.y.value:
            key = ky.value
            if ky.tag != _PLAIN and ky.tag != _STR:
                if ky.tag == _MERGE:
                    key = "<<"
                else:
                    key = Node(ky, self.check).value
                    if not isinstance(key, str):
                        fail(self.check.path, ky.start_mark, f"keys must be text, got {describe(key)}")
            if key == "<<" and ky.tag != _STR:
                if isinstance(vy, yaml.SequenceNode):
                    if vy.tag != _SEQ:
                        Node(vy, self.check)._refuse()
                    merged += vy.value
                else:
                    merged.append(vy)
                continue
            if key in keys:  # recorded, not raised, so the rest of the file is still checked
                self.check.add(ky.start_mark, f"duplicate key {quote(key)} (first at line {position(keys[key])[0]})")
                continue
            value[key], keys[key] = Node(vy, self.check, ky.start_mark), ky.start_mark
        if merged:
            self._merge(merged, value, keys)
        return value, keys

    def _merge(self, merged, value, keys):
        """`<<: *defaults`: explicit keys win, then earlier merges."""
        merging = self.check.merging  # the mappings whose merges are being typed, to catch a cycle
        if id(self.y) in merging:  # `&a {<<: *a}`
            self.check.stop(self.mark, "a mapping merges itself ('<<')")
        merging.add(id(self.y))
        try:
            for my in merged:
                if not isinstance(my, yaml.MappingNode):
                    fail(self.check.path, my.start_mark, "'<<' merges a mapping or a list of mappings")
                source = Node(my, self.check)
                self.check.spend(self, len(source.value))
                for key, v in source.value.items():
                    if key not in value:
                        value[key], keys[key] = v, source.keys[key]
        finally:
            merging.discard(id(self.y))


class Spec:
    __slots__ = ("name", "description", "input_shape", "max_params", "budget_mark", "budgets", "layers", "blocks",
                 "path", "source", "node")
    name: str
    description: str | None
    input_shape: tuple[int, ...]
    max_params: int | None
    budget_mark: Any
    budgets: dict[str, tuple[int, Any]]
    layers: list[Any]
    blocks: dict[str, Any]
    path: str
    source: str
    node: Any

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


# -- sizes -------------------------------------------------------------------------------

# What people type: 61706, 60k, 1.5M, 7B, 1e8, 1.5e9, 100_000_000. ASCII digits only (\d matches any
# script's), underscores only between digits, a scale suffix or a decimal exponent (not both). The
# schema uses this pattern as it is, so it holds no Python-only syntax.
_SIZE = r"([0-9]+(?:_[0-9]+)*)(?:\.([0-9]+(?:_[0-9]+)*))?(?:[eE]([+-]?[0-9]+)|([kKMBGT]))?"
_SCALE = {"": 0, "k": 3, "K": 3, "M": 6, "B": 9, "G": 9, "T": 12}  # powers of ten
SIZE_EXAMPLES = "61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"


def parse_size(text: str) -> int:
    """'61706', '60k', '1.5M', '7B', '1e8', '1.5e9', '100_000_000' to an int, exactly; ValueError for
    anything else, a result that is not a whole number included."""
    m = re.fullmatch(_SIZE, text)
    if not m:
        raise ValueError(f"{quote(text)} is not a size like {SIZE_EXAMPLES}")
    whole, frac = m.group(1).replace("_", ""), (m.group(2) or "").replace("_", "")
    exponent = m.group(3) or ""
    if len(whole) + len(frac) + len(exponent.lstrip("+-")) > MAX_DIGITS:
        raise ValueError(f"{quote(text)} has more than {MAX_DIGITS} digits")
    mantissa = int(whole + frac)
    power = (int(exponent) if exponent else _SCALE[m.group(4) or ""]) - len(frac)  # value = mantissa * 10**power
    if mantissa == 0:
        raise ValueError(f"{quote(text)} must be more than zero")
    if power >= 0:
        if len(str(mantissa)) + power > MAX_DIGITS:  # 1e999999 is one digit written, a million computed
            raise ValueError(f"{quote(text)} has more than {MAX_DIGITS} digits")
        return mantissa * 10**power
    # mantissa < 10**MAX_DIGITS: dividing by a larger power of ten never gives a whole number
    if -power > MAX_DIGITS or mantissa % 10**-power:
        raise ValueError(f"{quote(text)} is not a whole number of parameters")
    return mantissa // 10**-power


def size(v):
    if isinstance(v, str):
        try:
            return parse_size(v)
        except ValueError as e:
            raise Invalid(str(e)) from None
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    raise Invalid(f"must be a positive whole number like 61706, 60k or 1.5M, got {describe(v)}")


# -- YAML to marked nodes ----------------------------------------------------------------


def decode(data, path):
    """Bytes to text: UTF-8, an optional BOM dropped; a bad byte is reported where it stands."""
    if len(data) > MAX_BYTES:
        fail(path, None, f"a spec may hold at most {MAX_BYTES:,} bytes; this one holds more")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = text_position(body[:e.start].decode("utf-8"))
        raise SpecError([Problem(path, line, col, f"not UTF-8: byte 0x{body[e.start]:02x}")]) from None


_LIBYAML = issubclass(Loader, getattr(yaml, "CSafeLoader", ()))


def _yaml_message(e):
    """The parser's problem with its context: 'X while parsing Y started at L:C'."""
    problem, context = (e.problem or "").strip(), (e.context or "").strip()
    if not (problem and context):
        return problem or context or "invalid YAML"
    if problem.startswith("but "):  # "expected a single document in the stream, but found another document"
        return f"{context}, {problem}"
    message = f"{problem} {context}"
    start, here = position(e.context_mark), position(e.problem_mark)
    return message + (f" started at {start[0]}:{start[1]}" if e.context_mark and start != here else "")


def _at_tab(text, mark):
    """Whether the parser stopped at a tab: YAML refuses tabs in indentation, and says so obscurely."""
    if mark is None:
        return False
    lines = _BREAK.split(text)  # a mark's line counts the breaks YAML counts; its column, characters
    return mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t"


def compose(text, path):
    """Text to the root Node (None for an empty document); YAML syntax errors carry their position."""
    loader = Loader(text)
    try:
        root = loader.get_single_node()
        if root is None or (root.tag == _PLAIN and root.value in ("", "~", "null", "Null", "NULL")):
            return None  # no document, or `---` and nothing else
        check = _Checker(path)
        check.root = root  # the YAML node, not a Node: a Node holds its checker, and a cycle outlives the run
        return Node(root, check)
    except yaml.MarkedYAMLError as e:
        if _at_tab(text, e.problem_mark):  # libyaml: "found character that cannot start any token"
            fail(path, e.problem_mark, "tabs are not allowed in YAML indentation; use spaces")
        fail(path, e.problem_mark or e.context_mark, _yaml_message(e))
    except yaml.reader.ReaderError as e:
        # libyaml counts bytes of the UTF-8 text, PyYAML's own reader characters.
        before = text.encode()[:e.position].decode() if _LIBYAML else text[:e.position]
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise SpecError([Problem(path, *text_position(before), f"character U+{code:04X} is not allowed in YAML")]) from None
    except yaml.YAMLError as e:
        fail(path, None, f"invalid YAML: {e}")
    except RecursionError:  # the pure-Python parser, without libyaml's own depth limit
        fail(path, None, "nested too deeply")
    finally:
        loader.dispose()


# -- marked nodes to a typed spec --------------------------------------------------------


class _Checker:
    """Collects every schema problem of a file, so one run reports them all."""

    def __init__(self, path):
        self.path, self.problems, self.nodes, self.merging, self.root = path, [], 0, set(), None
        self.seen, self.hints = set(), {}

    def spend(self, node, n):
        """Count values read, aliases each time they are used: an alias bomb stops here."""
        self.nodes += n
        if self.nodes > MAX_NODES:
            message = f"the spec expands to more than {MAX_NODES:,} values (aliases count each time they are used)"
            self.stop(node.mark, message)

    def stop(self, mark, message):
        """A limit is reached: the problems so far in file order, then why the check stops."""
        raise LimitExceeded(SpecError(self.problems).problems + [Problem.at(self.path, mark, message)], ordered=True)

    def add(self, mark, message):
        problem = Problem.at(self.path, mark, message)
        if (problem.line, problem.col, message) in self.seen:  # an aliased layer, reported once
            return
        if len(self.problems) >= MAX_PROBLEMS:  # enough to act on; the rest would only cost time
            self.stop(mark, f"more problems follow; stopping after {MAX_PROBLEMS}")
        self.seen.add((problem.line, problem.col, message))
        self.problems.append(problem)

    def unknown(self, mapping, known, what, aliases=None, extensions=False):
        """Report keys that are not fields; with `extensions`, keys starting 'x-' hold anchors and notes."""
        for key in mapping.value:
            if key not in known and not (extensions and key.startswith("x-")):
                self.unknown_key(mapping, key, known, what, aliases)

    def unknown_key(self, mapping, key, known, what, aliases):
        hint = self.hints.get((key, what))  # the same misspelling in every use of an aliased layer
        if hint is None:
            hint = self.hints[key, what] = did_you_mean(key, known, aliases)
        if not hint and key in INFERRED:
            hint = "; paramcount reads it off the input shape"
        elif not hint and mapping.y is self.root and key in ANY_LAYER_FIELD:
            hint = "; a layer's fields go in an item of 'layers'"
        self.add(mapping.keys[key], f"{quote(key)} is not a field of {what}{hint}")

    def field(self, mapping, field, what):
        """A field's checked value, its default, or None after recording a problem."""
        entry = mapping.value.get(field.name)
        if entry is None:
            if field.default is Field.REQUIRED:
                self.add(mapping.mark, f"{what} is missing '{field.name}'")
            return field.default
        return self.checked(entry, field)

    def checked(self, entry, field):
        """A written value checked against its field; null stands for a default of none."""
        if field.default is None and isinstance(entry.y, yaml.ScalarNode) and entry.value is None:
            return None
        try:
            return field.check(plain(entry))
        except Invalid as e:
            self.add(entry.mark if e.index is None else entry.value[e.index].mark, f"{field.name} {e}")
        except LimitExceeded:
            raise
        except SpecError as e:  # a refused tag inside the value
            self.problems += e.problems
        return None

    def typed(self, node, kind, what):
        ok = isinstance(node.y, yaml.MappingNode if kind == "mapping" else yaml.SequenceNode) and node.value is not None
        if not ok:
            self.add(node.mark, f"{what} must be a {kind}, got {describe(plain(node))}")
        return ok


def plain(node):
    """A list's items as values; deeper nesting stays as Nodes, which no field accepts."""
    v = node.value
    return [i.value if isinstance(i.y, yaml.ScalarNode) else i for i in v] if isinstance(v, list) else v


def _text(v):
    """A name: non-empty text on one line."""
    if not (isinstance(v, str) and v.strip()):
        raise Invalid(f"must be text, got {describe(v)}")
    kind = unprintable(v)
    if kind:
        raise Invalid(f"must not hold {kind}, got {quote(v)}")
    return v


def _prose(v):
    """A description: text whose lines may break, without other control characters."""
    if not isinstance(v, str):
        raise Invalid(f"must be text, got {describe(v)}")
    kind = unprintable(v.replace("\n", " ").replace("\t", " "), "control characters")
    if kind:
        raise Invalid(f"must not hold {kind}, got {quote(v)}")
    return v


def _shape(v):
    what = "a list of positive integers, one per axis, without the batch axis"
    if not isinstance(v, list) or not v:
        raise Invalid(f"must be {what}, got {describe(v)}")
    if len(v) > MAX_RANK:
        raise Invalid(f"may have at most {MAX_RANK} axes, got {len(v)}")
    bad = first_bad(v, lambda i: is_int(i) and i > 0)
    if bad is not None:
        raise Invalid(f"must be {what}, got {describe(v[bad])}", bad)
    return tuple(v)


_TOP = {
    "name": Field("name", _text, None),
    "description": Field("description", _prose, ""),
    "input": Field("input", _shape),
    "budget": Field("budget", lambda v: v, None),
    "layers": Field("layers", lambda v: v),
}
BUDGET_KEYS = ("max_params", "max_trainable", "max_params_unshared", "max_layer_params")
_BUDGET = {k: Field(k, size) for k in BUDGET_KEYS}
_BUDGET_ALIASES = {"max": "max_params", "params": "max_params", "trainable": "max_trainable",
                   "unshared": "max_params_unshared", "layer_params": "max_layer_params",
                   "max_layer": "max_layer_params"}
_NAME = Field("name", _text, None)
_TRAINABLE = Field("trainable", boolean, True)
_KINDS = {_INT: "an integer", _FLOAT: "a number", _BOOL: "a boolean", _NULL: "nothing (null)", _TIMESTAMP: "a date"}


def _a_spec_at_all(check, root):
    """A document that is not a spec (not a mapping, or no 'layers') may be any file a symlink points
    at: say what it lacks, never what it holds, naming no key but near-misses of the spec's own."""
    y = root.y
    if y.tag not in _PLAIN_TAGS[type(y)]:
        root._refuse()
    if not isinstance(y, yaml.MappingNode):
        tag = _RESOLVER.resolve(yaml.ScalarNode, y.value, (True, False)) if y.tag == _PLAIN else y.tag
        kind = "a list" if isinstance(y, yaml.SequenceNode) else _KINDS.get(tag, "text")
        fail(check.path, root.mark, f"a spec must be a mapping, got {kind}")
    try:
        if "layers" in root.value:
            return
        keys = root.value
    except LimitExceeded:
        raise
    except SpecError:  # a key that cannot be read: its own problem, in a spec; here, nothing of it
        if any(isinstance(k, yaml.ScalarNode) and k.value == "layers" for k, _ in y.value):
            raise
        keys = {}
    check.problems = []  # a duplicate key, say, would quote the file
    aliases = {"input_shape": "input", "model": "name"}
    for key in keys:
        if key not in TOP_FIELDS and (key in ANY_LAYER_FIELD or key in INFERRED or did_you_mean(key, TOP_FIELDS, aliases)):
            check.unknown_key(root, key, TOP_FIELDS, "a spec", aliases)
    for field in ("input", "layers"):
        if field not in keys:
            check.add(root.mark, f"the spec is missing '{field}'")
    raise SpecError(check.problems)


def build(root, path, source, default_name):
    """Marked nodes to a Spec; raises SpecError listing every schema problem."""
    if root is None:
        fail(path, None, "empty spec; expected a mapping with 'input' and 'layers'")
    check = root.check
    _a_spec_at_all(check, root)
    check.unknown(root, TOP_FIELDS, "a spec", {"input_shape": "input", "model": "name"}, extensions=True)
    for key, entry in root.value.items():
        if key.startswith("x-"):
            _check_tags(check, entry.y)
    top = {k: check.field(root, f, "the spec") for k, f in _TOP.items()}
    budgets = _budgets(check, root.value.get("budget") if top["budget"] is not None else None)
    max_params, budget_mark = budgets.get("max_params", (None, None))
    from .tree import Parser  # the structure: leaves, composites, blocks

    parser = Parser(check, _TRAINABLE, _NAME)
    parser.parse_blocks(root.value.get("blocks"))
    layers = []
    entry = root.value.get("layers")
    if entry is not None:
        if isinstance(entry.y, yaml.SequenceNode) and len(entry.y.value) > MAX_LAYERS:
            fail(path, entry.mark, f"a spec may have at most {MAX_LAYERS:,} layers; this one has {len(entry.y.value):,}")
        layers = parser.items(entry, "layers")
    if check.problems:
        raise SpecError(check.problems)
    return Spec(name=top["name"] or default_name, description=top["description"], input_shape=top["input"],
                max_params=max_params, budget_mark=budget_mark, budgets=budgets, layers=layers, blocks=parser.blocks,
                path=path, source=source, node=root)


def _budgets(check, budget):
    """The spec's `budget:` as {key: (limit, mark of its value)}, in BUDGET_KEYS order; null means none."""
    if budget is None or not check.typed(budget, "mapping", "budget"):
        return {}
    check.unknown(budget, BUDGET_KEYS, "budget", _BUDGET_ALIASES)
    if not any(k in budget.value for k in BUDGET_KEYS):
        if not budget.value:  # `budget: {}`; a misspelt key is reported above
            check.add(budget.mark, "budget is missing 'max_params'")
        return {}
    found = {}
    for key in BUDGET_KEYS:
        entry = budget.value.get(key)
        if entry is None:
            continue
        y = entry.y
        if (isinstance(y, yaml.ScalarNode) and not y.style and isinstance(entry.value, float)
                and "e" in y.value.lower()):
            try:  # YAML 1.1 reads `1.5e+9` as a float; the written text is exact
                limit = size(y.value)
            except Invalid as e:
                check.add(entry.mark, f"{key} {e}")
                limit = None
        else:
            limit = check.checked(entry, _BUDGET[key])
        if limit is not None:
            found[key] = (limit, entry.mark)
    return found


_PLAIN_TAGS = {
    yaml.ScalarNode: {_PLAIN, _STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP},
    yaml.SequenceNode: {_SEQ},
    yaml.MappingNode: {_MAP, _MERGE},
}


def _check_tags(check, y):
    """Refuse any other tag in an `x-` value, which the spec never reads; each node once, however aliased."""
    seen, todo = set(), [y]
    while todo:
        y = todo.pop()
        if id(y) in seen:
            continue
        seen.add(id(y))
        if y.tag not in _PLAIN_TAGS[type(y)]:
            check.add(y.start_mark, _refusal(y))
        if isinstance(y, yaml.SequenceNode):
            todo += y.value
        elif isinstance(y, yaml.MappingNode):
            for pair in y.value:
                todo += pair


def load_text(text: str, path: str = "<string>", source: str | None = None, name: str | None = None) -> Spec:
    """A spec from YAML text; `path` is what errors name, and its stem the default model name."""
    if name is None:
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        name = "model" if path.startswith("<") or not stem else stem
    try:
        return build(compose(text, path), path, source or path, name)
    except RecursionError:  # a backstop: anchors and merges are checked for cycles above
        fail(path, None, "the spec nests too deeply")
