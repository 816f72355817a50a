"""`--format html`: a report as one self-contained HTML page (issue 9).

No network and no JavaScript: the page's only resource is its inline stylesheet, and a
Content-Security-Policy meta tag forbids anything else (a script, an image, a font, a fetch), so
even a mistake in escaping could not run code. Readable on a phone: a viewport, the table in a
scrolling wrapper, bar charts that reflow, and a dark scheme where the system prefers one.

Every figure comes from render (the summary lines, the table's cells, `number`, `metric`) or from
the report's integers, so the page shows exactly what the text table prints. Every text from a
spec (a name, a type, a path, the source, the title) goes through `render.text()` and then
`html.escape()`; nothing else reaches the page unescaped.

The CLI writes `head(title)` once, then the pieces of `report_html(report, ...)` for each report
(a <section> each), then `tail()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from . import __version__, explain, render

CHART_ROWS = 200  # bars in one chart at most: the largest, in the model's order; the rest counted
PIECE_ROWS = 256  # table rows or explanations per piece yielded

# Sentinels around text from a spec inside a cell or an explanation: render.text() escapes every
# control character, so a spec can hold neither; they become <code> and </code> after escaping.
_OPEN, _CLOSE = "\x02", "\x03"

_CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--panel:#f6f8fa;--line:#d0d7de;--bar:#2f6fdb;--bar2:#d9731a;
--track:#e8ecf0;--bad:#b42318;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--panel:#161b22;
--line:#30363d;--bar:#4f8ff7;--bar2:#f0883e;--track:#21262d;--bad:#ff7b72}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:16px}
section.report{margin:0 0 40px}
section.report+section.report{border-top:2px solid var(--line);padding-top:24px}
section.failed h2{color:var(--bad)}
.problems,.warnings{padding-left:20px;overflow-wrap:anywhere}
h2{font-size:1.5rem;line-height:1.2;margin:0 0 4px;overflow-wrap:anywhere}
h2 .input{font-size:1rem;font-weight:normal;color:var(--muted);white-space:nowrap}
h3{font-size:1.1rem;margin:28px 0 8px}
p{margin:4px 0}
.source,.note,.foot{color:var(--muted);font-size:.875rem;overflow-wrap:anywhere}
.description{font-size:.9375rem;max-width:80ch;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em}
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px;margin:12px 0 0;padding:0}
.totals div{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-width:0}
.totals dt{font-size:.8125rem;color:var(--muted)}
.totals dd{margin:2px 0 0;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.totals div.wide{grid-column:1/-1}
.totals div.over{border-color:var(--bad)}
.totals div.over dd{color:var(--bad)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(480px,100%),1fr));gap:8px 32px}
.chart{margin:0;padding:0;list-style:none}
.chart li{display:grid;grid-template-columns:minmax(0,var(--label,13em)) 1fr var(--value,auto);gap:2px 10px;align-items:center;
padding:3px 0;font-size:.875rem}
.chart .label{overflow-wrap:anywhere;min-width:0}
.chart .label small{color:var(--muted)}
.chart .track{display:block;height:14px;background:var(--track);border-radius:3px;overflow:hidden;min-width:40px}
.chart .bar{display:block;height:100%;min-width:2px;background:var(--bar);
-webkit-print-color-adjust:exact;print-color-adjust:exact}
.chart.macs .bar{background:var(--bar2)}
.chart .value{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.chart .value small{color:var(--muted)}
.minibar{display:inline-block;width:60px;height:10px;background:var(--track);border-radius:2px;overflow:hidden;
vertical-align:middle}
.minibar span{display:block;height:100%;background:var(--bar);-webkit-print-color-adjust:exact;print-color-adjust:exact}
.unknown{padding:10px;border:1px dashed var(--line);border-radius:6px;color:var(--muted)}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px;
max-width:100%}
table{border-collapse:collapse;font-size:.875rem;font-variant-numeric:tabular-nums;min-width:100%}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);position:sticky;top:0;font-weight:600}
td.n,th.n{text-align:right;white-space:nowrap}
td.w{white-space:nowrap}
td.t{overflow-wrap:break-word}
tbody tr:nth-child(even){background:color-mix(in srgb,var(--panel) 60%,transparent)}
tfoot td{font-weight:700;border-top:2px solid var(--line);border-bottom:0}
details{margin-top:28px}
details summary{font-weight:600;font-size:1.1rem;cursor:pointer}
ul.explain{margin:8px 0;padding:0;list-style:none;font-size:.9375rem}
ul.explain li{margin:3px 0;overflow-wrap:anywhere;text-indent:-1.5ch;padding-left:1.5ch}
footer{max-width:1200px;margin:0 auto;padding:8px 16px 24px;color:var(--muted);font-size:.8125rem}
@media (max-width:600px){
main{padding:12px}
h2{font-size:1.25rem}
.charts{grid-template-columns:1fr}
.totals{grid-template-columns:repeat(2,minmax(0,1fr));gap:6px}
.totals div{padding:6px 8px}
.totals dd{font-size:.9375rem}
.totals div.long{grid-column:1/-1}
.chart li{grid-template-columns:1fr var(--value,auto)}
.chart .track{grid-column:1/-1;order:3}
}
@media print{
:root{--fg:#000;--muted:#333;--bg:#fff;--panel:#f2f2f2;--line:#999;--track:#e5e5e5}
body{font-size:10pt}
main{max-width:none;padding:0}
.table-wrap{overflow:visible;border:0}
th{position:static}
section.report+section.report{break-before:page;border-top:0}
.chart li,tr,.totals div{break-inside:avoid}
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _spec(value, limit=render.TITLE_LIMIT):
    """Text from a spec, for the page: one line, controls escaped, cut, and HTML-escaped."""
    return escape(render.text(value, limit), quote=True)


def _mark(value):
    """Text from a spec inside a cell or an explanation, between the sentinels (see `_cell`)."""
    if not value:
        return ""
    return _OPEN + render.text(value, render.TITLE_LIMIT) + _CLOSE


def _cell(value):
    """A cell or an explanation: everything escaped, then the sentinels made <code> spans."""
    return escape(value, quote=True).replace(_OPEN, "<code>").replace(_CLOSE, "</code>")


def head(title):
    """The page up to the first report: doctype, metadata, the stylesheet. `title`: the report's
    name, or "N specs" for several (escaped here)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"color-scheme\" content=\"light dark\">\n"
            f"<meta name=\"generator\" content=\"paramcount {escape(__version__)}\">\n"
            f"<title>{_spec(title)} - paramcount</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n")


