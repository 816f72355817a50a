"""`--columns` (issue 9): the table's, markdown's and CSV's columns picked by name, and a
share-of-total bar per row. Every figure below is derived by hand in a comment, or checked against
a second path through the code (the summary's totals, analyze.estimate_memory, Report.leaves), so a
wrong column fails here whether or not torch is installed.

LeNet-5 by hand (input 1 × 32 × 32):
    C1  conv 6 × (1·5·5 + 1) = 156 params;  MACs 6·28·28 × 25 = 117,600;  output 6·28·28 = 4,704
    C3  conv 16 × (6·5·5 + 1) = 2,416;      MACs 16·10·10 × 150 = 240,000; output 1,600
    C5  conv 120 × (16·5·5 + 1) = 48,120;   MACs 120 × 400 = 48,000;       output 120
    F6  dense 84 × (120 + 1) = 10,164;      MACs 84 × 120 = 10,080;        output 84
    OUTPUT dense 10 × (84 + 1) = 850;       MACs 840;                      output 10
    total 61,706 params; MACs 416,520
Shares of 61,706 in tenths of a percent, rounded half up: C1 156 → 2.53 → 3 (0.3%); C3 2,416 →
39.15 → 39 (3.9%); C5 48,120 → 779.8 → 780 (78.0%); F6 10,164 → 164.7 → 165 (16.5%); OUTPUT 850 →
13.8 → 14 (1.4%). Bars are 10 cells of eighths: 780 tenths → 780·80/1000 = 62.4 → 62 eighths =
7 full cells and ▊ (6/8); 165 → 13.2 → 13 eighths = █ and ▋ (5/8).
"""

import csv
import io
import textwrap

import pytest

from conftest import run_cli
from paramcount import analyze, load_text, render
from paramcount.analyze import DTYPES, Compute, estimate_memory
from paramcount.sources import load_preset

LENET5_PICKED = textwrap.dedent("""\
    LeNet-5 (input [1, 32, 32])
    ┏━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
    ┃ Layer     ┃ Output shape ┃ Params ┃    MACs ┃ Connections ┃ Param memory ┃ Activations ┃ Share of params   ┃
    ┡━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
    │ C1        │ [6, 28, 28]  │    156 │ 117,600 │     122,304 │        624 B │    18.4 KiB │ ▏            0.3% │
    │ S2        │ [6, 14, 14]  │      0 │       0 │       4,704 │          0 B │     4.6 KiB │              0.0% │
    │ C3        │ [16, 10, 10] │  2,416 │ 240,000 │     241,600 │      9.4 KiB │     6.3 KiB │ ▍            3.9% │
    │ S4        │ [16, 5, 5]   │      0 │       0 │       1,600 │          0 B │     1.6 KiB │              0.0% │
    │ C5        │ [120, 1, 1]  │ 48,120 │  48,000 │      48,120 │    188.0 KiB │       480 B │ ███████▊    78.0% │
    │ flatten_1 │ [120]        │      0 │       0 │           0 │          0 B │       480 B │              0.0% │
    │ F6        │ [84]         │ 10,164 │  10,080 │      10,164 │     39.7 KiB │       336 B │ █▋          16.5% │
    │ OUTPUT    │ [10]         │    850 │     840 │         850 │      3.3 KiB │        40 B │ ▏            1.4% │
    ├───────────┼──────────────┼────────┼─────────┼─────────────┼──────────────┼─────────────┼───────────────────┤
    │ Total     │              │ 61,706 │ 416,520 │     429,342 │    241.0 KiB │    32.1 KiB │ ██████████ 100.0% │
    └───────────┴──────────────┴────────┴─────────┴─────────────┴──────────────┴─────────────┴───────────────────┘
    """)
