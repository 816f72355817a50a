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

from conftest import run_cli, without_compute
from paramcount import analyze, load_text, render
from paramcount.analyze import DTYPES, estimate_memory, param_bytes
from paramcount.sources import load_preset

LENET5_PICKED = textwrap.dedent("""\
    LeNet-5 (input [1, 32, 32])
    ┏━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
    ┃ Layer     ┃ Output shape ┃ Params ┃    MACs ┃ Connections ┃ Param memory ┃ Activation memory ┃ Share of params   ┃
    ┡━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
    │ C1        │ [6, 28, 28]  │    156 │ 117,600 │     122,304 │        624 B │          18.4 KiB │ ▏            0.3% │
    │ S2        │ [6, 14, 14]  │      0 │       0 │       4,704 │          0 B │           4.6 KiB │              0.0% │
    │ C3        │ [16, 10, 10] │  2,416 │ 240,000 │     241,600 │      9.4 KiB │           6.3 KiB │ ▍            3.9% │
    │ S4        │ [16, 5, 5]   │      0 │       0 │       1,600 │          0 B │           1.6 KiB │              0.0% │
    │ C5        │ [120, 1, 1]  │ 48,120 │  48,000 │      48,120 │    188.0 KiB │             480 B │ ███████▊    78.0% │
    │ flatten_1 │ [120]        │      0 │       0 │           0 │          0 B │             480 B │              0.0% │
    │ F6        │ [84]         │ 10,164 │  10,080 │      10,164 │     39.7 KiB │             336 B │ █▋          16.5% │
    │ OUTPUT    │ [10]         │    850 │     840 │         850 │      3.3 KiB │              40 B │ ▏            1.4% │
    ├───────────┼──────────────┼────────┼─────────┼─────────────┼──────────────┼───────────────────┼───────────────────┤
    │ Total     │              │ 61,706 │ 416,520 │     429,342 │    241.0 KiB │          32.1 KiB │ ██████████ 100.0% │
    └───────────┴──────────────┴────────┴─────────┴─────────────┴──────────────┴───────────────────┴───────────────────┘
    """)
# By hand, beyond the module docstring: memory is params × 4 bytes: C1 624 B, C3 9,664 B = 9.4 KiB,
# C5 192,480 B = 187.97 KiB → 188.0, F6 40,656 B = 39.70 KiB, OUTPUT 3,400 B = 3.32 KiB, total
# 246,824 B = 241.04 KiB. Activation memory is outputs × 4 bytes: C1 18,816 B = 18.375 → 18.4 KiB, S2
# 4,704 B = 4.59 → 4.6 KiB, C3 6,400 B = 6.25 → 6.3 KiB (half up), S4 1,600 B = 1.56 → 1.6 KiB,
# C5 and flatten 480 B, F6 336 B, OUTPUT 40 B; total 8,214 × 4 = 32,856 B = 32.09 KiB.
# Connections (LeCun's): C1 6·28·28 × 26 = 122,304; S2 6·14·14 × (4 + 1) = 5,880 in the paper's
# trainable pooling, but this preset's avgpool2d has no bias: 1,176 outputs × 4 inputs = 4,704; C3
# 1,600 × 151 = 241,600 (the preset connects all 6 maps, not the paper's table); S4 400 × 4 = 1,600;
# C5 120 × 401 = 48,120; F6 84 × 121 = 10,164; OUTPUT 10 × 85 = 850; total 429,342.


def test_the_output_s_own_names_are_columns():
    # the table's headers, and the JSON's and CSV's keys, name the same columns
    assert render.parse_columns("Param memory,Share of params,Unshared params,Output shape") == \
        ("only", ["memory", "share", "unshared", "shape"])
    assert render.parse_columns("param_bytes,share_percent,activation_bytes,activation_elements") == \
        ("only", ["memory", "share", "activation_memory", "activations"])
    for key, (header, _, _) in render.COLUMNS.items():
        assert render.parse_columns(header) == ("only", [key]), header


def test_columns_given_twice_add_up(cli_run):
    once = cli_run("lenet5", "--columns", "name,params", COLUMNS="100").stdout
    assert cli_run("lenet5", "--columns", "name", "--columns", "params", COLUMNS="100").stdout == once
    bad = cli_run("lenet5", "--columns", "nmae", "--columns", "params")
    assert bad.exit_code == 2 and "unknown column 'nmae'" in bad.stderr  # the first is checked too


def test_a_tiny_share_still_draws_a_sliver(cli_run):
    """conv1's 9,408 of ResNet-50's 25,610,152 params is 0.037%: 0.0% to a tenth, but not nothing,
    so an eighth of a cell; relu's 0 draws nothing."""
    out = cli_run("resnet50", "--depth", "1", "--columns", "name,params,share", COLUMNS="100").stdout
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip() for line in out.splitlines() if line.startswith("│")}
    assert rows["conv1"] == "▏            0.0%" and rows["relu"] == "0.0%"


