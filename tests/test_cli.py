"""The command line through click's CliRunner: exit codes, JSON keys, budgets, stdin,
several specs, presets from any directory, and a table that never cuts a name or a number.

Error *messages* of bad specs are pinned in test_errors.py; whole renderings in
test_render_golden.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

import paramcount
from paramcount import render
from conftest import run_cli

TOP_KEYS = ["schema_version", "name", "source", "input_shape", "layers", "tree", "totals", "budget"]
LAYER_KEYS = ["name", "type", "input_shape", "output_shape", "weights", "biases", "trainable",
              "non_trainable", "params", "params_unshared", "path", "depth", "repeat", "copies", "tied_to",
              "macs", "other_ops", "connections", "activations"]
TOTAL_KEYS = ["weights", "biases", "trainable", "non_trainable", "params", "params_unshared",
              "macs", "other_ops", "connections", "activations"]

LENET5_PARAMS = 61_706
ALEXNET_PARAMS = 60_965_224
ALEXNET_TORCHVISION_PARAMS = 61_100_840

# 3x4 weights + 3 biases = 15 params.
TINY = textwrap.dedent("""\
    name: Tiny
    input: [4]
    layers:
      - {type: dense, units: 3}
""")


run = run_cli  # the one CLI runner (tests/conftest.py), with its environment policy


def budget(max_params, within, **others):
    """The JSON's `budget`: every budget key (null when unset) and `within`."""
    d = {"max_params": max_params, "max_trainable": None, "max_params_unshared": None, "max_layer_params": None}
    d.update(others)
    return {**d, "within": within}


def as_json(result):
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def lines(text):
    return text.splitlines()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- exit codes ---------------------------------------------------------------------------


def test_exit_code_0_when_all_good():
    result = run("lenet5")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_exit_code_1_when_over_budget():
    result = run("lenet5", "--max-params", "60k")
    assert result.exit_code == 1


def test_exit_code_2_on_bad_input():
    result = run("no-such-spec.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""


# -- table --------------------------------------------------------------------------------


def test_lenet5_table_shows_the_total():
    result = run("lenet5")
    assert result.exit_code == 0
    assert "LeNet-5 (input [1, 32, 32])" in result.stdout
    assert "61,706" in result.stdout
    assert "Total params: 61,706" in lines(result.stdout)
    assert "Without weight sharing: 423,038 params (sharing makes it 6.9x smaller)" in lines(result.stdout)
    assert "Parameter memory (fp32): 241.0 KiB" in lines(result.stdout)


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [["--json"], ["--format", "json"], ["--format=json"], ["--json", "--format", "json"]])
def test_json_has_exactly_the_documented_keys(flag):
    result = run(*flag, "lenet5")
    assert result.exit_code == 0
    doc = as_json(result)
    assert list(doc) == TOP_KEYS
    assert doc["schema_version"] == 1
    assert doc["name"] == "LeNet-5"
    assert doc["source"] == "preset:lenet5"
    assert doc["input_shape"] == [1, 32, 32]
    assert len(doc["layers"]) == 8
    for layer in doc["layers"]:
        assert list(layer) == LAYER_KEYS
    assert list(doc["totals"]) == TOTAL_KEYS
    assert doc["budget"] == budget(None, True)


def test_lenet5_json_figures():
    doc = as_json(run("--json", "lenet5"))
    by_name = {layer["name"]: layer for layer in doc["layers"]}
    c1 = by_name["C1"]
    assert (c1["weights"], c1["biases"], c1["params"], c1["params_unshared"]) == (150, 6, 156, 122_304)
    assert c1["output_shape"] == [6, 28, 28]
    params = {name: by_name[name]["params"] for name in ("C1", "C3", "C5", "F6", "OUTPUT")}
    assert params == {"C1": 156, "C3": 2_416, "C5": 48_120, "F6": 10_164, "OUTPUT": 850}
    # MACs: C1 28·28·6·25 = 117,600; C3 10·10·16·150 = 240,000; C5 120·400 = 48,000; F6 120·84 = 10,080;
    # OUTPUT 84·10 = 840: 416,520 (other_ops and connections from tests/test_macs.py's cases).
    assert doc["totals"] == {"weights": 61_470, "biases": 236, "trainable": 61_706, "non_trainable": 0,
                             "params": 61_706, "params_unshared": 423_038,
                             "macs": 416_520, "other_ops": 12_812, "connections": 429_342,
                             # outputs per sample: 4,704 + 1,176 + 1,600 + 400 + 120 + 120 + 84 + 10
                             "activations": 8_214}


def test_alexnet_json_figures():
    doc = as_json(run("alexnet", "--json"))
    assert doc["totals"]["params"] == ALEXNET_PARAMS
    assert doc["input_shape"] == [3, 227, 227]
    conv1 = doc["layers"][0]
    assert conv1["name"] == "conv1"
    assert conv1["params"] == 34_944
    assert conv1["params_unshared"] == 105_705_600
    assert conv1["output_shape"] == [96, 55, 55]


