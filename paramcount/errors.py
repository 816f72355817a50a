"""One error type with a location, so every failure prints as PATH:LINE:COL."""

import re
from collections.abc import Iterable
from typing import Any, NoReturn

# What YAML counts as a line break (libyaml and PyYAML alike).
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# Characters that print as nothing yet change how the text around them reads: Unicode's
# bidirectional controls (the "Trojan Source" trick), zero-width and other invisible formatting,
# and the fillers and joiners that pass for nothing (U+3164 makes `admin\u3164` look like `admin`).
INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
             "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U0001bca0-\U0001bca3"
             "\U000e0000-\U000e007f")
# What would break an error's one line, drive a terminal or disguise text: C0 and C1 controls,
# Unicode line separators, the invisible characters above, and lone surrogates (a file name that
# is not UTF-8, as os.fsdecode gives it), which a strict UTF-8 stream cannot print.
CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{INVISIBLE}\ud800-\udfff]")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
PATH_LIMIT = 4096  # Linux's PATH_MAX: a longer one (from the command line) is cut in messages
_PARTIAL_ESCAPE = re.compile(r"\\(?:x[0-9a-f]?|u[0-9a-f]{0,3}|U[0-9a-f]{0,7})?$")


def one_line(text):
    """`text` with every control, invisible or unprintable character and line break written as an escape."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def clean(text, limit=None):
    """Any text bound for output (a name, a stem, a description, a path): one line, every control,
    invisible character and lone surrogate escaped, and cut to `limit` characters with '…'."""
    text = str(text)
    if limit is None:
        return one_line(text)
    head = one_line(text[: limit + 1])  # the rest would be cut anyway: long text costs nothing more
    if len(text) <= limit and len(head) <= limit:
        return head
    return _PARTIAL_ESCAPE.sub("", head[: max(limit - 1, 0)]) + "…"  # no escape cut in half


def unprintable(text, control="control characters or line breaks"):
    """What kind of forbidden character `text` holds, for a message; None when it holds none."""
    m = CONTROL.search(text)
    if m is None:
        return None
    if _INVISIBLE.match(m.group()):
        return f"invisible or text-direction characters (U+{ord(m.group()):04X})"
    return control


def quote(text, limit=60):
    """A user's text for a message: quoted, escaped, and cut short if long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def position(mark):
    """1-based (line, column) of a 0-based YAML mark: the one place the two meet."""
    return (1, 1) if mark is None else (mark.line + 1, mark.column + 1)


def text_position(before):
    """1-based (line, column) just after the text `before`, counting lines as YAML does."""
    lines = _BREAK.split(before)
    return len(lines), len(lines[-1]) + 1


class Problem:
    """A message at a 1-based line and column of a source."""

    __slots__ = ("path", "line", "col", "message")
    path: str
    line: int
    col: int
    message: str

    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        self.path, self.line, self.col, self.message = path, line, col, message

    @classmethod
    def at(cls, path: str, mark: Any, message: str) -> "Problem":
        """From a YAML mark (None: the start of the file)."""
        return cls(path, *position(mark), message)

    def __str__(self) -> str:  # one line, whatever the path or message hold; a path as long as any can be
        return f"{clean(self.path, PATH_LIMIT)}:{self.line}:{self.col}: {one_line(self.message)}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class SpecError(Exception):
    """Bad input: one or more problems, reported in file order."""

    problems: list[Problem]

    def __init__(self, problems: Iterable[Problem], ordered: bool = False) -> None:
        self.problems = list(problems) if ordered else sorted(problems, key=lambda p: (p.line, p.col))
        super().__init__("\n".join(map(str, self.problems)))


class LimitExceeded(SpecError):
    """A bound on hostile input was reached: the check stops here rather than collecting more."""


def fail(path: str, mark: Any, message: str) -> NoReturn:
    raise SpecError([Problem.at(path, mark, message)])


def did_you_mean(word, choices, aliases=None, cutoff=0.6):
    """A ' did you mean ...?' suffix, or ''. Aliases map foreign names (torch, Keras) to ours."""
    if not isinstance(word, str) or len(word) > 64:  # nothing that long is a name of ours
        return ""
    key = word.lower().replace("_", "").replace("-", "")
    for alias, target in (aliases or {}).items():
        if alias.lower().replace("_", "") == key:
            return f"; did you mean '{target}'?"
    import difflib  # only on the error path: keeps start-up lean

    folded = {c.lower().replace("_", "").replace("-", ""): c for c in choices}
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=cutoff)
    return f"; did you mean '{folded[close[0]]}'?" if close else ""