# By hand, beyond the module docstring: memory is params × 4 bytes: C1 624 B, C3 9,664 B = 9.4 KiB,
# C5 192,480 B = 187.97 KiB → 188.0, F6 40,656 B = 39.70 KiB, OUTPUT 3,400 B = 3.32 KiB, total
# 246,824 B = 241.04 KiB. Activations are outputs × 4 bytes: C1 18,816 B = 18.375 → 18.4 KiB, S2
# 4,704 B = 4.59 → 4.6 KiB, C3 6,400 B = 6.25 → 6.3 KiB (half up), S4 1,600 B = 1.56 → 1.6 KiB,
# C5 and flatten 480 B, F6 336 B, OUTPUT 40 B; total 8,214 × 4 = 32,856 B = 32.09 KiB.
# Connections (LeCun's): C1 6·28·28 × 26 = 122,304; S2 6·14·14 × (4 + 1) = 5,880 in the paper's
# trainable pooling, but this preset's avgpool2d has no bias: 1,176 outputs × 4 inputs = 4,704; C3
# 1,600 × 151 = 241,600 (the preset connects all 6 maps, not the paper's table); S4 400 × 4 = 1,600;
# C5 120 × 401 = 48,120; F6 84 × 121 = 10,164; OUTPUT 10 × 85 = 850; total 429,342.


def test_parse_columns_named_and_changed():
    assert render.parse_columns(None) is None
    assert render.parse_columns("name, Params ,MACs,share") == ("only", ["name", "params", "macs", "share"])
    # other spellings: the JSON's key names and short forms
    assert render.parse_columns("layer,output_shape,params_unshared,%") == ("only", ["name", "shape", "unshared", "share"])
    assert render.parse_columns("+share,-biases") == ("change", [("+", "share"), ("-", "biases")])


@pytest.mark.parametrize("value, message", [
    ("", "--columns: name at least one column"),
    (" , ", "--columns: name at least one column"),
    ("nmae", "--columns: unknown column 'nmae'; did you mean 'name'?"),
    ("name,+share", "--columns: either name the columns, or change the default set with +COLUMN and -COLUMN"),
    ("params,Params", "--columns: params is named twice"),
    ("-name,-type,-shape,-weights,-biases,-params,-unshared", "--columns: no column left"),
])
def test_bad_columns_are_one_line_usage_errors(cli_run, value, message):
    result = cli_run("lenet5", "--columns", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"paramcount: error: {message}")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [["--json"], ["--format", "json"], ["--list-presets"], ["--emit-spec"]])
def test_columns_refused_where_there_are_none(cli_run, args):
    result = cli_run("lenet5", "--columns", "name", *args) if "--list-presets" not in args \
        else cli_run("--list-presets", "--columns", "name")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--columns picks the columns of a table, markdown, HTML or CSV" in result.stderr


def test_lenet5_picked_columns_exact(cli_run):
    result = cli_run("lenet5", "--columns", "name,shape,params,macs,connections,memory,activations,share",
                     COLUMNS="120")
    assert result.exit_code == 0, result.stderr
    table = result.stdout[:result.stdout.index("Total params:")]
    assert table == LENET5_PICKED
    # the summary under the table is the default one, unchanged
    assert "MACs: 416,520 (416.52 K); FLOPs = 2 × MACs\nConnections: 429,342\n" in result.stdout


def test_default_columns_unchanged(cli_run):
    default = cli_run("resnet50", COLUMNS="200").stdout
    # the same default set named as a change that changes nothing, and outright (non-trainable
    # joins the default set where the report has any, as before --columns)
    assert cli_run("resnet50", "--columns", "+params", COLUMNS="200").stdout == default
    assert cli_run("resnet50", "--columns", "name,type,shape,weights,biases,non_trainable,params,unshared",
                   COLUMNS="200").stdout == default


def test_columns_named_outright_are_never_left_out(cli_run):
    narrow = cli_run("resnet50", "--columns", "name,weights,biases,unshared,macs,other_ops,share",
                     COLUMNS="60").stdout
    header = "".join(line for line in narrow.splitlines() if line.startswith("┃"))
    for word in ("Layer", "Weights", "Biases", "Unshared", "MACs", "Other", "Share"):
        assert word in header
    assert "Not shown at" not in narrow
    # a changed default set still drops its optional columns to fit, and says so
    changed = cli_run("resnet50", "--columns", "+macs", COLUMNS="80").stdout
    assert "Not shown at 80 columns:" in changed