def test_alexnet_torchvision_json_total():
    assert as_json(run("alexnet-torchvision", "--json"))["totals"]["params"] == ALEXNET_TORCHVISION_PARAMS


# -- several specs ------------------------------------------------------------------------


def test_several_specs_give_a_json_array_in_order():
    result = run("--json", "lenet5", "alexnet")
    assert result.exit_code == 0
    docs = as_json(result)
    assert isinstance(docs, list)
    assert [d["source"] for d in docs] == ["preset:lenet5", "preset:alexnet"]
    assert [d["totals"]["params"] for d in docs] == [LENET5_PARAMS, ALEXNET_PARAMS]


def test_one_spec_gives_a_single_object():
    assert isinstance(as_json(run("--json", "lenet5")), dict)


def test_several_specs_good_ones_printed_bad_ones_on_stderr(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tiny.yaml", TINY)
    result = run("--json", "lenet5", "missing.yaml", "tiny.yaml")
    assert result.exit_code == 2
    assert [d["source"] for d in as_json(result)] == ["preset:lenet5", "missing.yaml", "tiny.yaml"]
    assert as_json(result)[1] == {"source": "missing.yaml", "problems": [
        {"line": 1, "column": 1, "message": "cannot read: No such file or directory"}]}
    assert lines(result.stderr) == ["missing.yaml:1:1: cannot read: No such file or directory"]


def test_several_specs_table_prints_each_good_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tiny.yaml", TINY)
    result = run("lenet5", "nope.yaml", "tiny.yaml", COLUMNS="200")
    assert result.exit_code == 2
    assert "LeNet-5 (input [1, 32, 32])" in result.stdout
    assert "Tiny (input [4])" in result.stdout
    assert lines(result.stderr) == ["nope.yaml:1:1: cannot read: No such file or directory"]


@pytest.mark.parametrize("order", [("over", "good"), ("good", "over")])
def test_several_specs_over_budget_beats_good(tmp_path, monkeypatch, order):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.yaml", TINY)
    write(tmp_path / "over.yaml", TINY.replace("input: [4]", "input: [4]\nbudget: {max_params: 10}"))
    result = run("--json", *(f"{o}.yaml" for o in order))
    assert result.exit_code == 1
    assert len(as_json(result)) == 2
    assert lines(result.stderr) == ["over.yaml:3:22: Tiny has 15 params, over the limit of 10 (its budget)"]


@pytest.mark.parametrize("order", [("bad", "over", "good"), ("over", "bad", "good"), ("good", "over", "bad")])
def test_several_specs_bad_input_beats_over_budget(tmp_path, monkeypatch, order):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.yaml", TINY)
    write(tmp_path / "over.yaml", TINY.replace("input: [4]", "input: [4]\nbudget: {max_params: 10}"))
    write(tmp_path / "bad.yaml", TINY.replace("units: 3", "units: 0"))
    result = run("--json", *(f"{o}.yaml" for o in order))
    assert result.exit_code == 2
    assert [d["source"] for d in as_json(result)] == [f"{o}.yaml" for o in order]
    assert [d["problems"][0]["line"] for d in as_json(result) if d["source"] == "bad.yaml"] == [4]
    assert sorted(lines(result.stderr)) == [
        "bad.yaml:4:26: units must be a positive integer, got 0",
        "over.yaml:3:22: Tiny has 15 params, over the limit of 10 (its budget)",
    ]


def test_several_specs_all_bad_give_an_array_of_failures():
    result = run("--json", "nope1.yaml", "nope2.yaml")
    assert result.exit_code == 2
    assert [d["source"] for d in as_json(result)] == ["nope1.yaml", "nope2.yaml"]
    assert lines(result.stderr) == ["nope1.yaml:1:1: cannot read: No such file or directory",
                                    "nope2.yaml:1:1: cannot read: No such file or directory"]


# -- standard input -----------------------------------------------------------------------


def test_stdin_spec():
    result = run("-", "--json", input=TINY)
    assert result.exit_code == 0
    doc = as_json(result)
    assert doc["source"] == "<stdin>"
    assert doc["name"] == "Tiny"
    assert doc["totals"]["params"] == 15


def test_stdin_default_name_is_stdin():
    doc = as_json(run("--json", "-", input=TINY.replace("name: Tiny\n", "")))
    assert doc["name"] == "stdin"


def test_stdin_errors_are_prefixed_stdin():
    result = run("-", input=TINY.replace("units: 3", "unit: 3"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert lines(result.stderr) == [
        "<stdin>:4:5: dense layer 1 is missing 'units'",
        "<stdin>:4:19: 'unit' is not a field of dense; did you mean 'units'?",
    ]


def test_empty_stdin():
    result = run("-", input="")
    assert result.exit_code == 2
    assert lines(result.stderr) == ["<stdin>:1:1: empty spec; expected a mapping with 'input' and 'layers'"]


# -- files from other directories, presets from anywhere ----------------------------------


def test_spec_file_by_relative_path_from_another_directory(tmp_path, monkeypatch):
    write(tmp_path / "nets" / "tiny.yaml", TINY.replace("name: Tiny\n", ""))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    path = os.path.join("..", "nets", "tiny.yaml")
    result = run("--json", path)
    assert result.exit_code == 0
    doc = as_json(result)
    assert doc["source"] == path  # the path as given
    assert doc["name"] == "tiny"  # default: the file's stem
    assert doc["totals"]["params"] == 15


def test_spec_file_by_absolute_path(tmp_path, monkeypatch):
    spec = write(tmp_path / "nets" / "tiny.yaml", TINY)
    monkeypatch.chdir(tmp_path)
    doc = as_json(run("--json", str(spec)))
    assert doc["source"] == str(spec)
    assert doc["totals"]["params"] == 15


def test_errors_name_the_path_as_given(tmp_path, monkeypatch):
    write(tmp_path / "nets" / "bad.yaml", TINY.replace("units: 3", "units: 0"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    path = os.path.join("..", "nets", "bad.yaml")
    result = run(path)
    assert lines(result.stderr) == [f"{path}:4:26: units must be a positive integer, got 0"]


@pytest.mark.parametrize("preset, total", [("lenet5", LENET5_PARAMS), ("alexnet", ALEXNET_PARAMS),
                                           ("alexnet-torchvision", ALEXNET_TORCHVISION_PARAMS)])
def test_presets_resolve_from_any_directory(tmp_path, monkeypatch, preset, total):
    monkeypatch.chdir(tmp_path)
    doc = as_json(run("--json", preset))
    assert doc["source"] == f"preset:{preset}"
    assert doc["totals"]["params"] == total


def test_python_m_paramcount_from_another_directory(tmp_path):
    """A real process, outside the checkout: the console entry and the shipped presets."""
    proc = subprocess.run([sys.executable, "-m", "paramcount", "--json", "lenet5"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["params"] == LENET5_PARAMS


def test_python_m_paramcount_error_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "paramcount", "nope.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == ["nope.yaml:1:1: cannot read: No such file or directory"]


# -- --list-presets -----------------------------------------------------------------------


def test_list_presets_table():
    result = run("--list-presets", COLUMNS="200")
    assert result.exit_code == 0
    out = result.stdout
    for preset, total in [("lenet5", "61,706"), ("alexnet", "60,965,224"), ("alexnet-torchvision", "61,100,840")]:
        row = next(line for line in lines(out) if line.startswith(f"│ {preset} "))
        assert f" {total} " in row
    assert "Preset" in out and "Params" in out and "Description" in out


def test_list_presets_json():
    result = run("--list-presets", "--format", "json")
    assert result.exit_code == 0
    presets = as_json(result)
    assert isinstance(presets, list)
    for entry in presets:
        assert list(entry) == ["preset", "name", "params", "description"]
        assert entry["description"]
    found = {e["preset"]: (e["name"], e["params"]) for e in presets}
    assert list(found) == paramcount.preset_names()
    assert {k: found[k] for k in ("lenet5", "alexnet", "alexnet-torchvision")} == {
        "lenet5": ("LeNet-5", LENET5_PARAMS),
        "alexnet": ("AlexNet", ALEXNET_PARAMS),
        "alexnet-torchvision": ("AlexNet (torchvision)", ALEXNET_TORCHVISION_PARAMS),
    }


def test_list_presets_json_shorthand():
    assert len(as_json(run("--list-presets", "--json"))) == len(paramcount.preset_names())


# -- --max-params -------------------------------------------------------------------------


@pytest.mark.parametrize("size, limit, code", [
    ("61706", 61_706, 0),
    ("61705", 61_705, 1),
    ("60k", 60_000, 1),
    ("62k", 62_000, 0),
    ("10K", 10_000, 1),
    ("61.706k", 61_706, 0),
    ("61.705k", 61_705, 1),
    ("0.07M", 70_000, 0),
    ("1.5M", 1_500_000, 0),
    ("7B", 7_000_000_000, 0),
    ("1G", 1_000_000_000, 0),
    ("2T", 2_000_000_000_000, 0),
])
def test_max_params_sizes(size, limit, code):
    result = run("--json", "lenet5", "--max-params", size)
    assert result.exit_code == code
    assert as_json(result)["budget"] == budget(limit, code == 0)
    assert (result.stderr != "") == (code == 1)


def test_max_params_exceeded_message_for_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tiny.yaml", TINY)
    result = run("tiny.yaml", "--max-params", "14")
    assert result.exit_code == 1
    assert "Budget: 15 of 14 max params (OVER BUDGET)" in lines(result.stdout)
    assert lines(result.stderr) == ["tiny.yaml: Tiny has 15 params, over the limit of 14 (--max-params)"]


def test_max_params_exceeded_message_for_a_preset():
    result = run("lenet5", "--max-params", "61705")
    assert result.exit_code == 1
    [line] = lines(result.stderr)
    where, _, message = line.partition(": ")
    assert "lenet5" in where
    assert message == "LeNet-5 has 61,706 params, over the limit of 61,705 (--max-params)"


def test_max_params_within_shows_budget_line():
    result = run("lenet5", "--max-params", "61706")
    assert result.exit_code == 0
    assert "Budget: 61,706 of 61,706 max params (within budget)" in lines(result.stdout)


@pytest.mark.parametrize("size, why", [
    ("1.2345k", "'1.2345k' is not a whole number of parameters"),
    ("1.5", "'1.5' is not a whole number of parameters"),
    ("abc", "'abc' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"),
    ("-5", "'-5' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"),
    ("1.5m", "'1.5m' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"),
    ("0", "'0' must be more than zero"),
    ("0k", "'0k' must be more than zero"),
])
def test_bad_max_params_is_a_usage_error(size, why):
    result = run("lenet5", "--max-params", size)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert lines(result.stderr) == [f"paramcount: error: Invalid value for '--max-params': {why}"]


def test_bad_max_params_with_equals_sign():
    result = run("lenet5", "--max-params=-5")
    assert result.exit_code == 2
    assert lines(result.stderr) == [
        "paramcount: error: Invalid value for '--max-params': '-5' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"]


# -- budgets in the spec ------------------------------------------------------------------

LENET5_WITH_BUDGET = textwrap.dedent("""\
    name: LeNet-5
    input: [1, 32, 32]
    budget: {max_params: 70k}
    layers:
      - {name: C1, type: conv2d, filters: 6, kernel_size: 5, activation: tanh}
      - {name: S2, type: avgpool2d, kernel_size: 2}
      - {name: C3, type: conv2d, filters: 16, kernel_size: 5, activation: tanh}
      - {name: S4, type: avgpool2d, kernel_size: 2}
      - {name: C5, type: conv2d, filters: 120, kernel_size: 5, activation: tanh}
      - {type: flatten}
      - {name: F6, type: dense, units: 84, activation: tanh}
      - {name: OUTPUT, type: dense, units: 10}
""")


@pytest.mark.parametrize("option, limit, code", [
    ([], 70_000, 0),
    (["--max-params", "1M"], 70_000, 0),   # the spec's budget is stricter
    (["--max-params", "70k"], 70_000, 0),
    (["--max-params", "65k"], 65_000, 0),  # the option is stricter
    (["--max-params", "60k"], 60_000, 1),
])
def test_spec_budget_and_option_json_reports_the_stricter(tmp_path, monkeypatch, option, limit, code):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "lenet.yaml", LENET5_WITH_BUDGET)
    result = run("--json", "lenet.yaml", *option)
    assert result.exit_code == code
    doc = as_json(result)
    assert doc["totals"]["params"] == LENET5_PARAMS
    assert doc["budget"] == budget(limit, code == 0)


def test_stricter_option_is_named_in_the_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "lenet.yaml", LENET5_WITH_BUDGET)
    result = run("--json", "lenet.yaml", "--max-params", "60k")
    assert lines(result.stderr) == ["lenet.yaml: LeNet-5 has 61,706 params, over the limit of 60,000 (--max-params)"]


def test_spec_budget_exceeded_points_at_max_params(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "lenet.yaml", LENET5_WITH_BUDGET.replace("budget: {max_params: 70k}",
                                                              "budget:\n  max_params: 60k"))
    result = run("lenet.yaml", "--max-params", "1M")
    assert result.exit_code == 1
    assert "LeNet-5 (input [1, 32, 32])" in result.stdout  # the report is still printed
    assert lines(result.stderr) == ["lenet.yaml:4:15: LeNet-5 has 61,706 params, over the limit of 60,000 (its budget)"]


def test_spec_budget_exceeded_flow_style(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "lenet.yaml", LENET5_WITH_BUDGET.replace("70k", "61.7k"))
    result = run("--json", "lenet.yaml")
    assert result.exit_code == 1
    assert as_json(result)["budget"] == budget(61_700, False)
    assert lines(result.stderr) == ["lenet.yaml:3:22: LeNet-5 has 61,706 params, over the limit of 61,700 (its budget)"]


# -- usage errors -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["markdown", "table"])
def test_json_contradicting_format_is_a_usage_error(fmt):
    result = run("--json", "--format", fmt, "lenet5")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert lines(result.stderr) == [f"paramcount: error: --json contradicts --format {fmt}"]


def test_no_spec_is_a_usage_error():
    result = run()
    assert result.exit_code == 2
    assert result.stdout == ""
    presets = ", ".join(paramcount.preset_names())
    assert lines(result.stderr) == [f"paramcount: error: give a SPEC: a YAML file, '-', or a preset ({presets})"]


@pytest.mark.parametrize("args, mentions", [
    (["--frobnicate", "lenet5"], "--frobnicate"),
    (["--format", "xml", "lenet5"], "'xml'"),
    (["lenet5", "--max-params"], "--max-params"),
])
def test_bad_options_are_one_line(args, mentions):
    """click words these messages (and they vary between its versions); ours is the one-line shape."""
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = lines(result.stderr)
    assert line.startswith("paramcount: error: ")
    assert mentions in line


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    result = run(flag)
    assert result.exit_code == 0
    assert result.stdout == f"paramcount, version {paramcount.__version__}\n"


def test_help():
    result = run("--help")
    assert result.exit_code == 0
    assert "--max-params" in result.stdout and "--list-presets" in result.stdout


# -- markdown -----------------------------------------------------------------------------


def test_markdown_output():
    result = run("--format", "markdown", "lenet5")
    assert result.exit_code == 0
    out = lines(result.stdout)
    assert out[0] == "### `LeNet-5` (input [1, 32, 32])"
    assert "| Layer | Type | Output shape | Weights | Biases | Params | Unshared params |" in out
    assert "| --- | --- | --- | ---: | ---: | ---: | ---: |" in out
    assert "| `C1` | `conv2d + tanh` | [6, 28, 28] | 150 | 6 | 156 | 122,304 |" in out
    assert "| **Total** |  |  | **61,470** | **236** | **61,706** | **423,038** |" in out
    assert "- Total params: 61,706" in out


def test_markdown_escapes_pipes_in_names():
    spec = TINY.replace("{type: dense, units: 3}", "{type: dense, units: 3, name: 'a|b'}")
    out = lines(run("--format", "markdown", "-", input=spec).stdout)
    assert "| `a\\|b` | `dense` | [3] | 12 | 3 | 15 | 15 |" in out


# -- colour, markup, width ----------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}], ids=["piped", "NO_COLOR"])
@pytest.mark.parametrize("args", [["lenet5"], ["--list-presets"], ["lenet5", "--max-params", "1k"],
                                  ["--format", "markdown", "lenet5"], ["lenet6"]])
def test_no_ansi_escapes(env, args):
    result = run(*args, **env)
    assert "\x1b" not in result.stdout
    assert "\x1b" not in result.stderr


@pytest.mark.parametrize("name", ["[bold red]x[/]", "[link=https://example.com]y[/link]", "[/]"])
def test_names_are_printed_literally_not_as_markup(name):
    spec = TINY.replace("{type: dense, units: 3}", f"{{type: dense, units: 3, name: '{name}'}}")
    result = run("-", input=spec, COLUMNS="200")
    assert result.exit_code == 0, result.stderr
    assert f"│ {name} " in result.stdout


def test_model_name_with_markup_in_the_title():
    result = run("-", input=TINY.replace("name: Tiny", "name: '[red]Tiny[/red]'"), COLUMNS="200")
    assert result.exit_code == 0, result.stderr
    assert "[red]Tiny[/red] (input [4])" in result.stdout


@pytest.mark.parametrize("columns, wide, shown", [
    ("40", False, ("params",)),
    ("60", False, ("params",)),
    ("80", False, ("weights", "biases", "params")),
    ("40", True, ("weights", "biases", "params", "params_unshared")),
    ("200", False, ("weights", "biases", "params", "params_unshared")),
])
def test_table_never_cuts_a_name_or_a_number(columns, wide, shown):
    """Columns are left out to fit the terminal, with a note; what is shown is never cut or folded."""
    doc = as_json(run("--json", "alexnet"))
    result = run("alexnet", *(["--wide"] if wide else []), COLUMNS=columns)
    assert result.exit_code == 0
    out = result.stdout
    cells = ["Total"]
    for layer in doc["layers"]:
        cells.append(layer["name"])
        cells.append("[" + ", ".join(map(str, layer["output_shape"])) + "]")
        cells += [f"{layer[k]:,}" for k in shown]
    cells += [f"{doc['totals'][k]:,}" for k in shown]
    for cell in cells:
        # a cell whole, between the table's rules: not cut, not folded onto the next line
        assert f" {cell} " in out, f"{cell!r} is cut at COLUMNS={columns}"
    assert "60,965,224" in out
    left_out = len(shown) < 4
    # the note under the table, wrapped to the terminal's width
    notes = " ".join(line.strip() for line in lines(out) if line[:1] not in "┏┃┡│├└")
    assert (f"Not shown at {columns} columns: " in notes and "--wide shows them" in notes) == left_out
    table = [line for line in lines(out) if line[:1] in "┏┃┡│├└"]
    assert len({len(line) for line in table}) == 1  # every line of the table as wide as the others
    if not wide:
        assert len(table[0]) <= int(columns) or int(columns) < 50


def test_long_name_without_spaces_is_not_cut_at_40_columns():
    name = "a_very_long_layer_name_without_any_spaces_0123456789"
    spec = TINY.replace("{type: dense, units: 3}", f"{{type: dense, units: 3, name: {name}}}")
    result = run("-", input=spec, COLUMNS="40")
    assert result.exit_code == 0, result.stderr
    assert f" {name} " in result.stdout


# -- the report tree, --depth, --wide, 80 columns -----------------------------------------------


NESTED = textwrap.dedent("""\
    name: Nested
    input: [4]
    layers:
      - {type: dense, units: 8, name: stem}
      - type: sequence
        name: body
        layers:
          - {type: dense, units: 8, name: inner}
          - {type: sequence, name: deeper, layers: [{type: dense, units: 8, name: leaf}]}
      - {type: dense, units: 8, name: again, repeat: 3}
      - {type: dense, units: 2, name: head}
""")


def table_rows(stdout):
    return [line.split("│")[1:-1] for line in lines(stdout) if line.startswith("│ ")]


def test_depth_folds_rows_but_not_totals(cli_run):
    full = cli_run("-", "--depth", "9", input=NESTED)
    assert full.exit_code == 0, full.stderr
    names = [row[0].rstrip() for row in table_rows(full.stdout)]
    assert names == [" stem", " body", "   inner", "   deeper", "     leaf", " again", " head", " Total"]
    folded = cli_run("-", "--depth", "1", input=NESTED)
    assert [row[0].rstrip() for row in table_rows(folded.stdout)] == [" stem", " body", " again", " head", " Total"]
    assert "Rows deeper than 1 level are folded into their blocks; --depth N shows more" in lines(folded.stdout)
    total = [line for line in lines(full.stdout) if line.startswith("Total params")]
    assert total == [line for line in lines(folded.stdout) if line.startswith("Total params")]
    default = cli_run("-", input=NESTED)
    assert [row[0].rstrip() for row in table_rows(default.stdout)][:5] == [" stem", " body", "   inner", "   deeper", " again"]
    markdown = cli_run("-", "--format", "markdown", "--depth", "3", input=NESTED).stdout
    assert "| &emsp;&emsp;`leaf` | `dense` | [8] |" in markdown


def test_a_block_row_shows_its_subtotal_and_a_repeat_its_multiplier(cli_run):
    rows = {row[0].strip(): [c.strip() for c in row] for row in table_rows(cli_run("-", input=NESTED, COLUMNS="200").stdout)}
    assert rows["body"][1] == "sequence" and rows["body"][5] == f"{72 + 72:,}"  # inner 72 + leaf 72
    assert rows["again"][1] == "dense ×3" and rows["again"][5] == f"{3 * 72:,}"


@pytest.mark.parametrize("preset", paramcount.preset_names())
def test_every_preset_table_fits_80_columns(cli_run, preset):
    result = cli_run(preset, COLUMNS="80")
    assert result.exit_code == 0, result.stderr
    assert max(map(len, lines(result.stdout))) <= 80


def test_a_pipe_gets_80_columns(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "paramcount", "alexnet"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0
    assert max(map(len, proc.stdout.splitlines())) <= 80
    assert "Not shown at 80 columns: Unshared params; --wide shows them" in proc.stdout.splitlines()


def test_wide_shows_every_column(cli_run):
    result = cli_run("alexnet", "--wide", COLUMNS="40")
    header = next(line for line in lines(result.stdout) if line.startswith("┃"))
    assert [h.strip() for h in header.split("┃")[1:-1]] == list(render.HEADERS)
    assert "Not shown" not in result.stdout


BATCHNORM = textwrap.dedent("""\
    input: [3, 8, 8]
    layers:
      - {type: conv2d, filters: 4, kernel_size: 3, bias: false, name: conv}
      - {type: batchnorm, name: bn}
      - {type: flatten}
      - {type: dense, units: 2, name: fc, trainable: false}
""")


def test_the_non_trainable_part_and_what_pytorch_and_keras_say(cli_run):
    out = cli_run("-", "--wide", input=BATCHNORM).stdout
    header = next(line for line in lines(out) if line.startswith("┃"))
    assert [h.strip() for h in header.split("┃")[1:-1]] == [
        "Layer", "Type", "Output shape", "Weights", "Biases", "Non-trainable", "Params", "Unshared params"]
    rows = {row[0].strip(): [c.strip() for c in row] for row in table_rows(out)}
    assert rows["bn"][3:7] == ["4", "4", "8", "16"]  # γ, β learned; running mean and variance not
    assert rows["fc"][3:7] == ["288", "2", "290", "290"]  # frozen: all of it non-trainable
    conv, bn, fc = 108, 16, 290
    assert f"PyTorch parameters(): {conv + bn - 8 + fc:,}, plus 8 BatchNorm statistics in buffers" in lines(out)
    assert f"Keras count_params(): {conv + bn + fc:,}, buffers included" in lines(out)
    lenet = next(line for line in lines(cli_run("lenet5", "--wide").stdout) if line.startswith("┃"))
    assert "Non-trainable" not in lenet  # a column only when a report has any


# -- the process: collector, encoder, console ---------------------------------------------------


def test_in_process_calls_leave_the_collector_alone(cli_run):
    """The GC pause and freeze are the console script's: 50 CliRunner calls froze 17,089 objects."""
    import gc

    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    for _ in range(5):
        assert cli_run("--json", "lenet5").exit_code == 0
        assert cli_run("nope.yaml").exit_code == 2
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def test_the_console_script_pauses_and_freezes_the_collector():
    code = ("import gc, sys\nfrom paramcount.cli import main\nsys.argv = ['paramcount', '--json', 'lenet5']\n"
            "try:\n    main()\nexcept SystemExit as e:\n"
            "    print(e.code, gc.get_freeze_count() > 0, gc.isenabled(), 'rich' in sys.modules, file=sys.stderr)\n")
    for args in (["--json"], [], ["--format", "markdown"]):
        proc = subprocess.run([sys.executable, "-c", code.replace("'--json', ", "".join(f"'{a}', " for a in args))],
                              capture_output=True, text=True, timeout=120)
        assert proc.stderr == "0 True True False\n"  # and no rich, for any format


def test_json_uses_only_the_public_encoder():
    import inspect

    source = inspect.getsource(render)
    assert "c_make_encoder" not in source and "json.encoder" not in source


class Failing:
    encoding = "utf-8"

    def write(self, text):
        raise OSError(28, "No space left on device")

    def flush(self):
        pass


def test_print_report_leaves_a_console_as_it_was():
    """print_table changed the console's width and left it changed on an error."""
    from rich.console import Console

    from paramcount import analyze, load_preset

    report = analyze(load_preset("alexnet"))
    console = Console(file=Failing(), width=50, color_system=None)
    with pytest.raises(OSError):
        render.print_report(console, report)
    assert console.width == 50
    import io

    console = Console(file=io.StringIO(), width=60, color_system=None)
    render.print_report(console, report)
    assert console.width == 60
    table = [line for line in console.file.getvalue().splitlines() if line[:1] in "┏┃┡│├└"]
    assert max(map(len, table)) <= 60


def test_wide_characters_take_two_cells(cli_run):
    """Widths are terminal cells: a CJK character or an emoji takes two, so the rules still meet."""
    import unicodedata

    def cells(line):
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)

    spec = TINY.replace("{type: dense, units: 3}", "{type: dense, units: 3, name: 超長い名前😀}\n  - {type: relu, name: ab}")
    table = [line for line in lines(cli_run("-", input=spec, COLUMNS="100").stdout) if line[:1] in "┏┃┡│├└"]
    assert any("超長い名前😀" in line for line in table)
    assert len({cells(line) for line in table}) == 1


# -- summaries: conventions, active params ----------------------------------------------------------

HF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf_configs")


@pytest.mark.parametrize("layer, caveat", [
    ("{type: lstm, hidden_size: 4, convention: keras}", True),
    ("{type: gru, hidden_size: 4}", True),
    ("{type: dense, units: 4}", False),
])
def test_framework_lines_say_they_follow_each_layers_convention(layer, caveat):
    spec = f"input: [10, 8]\nlayers:\n  - {layer}\n  - {{type: batchnorm}}\n"
    for fmt in ("table", "markdown"):
        result = run("-", "--format", fmt, input=spec)
        assert result.exit_code == 0, result.stderr
        assert "PyTorch parameters(): " in result.stdout and "Keras count_params(): " in result.stdout
        # markdown shows the field name as code; the table, which has no code, quotes it
        quoted = "`convention`" if fmt == "markdown" else "'convention'"
        assert (f"(both as each layer's {quoted} counts)" in result.stdout) == caveat


def test_separable_conv2d_gets_the_convention_caveat():
    spec = ("input: [3, 8, 8]\nlayers:\n  - {type: separable_conv2d, filters: 4, kernel_size: 3}\n"
            "  - {type: batchnorm}\n")
    result = run("-", input=spec)
    assert result.exit_code == 0, result.stderr
    assert "(both as each layer's 'convention' counts)" in result.stdout


def test_active_params_per_token_in_table_and_markdown():
    path = os.path.join(HF, "mixtral-8x7b.json")
    for fmt in ("table", "markdown"):
        result = run(path, "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert "Active params per token: 12,879,925,248" in result.stdout
    assert as_json(run(path, "--json"))["active_params"] == 12_879_925_248
    assert "Active params" not in run("lenet5").stdout


# -- ONNX ---------------------------------------------------------------------------------------------


def _onnx_or_skip():
    try:
        import onnx
    except ImportError:
        if os.environ.get("PARAMCOUNT_REQUIRE_TORCH") == "1":
            raise
        pytest.skip("onnx is not installed")
    return onnx


def tiny_onnx(path):
    """Gemm 4 -> 3 (12 weights, 3 biases), then Relu: 15 params."""
    onnx = _onnx_or_skip()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.zeros((4, 3), np.float32), "W"),
             numpy_helper.from_array(np.zeros((3,), np.float32), "B")]
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="fc"), helper.make_node("Relu", ["y"], ["z"], name="act")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3])], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))
    return str(path)


