"""The command line in CI (issue 8): subcommands (diff, schema, layers), many specs (folders, globs,
a summary line each), a failure never hidden by a closed pipe, more budgets, --format github and csv,
baselines, --emit-spec. Exact output, through click's CliRunner and as real processes.
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

from paramcount import schema
from paramcount.cli import cli, gh_command, gh_data, gh_property
from paramcount.layers import REGISTRY
from paramcount.sources import preset_dir

from conftest import run_cli

TINY = "name: Tiny\ninput: [4]\nlayers:\n  - {type: dense, units: 3}\n"  # 15 params
OVER = "name: Tiny\ninput: [4]\nbudget: {max_params: 10}\nlayers:\n  - {type: dense, units: 3}\n"
BAD = "name: Bad\ninput: [4]\nlayers:\n  - {type: dense, units: 0}\n  - {type: dnese, units: 3}\n"


run = run_cli  # one runner for every CLI test (tests/conftest.py), its environment policy with it


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(COLUMNS="100", PYTHONIOENCODING="utf-8", **extra)
    return env


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A folder of specs: good, over its budget, broken, plus a hidden folder and a non-spec file."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "models" / "good.yaml", TINY)
    write(tmp_path / "models" / "sub" / "over.yml", OVER)
    write(tmp_path / "models" / "bad.yaml", BAD)
    write(tmp_path / "models" / ".hidden" / "skipped.yaml", BAD)
    write(tmp_path / "models" / "notes.txt", "not a spec")
    return tmp_path


# -- subcommands ------------------------------------------------------------------------------------


WIDER = (preset_dir() + "/lenet5.yaml")


@pytest.fixture
def wider(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = open(WIDER, encoding="utf-8").read()
    assert text.count("units: 84") == 1
    return write(tmp_path / "wider.yaml", text.replace("units: 84", "units: 100"))


def test_diff_table_shows_f6_and_output_changed(wider):
    result = run("diff", "lenet5", "wider.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == textwrap.dedent("""\
        LeNet-5 (preset:lenet5) → LeNet-5 (wider.yaml)
        ┏━━━━━━━━┳━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━┓
        ┃ Layer  ┃ Change  ┃ Type  ┃ Output shape ┃ Old params ┃ New params ┃ Difference ┃
        ┡━━━━━━━━╇━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━┩
        │ F6     │ changed │ dense │ [84] → [100] │     10,164 │     12,100 │     +1,936 │
        │ OUTPUT │ changed │ dense │ [10]         │        850 │      1,010 │       +160 │
        ├────────┼─────────┼───────┼──────────────┼────────────┼────────────┼────────────┤
        │ Total  │ changed │       │              │     61,706 │     63,802 │     +2,096 │
        └────────┴─────────┴───────┴──────────────┴────────────┴────────────┴────────────┘
        Layers: 2 changed
        Total params: 61,706 → 63,802 (+2,096, +3.4%)
        Trainable params: 61,706 → 63,802 (+2,096, +3.4%)
        Non-trainable params: 0 (no change)
        Weights: 61,470 → 63,550 (+2,080, +3.4%)
        Biases: 236 → 252 (+16, +6.8%)
        """)
    assert result.stderr == ""


def test_diff_fail_on_change_exit_codes(wider):
    assert run("diff", "lenet5", "wider.yaml", "--fail-on-change").exit_code == 1
    same = run("diff", "lenet5", "lenet5", "--fail-on-change")
    assert same.exit_code == 0
    assert "No layer changed." in same.stdout


def test_diff_json_and_markdown(wider):
    doc = json.loads(run("diff", "lenet5", "wider.yaml", "--format", "json").stdout)
    assert doc["changed"] is True
    assert [(l["path"], l["status"], l["params_change"]) for l in doc["layers"] if l["status"] != "unchanged"] == [
        ("F6", "changed", 1936), ("OUTPUT", "changed", 160)]
    assert doc["totals"]["params"] == {"old": 61706, "new": 63802, "change": 2096, "percent": "+3.4",
                                       "percent_tenths": 34}
    assert json.loads(run("diff", "lenet5", "wider.yaml", "--json").stdout) == doc
    md = run("diff", "lenet5", "wider.yaml", "--format", "markdown").stdout
    assert "| `F6` | changed | `dense` | [84] → [100] | 10,164 | 12,100 | +1,936 |" in md.splitlines()


def test_diff_bad_input_is_exit_2_naming_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "bad.yaml", BAD)
    result = run("diff", "nope.yaml", "bad.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0].startswith("nope.yaml:1:1: ")
    assert result.stderr.splitlines()[1:] == ["bad.yaml:4:26: units must be a positive integer, got 0",
                                              "bad.yaml:5:12: unknown layer type 'dnese'; did you mean 'dense'?"]
    assert run("diff", "lenet5").exit_code == 2  # NEW missing: a usage error
    assert run("diff", "-", "-", input=TINY).exit_code == 2


def test_diff_reads_a_git_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], check=True)
    write(tmp_path / "net.yaml", TINY)
    subprocess.run(git + ["add", "net.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    write(tmp_path / "net.yaml", TINY.replace("units: 3", "units: 5"))
    result = run("diff", "HEAD:net.yaml", "net.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"]["change"] == 10


def test_a_spec_file_named_like_a_subcommand_is_reachable_as_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "diff", TINY)
    assert json.loads(run("./diff", "--json").stdout)["totals"]["params"] == 15
    assert run("diff", "--json").exit_code == 2  # the first word is the subcommand, which needs OLD NEW
    assert json.loads(run("--json", "diff").stdout)["totals"]["params"] == 15  # not the first argument


@pytest.mark.parametrize("sub,example", [("diff", "paramcount diff lenet5 wider.yaml"),
                                         ("schema", "paramcount schema > paramcount.schema.json"),
                                         ("layers", "paramcount layers conv2d")])
def test_each_subcommand_help_has_an_example(sub, example):
    result = run(sub, "--help")
    assert result.exit_code == 0
    assert f"Usage: paramcount {sub}" in result.stdout
    assert example in result.stdout


def test_main_help_lists_subcommands_and_completion():
    out = run("--help").stdout
    for text in ("paramcount diff OLD NEW", "paramcount schema", "paramcount layers [TYPE]",
                 "_PARAMCOUNT_COMPLETE=bash_source paramcount", "--max-trainable", "--format",
                 '{"source": ..., "problems": [{"line", "column", "message"}]}'):
        assert text in out


def test_schema_subcommand_prints_both_schemas():
    assert run("schema").stdout == schema.dumps(schema.spec_schema()) + "\n"
    assert run("schema", "--output").stdout == schema.dumps(schema.output_schema()) + "\n"


def test_layers_lists_every_registered_type():
    out = run("layers", "--wide").stdout
    cells = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert [c for c in cells if c] == list(REGISTRY)


def test_layers_type_shows_fields_defaults_and_docs():
    result = run("layers", "conv2d")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"conv2d: {REGISTRY['conv2d'].doc}"
    assert "  filters         (required)  output channels" in lines
    assert "  stride          (1)" in lines
    assert "  bias            (true)" in lines
    rule = run("layers", "relu").stdout
    assert "Notes: Shape-preserving layers without parameters" in rule


@pytest.mark.parametrize("word,hint", [("convv2d", "conv2d"), ("linear", "dense")])
def test_layers_wrong_type_suggests(word, hint):
    result = run("layers", word)
    assert result.exit_code == 2
    assert result.stderr == (f"paramcount: error: no layer type '{word}'; did you mean '{hint}'? "
                             "(paramcount layers lists them)\n")


# -- many specs ------------------------------------------------------------------------------------


def test_a_folder_gives_a_summary_line_each_and_the_worst_status(models):
    result = run("models")
    assert result.exit_code == 2
    assert result.stdout.endswith("\n\nmodels/bad.yaml: error\nmodels/good.yaml: 15 params\n"
                                  "models/sub/over.yml: 15 params, over 10\n")
    assert result.stderr.splitlines() == [
        "models/bad.yaml:4:26: units must be a positive integer, got 0",
        "models/bad.yaml:5:12: unknown layer type 'dnese'; did you mean 'dense'?",
        "models/sub/over.yml:3:22: Tiny has 15 params, over the limit of 10 (its budget)"]


def test_a_summary_says_within(models):
    result = run("models/good.yaml", "lenet5", "--max-params", "70k")
    assert result.exit_code == 0
    assert result.stdout.endswith("\n\nmodels/good.yaml: 15 params, within 70,000\n"
                                  "preset:lenet5: 61,706 params, within 70,000\n")


def test_one_spec_has_no_summary(models):
    assert "params, within" not in run("models/good.yaml", "--max-params", "70k").stdout


def test_a_glob_expands_recursively_and_sorted(models):
    result = run("models/**/*.y*ml", "--json")
    assert result.exit_code == 2
    docs = json.loads(result.stdout)
    assert [d["source"] for d in docs] == ["models/bad.yaml", "models/good.yaml", "models/sub/over.yml"]
    assert result.stderr.count("\n") == 3  # the problems only: no summary for json


def test_a_glob_matching_nothing_is_bad_input(models):
    result = run("models/*.json")
    assert result.exit_code == 2
    assert result.stderr == "models/*.json:1:1: no file matches this pattern\n"
    assert run("models/*.json", "--format", "github").stdout == (
        "::error file=models/*.json,line=1,col=1,title=paramcount::no file matches this pattern\n")


def test_a_file_whose_name_looks_like_a_glob_is_read(models):
    write(models / "a[1].yaml", TINY)
    write(models / "a1.yaml", OVER)
    assert json.loads(run("a[1].yaml", "--json").stdout)["totals"]["params"] == 15
    assert run("a[1].yaml").exit_code == 0


def test_a_folder_in_json_is_always_an_array(models):
    result = run("models/sub", "--json")
    assert result.exit_code == 1
    assert [d["source"] for d in json.loads(result.stdout)] == ["models/sub/over.yml"]


def test_the_json_array_holds_failures_and_validates(models):
    from jsonschema import Draft202012Validator

    result = run("models", "lenet5", "--json")
    docs = json.loads(result.stdout)
    assert [d["source"] for d in docs] == ["models/bad.yaml", "models/good.yaml", "models/sub/over.yml",
                                           "preset:lenet5"]
    assert docs[0] == {"source": "models/bad.yaml", "problems": [
        {"line": 4, "column": 26, "message": "units must be a positive integer, got 0"},
        {"line": 5, "column": 12, "message": "unknown layer type 'dnese'; did you mean 'dense'?"}]}
    assert list(Draft202012Validator(schema.output_schema()).iter_errors(docs)) == []


def test_markdown_summary_is_a_list(models):
    out = run("models/good.yaml", "models/sub", "--format", "markdown").stdout
    assert out.endswith("\n\n- models/good.yaml: 15 params\n- models/sub/over.yml: 15 params, over 10\n")


# -- a closed pipe hides nothing -----------------------------------------------------------------


def _closed_pipe_run(args, cwd):
    """`paramcount ARGS` with a stdout whose reader is already gone, as `| head -1` leaves it."""
    read, write_end = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "paramcount", *args], cwd=cwd, stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=environment(), timeout=120)
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "github", "csv"])
def test_a_closed_pipe_still_checks_every_spec(models, fmt):
    code, err = _closed_pipe_run(["models/good.yaml", "lenet5", "--max-params", "1k", "--format", fmt], models)
    assert code == 1
    assert err.splitlines() == ["preset:lenet5: LeNet-5 has 61,706 params, over the limit of 1,000 (--max-params)"]
    code, err = _closed_pipe_run(["lenet5", "models/bad.yaml", "--format", fmt], models)
    assert code == 2
    assert len(err.splitlines()) == 2 and "Traceback" not in err


def test_diff_fail_on_change_survives_a_closed_pipe(wider):
    code, err = _closed_pipe_run(["diff", "lenet5", "wider.yaml", "--fail-on-change"], wider.parent)
    assert (code, err) == (1, "")


def test_head_1_with_pipefail_fails(models):
    script = f"set -o pipefail; {sys.executable} -m paramcount models/good.yaml lenet5 --max-params 1k | head -1"
    proc = subprocess.run(["bash", "-c", script], cwd=models, capture_output=True, text=True,
                          env=environment(), timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == "Tiny (input [4])\n"
    assert "over the limit of 1,000 (--max-params)" in proc.stderr


# -- budgets --------------------------------------------------------------------------------------


def test_every_budget_from_the_options_is_reported(models):
    result = run("lenet5", "--max-params", "1e8", "--max-trainable", "60k", "--max-params-unshared", "100_000",
                 "--max-layer-params", "40k")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "preset:lenet5: LeNet-5 has 61,706 trainable params, over the limit of 60,000 (--max-trainable)",
        "preset:lenet5: LeNet-5 has 423,038 params without weight sharing, over the limit of 100,000 "
        "(--max-params-unshared)",
        "preset:lenet5: LeNet-5's layer C5 has 48,120 params, over the limit of 40,000 per layer (--max-layer-params)"]


def test_spec_budgets_are_reported_at_their_lines(models):
    write(models / "b.yaml", "name: B\ninput: [4]\nbudget:\n  max_trainable: 10\n  max_layer_params: 5\n"
                             "layers:\n  - {type: dense, units: 3}\n")
    result = run("b.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "b.yaml:4:18: B has 15 trainable params, over the limit of 10 (its budget)",
        "b.yaml:5:21: B's layer dense_1 has 15 params, over the limit of 5 per layer (its budget)"]


@pytest.mark.parametrize("size", ["1e8", "100_000_000", "100M", "0.1B"])
def test_sizes_as_people_type_them(size):
    result = run("lenet5", "--max-layer-params", size, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["budget"]["max_layer_params"] == 100_000_000


# -- --format github ------------------------------------------------------------------------------


def test_github_two_errors_give_two_annotations(models):
    result = run("models/bad.yaml", "--format", "github")
    assert result.exit_code == 2
    assert result.stdout == (
        "::error file=models/bad.yaml,line=4,col=26,title=paramcount::units must be a positive integer, got 0\n"
        "::error file=models/bad.yaml,line=5,col=12,title=paramcount::unknown layer type 'dnese'; "
        "did you mean 'dense'?\n")


def test_github_budget_at_its_line_then_the_table(models):
    result = run("models/sub/over.yml", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ("::error file=models/sub/over.yml,line=3,col=22,title=paramcount::"
                        "Tiny has 15 params, over the limit of 10 (its budget)")
    assert lines[1] == "Tiny (input [4])"
    assert lines[-1] == "Budget: 15 of 10 max params (OVER BUDGET)"
    table = run("models/sub/over.yml").stdout
    assert "\n".join(lines[1:]) + "\n" == table


def test_github_budget_from_the_command_line_is_at_line_1(models):
    result = run("models/good.yaml", "--format", "github", "--max-trainable", "10")
    assert result.stdout.splitlines()[0] == (
        "::error file=models/good.yaml,line=1,col=1,title=paramcount::"
        "Tiny has 15 trainable params, over the limit of 10 (--max-trainable)")


def test_github_warnings(models):
    write(models / "w.yaml", "name: W\ninput: [3, 4]\nlayers:\n  - {type: dense, units: 2}\n")
    result = run("w.yaml", "--format", "github")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "::warning file=w.yaml,line=4,col=5,title=paramcount::dense layer 'dense_1' acts on the last axis "
        "of [3, 4] only, as in PyTorch and Keras; put a flatten before it to connect every input")
    assert result.stderr == ("w.yaml:4:5: warning: dense layer 'dense_1' acts on the last axis of [3, 4] only, "
                             "as in PyTorch and Keras; put a flatten before it to connect every input\n")


def test_github_escaping():
    assert gh_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert gh_property("a:b,c%d") == "a%3Ab%2Cc%25d"
    assert gh_command("error", "dir,x/a:b%.yaml", 2, 3, "1,000: 5%") == (
        "::error file=dir%2Cx/a%3Ab%25.yaml,line=2,col=3,title=paramcount::1,000: 5%25")
    # control characters never reach the log raw (escaped first, then the backslash stays as it is)
    assert gh_command("error", "a\x1b.yaml", 1, 1, "m") == "::error file=a\\x1b.yaml,line=1,col=1,title=paramcount::m"


def test_github_escapes_a_file_name_with_commas_and_colons(models):
    write(models / "a,b:c%.yaml", OVER)
    result = run("a,b:c%.yaml", "--format", "github")
    assert result.stdout.splitlines()[0].startswith("::error file=a%2Cb%3Ac%25.yaml,line=3,col=22,title=paramcount::")


# -- --format csv ---------------------------------------------------------------------------------


def test_csv_a_row_per_leaf_layer():
    result = run("lenet5", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    doc = json.loads(run("lenet5", "--json").stdout)
    assert rows[0] == ["source"] + list(doc["layers"][0])
    assert len(rows) == 1 + len(doc["layers"])
    assert rows[1] == ["preset:lenet5", "C1", "conv2d", "[1, 32, 32]", "[6, 28, 28]", "150", "6", "156", "0", "156",
                       "122304", "C1", "0", "1", "1", "", "117600", "4704", "122304",
                       "4704"]  # activations: C1's output, 6 × 28 × 28


def test_csv_many_specs_one_header(models):
    result = run("lenet5", "models/good.yaml", "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [r[0] for r in rows] == ["source"] + ["preset:lenet5"] * 8 + ["models/good.yaml"]
    assert result.stderr == ""


# -- baselines ------------------------------------------------------------------------------------


def test_baseline_growth(models):
    write(models / "base.json", run("models/good.yaml", "--json").stdout)
    write(models / "models" / "good.yaml", TINY.replace("units: 3", "units: 4"))  # 15 -> 20: +33.3%
    over = run("models/good.yaml", "--baseline", "base.json", "--max-growth", "10")
    assert over.exit_code == 1
    assert over.stderr == "models/good.yaml: 15 → 20 params, +33.3%, over the allowed 10%\n"
    assert run("models/good.yaml", "--baseline", "base.json", "--max-growth", "40").exit_code == 0
    gh = run("models/good.yaml", "--baseline", "base.json", "--max-growth", "10", "--format", "github")
    assert gh.stdout.splitlines()[0] == ("::error file=models/good.yaml,line=1,col=1,title=paramcount::"
                                         "models/good.yaml: 15 → 20 params, +33.3%25, over the allowed 10%25")


def test_baseline_without_the_spec_warns(models):
    write(models / "base.json", run("lenet5", "alexnet", "--json").stdout)
    result = run("models/good.yaml", "--baseline", "base.json", "--max-growth", "10")
    assert result.exit_code == 0
    assert result.stderr == "models/good.yaml: no entry in the baseline for this spec; growth not checked\n"


@pytest.mark.parametrize("content,why", [("{not json", "not a --json document"), (None, "cannot read")])
def test_a_bad_baseline_is_exit_2_one_line(models, content, why):
    if content is not None:
        write(models / "base.json", content)
    result = run("models/good.yaml", "--baseline", "base.json", "--max-growth", "10")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"paramcount: error: --baseline base.json: {why}")


@pytest.mark.parametrize("args", [["--baseline", "x.json"], ["--max-growth", "5"],
                                  ["--baseline", "x.json", "--max-growth", "ten"]])
def test_baseline_options_go_together(args):
    result = run("lenet5", *args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1


# -- --emit-spec ----------------------------------------------------------------------------------


def test_emit_spec_writes_the_preset_verbatim(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "paramcount", "lenet5", "--emit-spec"], capture_output=True,
                          cwd=tmp_path, env=environment(), timeout=60)
    assert proc.returncode == 0
    with open(os.path.join(preset_dir(), "lenet5.yaml"), "rb") as f:
        assert proc.stdout == f.read()
    (tmp_path / "lenet.yaml").write_bytes(proc.stdout)
    assert json.loads(run(str(tmp_path / "lenet.yaml"), "--json").stdout)["totals"]["params"] == 61_706


def test_emit_spec_takes_one_spec(models):
    assert run("lenet5", "alexnet", "--emit-spec").exit_code == 2
    assert run("-", "--emit-spec", input=TINY).exit_code == 2
    assert run("models/good.yaml", "--emit-spec").stdout == TINY  # written as it is
    broken = run("models/bad.yaml", "--emit-spec")  # only a spec that loads
    assert broken.exit_code == 2 and broken.stdout == ""
    missing = run("nope.yaml", "--emit-spec")
    assert missing.exit_code == 2 and missing.stdout == ""
