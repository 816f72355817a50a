"""Two reports compared layer by layer, and a report checked against a baseline (issue 8).

Library only: the command line (`paramcount diff OLD NEW`, `--baseline FILE --max-growth PERCENT`)
calls these functions. Every percentage is computed with integers, never floats: a change is given
in tenths of a percent, rounded half away from zero, and a growth limit is compared exactly.
"""

import os
import re
import subprocess
import tempfile
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from . import render
from .errors import clean, fail
from .limits import MAX_BYTES
from .sources import load
from .spec import Spec, decode, load_text

if TYPE_CHECKING:
    from .analyze import LayerReport, Report

TOTALS = ("params", "trainable", "non_trainable", "weights", "biases")
COUNT_KEYS = ("weights", "biases", "trainable", "non_trainable", "params", "params_unshared")
STATUSES = ("added", "removed", "changed", "unchanged")
GIT_STDERR = 4096  # bytes of git's error output kept for the message
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


# -- OLD and NEW ---------------------------------------------------------------------------------


def is_git_revision(arg: str) -> bool:
    """Whether `diff` reads `arg` from git: `REV:PATH`, unless a file of that name exists (a file wins),
    it is '-', it starts with '-' (never handed to git as an option) or it is a Windows drive path."""
    if ":" not in arg or arg.startswith("-") or os.path.lexists(arg):
        return False
    return not (os.name == "nt" and _DRIVE.match(arg))


def load_revision(arg: str) -> Spec:
    """A spec as `paramcount diff` reads OLD and NEW: a file, a preset name, '-' (standard input), or
    `REV:PATH`, the file PATH at git revision REV (`HEAD~1:models/net.yaml`), read with `git show REV:PATH`
    in the current directory (no checkout; PATH is relative to the repository's root, or `./PATH` to
    the current directory, as git reads it). Errors are `SpecError`s naming `arg`, such as
    `REV:PATH:1:1: cannot read from git: invalid object name 'HEAD~9'`."""
    if not is_git_revision(arg):
        return load(arg)
    data = _git_show(arg)
    path = arg.split(":", 1)[1]
    stem = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return load_text(decode(data, arg), arg, arg, stem or "model")


def _git_show(arg):
    """The bytes of `git show ARG` (at most MAX_BYTES + 1: a larger file is refused by `decode`)."""
    if not arg.split(":", 1)[1].strip("/"):
        fail(arg, None, "cannot read from git: give a file's path after the ':'")
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1", GIT_PAGER="cat", PAGER="cat",
               LC_ALL="C", LANGUAGE="")
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: git cannot block writing to it
        try:
            proc = subprocess.Popen(["git", "--no-pager", "show", "--no-color", arg], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=errors, env=env)
        except OSError as e:
            why = "git is not installed" if isinstance(e, FileNotFoundError) else e.strerror or e
            fail(arg, None, f"cannot read from git: {why}")
        with proc:
            data = _read_at_most(proc.stdout, MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                proc.kill()  # the rest is not wanted: decode() refuses the spec by its size
            code = proc.wait()
        if len(data) > MAX_BYTES:
            return data
        if code != 0:
            errors.seek(0)
            fail(arg, None, f"cannot read from git: {_git_message(errors.read(GIT_STDERR), code)}")
    if data.startswith(b"tree " + arg.encode("utf-8", "surrogateescape") + b"\n\n"):
        fail(arg, None, "cannot read from git: a directory, not a spec file")
    return data


def _read_at_most(stream, limit):
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(limit - size, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _git_message(raw, code):
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    line = (fatal or lines or [f"git exited with status {code}"])[0]
    for prefix in ("fatal:", "error:"):
        if line.startswith(prefix):
            line = line[len(prefix):].strip()
    return clean(line, 200)


# -- comparing two reports -----------------------------------------------------------------------


class Side:
    """One leaf layer in one report: `counts` of one copy (as the JSON's leaf keys), `times` how often
    it occurs, `copies` how many sets of its weights the totals hold; `total` = params × copies."""

    __slots__ = ("path", "type", "output_shape", "counts", "times", "copies", "index")
    path: str
    type: str
    output_shape: tuple[int, ...]
    counts: dict[str, int]
    times: int
    copies: int
    index: int

    def __init__(self, leaf: "LayerReport", times: int, copies: int, index: int) -> None:
        d = leaf.as_dict(times, copies)
        self.path, self.type, self.output_shape = leaf.path, leaf.type, tuple(leaf.output_shape)
        self.counts = {k: d[k] for k in COUNT_KEYS}
        self.times, self.copies, self.index = times, copies, index

    @property
    def total(self) -> int:
        return self.counts["params"] * self.copies

    def same(self, other: "Side") -> bool:
        return (self.type == other.type and self.output_shape == other.output_shape and self.counts == other.counts
                and self.copies == other.copies and self.times == other.times)

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "type": self.type, "output_shape": list(self.output_shape)}
        d.update(self.counts)
        d.update(repeat=self.times, copies=self.copies, total_params=self.total)
        return d


class LayerDiff:
    """A leaf layer's change: `status` one of added / removed / changed / unchanged; `old` and `new`
    its Side in each report (None where absent); `change` = new total params - old total params.
    Changed: the type, output shape, one copy's counts, or how often it occurs differ; a layer only
    renamed (paired by position) is unchanged, its old path in `old.path`."""

    __slots__ = ("status", "old", "new")
    status: str
    old: Side | None
    new: Side | None

    def __init__(self, old: Side | None, new: Side | None) -> None:
        self.old, self.new = old, new
        self.status = ("added" if old is None else "removed" if new is None
                       else "unchanged" if old.same(new) else "changed")

    @property
    def path(self) -> str:
        return (self.new or self.old).path  # type: ignore[union-attr]  # never both None

    @property
    def change(self) -> int:
        return (self.new.total if self.new else 0) - (self.old.total if self.old else 0)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status,
                "old": self.old.to_dict() if self.old else None,
                "new": self.new.to_dict() if self.new else None,
                "params_change": self.change}