def test_onnx_model_in_every_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny_onnx(tmp_path / "tiny.onnx")
    doc = as_json(run("tiny.onnx", "--json"))
    assert doc["totals"]["params"] == 15 and doc["totals"]["biases"] == 3
    assert [layer["name"] for layer in doc["layers"]] == ["fc", "act"]
    table = run("tiny.onnx")
    assert table.exit_code == 0 and "Total params: 15" in table.stdout
    assert "| `fc` | `Gemm` |" in run("tiny.onnx", "--format", "markdown").stdout
    rows = list(csv.DictReader(io.StringIO(run("tiny.onnx", "--format", "csv").stdout)))
    assert [(r["name"], r["params"]) for r in rows] == [("fc", "15"), ("act", "0")]
    over = run("tiny.onnx", "--max-params", "10", "--format", "github")
    assert over.exit_code == 1
    assert over.stdout.startswith("::error file=tiny.onnx,line=1,col=1,title=paramcount::tiny has 15 params")
    assert over.stderr == "tiny.onnx: tiny has 15 params, over the limit of 10 (--max-params)\n"
    layer = run("tiny.onnx", "--max-layer-params", "14")
    assert layer.exit_code == 1 and "layer fc has 15 params" in layer.stderr
    assert run("tiny.onnx", "--max-params", "15").exit_code == 0


