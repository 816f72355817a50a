"""A spec's structure, parsed from marked nodes: leaf layers, composites and block uses.

Parsing checks everything that needs no input shape and reports every problem of a file at once;
values that name block arguments (`$name`, `${...}`) are kept as expressions and checked when the
block is used (analyze.py), with the block's input shape known. Names are given here, once per
namespace, so every use of a block names its layers alike.
"""

import re

import yaml

from .errors import LimitExceeded, SpecError, did_you_mean, quote
from .expr import Expr, ExprError, is_expr
from .layers import ANY_LAYER_FIELD, REGISTRY, TYPE_ALIASES, Field, Invalid, boolean, describe, is_int
from .limits import MAX_NESTING

COMPOSITES = ("sequence", "residual", "parallel")
MERGES = ("concat", "add", "multiply")
SHAPE_NAMES = ("in_channels", "in_features")  # what every expression may read besides arguments
ITEM_FIELDS = ("type", "name", "trainable", "repeat", "shared")  # every item takes these; leaves add `tie`
_GROUP_FIELDS = {"sequence": ("layers",), "residual": ("body", "shortcut"), "parallel": ("branches", "merge", "axis")}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
REQUIRED = "required"  # an argument's default that marks it as one to give


class Item:
    """Anything in a list of layers. `name` is filled per namespace after parsing."""

    __slots__ = ("node", "name", "repeat", "shared", "trainable")

    def mark_of(self, field):
        """Where `field`'s value is written, or the item itself when it is not written."""
        entry = self.node.value.get(field) if field else None
        return entry.mark if entry is not None else self.node.mark


class Leaf(Item):
    """A layer of a registry type. `cfg` holds checked values and, where `deferred`, expressions."""

    __slots__ = ("kind", "cfg", "deferred", "tie")


class Group(Item):
    """sequence / residual / parallel. `transparent`: an unnamed residual adds no level to paths."""

    __slots__ = ("form", "body", "shortcut", "branches", "merge", "axis", "transparent")


class Branch:
    """A parallel branch or a residual's shortcut: its own namespace."""

    __slots__ = ("name", "items", "node", "given")

    def __init__(self, name, items, node, given):
        self.name, self.items, self.node, self.given = name, items, node, given

    def mark_of(self, field):
        return self.node.mark


class Use(Item):
    """A use of a block, with its written arguments (values or expressions)."""

    __slots__ = ("block", "args")


class Block:
    __slots__ = ("name", "node", "params", "items", "uses")

    def __init__(self, name, node):
        self.name, self.node, self.params, self.items, self.uses = name, node, {}, [], []