def tail():
    """The end of the page, after the last report."""
    return (f"</main>\n<footer>Made by paramcount {escape(__version__)}: parameters, MACs "
            "(FLOPs = 2 × MACs) and memory counted from the model's structure.</footer>\n</body>\n</html>\n")


# -- integers to text -----------------------------------------------------------------------------


def _share(part, whole):
    """`part`'s share of `whole` as the table's share column writes it: '58.5%'."""
    return render.percent(render.share_tenths(part, whole))


def _share_bar(part, whole):
    """The share column's cell: a CSS bar of the row's share of all params, and the figure."""
    tenths = render.share_tenths(part, whole)
    return (f"<span class=\"minibar\"><span style=\"width:{_permille_width(min(tenths, 1000))}\"></span></span> "
            f"{render.percent(tenths)}")


def _permille_width(permille):
    """A bar's CSS width from integer permille: 583 -> '58.3%'."""
    return f"{permille // 10}.{permille % 10}%"


# -- the parts of a report ------------------------------------------------------------------------


def _code_spans(line):
    """A line of ours with `code` spans (a summary note) as HTML: escaped, the spans as <code>."""
    parts = escape(line).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: no spans, the text as it is
        return escape(line)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def failure_html(source, problems) -> str:
    """A <section> for a spec that could not be counted, in a page of several: its source and each
    problem's line (as stderr has them), so a saved page says what is missing from it."""
    items = "".join(f"<li><code>{_spec(str(p), 1000)}</code></li>\n" for p in problems[:20])
    more = f"<p class=\"note\">and {len(problems) - 20:,} more</p>\n" if len(problems) > 20 else ""
    return (f"<section class=\"report failed\">\n<h2><code>{_spec(source)}</code>: not counted</h2>\n"
            f"<ul class=\"problems\">\n{items}</ul>\n{more}</section>\n")


def _title(report):
    name = _spec(report.name)
    return (f"<h2>{name} <span class=\"input\">(input {escape(render.shape(report.input_shape))})</span></h2>\n")


def _source(report):
    out = []
    source = getattr(report, "source", None)
    if source:
        out.append(f"<p class=\"source\">Source: <code>{_spec(source)}</code></p>\n")
    description = getattr(report, "description", None)
    if description:
        out.append(f"<p class=\"description\">{_spec(description, 2000)}</p>\n")
    return "".join(out)