def test_onnx_without_the_onnx_package_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    result = run("model.onnx")
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("model.onnx:1:1: ") and "pip install 'paramcount[onnx]'" in line


# -- --emit-spec for importers ------------------------------------------------------------------------


def test_emit_spec_of_a_hugging_face_config_round_trips(tmp_path):
    path = os.path.join(HF, "gpt2.json")
    emitted = run(path, "--emit-spec")
    assert emitted.exit_code == 0, emitted.stderr
    assert not emitted.stdout.lstrip().startswith("{")  # the translation, not the config
    assert "layers:" in emitted.stdout
    direct = as_json(run(path, "--json"))
    again = as_json(run("-", "--json", input=emitted.stdout))
    assert again["totals"] == direct["totals"]
    assert direct["totals"]["params"] == 124_439_808  # GPT-2 small, tied head


def test_emit_spec_of_a_yaml_file_is_its_bytes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "t.yaml", TINY + "# a comment kept\n")
    assert run("t.yaml", "--emit-spec").stdout == TINY + "# a comment kept\n"


# -- diff --all --format markdown ---------------------------------------------------------------------


def test_diff_all_markdown_lists_every_layer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "old.yaml", "input: [4]\nlayers:\n  - {type: dense, units: 3, name: a}\n"
                                 "  - {type: dense, units: 2, name: b}\n")
    write(tmp_path / "new.yaml", "input: [4]\nlayers:\n  - {type: dense, units: 3, name: a}\n"
                                 "  - {type: dense, units: 5, name: b}\n")
    changed = run("diff", "old.yaml", "new.yaml", "--format", "markdown").stdout
    every = run("diff", "old.yaml", "new.yaml", "--format", "markdown", "--all").stdout
    assert "| `a` |" not in changed and "| `b` |" in changed
    assert "| `a` | unchanged |" in every and "| `b` |" in every
    from paramcount import diff as d
    from paramcount.sources import load

    result = d.diff_reports(*(paramcount.analyze(load(p)) for p in ("old.yaml", "new.yaml")))
    assert d.diff_markdown(result, unchanged=True) == every
    assert d.diff_markdown(result) == changed


# -- --format github with a preset ----------------------------------------------------------------------


def test_github_preset_annotation_has_no_package_path():
    result = run("lenet5", "--format", "github", "--max-params", "100")
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == ("::error title=paramcount::preset:lenet5: LeNet-5 has 61,706 params, over the limit "
                     "of 100 (--max-params)")
    assert "file=" not in result.stdout and "architectures" not in result.stdout


def test_github_annotation_of_a_translated_config_names_the_file():
    path = os.path.join(HF, "gpt2.json")
    result = run(path, "--format", "github", "--max-params", "1")
    assert result.exit_code == 1
    file = path.replace(":", "%3A").replace(",", "%2C")
    assert result.stdout.startswith(f"::error file={file},line=1,col=1,title=paramcount::gpt2 has 124,439,808 params")
