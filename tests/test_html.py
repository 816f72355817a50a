"""`--format html` (issue 9): one self-contained page, no network, no JavaScript, readable on a phone.

Two kinds of test. Structural ones, without a browser: the page parses with html.parser and every
element closes in order; it holds no <script>, no event-handler attribute, no URL and no resource
other than its inline stylesheet; the totals are the text table's, byte for byte; each chart has one
row per top-level node with a nonzero value (and says how many it left out); text from a spec
comes out inert, however hostile. And rendering tests in headless Chromium: screenshots at a
desktop's and a phone's window size, decoded here (zlib and PNG's five filters, in pure Python) and
required to hold the charts' bars, and the DOM Chromium builds, which must hold the totals. They skip
where Chromium is not installed, unless PARAMCOUNT_REQUIRE_CHROMIUM=1 (as .ci/run sets where it
could install Chromium), which makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import textwrap
import zlib
from html.parser import HTMLParser

import pytest

from conftest import run_cli, without_compute
from paramcount import html, render
from paramcount.analyze import analyze
from paramcount.sources import load
from paramcount.spec import load_text

LENET5_PARAMS = "61,706"
RESNET50_TRAINABLE = "25,557,032"
RESNET50_PARAMS = "25,610,152"
# Top-level nodes with parameters, and with MACs, in the model's order (`paramcount ... --json`).
LENET5_PARAM_ROWS = ["C1", "C3", "C5", "F6", "OUTPUT"]  # S2, S4 (average pools) and flatten_1 hold none
LENET5_MAC_ROWS = ["C1", "C3", "C5", "F6", "OUTPUT"]
RESNET50_PARAM_ROWS = ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"]  # relu, maxpool, avgpool, flatten_1: none
RESNET50_MAC_ROWS = ["conv1", "layer1", "layer2", "layer3", "layer4", "fc"]  # BatchNorm's work is other_ops, not MACs
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = ["<script>alert(1)</script>", '"onmouseover=alert(1) x="', "</td></tr></table><b>bold</b>"]


# -- helpers ----------------------------------------------------------------------------------------


def report_of(source, depth=None):
    return analyze(load(source) if "\n" not in source else load_text(textwrap.dedent(source), "spec.yaml"))


def page(*reports, depth=render.DEPTH, keys=None, explain=True):
    """The page as the CLI writes it: the head once, a section per report, the tail."""
    title = reports[0].name if len(reports) == 1 else f"{len(reports)} specs"
    out = [html.head(title)]
    for report in reports:
        out += html.report_html(report, depth=depth, keys=keys or render.columns(report), explain=explain)
    return "".join(out + [html.tail()])


class Page(HTMLParser):
    """The page parsed: every element checked to close in order, and its tags, attributes, text
    and chart rows collected."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.attrs, self.text = [], [], [], []
        self.charts = {}  # chart css class -> list of the labels' first <code> text
        self._chart = self._label = None
        self._code = False
        self.feed(text)
        self.close()
        assert not self.stack, f"elements left open: {self.stack}"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        classes = dict(attrs).get("class") or ""
        if tag == "ul" and "chart" in classes.split():
            self._chart = classes.split()[1]
            self.charts[self._chart] = []
        if self._chart and tag == "span" and classes == "label":
            self._label = []
        if self._label is not None and tag == "code" and not self._label:
            self._code = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        assert tag not in VOID, f"</{tag}>"
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag == "ul" and self._chart:
            self._chart = None
        if tag == "code" and self._code:
            self._code = False
            self.charts[self._chart].append("".join(self._label))
            self._label = None

    def handle_data(self, data):
        self.text.append(data)
        if self._code:
            self._label.append(data)

    @property
    def all_text(self):
        return "".join(self.text)


def assert_self_contained(text):
    """No script, no event handler, no URL, no resource: the stylesheet is inline and the CSP forbids
    anything else."""
    doc = Page(text)
    assert "script" not in doc.tags and "iframe" not in doc.tags and "img" not in doc.tags
    assert "link" not in doc.tags and "object" not in doc.tags and "embed" not in doc.tags
    assert not [name for name, _ in doc.attrs if name.startswith("on") or name in ("src", "href", "srcset")]
    lowered = text.lower()
    for needle in ("<script", "http:", "https:", "//", "src=", "href=", "@import", "url(", "javascript:"):
        assert needle not in lowered, needle
    assert "default-src 'none'" in text  # the Content-Security-Policy meta tag
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    return doc