class TotalDiff:
    """One total (params, trainable, ...): old, new, change, and the change in tenths of a percent
    of old (None when old is 0: growth from nothing is "new")."""

    __slots__ = ("key", "old", "new")
    key: str
    old: int
    new: int

    def __init__(self, key: str, old: int, new: int) -> None:
        self.key, self.old, self.new = key, old, new

    @property
    def change(self) -> int:
        return self.new - self.old

    @property
    def tenths(self) -> int | None:
        return None if self.old == 0 else percent_tenths(self.old, self.new)

    @property
    def percent(self) -> str:
        """'+13.4', '-2.0', '0.0', or 'new' (from 0 to more), or '0.0' (0 to 0)."""
        if self.old == 0:
            return "new" if self.new else "0.0"
        return signed_tenths(self.tenths)

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "change": self.change, "percent": self.percent,
                "percent_tenths": self.tenths if self.old else None}


def percent_tenths(old: int, new: int) -> int:
    """(new - old) / old in tenths of a percent, rounded half away from zero, integers only; old > 0."""
    change = new - old
    tenths = (abs(change) * 2000 + old) // (2 * old)
    return tenths if change >= 0 else -tenths


def signed_tenths(tenths: int) -> str:
    """134 -> '+13.4', -20 -> '-2.0', 0 -> '0.0'."""
    sign = "+" if tenths > 0 else "-" if tenths < 0 else ""
    return sign + render.decimal(abs(tenths))


