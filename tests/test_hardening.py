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


# -- from the review of issue 3 --------------------------------------------------------------


@pytest.mark.parametrize("value,message", [
    ("²", "units must be a positive integer, got '²'"),  # isdigit() is true, int() refuses it
    ("١٢", "units must be a positive integer, got '١٢'"),  # YAML reads other scripts' digits as text
    ("0x_", "'0x_' is not a valid int"),
    ("!!int abc", "'abc' is not a valid int"),
    ("!!int 1.5", "'1.5' is not a valid int"),
    ('!!int ""', "'' is not a valid int"),
    ("!!int -", "'-' is not a valid int"),
    ("!!float abc", "'abc' is not a valid float"),
    ("!!bool abc", "'abc' is not a valid bool"),
])
def test_scalars_that_crashed_the_reader(value, message):
    assert errors_of(f"input: [4]\nlayers: [{{type: dense, units: {value}}}]\n") == [f"spec.yaml:2:31: {message}"]


def test_a_leading_zero_is_octal_as_yaml_says():
    from paramcount import analyze

    spec = "input: [4]\nlayers: [{type: dense, units: %s}]\n"
    assert [analyze(load_text(spec % u)).totals.biases for u in ("010", "+010", "0_10", "10")] == [8, 8, 8, 10]


def test_a_size_too_long_to_print_is_refused():
    nines = "9" * 4290
    assert errors_of(f'input: [4]\nbudget: {{max_params: "{nines}T"}}\nlayers: [{{type: relu}}]\n') == [
        f"spec.yaml:2:22: max_params '{'9' * 60}…' has more than 300 digits"]
    result = run("--max-params", nines + "T", "lenet5")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_unicode_line_separators_are_refused_in_names():
    [line] = errors_of('input: [4]\nlayers: [{type: dense, units: 2, name: "a\\Lb"}]\n')
    assert line == "spec.yaml:2:40: name must not hold control characters or line breaks, got 'a\\u2028b'"


def test_a_path_with_a_line_break_stays_on_one_line():
    result = run("evil\nname.yaml")
    assert result.stderr == "evil\\nname.yaml:1:1: cannot read: No such file or directory\n"


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run(str(fifo))
    assert result.stderr == f"{fifo}:1:1: is a pipe or socket, not a spec file (use '-' for standard input)\n"


def test_a_symlink_loop_says_so(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert run(str(tmp_path / "a")).stderr == f"{tmp_path / 'a'}:1:1: cannot read: Too many levels of symbolic links\n"


@pytest.mark.parametrize("text,position", [
    ('x-a: !!python/object/apply:os.system ["echo pwned"]\ninput: [4]\nlayers: [{type: relu}]\n', "1:6"),
    ("input: [4]\nlayers: [{<<: !!python/object/apply:os.system [{name: q}], type: relu}]\n", "2:15"),
])
def test_unsafe_tags_are_refused_where_the_spec_never_reads(text, position):
    assert errors_of(text) == [
        f"spec.yaml:{position}: tag !!python/object/apply:os.system is not allowed: a spec holds only plain YAML values"]


def test_closed_standard_streams_and_a_full_disk():
    closed_stdin = subprocess.run([sys.executable, "-c", "import os, runpy, sys; os.close(0); sys.stdin = None; "
                                   "sys.argv = ['paramcount', '-']; runpy.run_module('paramcount', run_name='__main__')"],
                                  capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert (closed_stdin.returncode, closed_stdin.stderr) == (2, "<stdin>:1:1: standard input is closed\n")
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            result = subprocess.run([sys.executable, "-m", "paramcount", "lenet5"], stdout=full, stderr=subprocess.PIPE,
                                    text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert (result.returncode, result.stderr) == (2, "paramcount: error: cannot write the output: No space left on device\n")


def test_a_long_table_is_one_table():
    """Printed in pieces of 500 rows (rich holds a whole table in memory), it must read as one."""
    text = "input: [8]\nlayers:\n" + "".join(f"  - {{type: dense, units: 8, name: l{i}}}\n" for i in range(1200))
    lines = run("-", input=text, env={"COLUMNS": "100"}).stdout.splitlines()
    rows = [line for line in lines if line.startswith("│ l")]
    assert [row.split()[1] for row in rows] == [f"l{i}" for i in range(1200)]
    edges = [line for line in lines if line[:1] in "┏┡├└┌"]
    assert [edge[0] for edge in edges] == ["┏", "┡", "├", "└"]  # top, under the header, above the total, bottom


def test_a_padding_mode_in_the_wrong_case_gets_a_suggestion():
    assert errors_of("input: [1, 8, 8]\nlayers: [{type: conv2d, filters: 2, kernel_size: 3, padding: Same}]\n") == [
        "spec.yaml:2:62: padding must be a non-negative integer or a list of 2, 'valid' or 'same', got 'Same'; "
        "did you mean 'same'?"]