class Parser:
    def __init__(self, check, trainable_field, name_field):
        self.check, self.blocks, self.depth = check, {}, 0
        self.allowed = set(SHAPE_NAMES)  # names an expression here may read
        self.uses = None  # the block being parsed records the blocks it uses
        self._trainable, self._name = trainable_field, name_field

    # -- blocks --------------------------------------------------------------------------

    def parse_blocks(self, entry):
        check = self.check
        if entry is None or not check.typed(entry, "mapping", "blocks"):
            return
        for name in entry.value:  # every name first: blocks may use blocks defined after them
            mark = entry.keys[name]
            if not _IDENT.fullmatch(name) or len(name) > 64:
                check.add(mark, f"block name {quote(name)} must be a word of letters, digits, '_' or '-'")
            elif name in REGISTRY or name in COMPOSITES:
                check.add(mark, f"block name {quote(name)} is already a layer type")
            else:
                self.blocks[name] = Block(name, entry.value[name])
        typed = [b for b in self.blocks.values() if check.typed(b.node, "mapping", f"block '{b.name}'")]
        for block in typed:  # every block's arguments before any block's layers, which may use them
            self._parse_args(block)
        for block in typed:
            self._parse_layers(block)
        self._refuse_cycles()

    def _parse_args(self, block):
        check, node = self.check, block.node
        check.unknown(node, ("args", "layers", "description"), f"block '{block.name}'", extensions=True)
        args = node.value.get("args")
        if args is not None and check.typed(args, "mapping", f"the args of block '{block.name}'"):
            for arg, value in args.value.items():
                if not _IDENT.fullmatch(arg) or "-" in arg or len(arg) > 64:
                    check.add(args.keys[arg], f"argument name {quote(arg)} must be a word of letters, digits or '_', "
                                              "at most 64")
                elif arg in ITEM_FIELDS or arg == "tie" or arg in SHAPE_NAMES:
                    check.add(args.keys[arg], f"argument name {quote(arg)} is reserved")
                else:
                    v = _plain_value(value)
                    block.params[arg] = Field.REQUIRED if v == REQUIRED else v

    def _parse_layers(self, block):
        check, node = self.check, block.node
        layers = node.value.get("layers")
        if layers is None:
            check.add(node.mark, f"block '{block.name}' is missing 'layers'")
            return
        saved = self.allowed, self.uses
        self.allowed, self.uses = set(SHAPE_NAMES) | set(block.params), block.uses
        try:
            block.items = self.items(layers, f"the layers of block '{block.name}'")
        finally:
            self.allowed, self.uses = saved

    def _refuse_cycles(self):
        """A block that uses itself, directly or through others, is refused at the use that closes the loop.
        Depth-first without recursion: a chain of thousands of blocks is as cheap as a short one."""
        state = {}  # name -> 1 while on the path, 2 when done
        for start in self.blocks.values():
            if start.name in state:
                continue
            path, stack = [start.name], [iter(start.uses)]
            state[start.name] = 1
            while stack:
                use = next(stack[-1], None)
                if use is None:
                    state[path.pop()] = 2
                    stack.pop()
                    continue
                target = use.block
                if state.get(target.name) == 1:
                    loop = path[path.index(target.name):] + [target.name]
                    if len(loop) > 8:
                        loop = loop[:3] + [f"… {len(loop) - 6} more …"] + loop[-3:]
                    self.check.add(use.mark_of("type"), f"block '{target.name}' uses itself ({' → '.join(loop)})")
                elif target.name not in state:
                    state[target.name] = 1
                    path.append(target.name)
                    stack.append(iter(target.uses))

    # -- lists and items -----------------------------------------------------------------

    def items(self, entry, what, by_index=False, named=True):
        """A list of layers, each parsed, then named (an unnamed residual's body is named with its surroundings)."""
        check = self.check
        if not check.typed(entry, "list", what):
            return []
        if not entry.value:
            check.add(entry.mark, f"{what} must list at least one layer")
        self.depth += 1
        if self.depth > MAX_NESTING:
            check.stop(entry.mark, f"layers nest more than {MAX_NESTING} deep")
        try:
            items = [self._item(n, i) for i, n in enumerate(entry.value, 1)]
        finally:
            self.depth -= 1
        items = [i for i in items if i is not None]
        if named:
            name_items(check, items, by_index)
        return items

    def _item(self, node, index):
        try:
            return self._checked_item(node, index)
        except LimitExceeded:
            raise
        except SpecError as e:  # a refused tag: report it and go on to the next layer
            self.check.problems += e.problems
            return None

    def _checked_item(self, node, index):
        check = self.check
        if not isinstance(node.y, yaml.MappingNode) and not check.typed(node, "mapping", f"layer {index}"):
            return None
        entries = node.value
        type_node = entries.get("type")
        if type_node is None:
            check.add(node.mark, f"layer {index} is missing 'type'")
            check.unknown(node, ANY_LAYER_FIELD + ("tie",), "any layer type")
            return None
        type_name = type_node.value
        if isinstance(type_name, str) and type_name in REGISTRY:
            item = self._leaf(node, REGISTRY[type_name], index)
        elif type_name in COMPOSITES:
            item = self._group(node, type_name)
        elif isinstance(type_name, str) and type_name in self.blocks:
            item = self._use(node, self.blocks[type_name], index)
        else:
            hint = ""
            if isinstance(type_name, str):
                hint = did_you_mean(type_name, list(REGISTRY) + list(COMPOSITES) + list(self.blocks), TYPE_ALIASES)
            check.add(type_node.mark, f"unknown layer type {describe(type_name)}{hint}")
            return None
        self._common(item, node)
        return item

    def _common(self, item, node):
        """name, repeat, shared, trainable: what every item takes."""
        check, entries = self.check, node.value
        item.node, item.name = node, None
        item.trainable = True
        if "name" in entries:
            item.name = check.checked(entries["name"], self._name)
        if "trainable" in entries:
            item.trainable = check.checked(entries["trainable"], self._trainable)
        item.repeat = 1
        if "repeat" in entries:
            item.repeat = self._value(entries["repeat"], _REPEAT)
        item.shared = False
        if "shared" in entries:
            item.shared = check.checked(entries["shared"], _SHARED)
            if item.shared and item.repeat == 1:
                check.add(entries["shared"].mark, "shared needs 'repeat': it shares one set of weights among the copies")

    def _value(self, entry, field):
        """A field's checked value, or an Expr (or a list holding some) to check when the block is used."""
        check = self.check
        y = entry.y
        if isinstance(y, yaml.ScalarNode) and is_expr(entry.value):
            return self._expr(entry)
        if isinstance(y, yaml.SequenceNode) and any(isinstance(i.y, yaml.ScalarNode) and is_expr(i.value) for i in entry.value):
            return [self._expr(i) if isinstance(i.y, yaml.ScalarNode) and is_expr(i.value) else
                    (i.value if isinstance(i.y, yaml.ScalarNode) else i) for i in entry.value]
        return check.checked(entry, field)

    def _expr(self, entry):
        try:
            expr = Expr(entry.value)
        except ExprError as e:
            self.check.add(entry.mark, f"{quote(entry.value)}: {e}")
            return None
        for name in sorted(expr.names() - self.allowed):
            known = _listed(sorted(self.allowed))
            self.check.add(entry.mark, f"{quote(entry.value)} names no argument {quote(name)}"
                                       f"{did_you_mean(name, self.allowed)} (known here: {known})")
        return expr

    def _leaf(self, node, kind, index):
        check, entries = self.check, node.value
        leaf = Leaf()
        leaf.kind, leaf.tie, leaf.deferred = kind, None, False
        cfg, fields = dict(kind.defaults), kind.field_by_name
        for key, entry in entries.items():  # one pass over what is written; defaults are already in
            field = fields.get(key)
            if field is not None:
                value = cfg[key] = self._value(entry, field)
                if isinstance(value, (Expr, list)) and _has_expr(value):
                    leaf.deferred = True
            elif key == "tie":
                leaf.tie = check.checked(entry, self._name)
            elif key not in ITEM_FIELDS:
                check.unknown_key(node, key, kind.known + ITEM_FIELDS[3:] + ("tie",), kind.name, kind.aliases)
        for required in kind.required:
            if required not in entries:
                check.add(node.mark, f"{kind.name} layer {index} is missing '{required}'")
                cfg[required] = None
        leaf.cfg = cfg
        if not leaf.deferred and None not in (cfg.get(r, 0) for r in kind.required):
            problem = finish(kind, cfg)
            if problem is not None:
                field, message = problem
                entry = entries.get(field) if field else None
                check.add(entry.mark if entry is not None else node.mark, message)
        return leaf

    def _group(self, node, form):
        check, entries = self.check, node.value
        group = Group()
        group.form, group.body, group.shortcut, group.branches = form, [], None, []
        group.merge, group.axis = "concat", 0
        group.transparent = form == "residual" and "name" not in entries and "repeat" not in entries
        check.unknown(node, ITEM_FIELDS + _GROUP_FIELDS[form], form)
        if form == "sequence":
            group.body = self._required(node, "layers", form, by_index=True)
        elif form == "residual":
            group.body = self._required(node, "body", form, named=False)
            if "shortcut" in entries:
                group.shortcut = self._branch(entries["shortcut"], "shortcut", "the shortcut")
            if not group.transparent:
                name_items(check, [group], False, inside=True)
        else:
            entry = entries.get("branches")
            if entry is None:
                check.add(node.mark, "parallel is missing 'branches'")
            elif check.typed(entry, "list", "branches"):
                if len(entry.value) < 2:
                    check.add(entry.mark, "parallel needs at least two branches")
                group.branches = [self._branch(b, str(i), f"branch {i}") for i, b in enumerate(entry.value)]
                _refuse_duplicates(check, group.branches)
            if "merge" in entries:
                group.merge = check.checked(entries["merge"], _MERGE) or "concat"
            if "axis" in entries:
                group.axis = check.checked(entries["axis"], _AXIS) or 0
                if group.merge != "concat":
                    check.add(entries["axis"].mark, f"axis applies to merge: concat, not {group.merge}")
        return group

    def _required(self, node, key, form, by_index=False, named=True):
        entry = node.value.get(key)
        if entry is None:
            self.check.add(node.mark, f"{form} is missing '{key}'")
            return []
        return self.items(entry, f"{key} of {form}", by_index, named)

    def _branch(self, entry, default, what):
        """A list of layers, or {name: NAME, layers: [...]}."""
        check = self.check
        if isinstance(entry.y, yaml.MappingNode) and entry.value is not None:
            check.unknown(entry, ("name", "layers"), what)
            name = check.checked(entry.value["name"], self._name) if "name" in entry.value else None
            layers = entry.value.get("layers")
            if layers is None:
                check.add(entry.mark, f"{what} is missing 'layers'")
                return Branch(name or default, [], entry, name is not None)
            return Branch(name or default, self.items(layers, what, by_index=True), entry, name is not None)
        return Branch(default, self.items(entry, what, by_index=True), entry, False)

    def _use(self, node, block, index):
        check, entries = self.check, node.value
        use = Use()
        use.block, use.args = block, {}
        for key, entry in entries.items():
            if key in ITEM_FIELDS:
                continue
            if key not in block.params:
                hint = did_you_mean(key, block.params)
                known = _listed(list(block.params)) or "none"
                check.add(node.keys[key], f"{quote(key)} is not an argument of block '{block.name}'{hint} (arguments: {known})")
                continue
            y = entry.y
            if isinstance(y, yaml.ScalarNode) and is_expr(entry.value):
                use.args[key] = self._expr(entry)
            elif isinstance(y, yaml.MappingNode):
                check.add(entry.mark, f"argument '{key}' must be a value or a list, got a mapping")
            else:
                use.args[key] = self._value(entry, _ANY)
        for param, default in block.params.items():
            if default is Field.REQUIRED and param not in entries:
                check.add(node.mark, f"block '{block.name}' needs argument '{param}'")
        if self.uses is not None:
            self.uses.append(use)
        return use