class Diff:
    """What changed from `old` to `new` (two Reports).

    `layers`: a LayerDiff per leaf layer, in the new report's order with removed layers where they stood
    in the old one; `totals`: a TotalDiff per key of TOTALS; `changed`: whether anything differs."""

    __slots__ = ("old", "new", "layers", "totals")
    old: "Report"
    new: "Report"
    layers: list[LayerDiff]
    totals: dict[str, TotalDiff]

    def __init__(self, old: "Report", new: "Report", layers: list[LayerDiff], totals: dict[str, TotalDiff]) -> None:
        self.old, self.new, self.layers, self.totals = old, new, layers, totals

    @property
    def changed(self) -> bool:
        return any(d.status != "unchanged" for d in self.layers) or any(t.change for t in self.totals.values())

    def count(self, status: str) -> int:
        return sum(1 for d in self.layers if d.status == status)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of a diff:

            {"schema_version": 1,
             "old": {"name": str, "source": str}, "new": {"name": str, "source": str},
             "changed": bool,
             "summary": {"added": int, "removed": int, "changed": int, "unchanged": int},
             "layers": [{"path": str,            # the new path (the old one for a removed layer)
                         "status": "added" | "removed" | "changed" | "unchanged",
                         "old": LAYER | null,    # null for an added layer
                         "new": LAYER | null,    # null for a removed layer
                         "params_change": int}], # new total_params - old total_params
             "totals": {"params" | "trainable" | "non_trainable" | "weights" | "biases":
                        {"old": int, "new": int, "change": int,
                         "percent": str,                  # "+13.4", "-2.0", "0.0", or "new" from 0
                         "percent_tenths": int | null}}}  # 134 for +13.4%; null when old is 0

        LAYER = {"path", "type", "output_shape": [int], "weights", "biases", "trainable", "non_trainable",
        "params", "params_unshared" (one copy's counts, as in the report's `layers`), "repeat" (times it
        occurs), "copies" (sets of weights the totals hold), "total_params" (params × copies)}.
        Every layer is listed, unchanged ones included; the sum of params_change is the params change."""
        return {
            "schema_version": 1,
            "old": {"name": self.old.name, "source": self.old.source},
            "new": {"name": self.new.name, "source": self.new.source},
            "changed": self.changed,
            "summary": {s: self.count(s) for s in STATUSES},
            "layers": [d.to_dict() for d in self.layers],
            "totals": {k: t.to_dict() for k, t in self.totals.items()},
        }


def _sides(report):
    return [Side(leaf, times, copies, i) for i, (leaf, times, copies) in enumerate(report.leaves())]


def _match(old, new):
    """Pairs (i, j) of old and new leaf indexes: by path first (the k-th use of a path with the k-th),
    then, among the rest, by position: equal types in the same order (longest common subsequence of
    types between consecutive path matches, so a renamed layer pairs with its old self)."""
    by_path = {}
    for s in old:
        by_path.setdefault(s.path, []).append(s.index)
    pairs = {}
    for s in new:
        queue = by_path.get(s.path)
        if queue:
            pairs[s.index] = queue.pop(0)
    matched_old = set(pairs.values())
    # Position: between two path-matched anchors (in new order), the unmatched ones pair by type in order.
    anchors = sorted(pairs.items())
    bounds, prev_old = [], -1
    last_new = -1
    for j, i in anchors + [(len(new), len(old))]:
        if i > prev_old:  # an anchor out of order (a moved layer) bounds nothing
            bounds.append((last_new + 1, j, prev_old + 1, i))
            prev_old = i
            last_new = j
    for new_lo, new_hi, old_lo, old_hi in bounds:
        a = [s for s in old[old_lo:old_hi] if s.index not in matched_old]
        b = [s for s in new[new_lo:new_hi] if s.index not in pairs]
        for x, y in _lcs(a, b):
            pairs[y.index] = x.index
            matched_old.add(x.index)
    return pairs


def _lcs(a, b):
    """Pairs of equal type in order, the most of them (difflib would drop 'junk' and is not exact)."""
    if not a or not b:
        return []
    if len(a) * len(b) > 1_000_000:  # a huge unmatched run: pair equal types greedily in order
        out, k = [], 0
        for x in a:
            while k < len(b) and b[k].type != x.type:
                k += 1
            if k == len(b):
                break
            out.append((x, b[k]))
            k += 1
        return out
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i].type == b[j].type else max(below[j], row[j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        if a[i].type == b[j].type:
            out.append((a[i], b[j]))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def diff_reports(old: "Report", new: "Report") -> Diff:
    """A Diff of two Reports: leaf layers matched by path, then the rest by position (equal types
    in the same order), each added / removed / changed / unchanged; each total's change."""
    a, b = _sides(old), _sides(new)
    pairs = _match(a, b)
    matched_old = set(pairs.values())
    layers, next_old = [], 0

    def removed_before(limit):
        nonlocal next_old
        while next_old < limit:
            if next_old not in matched_old:
                layers.append(LayerDiff(a[next_old], None))
            next_old += 1

    # Removed layers go where they stood: before the next new layer matched to an old one after them
    # (so before the layers added in their place, as a text diff shows them).
    upcoming, nxt = [len(a)] * len(b), len(a)
    for s in reversed(b):
        i = pairs.get(s.index)
        nxt = i if i is not None else nxt
        upcoming[s.index] = nxt
    for s in b:
        i = pairs.get(s.index)
        removed_before(upcoming[s.index])
        layers.append(LayerDiff(a[i] if i is not None else None, s))
    removed_before(len(a))
    totals = {k: TotalDiff(k, getattr(old.totals, k), getattr(new.totals, k)) for k in TOTALS}
    return Diff(old, new, layers, totals)


# -- output --------------------------------------------------------------------------------------

DIFF_HEADERS = ("Layer", "Change", "Type", "Output shape", "Old params", "New params", "Difference")
DIFF_KINDS = "twtwnnn"
TOTAL_LABELS = {"params": "Total params", "trainable": "Trainable params", "non_trainable": "Non-trainable params",
                "weights": "Weights", "biases": "Biases"}


def _signed(n):
    return f"+{n:,}" if n > 0 else f"{n:,}" if n < 0 else "0"


