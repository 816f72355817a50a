"""Report to text: table (rich), markdown or JSON. Formatting only; every number comes from the report."""

import json

HEADERS = ("Layer", "Type", "Output shape", "Weights", "Biases", "Params", "Unshared params")
# Per column: "t" text that may wrap between words, "w" kept whole, "n" a number, whole and right-aligned.
KINDS = "ttwnnnn"
PRESET_HEADERS, PRESET_KINDS = ("Preset", "Params", "Description"), "wnt"


def number(n):
    return f"{n:,}"


def shape(dims):
    return "[" + ", ".join(map(str, dims)) + "]"


def decimal(tenths):
    """An integer count of tenths as text with one decimal: 69 -> '6.9' (no arithmetic here)."""
    digits = str(tenths).rjust(2, "0")
    return f"{int(digits[:-1]):,}.{digits[-1]}"


def rows(report):
    """One tuple of cells per layer, then the totals; shared by the table and the markdown."""
    out = []
    for layer in report.layers:
        c = layer.counts
        kind = layer.type + (f" + {layer.activation}" if layer.activation else "")
        out.append((layer.name, kind, shape(layer.output_shape), number(c.weights), number(c.biases),
                    number(c.params), number(c.params_unshared)))
    t = report.totals
    total = ("Total", "", "", number(t.weights), number(t.biases), number(t.params), number(t.params_unshared))
    return out, total


def summary(report):
    """The lines under the table: totals, what sharing saves, memory, the budget."""
    t = report.totals
    lines = [
        f"Total params: {number(t.params)}",
        f"Trainable params: {number(t.trainable)}",
        f"Non-trainable params: {number(t.non_trainable)}",
    ]
    sharing = f"Without weight sharing: {number(t.params_unshared)} params"
    if report.sharing_tenths is not None:
        sharing += f" (sharing makes it {decimal(report.sharing_tenths)}x smaller)"
    lines.append(sharing)
    memory, unit = report.memory_fp32
    lines.append(f"Parameter memory (fp32): {memory if unit == 'B' else decimal(memory)} {unit}")
    if report.max_params is not None:
        verdict = "within budget" if report.within else "OVER BUDGET"
        lines.append(f"Budget: {number(t.params)} of {number(report.max_params)} max params ({verdict})")
    return lines


def title(report, escape=str):
    return f"{escape(report.name)} (input {shape(report.input_shape)})"


def to_json(reports, many):
    docs = [_json_document(r.to_dict()) for r in reports]
    return "[\n" + ",\n".join(docs) + "\n]" if many else docs[0]


def _encoder():
    """json.dumps without its per-call set-up: a 10,000-layer report makes 10,000 calls."""
    from json.encoder import c_make_encoder, encode_basestring_ascii

    if c_make_encoder is None:
        return json.dumps
    encode = c_make_encoder(None, None, encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda o: "".join(encode(o, 0))


def _json_document(d):
    """A key a line and a layer a line: readable, and json's C encoder (which `indent` turns off) does the work."""
    lines, dumps = [], _encoder()
    for key, value in d.items():
        if key == "layers":
            lines.append('  "layers": [\n    ' + ",\n    ".join(map(dumps, value)) + "\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}"


# Text from a spec may hold markdown: escape what could make emphasis, code, HTML or a link.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*`<>[]"})


def _md(text):
    return text.translate(_MD_SPECIAL)


def markdown_table(headers, body, kinds):
    align = ["---:" if k == "n" else "---" for k in kinds]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md(cell) if k == "t" else cell for cell, k in zip(row, kinds)) + " |"
              for row in body]
    return lines


def to_markdown(report):
    body, total = rows(report)
    bold_total = tuple(f"**{c}**" if c else "" for c in total)
    lines = [f"### {title(report, _md)}", ""]
    lines += markdown_table(HEADERS, body, KINDS)
    lines.append("| " + " | ".join(bold_total) + " |")
    lines += [""] + [f"- {line}" for line in summary(report)]
    return "\n".join(lines) + "\n"


def presets_json(presets):
    """(preset name, report) pairs as the JSON list of --list-presets --format json."""
    return json.dumps([{"preset": name, "name": r.name, "params": r.totals.params, "description": r.description}
                       for name, r in presets], indent=2)


def presets_markdown(presets):
    return "\n".join(markdown_table(PRESET_HEADERS, presets, PRESET_KINDS)) + "\n"


def column_widths(columns, kinds, available, width=len):
    """Widths that fit `available` if they can: each column at least its longest word (whole
    cells in "w" and "n" columns; headers always wrap), the rest shared out towards each
    column's natural width. `width` measures text in
    terminal cells (a CJK character or an emoji takes two)."""

    def longest_word(cells):
        return max((width(w) for c in cells for w in c.split()), default=0)

    natural = [max(map(width, col)) for col in columns]
    floor = [longest_word(col) if k == "t" else max(longest_word(col[:1]), *map(width, col[1:]))
             for col, k in zip(columns, kinds)]
    overhead = 3 * len(columns) + 1  # a space either side of each cell, and the rules between
    if sum(natural) + overhead <= available:
        return natural
    widths, spare = list(floor), max(available - overhead - sum(floor), 0)
    order = sorted(range(len(columns)), key=lambda i: natural[i] - floor[i])
    for n, i in enumerate(order):  # smallest needs first, each up to a fair share of what is left
        give = min(natural[i] - floor[i], spare // (len(order) - n))
        widths[i] += give
        spare -= give
    return widths


ROWS_PER_PIECE = 500  # rich holds a whole table in memory; a long one is printed in pieces


def print_table(console, heading, headers, body, kinds, footer=None, after=()):
    """A rich table that never cuts a cell: text wraps between words, numbers stay whole,
    and where even that cannot fit the console, the table is printed wider."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    widths = column_widths(list(zip(headers, *body, *([footer] if footer else []))), kinds, console.width, cell_len)
    saved = console.width
    console.width = max(saved, sum(widths) + 3 * len(widths) + 1)
    console.print(Text(heading, style="bold"), soft_wrap=True)  # a title of its own: never cut
    pieces = [body[i:i + ROWS_PER_PIECE] for i in range(0, len(body), ROWS_PER_PIECE)] or [[]]
    for n, rows in enumerate(pieces):
        first, last = n == 0, n == len(pieces) - 1
        table = Table(show_header=first, show_footer=last and footer is not None)
        for i, (h, k) in enumerate(zip(headers, kinds)):
            table.add_column(h, footer=Text(footer[i]) if footer else "", justify="right" if k == "n" else "left",
                             overflow="fold", width=widths[i])
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: names from a spec are never markup
        if len(pieces) == 1:
            console.print(table)
            continue
        with console.capture() as capture:
            console.print(table)
        lines = capture.get().splitlines(keepends=True)
        # The same column widths in every piece: without the bottom edge of one piece and the
        # top edge of the next, the pieces read as one table.
        console.file.write("".join(lines[0 if first else 1:None if last else -1]))
    for line in after:
        console.print(Text(line), soft_wrap=True)
    console.width = saved


def print_report(console, report):
    body, total = rows(report)
    print_table(console, title(report), HEADERS, body, KINDS, footer=total, after=summary(report))