def _listed(names, most=10):
    """Names for a message: the first few, and how many more."""
    return ", ".join(names[:most]) + (f", and {len(names) - most:,} more" if len(names) > most else "")


def _has_expr(value):
    return isinstance(value, Expr) or (isinstance(value, list) and any(isinstance(v, Expr) for v in value))


def _plain_value(node):
    v = node.value
    if isinstance(v, list):
        return [i.value if isinstance(i.y, yaml.ScalarNode) else i for i in v]
    return v


def finish(kind, cfg):
    """Defaults that depend on other fields, then the type's config-only checks: (field, message) or None."""
    kind.complete(cfg)
    validate = getattr(kind, "validate", None)
    if validate is None:
        return None
    try:
        validate(cfg)
    except Invalid as e:
        field = getattr(e, "field", None)
        return field, (f"{field} {e}" if field and not str(e).startswith(field) else str(e))
    return None


def _positive_or_expr(v):
    if is_int(v) and v > 0:
        return v
    raise Invalid(f"must be a positive integer, got {describe(v)}")


def _axis(v):
    if is_int(v):
        return v
    raise Invalid(f"must be an integer (negative counts from the end), got {describe(v)}")


def _merge(v):
    if isinstance(v, str) and v in MERGES:
        return v
    raise Invalid(f"must be one of {', '.join(MERGES)}, got {describe(v)}"
                  f"{did_you_mean(v, MERGES) if isinstance(v, str) else ''}")