def _params(side):
    if side is None:
        return "—"
    out = render.number(side.total)
    return out + (f" (×{side.copies})" if side.copies != 1 else "")


def _pair(old, new, show):
    """'a' when both sides show the same, 'a → b' when they differ, the one side present otherwise."""
    a, b = (show(old) if old else None), (show(new) if new else None)
    if a is None or b is None or a == b:
        return a if b is None else b
    return f"{a} → {b}"


def _row(d, escape):
    def name(s):
        return escape(render.text(s.path, render.TITLE_LIMIT))

    def kind(s):
        return escape(render.text(s.type, render.TITLE_LIMIT))

    return (_pair(d.old, d.new, name), d.status, _pair(d.old, d.new, kind),
            _pair(d.old, d.new, lambda s: render.shape(s.output_shape)),
            _params(d.old), _params(d.new), _signed(d.change))


def total_line(t):
    """'Total params: 61,706 → 72,516 (+10,810, +17.5%)', or 'Total params: 61,706 (no change)'."""
    label = TOTAL_LABELS[t.key]
    if not t.change:
        return f"{label}: {render.number(t.new)} (no change)"
    percent = "new" if t.old == 0 else t.percent + "%"
    return f"{label}: {render.number(t.old)} → {render.number(t.new)} ({_signed(t.change)}, {percent})"


def diff_rows(diff, unchanged=False, escape=str):
    """Cells for a table: (headers, kinds, body, footer). `body` has one tuple of seven strings per
    layer that changed (every layer when `unchanged`): path, status, type, output shape ('a → b' where
    they differ), old and new params (× copies, what the layer adds to the totals; '—' where absent),
    and the difference; `footer` the params total the same way. Kinds as render.print_table takes
    them ('t' text, 'w' kept whole, 'n' number). Text from the specs is sanitised, then `escape`d."""
    body = [_row(d, escape) for d in diff.layers if unchanged or d.status != "unchanged"]
    t = diff.totals["params"]
    footer = ("Total", "changed" if t.change else "unchanged", "", "", render.number(t.old), render.number(t.new),
              _signed(t.change))
    return DIFF_HEADERS, DIFF_KINDS, body, footer


def diff_heading(diff, escape=str):
    def side(r):
        name, source = (escape(render.text(v, render.TITLE_LIMIT)) for v in (r.name, r.source))
        return f"{name} ({source})"
    return f"{side(diff.old)} → {side(diff.new)}"


def summary_line(diff):
    counts = [f"{diff.count(s)} {s}" for s in ("added", "removed", "changed") if diff.count(s)]
    return ("Layers: " + ", ".join(counts)) if counts else "No layer changed."


def diff_lines(diff, unchanged=False):
    """The diff as plain text lines (no table): a heading, a line per layer shown, the totals."""
    headers, kinds, body, footer = diff_rows(diff, unchanged)
    yield diff_heading(diff)
    for row in body:
        path, status, kind, shape, old, new, change = row
        yield f"  {status:<9} {path}  {kind}  {shape}  {old} → {new} ({change})"
    yield summary_line(diff)
    for t in diff.totals.values():
        yield total_line(t)


def print_diff(out, diff, unchanged=False, width=None, wide=False):
    """The diff on `out` (a text stream, or rich's Console): a table of the layers that changed (all
    with `unchanged`) drawn by render.print_table, then a line per total."""
    headers, kinds, body, footer = diff_rows(diff, unchanged)
    after = [summary_line(diff)] + [total_line(t) for t in diff.totals.values()]
    if body and hasattr(render, "print_table"):
        render.print_table(out, diff_heading(diff), headers, body, kinds, footer=footer, after=after, width=width,
                           groups=[0, 0, 0, 0, 1, 0, 0], wide=wide)
        return
    stream = getattr(out, "file", out)
    lines = list(diff_lines(diff, unchanged)) if body else [diff_heading(diff)] + after
    stream.write("\n".join(lines) + "\n")


def diff_markdown(diff, unchanged=False):
    """Markdown for a pull-request comment: a heading, a table of the layers that changed (every layer
    when `unchanged`), a table of the totals. Every text from a spec (path, type, name, source) is sanitised and in a code span
    (render.code), so it shows as it is, with no link, mention, HTML or table break."""
    headers, kinds, body, footer = diff_rows(diff, unchanged, escape=render.code)
    lines = [f"### Parameter diff: {diff_heading(diff, render.code)}", ""]
    if body:
        lines += _md_table(headers, kinds, body)
    else:
        lines.append("No layer changed.")
    lines += ["", *_md_table(("Total", "Old", "New", "Change", "%"), "wnnnn",
                             [(TOTAL_LABELS[t.key], render.number(t.old), render.number(t.new), _signed(t.change),
                               "new" if t.old == 0 and t.new else t.percent + "%")
                              for t in diff.totals.values()])]
    return "\n".join(lines) + "\n"


