"""Regressions from review and fuzzing: each test names the defect it pins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcount import SpecError, load_text, parse_size
from paramcount.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def errors_of(data, name="spec.yaml"):
    """The stderr lines of paramcount on a file holding `data` (bytes or text)."""
    result = run("-", input=data.encode() if isinstance(data, str) else data)
    assert result.exit_code == 2 and result.stdout == ""
    return [line.replace("<stdin>", name) for line in result.stderr.splitlines()]


def test_a_closed_pipe_is_not_a_budget_failure():
    """`paramcount alexnet | head -1` exited 1, the over-budget status, under rich and click."""
    for args in (["alexnet"], ["--format", "markdown", "alexnet", "alexnet", "lenet5"], ["--list-presets"]):
        reader = subprocess.Popen([sys.executable, "-m", "paramcount", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        reader.stdout.readline()
        reader.stdout.close()  # the reader has what it wanted
        assert reader.wait(timeout=30) == 0, args
        assert reader.stderr.read() == b""


def test_growing_axes_are_refused_before_they_cannot_be_printed():
    """embedding + flatten, again and again, grew an axis past Python's 4,300-digit print limit."""
    n = "9" * 99
    text = f"input: [{n}]\nlayers:\n" + f"  - {{type: embedding, num_embeddings: 2, embedding_dim: {n}}}\n  - {{type: flatten}}\n" * 50
    assert errors_of(text) == ["spec.yaml:12:5: flatten layer 'flatten_5' would output an axis of more than 500 digits"]


@pytest.mark.parametrize("name", ["超長い名前の層超長い名前の層", "😀" * 10, "ThisIsAnExtremelyLongNameWithoutAnySpacesAtAll_" * 3])
def test_wide_and_long_names_are_never_cut(name):
    text = f"name: {name}\ninput: [3]\nlayers:\n  - {{type: dense, units: 2, name: {name}}}\n"
    for columns in ("40", "80", "200"):
        result = run("-", input=text, env={"COLUMNS": columns})
        assert result.exit_code == 0
        assert sum(line.count(name) for line in result.stdout.splitlines()) == 2, result.stdout


@pytest.mark.parametrize("field,value", [("name", '"a\\nb"'), ("name", '"a\\x1b[31mred"'), ("name", '"x\\ry"')])
def test_control_characters_in_names_are_refused(field, value):
    text = f"input: [3]\nlayers:\n  - {{type: dense, units: 2, {field}: {value}}}\n"
    [line] = errors_of(text)
    assert line.startswith("spec.yaml:3:") and "must not hold control characters" in line


def test_a_key_with_a_line_break_stays_on_one_line():
    assert errors_of('input: [3]\nlayers:\n  - {type: dense, units: 2, "un\\nits": 3}\n') == [
        "spec.yaml:3:29: 'un\\nits' is not a field of dense; did you mean 'units'?"]


def test_duplicate_names_come_with_the_other_errors():
    assert errors_of("input: [3, 8, 8]\nlayers:\n  - {type: dense, units: 4, name: a}\n"
                     "  - {type: dense, units: 4, name: a}\n  - {type: dense, unitz: 4}\n") == [
        "spec.yaml:4:35: layer name 'a' is already used (line 3)",
        "spec.yaml:5:5: dense layer 3 is missing 'units'",
        "spec.yaml:5:19: 'unitz' is not a field of dense; did you mean 'units'?"]


def test_a_misspelt_type_key_gets_a_suggestion():
    assert errors_of("input: [3]\nlayers:\n  - {typ: dense}\n") == [
        "spec.yaml:3:5: layer 1 is missing 'type'",
        "spec.yaml:3:6: 'typ' is not a field of any layer type; did you mean 'type'?"]


@pytest.mark.parametrize("data,line", [
    (b'\xef\xbb\xbfinput: [3]\nlayers:\n  - {type: dense, units: 3, name: "\xff"}\n', "spec.yaml:3:36: not UTF-8: byte 0xff"),
    ("description: ééééé\ninput: [3]\nlayers:\n  - {type: dense, units: 4}\n\x07\n".encode(),
     "spec.yaml:5:1: character U+0007 is not allowed in YAML"),
    (b'input: [3]\rname: "\xff"\r', "spec.yaml:2:8: not UTF-8: byte 0xff"),
])
def test_positions_after_a_bom_non_ascii_text_or_cr_line_ends(data, line):
    assert errors_of(data) == [line]


def test_cr_line_ends_count_as_lines():
    assert errors_of(b"input: [3]\rlayers:\r  - {type: dense, unitz: 4}\r") == [
        "spec.yaml:3:5: dense layer 1 is missing 'units'",
        "spec.yaml:3:19: 'unitz' is not a field of dense; did you mean 'units'?"]


@pytest.mark.parametrize("text", ["٥", "１", " 5k", "5k ", "5\n"])
def test_sizes_are_ascii_digits_only(text):
    with pytest.raises(ValueError):
        parse_size(text)
    result = run("--max-params", text, "lenet5")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_usage_errors_for_odd_combinations():
    assert run("--list-presets", "lenet5").stderr == "paramcount: error: --list-presets takes no SPEC\n"
    assert run("-", "-", input="").stderr == "paramcount: error: standard input ('-') can be read only once\n"


def test_two_documents_read_as_one_sentence():
    assert errors_of("---\n---\n") == [
        "spec.yaml:2:1: expected a single document in the stream, but found another document"]


def test_null_means_the_default_where_the_default_is_none():
    spec = load_text("input: [1, 8]\nlayers:\n  - {type: maxpool1d, kernel_size: 2, stride: null}\n"
                     "  - {type: flatten}\n  - {type: dense, units: 2, activation: ~}\n")
    assert spec.layers[0].cfg["stride"] == (2,) and spec.layers[2].cfg["activation"] is None


def test_a_budget_needs_its_limit():
    assert errors_of("input: [3]\nbudget: {}\nlayers:\n  - {type: dense, units: 2}\n") == [
        "spec.yaml:2:9: budget is missing 'max_params'"]


def test_the_model_name_defaults_to_the_file_stem_in_the_library_too():
    assert load_text("input: [3]\nlayers: [{type: relu}]\n", path="nets/tiny.v2.yaml").name == "tiny.v2"


def test_presets_are_names_not_paths():
    from paramcount import load_preset

    with pytest.raises(SpecError, match="no such preset"):
        load_preset("../architectures/lenet5")


def test_an_alias_error_points_at_its_use():
    assert errors_of("x-k: &k [3, 3, 3]\ninput: [1, 8, 8]\nlayers:\n  - {type: conv2d, filters: 2, kernel_size: *k}\n") == [
        "spec.yaml:4:32: kernel_size must list 2 values, one per spatial axis, got 3"]


def test_a_layer_written_at_the_top_level_gets_a_hint():
    assert errors_of("type: conv2d\n") == [
        "spec.yaml:1:1: 'type' is not a field of a spec; a layer's fields go in an item of 'layers'",
        "spec.yaml:1:1: the spec is missing 'input'",
        "spec.yaml:1:1: the spec is missing 'layers'"]