def _totals(report):
    """The summary lines the text table prints under it, as labelled figures, byte for byte."""
    items = []
    for line in render.summary(report):
        label, sep, value = line.partition(": ")
        classes = []
        if "OVER BUDGET" in line:
            classes.append("over")
        if not sep:  # a note such as "(both as each layer's `convention` counts)"
            classes.append("wide")
            items.append(f"<div class=\"{' '.join(classes)}\"><dt>Note</dt><dd>{_code_spans(line)}</dd></div>")
            continue
        if len(value) > 60:
            classes.append("wide")
        elif len(value) > 28:  # two figures to a row on a phone: this one takes a row
            classes.append("long")
        attr = f" class=\"{' '.join(classes)}\"" if classes else ""
        items.append(f"<div{attr}><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>")
    return "<h3>Totals</h3>\n<dl class=\"totals\">\n" + "\n".join(items) + "\n</dl>\n"


def _warnings(report):
    """What stderr says of the report (a dense layer on an image, an op whose compute is not known),
    so a saved page says it too: each warning's position and message, escaped."""
    found = list(getattr(report, "warnings", None) or ())
    if not found:
        return ""
    items = "".join(f"<li><code>{_spec(f'{p.path}:{p.line}:{p.col}', 200)}</code>: {_spec(p.message, 1000)}</li>\n"
                    for p in found)
    return f"<h3>Warnings</h3>\n<ul class=\"warnings\">\n{items}</ul>\n"


def chart_nodes(report):
    """The nodes a chart shows: the top level, or, while the top level is one composite that runs
    once, its children (a model wrapped in one block; a repeated one is charted whole, since its
    children describe one copy). Returns (nodes, the innermost block descended into, or None)."""
    nodes, inside = list(report.layers or ()), None
    while len(nodes) == 1 and nodes[0].children and getattr(nodes[0], "repeat", 1) == 1:
        inside = nodes[0]
        nodes = list(nodes[0].children)
    return nodes, inside


def _node_label(node):
    """A chart row's label: the node's name and its type (and multiplier); the type alone unnamed."""
    kind = _spec(node.type, 60) + (f" ×{node.repeat:,}" if getattr(node, "repeat", 1) != 1 else "")
    if not node.name:
        return f"<code>{kind}</code>"
    return f"<code>{_spec(node.name)}</code> <small>{kind}</small>"


def _label_chars(node):
    """About how many characters a chart row's label takes (its name, a space, its type)."""
    kind = len(node.type) + (len(f" ×{node.repeat:,}") if getattr(node, "repeat", 1) != 1 else 0)
    return len(node.name) + 1 + kind if node.name else kind


def _chart(nodes, what, value_of, total, css, noun):
    """One bar chart: a row per node with a nonzero value, its bar's width its share of the largest
    row, labelled with the exact number and its share of `total`; zero rows left out and counted."""
    shown = [(i, node, value_of(node)) for i, node in enumerate(nodes)]
    zero = [node for _, node, v in shown if not v]
    shown = [row for row in shown if row[2]]
    rest = 0
    if len(shown) > CHART_ROWS:  # the largest, kept in the model's order
        keep = sorted(shown, key=lambda row: (-row[2], row[0]))[:CHART_ROWS]
        rest = len(shown) - CHART_ROWS
        shown = sorted(keep, key=lambda row: row[0])
    out = [f"<div class=\"chart-box\">\n<h3>{what}</h3>\n"]
    if shown:
        largest = max(v for _, _, v in shown)
        values = []
        for _, node, v in shown:
            short = render.metric(v) if css == "macs" else None
            values.append((render.number(v) + (f" ({short})" if short else ""), _share(v, total)))
        # One width for every row's label and figure (in ch: digits are tabular), so the bars line up.
        room = max(len(figure) + 1 + len(share) for figure, share in values)
        label = min(max(_label_chars(node) for _, node, _ in shown), 24)
        out.append(f"<ul class=\"chart {css}\" style=\"--label:{label + 2}ch;--value:{room + 1}ch\">\n")
        for (_, node, v), (figure, share) in zip(shown, values):
            permille = v * 1000 // largest
            out.append(f"<li><span class=\"label\">{_node_label(node)}</span>"
                       f"<span class=\"track\"><span class=\"bar\" style=\"width:{_permille_width(permille)}\">"
                       f"</span></span><span class=\"value\">{escape(figure)} <small>{escape(share)}</small></span>"
                       "</li>\n")
        out.append("</ul>\n")
    else:
        out.append(f"<p class=\"note\">No {noun}.</p>\n")
    notes = []
    if zero:
        rows = "row" if len(zero) == 1 else "rows"
        notes.append(f"{len(zero):,} {rows} with no {noun} left out")
    if rest:
        notes.append(f"{rest:,} smaller {'row' if rest == 1 else 'rows'} not shown")
    if notes:
        out.append(f"<p class=\"note\">{'; '.join(notes)}.</p>\n")
    out.append("</div>\n")
    return "".join(out)