def _md_table(headers, kinds, body):
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---:" if k == "n" else "---" for k in kinds) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


# -- baselines -----------------------------------------------------------------------------------


class BaselineError(ValueError):
    """The baseline document cannot be used (no entry for the spec, no totals, a bad limit): one line."""


def growth_limit(percent):
    """A --max-growth value as an exact Fraction of a percent: an int, or a decimal string ('10', '2.5',
    '10%'); Decimal and Fraction are taken as they are. Floats are refused: they are not exact."""
    if isinstance(percent, bool) or isinstance(percent, float):
        raise BaselineError(f"the growth limit must be an integer or a decimal string, got {percent!r}")
    if isinstance(percent, int):
        value = Fraction(percent)
    elif isinstance(percent, str):
        s = percent.strip().removesuffix("%").strip().replace("_", "")
        if not re.fullmatch(r"\+?(\d+(\.\d*)?|\.\d+)", s, re.ASCII):
            raise BaselineError(f"the growth limit must be a percentage like 10 or 2.5, got {clean(percent, 40)!r}")
        value = Fraction(s.lstrip("+"))
    else:
        try:
            value = Fraction(percent)  # Decimal, Fraction
        except (TypeError, ValueError):
            raise BaselineError(f"the growth limit must be an integer or a decimal string, got {percent!r}") from None
    if value < 0:
        raise BaselineError(f"the growth limit must not be negative, got {percent}")
    return value


def _percent_text(value):
    """An exact Fraction as a short decimal: 10 -> '10', 5/2 -> '2.5', 1/3 -> '0.333…'."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    whole, rest = divmod(value.numerator, value.denominator)
    digits = ""
    for _ in range(6):
        rest *= 10
        digits += str(rest // value.denominator)
        rest %= value.denominator
        if not rest:
            return f"{whole:,}.{digits}"
    return f"{whole:,}.{digits}…"


def find_baseline(baseline_doc, source):
    """The entry of a `--json` document (an object, or the array several specs give) for `source`:
    the one with the same `source`, else the only entry; None when there is none."""
    entries = baseline_doc if isinstance(baseline_doc, list) else [baseline_doc]
    entries = [e for e in entries if isinstance(e, dict)]
    same = [e for e in entries if e.get("source") == source]
    if same:
        return same[0]
    return entries[0] if len(entries) == 1 else None


def _growth_text(old, new, limit):
    """The growth as a signed percentage, with as many decimals as it takes to show it over `limit`."""
    change = Fraction(new - old) * 100 / old
    for decimals in range(1, 12):
        scale = 10 ** decimals
        scaled = abs(change) * scale
        rounded = int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)  # half away from zero
        if Fraction(rounded, scale) > limit or decimals == 11:
            digits = str(rounded).rjust(decimals + 1, "0")
            return f"{'+' if change >= 0 else '-'}{int(digits[:-decimals]):,}.{digits[-decimals:]}%"
    raise AssertionError("unreachable")


def check_growth(report, baseline_doc, max_growth_percent):
    """None when `report`'s total params grew by at most `max_growth_percent` (int or decimal string,
    compared exactly) against its entry in `baseline_doc` (what `--json` wrote: a dict, or a list
    searched for the same `source`, else its only entry); else a one-line message:
    `net.yaml: 61,706 → 70,000 params, +13.4%, over the allowed 10%`. Growth from 0 to more is over any
    limit. Raises BaselineError (one line) when the document has no usable entry for the spec."""
    limit = growth_limit(max_growth_percent)
    where = render.text(report.source if report.source is not None else report.name, render.TITLE_LIMIT)
    entry = find_baseline(baseline_doc, report.source)
    if entry is None:
        raise BaselineError(f"{where}: no entry in the baseline for this spec")
    totals = entry.get("totals")
    old = totals.get("params") if isinstance(totals, dict) else None
    if isinstance(old, bool) or not isinstance(old, int) or old < 0:
        raise BaselineError(f"{where}: the baseline's entry has no total params"
                            + (" (it failed when the baseline was written)" if "problems" in entry else ""))
    new = report.totals.params
    if new <= old or (old and Fraction(new - old) * 100 <= limit * old):
        return None
    grown = "new" if old == 0 else _growth_text(old, new, limit)
    return (f"{where}: {render.number(old)} → {render.number(new)} params, {grown}, "
            f"over the allowed {_percent_text(limit)}%")