def table_line(source, prefix):
    """The text table's summary line that starts with `prefix` (`paramcount SOURCE`)."""
    out = run_cli(source).stdout
    (line,) = [line for line in out.splitlines() if line.startswith(prefix)]
    return line


# -- structure ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["lenet5", "resnet50"])
def test_the_page_is_self_contained_and_parses(source):
    text = page(report_of(source))
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert text.endswith("</html>\n")
    doc = assert_self_contained(text)
    assert doc.tags.count("html") == doc.tags.count("body") == doc.tags.count("style") == 1
    assert doc.tags.count("section") == 1


def test_the_totals_are_the_text_tables_byte_for_byte():
    lenet = page(report_of("lenet5"))
    assert f"<dt>Total params</dt><dd>{LENET5_PARAMS}</dd>" in lenet
    resnet = page(report_of("resnet50"))
    assert f"<dt>Total params</dt><dd>{RESNET50_PARAMS}</dd>" in resnet
    assert f"<dt>Trainable params</dt><dd>{RESNET50_TRAINABLE}</dd>" in resnet
    # Every summary line the table prints is on the page, split at its first ": " into label and figure.
    for source, text in (("lenet5", lenet), ("resnet50", resnet)):
        summary = run_cli(source).stdout.split("└", 1)[1].splitlines()[1:]
        summary = [line for line in summary if ": " in line and not line.startswith(("Not shown", "Rows deeper"))]
        assert len(summary) >= 9
        for line in summary:
            label, _, value = line.partition(": ")
            assert f"<dt>{label}</dt><dd>{value}</dd>" in text, line
    macs = table_line("resnet50", "MACs: ")
    assert macs == "MACs: 4,089,184,256 (4.09 G); FLOPs = 2 × MACs"
    assert "<dt>MACs</dt><dd>4,089,184,256 (4.09 G); FLOPs = 2 × MACs</dd>" in resnet
    # The table's totals row.
    assert f'<td class="n">{RESNET50_PARAMS}</td>' in resnet.split("<tfoot>")[1]


def test_active_params_and_sharing_are_among_the_totals():
    moe = report_of("""
        name: moe
        input: [16, 32]
        layers:
          - {type: moe, num_experts: 8, top_k: 2, hidden: 64}
    """)
    assert moe.active_params is not None
    text = page(moe)
    assert f"<dt>Active params per token</dt><dd>{render.number(moe.active_params)}</dd>" in text
    lenet = page(report_of("lenet5"))
    assert "<dt>Without weight sharing</dt><dd>423,038 params (sharing makes it 6.9x smaller)</dd>" in lenet
    assert "<dt>Parameter memory (fp32)</dt><dd>241.0 KiB</dd>" in lenet
    assert "<dt>Activation memory (fp32)</dt><dd>32.1 KiB per sample</dd>" in lenet
    assert "<dt>Adam training (fp32, batch 1)</dt><dd>996.2 KiB</dd>" in lenet


@pytest.mark.parametrize("source,params,macs,left_params,left_macs", [
    ("lenet5", LENET5_PARAM_ROWS, LENET5_MAC_ROWS, 3, 3),
    ("resnet50", RESNET50_PARAM_ROWS, RESNET50_MAC_ROWS, 4, 5),
])
def test_a_chart_row_per_top_level_node_with_a_value(source, params, macs, left_params, left_macs):
    report = report_of(source)
    text = page(report)
    doc = Page(text)
    assert doc.charts == {"params": params, "macs": macs}
    assert f"{left_params} rows with no parameters left out." in text
    assert f"{left_macs} rows with no MACs left out." in text
    # Each bar is its row's share of the largest row in integer permille; the label is the exact
    # number and its share of the total.
    nodes = {node.name: node for node in report.layers}
    largest = max(node.counts.params for node in report.layers)
    for name in params:
        node = nodes[name]
        permille = node.counts.params * 1000 // largest
        share = render.percent(render.share_tenths(node.counts.params, report.totals.params))
        row = (f'<code>{name}</code> <small>{node.type}</small></span><span class="track"><span class="bar" '
               f'style="width:{permille // 10}.{permille % 10}%"></span></span><span class="value">'
               f'{render.number(node.counts.params)} <small>{share}</small>')
        assert row in text, row
    assert 'style="width:100.0%"' in text