def test_markdown_on_an_ascii_stdout_draws_the_bar_with_ascii(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    out = subprocess.run([sys.executable, "-m", "paramcount", "lenet5", "--format", "markdown", "--columns",
                          "name,share"], capture_output=True, env=env, timeout=60).stdout.decode("ascii")
    # C5 78.0%: 7 full cells and a part, as in the table's ASCII form
    assert "| `C5` | 78.0% #######+ |" in out and "\\u2588" not in out


def test_list_presets_formats(cli_run):
    got = list(csv.reader(io.StringIO(cli_run("--list-presets", "--format", "csv").stdout)))
    assert got[0] == ["preset", "name", "params", "description"]
    assert ["lenet5", "LeNet-5", "61706"] == got[[r[0] for r in got].index("lenet5")][:3]
    refused = cli_run("--list-presets", "--format", "html")
    assert refused.exit_code == 2 and refused.stdout == ""


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_explain_is_refused_where_it_has_no_place(cli_run, fmt):
    result = cli_run("lenet5", "--explain", "--format", fmt)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"paramcount: error: --explain writes after a table or markdown (HTML always has it), not in {fmt}\n"


def test_csv_activations_are_the_json_s(cli_run):
    """In CSV, `activations` is the JSON's key (elements); bytes are `activation_memory`, and a
    -COLUMN takes away from the CSV's own default columns."""
    default = list(csv.reader(io.StringIO(cli_run("lenet5", "--format", "csv").stdout)))
    assert default[0][-1] == "activations" and default[1][-1] == "4704"  # C1: 6 × 28 × 28
    less = list(csv.reader(io.StringIO(cli_run("lenet5", "--format", "csv", "--columns", "-activations").stdout)))
    assert less[0] == default[0][:-1]
    both = list(csv.reader(io.StringIO(cli_run("lenet5", "--format", "csv", "--columns",
                                               "name,activations,activation_memory").stdout)))
    assert both[:2] == [["source", "name", "activations", "activation_bytes"], ["preset:lenet5", "C1", "4704", "18816"]]


def test_parse_columns_named_and_changed():
    assert render.parse_columns(None) is None
    assert render.parse_columns("name, Params ,MACs,share") == ("only", ["name", "params", "macs", "share"])
    # other spellings: the JSON's key names and short forms
    assert render.parse_columns("layer,output_shape,params_unshared,%") == ("only", ["name", "shape", "unshared", "share"])
    assert render.parse_columns("+share,-biases") == ("change", [("+", "share"), ("-", "biases")])


@pytest.mark.parametrize("value, message", [
    ("", "--columns: an empty value; name at least one column"),
    (" , ", "--columns: name at least one column"),
    ("nmae", "--columns: unknown column 'nmae'; did you mean 'name'?"),
    ("name,+share", "--columns: either name the columns, or change the default set with +COLUMN and -COLUMN"),
    ("params,Params", "--columns: params is named twice"),
    ("-name,-type,-shape,-weights,-biases,-params,-unshared", "--columns: no column left"),
    ("name,,params", "--columns: an empty item (two commas, or one at an end)"),
    ("name,", "--columns: an empty item (two commas, or one at an end)"),
    ("+", "--columns: + needs a column name after it (+macs)"),
    ("-", "--columns: - needs a column name after it (-macs)"),
    ("-macs", "--columns: -macs: not a column shown by default"),
    ("name\x1b[31m", "--columns: unknown column 'name\\x1b[31m'"),
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
    result = cli_run("lenet5", "--columns", "name,shape,params,macs,connections,memory,activation_memory,share",
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
    # C5: 48,120 params × 2 bytes = 96,240 B = 93.98 KiB → 94.0 KiB; its output 120 elements × 2 = 240 B
    out = cli_run("lenet5", "--columns", "name,memory,activations,activation_memory", "--dtype", "fp16",
                  COLUMNS="100").stdout
    row = next(line for line in out.splitlines() if line.startswith("│ C5"))
    assert [c.strip() for c in row.split("│")[1:-1]] == ["C5", "94.0 KiB", "120", "240 B"]


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
    assert sum(param_bytes(n, dtype) for n in top) == m.weights_bytes
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
    report = without_compute(_report("lenet5"))
    out = io.StringIO()
    render.print_report(out, report, width=120, picked=("only", ["name", "params", "macs", "activations"]))
    text = out.getvalue()
    c1 = next(line for line in text.splitlines() if line.startswith("│ C1"))
    assert [c.strip() for c in c1.split("│")[1:-1]] == ["C1", "156", "?", "?"]
    assert "?: not known (a layer whose compute paramcount does not model)" in text
    assert "MACs: not known\nConnections: not known\n" in text  # the summary says so too, never 0
    md = render.to_markdown(report, picked=("only", ["name", "macs"]))
    assert "| `C1` | ? |" in md and "- ?: not known" in md


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
    assert result.stdout.startswith(pasted) and pasted.endswith("┘\n")  # the whole table
    from test_docs import README

    section = README[README.index("### Choosing columns"):README.index("## Memory")]
    for key in list(render.COLUMNS) + list(render.CSV_ONLY):  # every column is documented there
        assert f"`{key}`" in section, key


def test_copies_that_grow_share_a_row_and_their_activations_stay_exact():
    """A class token repeated 3 times on [4, 8] shares one row (equal counts), yet each copy's
    output is a row longer: 5·8 + 6·8 + 7·8 = 40 + 48 + 56 = 144 elements, not 3 × the last 56."""
    r = analyze(load_text("input: [4, 8]\nlayers:\n  - {type: class_token, repeat: 3}\n", "s.yaml"))
    assert len(r.layers) == 1 and r.layers[0].output_shape == (7, 8)
    assert r.layers[0].activations() == 144
    assert r.to_dict()["totals"]["activations"] == 144
    assert estimate_memory(r).activation_elements == 144
    assert render.rows(r, keys=["name", "activations"])[1] == ("Total", "144")
    assert render.rows(r, keys=["name", "activation_memory"])[1] == ("Total", "576 B")  # 144 × 4


def test_unprintable_compute_is_refused_like_counts(tmp_path, cli_run):
    """Thirteen 299-digit repeats around a relu on 8 axes of 299 digits: no parameters, but its
    other_ops and activations would have about 6,300 digits, past what Python prints (4,300)."""
    axis = "9" * 299
    lines = ["name: huge", f"input: [{', '.join([axis] * 8)}]", "layers:"]
    for i in range(13):
        pad = "  " * (i + 1)
        lines += [f"{pad}- type: sequence", f"{pad}  repeat: {axis}", f"{pad}  layers:"]
    lines.append("  " * 14 + "- {type: relu}")
    (tmp_path / "huge.yaml").write_text("\n".join(lines) + "\n")
    for fmt in ("json", "table", "html", "csv"):
        result = cli_run(str(tmp_path / "huge.yaml"), "--format", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "would count more than 4,000 digits" in result.stderr


def test_unknown_compute_is_null_in_the_json_and_the_schema_takes_it():
    """Where compute is not known, the JSON says null (never 0) for every layer, node and total."""
    jsonschema = pytest.importorskip("jsonschema")
    from paramcount.schema import output_schema

    report = without_compute(_report("resnet18"))
    doc = report.to_dict()
    jsonschema.validate(doc, output_schema())
    keys = ("macs", "other_ops", "connections", "activations")
    assert all(doc["totals"][k] is None for k in keys)
    assert all(layer[k] is None for layer in doc["layers"] for k in keys)
    nodes = [n for n in doc["tree"] if "children" in n]
    assert nodes and all(n[k] is None for n in nodes for k in keys)


NESTED_GROWING = """\
name: ct5
input: [4, 3]
layers:
  - type: sequence
    name: s
    repeat: 2
    layers:
      - type: sequence
        name: t
        repeat: 3
        layers:
          - {type: class_token, name: tok}
"""


def test_nested_copies_that_grow_count_every_copy_in_memory_too():
    """Six class tokens in a row (2 × 3 copies), each adding a [1, 3] row to a [4, 3] input: outputs
    of 5·3, 6·3, ..., 10·3 = 15 + 18 + 21 + 24 + 27 + 30 = 135 elements. Adam: 16 × 6 tokens × 3 +
    4 × 135 = 288 + 540 = 828 bytes."""
    r = analyze(load_text(NESTED_GROWING, "ct5.yaml"))
    m = estimate_memory(r)
    assert r.to_dict()["totals"]["activations"] == m.activation_elements == 135
    assert m.training_adam_bytes == 828
    assert render.rows(r, depth=1, keys=["name", "activations"])[1] == ("Total", "135")


def test_the_schema_takes_compute_known_or_not_as_a_whole():
    """One object's four compute figures are all integers or all null: a mix is a bug the schema
    catches (a total 'not known' beside a known activations count)."""
    jsonschema = pytest.importorskip("jsonschema")
    from paramcount.schema import output_schema

    doc = _report("lenet5").to_dict()
    jsonschema.validate(doc, output_schema())
    for where in (doc["totals"], doc["layers"][0]):
        mixed = {**where, "macs": None}
        bad = {**doc, "totals": mixed} if where is doc["totals"] else {**doc, "layers": [mixed] + doc["layers"][1:]}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, output_schema())
