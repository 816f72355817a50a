"""Block arguments in field values: `$name` and `${integer arithmetic}`.

A small recursive-descent parser of our own (never `eval`): integers, names, `+ - * //`,
unary minus and parentheses. Every intermediate result is held to the same digit limit
as integers written in a spec, so no expression can grow without bound.
"""

import re

from .limits import MAX_DIGITS, MAX_EXPR_CHARS

_TOKEN = re.compile(r"\s*(?:([0-9]+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))")
_BITS = int(MAX_DIGITS * 3.3219280948873626) + 1  # bits of a MAX_DIGITS-digit integer


class ExprError(Exception):
    pass


class Expr:
    """A field value that names block arguments; evaluated when the block is used."""

    __slots__ = ("text", "ref", "tree")

    def __init__(self, text):
        self.text = text
        if len(text) > MAX_EXPR_CHARS:
            raise ExprError(f"an expression may hold at most {MAX_EXPR_CHARS} characters")
        if text.startswith("${") and text.endswith("}"):
            self.ref, self.tree = None, _Parser(text[2:-1]).parse()
        elif re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", text):
            self.ref, self.tree = text[1:], None
        else:
            raise ExprError("must be '$name' or '${arithmetic}' (quote it in a flow mapping: \"${a * 4}\")")

    def names(self):
        if self.ref is not None:
            return {self.ref}
        out, todo = set(), [self.tree]
        while todo:
            t = todo.pop()
            if isinstance(t, str):
                out.add(t)
            elif isinstance(t, tuple):
                todo += t[1:]
        return out

    def evaluate(self, scope):
        """The value in `scope` (a dict of argument values); ExprError says what is wrong."""
        if self.ref is not None:
            if self.ref not in scope:
                raise ExprError(_unknown(self.ref, scope))
            return scope[self.ref]
        return _eval(self.tree, scope)


def is_expr(v):
    return isinstance(v, str) and v.startswith("$")


def _unknown(name, scope):
    from .errors import did_you_mean

    known = ", ".join(sorted(scope)) or "none"
    return f"no argument '{name}' here{did_you_mean(name, scope)} (known: {known})"


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'//') unary)*; unary := '-' unary | atom."""

    def __init__(self, text):
        self.tokens, pos = [], 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ExprError(f"cannot read {text[pos:pos + 10]!r} in an expression; "
                                "it may hold integers, argument names, + - * // and parentheses")
            if m.group(1) is not None and len(m.group(1)) > MAX_DIGITS:
                raise ExprError(f"an integer may have at most {MAX_DIGITS} digits")
            if m.group(1) is not None and len(m.group(1)) > 1 and m.group(1)[0] == "0":
                # YAML 1.1 reads 010 as octal 8, Python refuses it: neither reading is safe to guess
                raise ExprError(f"write {m.group(1)} without its leading zero")
            self.tokens.append(int(m.group(1)) if m.group(1) is not None else m.group(2) or m.group(3))
            pos = m.end()
        self.i, self.depth = 0, 0

    def parse(self):
        if not self.tokens:
            raise ExprError("empty expression")
        tree = self.sum()
        if self.i < len(self.tokens):
            raise ExprError(f"unexpected {self.tokens[self.i]!r} in an expression")
        return tree

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def sum(self):
        tree = self.term()
        while self.peek() in ("+", "-"):
            self.i += 1
            tree = (self.tokens[self.i - 1], tree, self.term())
        return tree

    def term(self):
        tree = self.unary()
        while self.peek() in ("*", "//"):
            self.i += 1
            tree = (self.tokens[self.i - 1], tree, self.unary())
        return tree

    def unary(self):
        if self.peek() == "-":
            self.i += 1
            self.nest()
            return ("neg", self.unary())
        return self.atom()

    def nest(self):
        self.depth += 1
        if self.depth > 50:
            raise ExprError("an expression nests too deeply")

    def atom(self):
        t = self.peek()
        self.i += 1
        if t == "(":
            self.nest()
            tree = self.sum()
            if self.peek() != ")":
                raise ExprError("a '(' is not closed")
            self.i += 1
            return tree
        if isinstance(t, int) or (isinstance(t, str) and t not in ("+", "-", "*", "//", ")")):
            return t
        raise ExprError("an expression ends too soon" if t is None else f"unexpected {t!r} in an expression")


def _eval(tree, scope):
    if isinstance(tree, int):
        return tree
    if isinstance(tree, str):
        if tree not in scope:
            raise ExprError(_unknown(tree, scope))
        v = scope[tree]
        if not isinstance(v, int) or isinstance(v, bool):
            raise ExprError(f"'{tree}' is not an integer, so it cannot be used in arithmetic")
        return v
    if tree[0] == "neg":
        return -_eval(tree[1], scope)
    op, a, b = tree[0], _eval(tree[1], scope), _eval(tree[2], scope)
    if op == "//":
        if b == 0:
            raise ExprError("division by zero")
        result = a // b
    elif op == "*":
        if a.bit_length() + b.bit_length() > _BITS + 1:
            raise ExprError(f"the result has more than {MAX_DIGITS} digits")
        result = a * b
    else:
        result = a + b if op == "+" else a - b
    if result.bit_length() > _BITS:
        raise ExprError(f"the result has more than {MAX_DIGITS} digits")
    return result