def test_a_model_wrapped_in_one_block_charts_the_blocks_inside():
    report = report_of("""
        name: wrapped
        input: [8]
        layers:
          - type: sequence
            name: body
            layers:
              - type: sequence
                name: inner
                layers:
                  - {type: dense, name: a, units: 4}
                  - {type: relu}
                  - {type: dense, name: b, units: 2}
    """)
    text = page(report)
    doc = Page(text)
    assert doc.charts == {"params": ["a", "b"], "macs": ["a", "b"]}
    assert "Parameters by layer or block (inside <code>inner</code>)" in text
    assert "1 row with no parameters left out." in text


def test_unknown_compute_says_so_and_never_charts_zero():
    report = without_compute(report_of("lenet5"))
    text = page(report, keys=render.columns(report, render.parse_columns("+macs")))
    doc = assert_self_contained(text)
    assert "MACs not known" in text
    assert "macs" not in doc.charts and doc.charts["params"] == LENET5_PARAM_ROWS
    assert "<div><dt>MACs</dt><dd>not known</dd></div>" in text and "MACs: 0" not in text
    assert '<td class="n">?</td>' in text and "?: not known (a layer whose compute paramcount does not model)" in text


def test_the_table_is_indented_folded_and_right_aligned():
    report = report_of("resnet50")
    text = page(report, depth=2)
    nodes, hidden = render.walk(report, 2)
    assert hidden
    table = text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert table.count("<tr>") == len(nodes) == 27
    assert table.count('style="padding-left:26px"') == sum(1 for _, level in nodes if level == 1)
    assert render.depth_note(2) in text
    assert '<th scope="col" class="n">Params</th>' in text and '<td class="n">14,987,264</td>' in text
    full = page(report, depth=None)
    assert render.depth_note(2) not in full and "are folded" not in full
    assert full.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>") == len(render.walk(report, None)[0])


def test_the_columns_are_the_keys_asked_for():
    report = report_of("resnet50")
    keys = render.columns(report, render.parse_columns("name,params,macs,share"))
    text = page(report, keys=keys)
    head = text.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert head == ('<tr><th scope="col" class="t">Layer</th><th scope="col" class="n">Params</th>'
                    '<th scope="col" class="n">MACs</th><th scope="col" class="w">Share of params</th></tr>')
    # The share column is a CSS bar and the figure the text table prints.
    assert '<span class="minibar"><span style="width:58.5%"></span></span> 58.5%' in text
    assert '<td class="n">4,089,184,256</td>' in text.split("<tfoot>")[1]


def test_one_explanation_per_row():
    report = report_of("lenet5")
    text = page(report, depth=None)
    doc = Page(text)
    explained = text.split('<ul class="explain">', 1)[1].split("</ul>", 1)[0]
    assert explained.count("<li") == len(render.walk(report, None)[0]) + 1  # and the total
    assert "<li><code>C1</code>: 6 filters × (1 channel × 5 × 5 weights + 1 bias) = 156; without sharing, " \
           "28 × 28 positions × 156 = 122,304</li>" in text
    assert "Total: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706" in doc.all_text
    assert '<ul class="explain">' not in page(report, explain=False)


def test_several_reports_are_one_page():
    text = page(report_of("lenet5"), report_of("resnet50"))
    doc = assert_self_contained(text)
    assert doc.tags.count("section") == 2 and doc.tags.count("html") == 1
    assert "<title>2 specs - paramcount</title>" in text
    assert LENET5_PARAMS in text and RESNET50_PARAMS in text