def test_fp16_memory_column(cli_run):
    # C5: 48,120 params × 2 bytes = 96,240 B = 93.98 KiB → 94.0 KiB; its output 120 × 2 = 240 B
    out = cli_run("lenet5", "--columns", "name,memory,activations", "--dtype", "fp16", COLUMNS="100").stdout
    row = next(line for line in out.splitlines() if line.startswith("│ C5"))
    assert [c.strip() for c in row.split("│")[1:-1]] == ["C5", "94.0 KiB", "240 B"]


def test_ascii_terminal_draws_the_bar_with_ascii():
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "100", "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([sys.executable, "-m", "paramcount", "lenet5", "--columns", "name,share"],
                            capture_output=True, text=True, encoding="ascii", env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    # C5 78.0%: 7 full cells and a part; F6 16.5%: one full cell and a part
    assert "| C5        | #######+    78.0% |" in result.stdout
    assert "| F6        | #+          16.5% |" in result.stdout


def test_markdown_share_reads_figure_first(cli_run):
    out = cli_run("lenet5", "--format", "markdown", "--columns", "name,params,share").stdout
    assert "| `C5` | 48,120 | 78.0% ███████▊ |" in out
    assert "| **Total** | **61,706** | **100.0% ██████████** |" in out


def _report(name):
    return analyze(load_preset(name))