_REPEAT = Field("repeat", _positive_or_expr, 1)
_SHARED = Field("shared", boolean, False)
_MERGE = Field("merge", _merge, "concat")
_AXIS = Field("axis", _axis, 0)
_ANY = Field("argument", lambda v: v, None)


# -- names -------------------------------------------------------------------------------


def members(items):
    """What shares a namespace: the items, and through an unnamed residual its body and shortcut."""
    for item in items:
        if isinstance(item, Group) and item.transparent:
            yield from members(item.body)
            if item.shortcut is not None:
                yield item.shortcut
        else:
            yield item


def name_items(check, items, by_index, inside=False):
    """Default names: position in a sequence, else the type counted from 1; a name is used once.
    `inside`: name what a named residual holds, as its own namespace."""
    counts, seen = {}, {}
    for position, item in enumerate(members(items[0].body + ([items[0].shortcut] if items[0].shortcut else []))
                                    if inside else members(items)):
        if isinstance(item, Branch):
            if not item.given and item.name in seen:  # a second unnamed residual's shortcut
                item.name = f"{item.name}_{sum(1 for n in seen if n.startswith('shortcut')) + 1}"
        elif item.name is None:
            type_name = type_of(item)
            n = counts[type_name] = counts.get(type_name, 0) + 1
            item.name = str(position) if by_index else f"{type_name}_{n}"
        if item.name in seen:
            from .errors import position as line_of

            first = seen[item.name].mark_of("name")
            check.add(item.mark_of("name"), f"layer name {quote(item.name)} is already used (line {line_of(first)[0]})")
        seen.setdefault(item.name, item)


def _refuse_duplicates(check, branches):
    seen = set()
    for b in branches:
        if b.name in seen:
            check.add(b.node.mark, f"branch name {quote(b.name)} is already used")
        seen.add(b.name)


def type_of(item):
    if isinstance(item, Leaf):
        return item.kind.name
    if isinstance(item, Use):
        return item.block.name
    return item.form