def _charts(report):
    nodes, inside = chart_nodes(report)
    out = ["<div class=\"charts\">\n"]
    where = f" (inside <code>{_spec(inside.name or inside.type)}</code>)" if inside is not None else ""
    out.append(_chart(nodes, "Parameters by layer or block" + where, lambda n: n.counts.params,
                      report.totals.params, "params", "parameters"))
    compute = getattr(report, "compute", None)
    if compute is None or not getattr(compute, "known", True):
        out.append("<div class=\"chart-box\">\n<h3>MACs by layer or block</h3>\n"
                   "<p class=\"unknown\">MACs not known for this model: paramcount does not model the "
                   "compute of one of its layers (the warnings above name it).</p>\n</div>\n")
    else:
        out.append(_chart(nodes, "MACs by layer or block" + where, lambda n: n.compute.macs,
                          compute.macs, "macs", "MACs"))
    out.append("</div>\n")
    return "".join(out)


def _table(report, depth, keys):
    """The table of render.rows: a header, a row per node (indented by its level), the totals."""
    keys = list(keys) if keys else render.columns(report)
    nodes, hidden = render.walk(report, depth)
    body, total = render.rows(report, depth, keys, "", _mark)
    kinds = [render.COLUMNS[k][1] for k in keys]
    heads = "".join(f"<th scope=\"col\" class=\"{k}\">{escape(render.COLUMNS[key][0])}</th>"
                   for key, k in zip(keys, kinds))
    yield f"<h3>Layers</h3>\n<div class=\"table-wrap\">\n<table>\n<thead><tr>{heads}</tr></thead>\n<tbody>\n"
    chunk = []
    for (node, level), row in zip(nodes, body):
        cells = []
        for key, kind, value in zip(keys, kinds, row):
            text = _share_bar(node.counts.params, report.totals.params) if key == "share" else _cell(value)
            if key == "name" and level:
                cells.append(f"<td class=\"{kind}\" style=\"padding-left:{10 + 16 * level}px\">{text}</td>")
            else:
                cells.append(f"<td class=\"{kind}\">{text}</td>")
        chunk.append("<tr>" + "".join(cells) + "</tr>\n")
        if len(chunk) >= PIECE_ROWS:
            yield "".join(chunk)
            chunk = []
    foot = "".join(f"<td class=\"{k}\">"
                   + (_share_bar(report.totals.params, report.totals.params) if key == "share" else _cell(v))
                   + "</td>" for key, k, v in zip(keys, kinds, total))
    chunk.append(f"</tbody>\n<tfoot><tr>{foot}</tr></tfoot>\n</table>\n</div>\n")
    for line in render.unknown_note(body, total) + ([render.depth_note(depth)] if hidden else []):
        chunk.append(f"<p class=\"note\">{escape(line)}</p>\n")
    yield "".join(chunk)


def _explanations(report, depth):
    yield (f"<details open>\n<summary>{escape(explain.HEADING.rstrip(':'))}</summary>\n"
           "<ul class=\"explain\">\n")
    chunk = []
    for level, line in explain.explanations(report, depth, _mark):
        style = f" style=\"margin-left:{20 * level}px\"" if level else ""
        chunk.append(f"<li{style}>{_cell(line)}</li>\n")
        if len(chunk) >= PIECE_ROWS:
            yield "".join(chunk)
            chunk = []
    chunk.append("</ul>\n</details>\n")
    yield "".join(chunk)


def report_html(report, depth=None, keys=None, explain=True) -> Iterator[str]:
    """One report as a <section>, in pieces: title and source, the totals, bar charts of parameters
    and MACs, the table (`keys`: its columns, default render.columns(report); `depth` levels deep,
    None: all), and, when `explain`, where every count comes from."""
    yield (f"<section class=\"report\">\n{_title(report)}{_source(report)}{_totals(report)}"
           f"{_warnings(report)}{_charts(report)}")
    yield from _table(report, depth, keys)
    if explain:
        yield from _explanations(report, depth)
    yield "</section>\n"