def test_hostile_names_come_out_inert():
    spec = textwrap.dedent("""
        name: "<script>alert(1)</script>"
        description: "\\"onmouseover=alert(2) x='<img src=x onerror=alert(3)>' & more"
        input: [4]
        layers:
          - {type: dense, name: "<script>alert(1)</script>", units: 3}
          - type: sequence
            name: "\\"onmouseover=alert(1) x=\\""
            layers:
              - {type: dense, name: "</td></tr></table><b>bold</b>", units: 2}
    """)
    report = analyze(load_text(spec, "evil.yaml", source='evil"<b>&.yaml'))
    text = page(report, depth=None)
    doc = assert_self_contained(text.replace("src=x", "SRC_X"))  # the description's text, escaped
    assert "script" not in doc.tags and "b" not in doc.tags and "img" not in doc.tags
    assert not [name for name, _ in doc.attrs if name.startswith("on") or name == "x"]
    assert "<script" not in text and "<b>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;onmouseover=alert(1) x=&quot;" in text
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;b&gt;bold&lt;/b&gt;" in text
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; - paramcount</title>" in text
    assert "Source: <code>evil&quot;&lt;b&gt;&amp;.yaml</code>" in text
    # Every name is in the text a browser shows, as written.
    for name in HOSTILE:
        assert name in doc.all_text
    # The head's title is escaped as well (the CLI passes the report's name).
    assert html.head("</title><script>x</script>").count("<script") == 0


def test_text_from_a_spec_is_one_line_and_cut():
    report = report_of("lenet5")
    report.name = "a\u202eb" + "x" * 1000
    text = html.head(report.name) + "".join(html.report_html(report)) + html.tail()
    assert "\u202e" not in text and "a\\u202eb" in text
    assert "x" * 1000 not in text and "…" in text


def test_the_cli_writes_the_page():
    out = run_cli("resnet50", "--format", "html")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == page(report_of("resnet50"))
    two = run_cli("lenet5", "resnet50", "--format", "html")
    assert two.exit_code == 0, two.stderr
    assert two.stdout == page(report_of("lenet5"), report_of("resnet50"))
    bad = run_cli("lenet5", "-", "--format", "html", input="name: x\ninput: [3]\nlayers: [{type: nope}]\n")
    # the failed spec: a section that says so and quotes stderr's line, never a result
    failed = ('<section class="report failed">\n<h2><code>&lt;stdin&gt;</code>: not counted</h2>\n'
              '<ul class="problems">\n<li><code>&lt;stdin&gt;:3:17: unknown layer type &#x27;nope&#x27;</code></li>\n'
              '</ul>\n</section>\n')
    assert bad.exit_code == 2 and bad.stderr == "<stdin>:3:17: unknown layer type 'nope'\n"
    assert bad.stdout == page(report_of("lenet5")).replace(
        "<title>LeNet-5 - paramcount</title>", "<title>2 specs - paramcount</title>").replace(
        "</main>", failed + "</main>")
    alone = run_cli("-", "--format", "html", input="name: x\ninput: [3]\nlayers: [{type: nope}]\n")
    assert alone.exit_code == 2 and alone.stdout == ""  # one spec: nothing on stdout


# -- rendering in Chromium -----------------------------------------------------------------------

REQUIRE_CHROMIUM = "PARAMCOUNT_REQUIRE_CHROMIUM"
# The charts' bar colours in the light scheme (headless Chromium's), from html._CSS.
PARAMS_BAR, MACS_BAR = (0x2F, 0x6F, 0xDB), (0xD9, 0x73, 0x1A)


