"""Mistakes newcomers make get a message that names the cause (issue 8): a tab in the indentation,
an image written channels last, a missing file named like a preset, a dense layer on a rank > 1 input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paramcount import SpecError, analyze, load_file, load_preset, load_text, preset_names

ROOT = Path(__file__).resolve().parent.parent
TAB = "tabs are not allowed in YAML indentation; use spaces"


def paramcount(*args, input=None, cwd=ROOT):
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "paramcount", *args], input=input, capture_output=True,
                          env=environ, cwd=cwd, timeout=60)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def errors_of(text, path="spec.yaml"):
    with pytest.raises(SpecError) as e:
        analyze(load_text(text, path))
    return [str(p) for p in e.value.problems]


# -- tabs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, where", [
    ("input: [3]\nlayers:\n\t- {type: relu}\n", "3:1"),
    ("input: [3]\nlayers:\n  -\t{type: relu}\n", "3:4"),
    ("input: [3]\nlayers:\n  - type: dense\n\tunits: 3\n", "4:1"),
    ("input: [3]\nlayers:\n  - type: dense\n  \tunits: 3\n", "4:3"),
    ("name: é\ninput: [3]\nlayers:\n  - {type: relu}\n \t - {type: relu}\n", "5:2"),
    ("input: [3]\r\nlayers:\r\n\t- {type: relu}\r\n", "3:1"),
    ("\tinput: [3]\nlayers: [{type: relu}]\n", "1:1"),
])
def test_a_tab_in_indentation_is_named(text, where):
    assert errors_of(text) == [f"spec.yaml:{where}: {TAB}"]


def test_tabs_elsewhere_are_fine():
    spec = load_text('input: [3]\ndescription: "a\tb"\nlayers:\n  - {type:\trelu}   \t# note\n')
    assert analyze(spec).totals.params == 0


def test_a_tab_as_a_process_exits_2_with_one_line(tmp_path):
    (tmp_path / "net.yaml").write_bytes(b"input: [4]\nlayers:\n\t- {type: dense, units: 2}\n")
    assert paramcount("net.yaml", cwd=tmp_path) == (2, "", f"net.yaml:3:1: {TAB}\n")


# -- channels last ------------------------------------------------------------------------------------

def test_channels_last_mnist():
    assert errors_of("input: [28, 28, 1]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 5}\n") == [
        "spec.yaml:3:45: conv2d layer 'conv2d_1' on input [28, 28, 1]: kernel 5 is larger than the padded "
        "input (1); inputs are channels first: did you mean [1, 28, 28]?"]


def test_channels_last_groups():
    assert errors_of("input: [28, 28, 3]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 3, groups: 3}\n") == [
        "spec.yaml:3:56: conv2d layer 'conv2d_1' on input [28, 28, 3]: groups=3 does not divide the 28 input "
        "channels; inputs are channels first: did you mean [3, 28, 28]?"]


def test_channels_last_after_shape_only_layers_and_other_2d_convolutions():
    for kind in ("conv2d", "separable_conv2d"):
        [message] = errors_of(f"input: [32, 32, 3]\nlayers:\n  - {{type: dropout, rate: 0.1}}\n"
                              f"  - {{type: {kind}, filters: 8, kernel_size: 5}}\n")
        assert message.endswith("; inputs are channels first: did you mean [3, 32, 32]?"), message
    [message] = errors_of("input: [32, 32, 3]\nlayers:\n  - {type: depthwise_conv2d, kernel_size: 5}\n")
    assert message.endswith("; inputs are channels first: did you mean [3, 32, 32]?")


def test_channels_last_about_channels_with_many_channels():
    """Six channels are more than a spatial size looks like, but the groups error says channels."""
    [message] = errors_of("input: [20, 20, 6]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 3, groups: 3}\n")
    assert message.endswith("; inputs are channels first: did you mean [6, 20, 20]?")


@pytest.mark.parametrize("text", [
    # channels first already: a groups error is the user's own
    "input: [3, 28, 28]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 3, groups: 2}\n",
    # the conv is fed another layer's output, not the written input
    "input: [28, 28, 1]\nlayers:\n  - {type: relu}\n  - {type: conv2d, filters: 6, kernel_size: 5}\n",
    # an axis that fits neither reading
    "input: [6, 6, 2]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 5}\n",
    # not a 2-D convolution
    "input: [28, 28, 1]\nlayers:\n  - {type: maxpool2d, kernel_size: 5}\n",
])
def test_no_channels_hint_where_it_does_not_fit(text):
    [message] = errors_of(text)
    assert "channels first" not in message


def test_a_channels_last_input_that_works_is_not_an_error():
    spec = load_text("input: [28, 28, 1]\nlayers:\n  - {type: conv2d, filters: 6, kernel_size: 1}\n")
    assert analyze(spec).totals.params == 28 * 6 + 6


def test_channels_last_as_a_process(tmp_path):
    (tmp_path / "mnist.yaml").write_text("input: [28, 28, 1]\nlayers:\n"
                                         "  - {type: conv2d, filters: 6, kernel_size: 5}\n")
    code, out, err = paramcount("mnist.yaml", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.splitlines() == ["mnist.yaml:3:45: conv2d layer 'conv2d_1' on input [28, 28, 1]: kernel 5 is larger "
                                "than the padded input (1); inputs are channels first: did you mean [1, 28, 28]?"]


# -- a missing file named like a preset ----------------------------------------------------------------

def test_a_missing_file_named_like_a_preset(tmp_path):
    assert paramcount("lenet.yaml", cwd=tmp_path) == (
        2, "", "lenet.yaml:1:1: cannot read: No such file or directory; did you mean the preset 'lenet5'?\n")


@pytest.mark.parametrize("path, hint", [
    ("lenet.yaml", "lenet5"), ("models/gpt.yml", "gpt2"), ("lenet5.yaml", "lenet5"), ("vgg-16.yaml", "vgg16"),
    ("unrelated.yaml", None), ("my-model.yaml", None)])
def test_missing_file_hints(tmp_path, monkeypatch, path, hint):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as e:
        load_file(path)
    suffix = f"; did you mean the preset '{hint}'?" if hint else ""
    assert [str(p) for p in e.value.problems] == [f"{path}:1:1: cannot read: No such file or directory{suffix}"]


def test_no_preset_hint_for_other_read_errors(tmp_path):
    (tmp_path / "lenet.yaml").mkdir()
    with pytest.raises(SpecError) as e:
        load_file(str(tmp_path / "lenet.yaml"))
    assert "did you mean" not in str(e.value)


# -- a dense layer on a rank > 1 input ------------------------------------------------------------------

def warnings_of(text):
    return [str(w) for w in analyze(load_text(text, "spec.yaml")).warnings]


def test_dense_on_a_rank_2_input_warns_at_the_layer():
    assert warnings_of("input: [16, 8]\nlayers:\n  - {type: relu}\n  - {type: dense, name: x, units: 4}\n") == [
        "spec.yaml:4:5: dense layer 'x' acts on the last axis of [16, 8] only, as in PyTorch and Keras; "
        "put a flatten before it to connect every input"]


def test_dense_after_a_convolution_warns():
    assert warnings_of("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, filters: 4, kernel_size: 3}\n"
                       "  - {type: dense, units: 10}\n") == [
        "spec.yaml:4:5: dense layer 'dense_1' acts on the last axis of [4, 6, 6] only, as in PyTorch and Keras; "
        "put a flatten before it to connect every input"]


@pytest.mark.parametrize("text", [
    "input: [16]\nlayers:\n  - {type: dense, units: 4}\n",  # rank 1
    "input: [3, 8, 8]\nlayers:\n  - {type: flatten}\n  - {type: dense, units: 4}\n",  # flattened first
    "input: [3, 8, 8]\nlayers:\n  - {type: globalavgpool}\n  - {type: dense, units: 4}\n",
    # [T, D] after a sequence-type layer: the usual per-token projection
    "input: [12]\nlayers:\n  - {type: embedding, num_embeddings: 100, embedding_dim: 8}\n  - {type: dense, units: 4}\n",
    "input: [12]\nlayers:\n  - {type: embedding, num_embeddings: 100, embedding_dim: 8}\n  - {type: layernorm}\n"
    "  - {type: dense, units: 32}\n  - {type: gelu}\n  - {type: dense, units: 8}\n",
    "input: [12, 8]\nlayers:\n  - {type: attention, num_heads: 2}\n  - {type: dense, units: 4}\n",
    "input: [12, 8]\nlayers:\n  - {type: lstm, hidden_size: 6}\n  - {type: dense, units: 4}\n",
])
def test_dense_without_a_warning(text):
    assert warnings_of(text) == []


def test_rank_3_warns_even_after_a_sequence_layer():
    [warning] = warnings_of("input: [12]\nlayers:\n  - {type: embedding, num_embeddings: 100, embedding_dim: 8}\n"
                            "  - {type: reshape, shape: [3, 4, 8]}\n  - {type: dense, units: 4}\n")
    assert "acts on the last axis of [3, 4, 8] only" in warning


def test_a_dense_layer_used_many_times_warns_once():
    text = """\
input: [4, 16]
blocks:
  proj:
    layers:
      - {type: dense, name: fc, units: 16}
layers:
  - {type: proj, name: a}
  - {type: proj, name: b, repeat: 3}
"""
    assert warnings_of(text) == [
        "spec.yaml:5:9: dense layer 'a.fc' acts on the last axis of [4, 16] only, as in PyTorch and Keras; "
        "put a flatten before it to connect every input"]


def test_every_dense_layer_at_its_own_line_warns():
    text = "input: [3, 8]\nlayers:\n  - {type: dense, units: 4}\n  - {type: dense, units: 2}\n"
    assert [w.split(": ")[0] for w in warnings_of(text)] == ["spec.yaml:3:5", "spec.yaml:4:5"]


def test_warnings_do_not_stop_the_count():
    report = analyze(load_text("input: [2, 3]\nlayers:\n  - {type: dense, units: 4}\n"))
    assert report.totals.params == 16 and len(report.warnings) == 1 and report.within


@pytest.mark.parametrize("name", preset_names())
def test_presets_are_warning_free(name):
    assert analyze(load_preset(name)).warnings == []