@pytest.mark.parametrize("preset", ["lenet5", "resnet50", "gpt2", "mobilenet-v2", "albert-base"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_figures_add_up_to_the_summary(preset, dtype):
    """At every depth the top-level rows' memory, activations, MACs and connections sum to what
    estimate_memory and the report's compute say (a second path: they walk the leaves)."""
    report = _report(preset)
    m = estimate_memory(report, dtype)
    from paramcount.analyze import dtype_bytes

    top = report.layers
    assert sum(render.row_memory(n, dtype) for n in top) == m.weights_bytes
    assert sum(n.activations() for n in top) == m.activation_elements
    if dtype == "fp32":
        assert dtype_bytes(m.activation_elements, dtype) == 4 * m.activation_elements
        assert sum(n.compute.macs for n in top) == report.compute.macs
        assert sum(n.compute.connections for n in top) == report.compute.connections
        # shares: each rounds by at most half a tenth, so the top rows' tenths sum to 1,000 ± rows/2
        tenths = [render.share_tenths(n.counts.params, report.totals.params) for n in top]
        assert abs(sum(tenths) - 1000) <= len(top) // 2 + 1


def test_presets_exist_for_the_sums():
    from paramcount.sources import preset_names

    assert {"lenet5", "resnet50", "gpt2", "mobilenet-v2", "albert-base"} <= set(preset_names())


SHARED_AND_TIED = """\
name: shared and tied
input: [16]
layers:
  - {type: embedding, name: wte, num_embeddings: 100, embedding_dim: 8}
  - {type: dense, name: block, units: 8, repeat: 3, shared: true}
  - {type: dense, name: head, units: 100, bias: false, tie: wte}
"""
# By hand: wte 100 × 8 = 800; block one set 8 × 8 + 8 = 72 (three copies share it); head's 8 × 100
# kernel is wte's, transposed: 0 of its own. Total 872. Shares: wte 800/872 = 91.74% → 917 tenths,
# bar 917·80/1000 = 73.4 → 73 eighths = 9 full cells and ▏; block 72/872 = 8.26% → 83 tenths, bar
# 6.6 → 7 eighths = ▉; head 0. fp32 memory: wte 3,200 B = 3.1 KiB, block 288 B, head 0 B; total
# 3,488 B = 3.4 KiB.


def test_shared_and_tied_rows(cli_run):
    result = cli_run("-", "--columns", "name,params,memory,share", input=SHARED_AND_TIED, COLUMNS="100")
    assert result.exit_code == 0, result.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│")}
    assert rows["wte"] == ["800", "3.1 KiB", "█████████▏  91.7%"]
    assert rows["block"] == ["72", "288 B", "▉            8.3%"]
    assert rows["head"] == ["0", "0 B", "0.0%"]
    assert rows["Total"] == ["872", "3.4 KiB", "██████████ 100.0%"]


def test_csv_columns(cli_run):
    result = cli_run("lenet5", "--format", "csv", "--columns", "name,params,share,memory,macs")
    assert result.exit_code == 0, result.stderr
    got = list(csv.reader(io.StringIO(result.stdout)))
    assert got[0] == ["source", "name", "params", "share_percent", "param_bytes", "macs"]
    # hand figures of the module docstring; param_bytes = params × 4
    assert got[1] == ["preset:lenet5", "C1", "156", "0.3", "624", "117600"]
    assert got[5] == ["preset:lenet5", "C5", "48120", "78.0", "192480", "48000"]
    assert len(got) == 9


def test_csv_only_columns(cli_run):
    got = list(csv.reader(io.StringIO(cli_run("-", "--format", "csv", "--columns", "name,repeat,copies,tied_to",
                                              input=SHARED_AND_TIED).stdout)))
    # block: 3 occurrences of one shared set of weights; head borrows wte's
    assert got[1:] == [["<stdin>", "wte", "1", "1", ""], ["<stdin>", "block", "3", "1", ""], ["<stdin>", "head", "1", "1", "wte"]]
    result = cli_run("lenet5", "--columns", "name,copies")
    assert result.exit_code == 2
    assert result.stderr.startswith("paramcount: error: --columns: copies is a CSV column; a table's columns: name,")


def test_csv_change_keeps_the_default_columns(cli_run):
    default = list(csv.reader(io.StringIO(cli_run("lenet5", "--format", "csv").stdout)))
    changed = list(csv.reader(io.StringIO(cli_run("lenet5", "--format", "csv", "--columns", "+share,-tied_to").stdout)))
    header = [k for k in default[0] if k != "tied_to"] + ["share_percent"]
    assert changed[0] == header


def test_csv_leaf_figures_sum_to_the_totals(cli_run):
    """A CSV row holds one copy (as the JSON); param_bytes × copies sums to the parameter memory."""
    for preset in ("albert-base", "gpt2"):
        got = list(csv.DictReader(io.StringIO(cli_run(
            preset, "--format", "csv", "--columns", "+memory,+share", "--dtype", "int4").stdout)))
        m = estimate_memory(_report(preset), "int4")
        assert sum(int(r["param_bytes"]) * int(r["copies"]) for r in got) == m.weights_bytes
        tenths = sum(int(r["share_percent"].replace(".", "")) for r in got)
        assert abs(tenths - 1000) <= len(got) // 2 + 1


def test_unknown_compute_reads_as_a_question_mark():
    """A report without compute (as an import may be) shows '?', never 0, and says what it means."""
    report = _report("lenet5")
    todo = list(report.layers)
    while todo:
        node = todo.pop()
        node.compute = Compute(known=False)
        todo += node.children
    report.compute = Compute(known=False)
    out = io.StringIO()
    render.print_report(out, report, width=120, picked=("only", ["name", "params", "macs", "activations"]))
    text = out.getvalue()
    c1 = next(line for line in text.splitlines() if line.startswith("│ C1"))
    assert [c.strip() for c in c1.split("│")[1:-1]] == ["C1", "156", "?", "?"]
    assert "?: not known for this model" in text
    md = render.to_markdown(report, picked=("only", ["name", "macs"]))
    assert "| `C1` | ? |" in md and "- ?: not known for this model" in md


def test_shell_completion_of_columns():
    from click.shell_completion import ShellComplete

    from paramcount.cli import cli

    def complete(incomplete):
        comp = ShellComplete(cli, {}, "paramcount", "_PARAMCOUNT_COMPLETE")
        return [c.value for c in comp.get_completions(["lenet5", "--columns"], incomplete)]

    assert complete("name,ma") == ["name,macs"]
    assert complete("+sh") == ["+shape", "+share"]
    assert "connections" in complete("co") and "copies" in complete("co")


def test_the_readme_columns_table_is_what_paramcount_prints(cli_run):
    from test_docs import _block_after

    result = cli_run("resnet50", "--depth", "1", "--columns", "name,shape,params,macs,memory,share", COLUMNS="100")
    pasted = _block_after("--columns name,shape,params,macs,memory,share`):")
    assert result.stdout.startswith(pasted)
    from test_docs import README

    section = README[README.index("### Choosing columns"):README.index("## Memory")]
    for key in list(render.COLUMNS) + list(render.CSV_ONLY):  # every column is documented there
        assert f"`{key}`" in section, key