def chromium():
    """Chromium's path, or skip (fail under PARAMCOUNT_REQUIRE_CHROMIUM=1)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get(REQUIRE_CHROMIUM) == "1":
        pytest.fail(f"{REQUIRE_CHROMIUM}=1 but chromium is not installed", pytrace=False)
    pytest.skip(f"chromium is not installed (set {REQUIRE_CHROMIUM}=1 to make this fail)")


def run_chromium(tmp_path, *args):
    """Headless Chromium on its own profile, offline; its stderr (D-Bus and GPU noise) ignored."""
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={profile}", *args]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}"
    return proc.stdout.decode("utf-8", "replace")


def screenshot(tmp_path, page_file, width, height):
    png = tmp_path / f"shot-{width}x{height}.png"
    run_chromium(tmp_path, "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={png}",
                 page_file.as_uri())
    assert png.is_file() and png.stat().st_size > 1000
    return png.read_bytes()


def read_png(data):
    """(width, height, rows as bytes of RGB) of an 8-bit RGB or RGBA, non-interlaced PNG, decoded by
    hand: the IDAT chunks inflated, each row unfiltered (None, Sub, Up, Average, Paeth)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, header, idat = 8, None, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, bits, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert bits == 8 and colour in (2, 6) and interlace == 0, (bits, colour, interlace)
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    assert len(raw) == height * (stride + 1)
    prev, rows = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + (((line[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else:
            assert kind == 0, f"filter {kind}"
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def pixels(row):
    """The (r, g, b) pixels of one decoded row."""
    return zip(row[0::3], row[1::3], row[2::3])


def near(pixel, colour, tolerance=8):
    return all(abs(p - c) <= tolerance for p, c in zip(pixel, colour))


def test_the_png_reader_agrees_with_pillow(tmp_path):
    """The hand-written decoder against Pillow, where Pillow is installed, on every filter type."""
    image = pytest.importorskip("PIL.Image")
    import io

    data = [((x * 7 + y * 3) % 256, (x * y) % 256, (x ^ y) % 256) for y in range(16) for x in range(16)]
    picture = image.new("RGB", (16, 16))
    picture.putdata(data)
    for optimize in (False, True):
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", optimize=optimize)
        width, height, rows = read_png(buffer.getvalue())
        assert (width, height) == (16, 16) and [p for row in rows for p in pixels(row)] == data


@pytest.fixture(scope="module")
def resnet_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "resnet50.html"
    path.write_text(page(report_of("resnet50")), encoding="utf-8")
    return path


def test_chromium_renders_the_charts_at_desktop_size(tmp_path, resnet_page):
    width, height, rows = read_png(screenshot(tmp_path, resnet_page, 1280, 1600))
    assert (width, height) == (1280, 1600)
    colours, painted = set(), 0
    blue, orange = [], []  # per screen row, the pixels of each chart's bar colour
    for row in rows:
        colours.update(pixels(row))
        painted += width - sum(1 for p in pixels(row) if p == (255, 255, 255))
        blue.append(sum(1 for p in pixels(row) if near(p, PARAMS_BAR)))
        orange.append(sum(1 for p in pixels(row) if near(p, MACS_BAR)))
    assert len(colours) > 200  # text, panels and bars, antialiased: far from a blank page
    assert painted > width * height // 20
    # Both charts are drawn in the first screen: bars of each colour, over many screen rows.
    assert sum(1 for n in blue if n > 4) > 50 and sum(1 for n in orange if n > 4) > 50
    assert sum(blue) > 2000 and sum(orange) > 2000, (sum(blue), sum(orange))


def test_chromium_renders_a_phone_sized_window(tmp_path, resnet_page):
    width, height, rows = read_png(screenshot(tmp_path, resnet_page, 390, 844))
    assert (width, height) == (390, 844)
    everything = [p for row in rows for p in pixels(row)]
    assert len(set(everything)) > 100
    assert sum(1 for p in everything if p != (255, 255, 255)) > width * height // 20
    # The content reflows into the window: dark text reaches its right half, and only the page's
    # background lies in the last few columns (no layout wider than the phone, cut off at its edge).
    assert sum(1 for row in rows for p in list(pixels(row))[width // 2:] if sum(p) < 300) > 500
    assert all(p == (255, 255, 255) for row in rows for p in list(pixels(row))[-6:])


def test_chromiums_dom_holds_the_totals(tmp_path, resnet_page):
    dom = run_chromium(tmp_path, "--dump-dom", resnet_page.as_uri())
    assert "<dt>Trainable params</dt><dd>25,557,032</dd>" in dom
    assert RESNET50_PARAMS in dom and "4,089,184,256 (4.09 G)" in dom
    assert "<script" not in dom


# -- hostile input, as tests/test_output_hardening.py checks the other formats ---------------------


@pytest.mark.parametrize("make", ["long_name_after_wide_counts", "tall_wide_rows", "aliased_wide_shapes"])
def test_html_of_a_hostile_report_costs_what_its_rows_do(tmp_path, make):
    import test_output_hardening as hardening

    (tmp_path / "spec.yaml").write_text(getattr(hardening, make)(tmp_path))
    proc, peak, out = hardening.measured(["--format", "html", "spec.yaml"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""
    assert peak < hardening.MEMORY_BOUND_MIB, f"{peak} MiB"
    assert out.stat().st_size < 40 * 2**20  # 10,000 rows of bounded cells, and their explanations
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_html_on_a_stdout_that_is_not_utf8_stays_exact(tmp_path, encoding):
    """The page says charset=utf-8: on any other stdout it is written in ASCII with character
    references, so a browser reads the same names, whatever the stream's encoding."""
    import test_output_hardening as hardening

    (tmp_path / "spec.yaml").write_text(hardening.UNICODE_SPEC, encoding="utf-8")
    proc = hardening.paramcount("--format", "html", "spec.yaml", cwd=tmp_path, PYTHONIOENCODING=encoding)
    assert proc.returncode == 0 and proc.stderr == b""
    text = proc.stdout.decode("utf-8")  # ASCII is UTF-8 too
    if encoding != "utf-8":
        assert text.isascii()
    import html as html_module

    unescaped = html_module.unescape(text)
    assert "<title>Ünïcödé 模型 - paramcount</title>" in unescaped
    assert "café😀" in unescaped and "超長い名前" in unescaped


@pytest.mark.parametrize("stem", ["a\x1b]0;pwned\x07b\nc", "bidi\u202etxt.exe\u202c", "<i>x&amp;"],
                         ids=["esc-bel-newline", "bidi", "markup"])
def test_html_a_file_name_reaches_the_page_escaped(tmp_path, stem):
    import test_output_hardening as hardening

    (tmp_path / f"{stem}.yaml").write_text("input: [4]\nlayers: [{type: dense, units: 3}]\n")
    proc = hardening.paramcount("--format", "html", f"{stem}.yaml", "--max-params", "1", cwd=tmp_path)
    assert proc.returncode == 1  # over budget, and the page still written
    page = proc.stdout.decode()
    for bad in "\x1b\x07\r\u202e\u202c":
        assert bad not in page
    if stem.startswith("<i>"):
        assert "<i>x" not in page and "&lt;i&gt;x&amp;amp;" in page
    else:
        assert "\\x1b" in page or "\\u202e" in page  # escaped as the other formats escape them


def test_a_repeated_wrapper_is_charted_whole():
    """A model that is one block run 4 times: its children describe one copy, so the chart shows the
    block itself (×4, all its params), not two bars that add up to a quarter of the total."""
    from paramcount import analyze, load_text

    spec = ("name: repeated wrapper\ninput: [8]\nlayers:\n  - type: sequence\n    name: body\n    repeat: 4\n"
            "    layers:\n      - {type: dense, name: a, units: 8}\n      - {type: dense, name: b, units: 8}\n")
    report = analyze(load_text(spec, "rep.yaml"))
    nodes, inside = html.chart_nodes(report)
    assert inside is None and [n.name for n in nodes] == ["body"]
    text = page(report)
    # 4 copies × 2 layers × (8·8 + 8) = 576, all of the total
    assert "<code>body</code> <small>sequence ×4</small>" in text and "576 <small>100.0%</small>" in text
    assert "(inside <code>body</code>)" not in text


def test_the_cli_passes_columns_and_depth_to_the_page():
    out = run_cli("resnet50", "--format", "html", "--depth", "1", "--columns", "name,params,macs,share")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == page(report_of("resnet50"), depth=1, keys=["name", "params", "macs", "share"])
    assert '<th scope="col" class="n">MACs</th>' in out.stdout and "<th scope=\"col\" class=\"w\">Type</th>" not in out.stdout
    refused = run_cli("resnet50", "--format", "html", "--columns", "name,copies")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("paramcount: error: --columns: copies is a CSV column")


def test_warnings_are_on_the_page():
    """What stderr warns of is on the page too: a saved report is read without stderr."""
    spec = "name: w\ninput: [3, 8, 8]\nlayers:\n  - {type: dense, units: 4}\n"
    out = run_cli("-", "--format", "html", input=spec)
    assert out.exit_code == 0
    assert out.stderr.startswith("<stdin>:4:5: warning: dense layer 'dense_1' acts on the last axis")
    assert ("<h3>Warnings</h3>\n<ul class=\"warnings\">\n<li><code>&lt;stdin&gt;:4:5</code>: dense layer "
            "&#x27;dense_1&#x27; acts on the last axis of [3, 8, 8] only") in out.stdout
    assert "<h3>Warnings</h3>" not in run_cli("lenet5", "--format", "html").stdout
