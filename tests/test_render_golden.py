"""Golden files: the table and markdown renderings at a fixed width, compared byte for byte.

Regenerate with `PARAMCOUNT_UPDATE_GOLDEN=1 pytest tests/test_render_golden.py` (the tests then
write the files and pass), and read every figure in the diff before committing: the files in
tests/golden/ were checked by hand against the issue (LeNet-5: C1 156, C3 2,416, C5 48,120,
F6 10,164, OUTPUT 850, total 61,706; AlexNet 60,965,224; torchvision's 61,100,840).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcount import analyze, load_preset, render
from paramcount.analyze import Counts, Report
from paramcount.cli import cli

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PARAMCOUNT_UPDATE_GOLDEN") == "1"


def cli_output(args, columns=100):
    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()
    env = {"COLUMNS": str(columns), "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None,
           "TTY_INTERACTIVE": None, "TERM": "xterm"}
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def check_golden(name, text):
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"{path} is missing; run with PARAMCOUNT_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file (PARAMCOUNT_UPDATE_GOLDEN=1 rewrites it)"


CASES = [
    ("lenet5_table.txt", ["lenet5"], 100),
    ("lenet5_table_60.txt", ["lenet5"], 60),
    ("alexnet_table.txt", ["alexnet"], 100),
    ("alexnet-torchvision_table.txt", ["alexnet-torchvision"], 100),
    ("lenet5.md", ["--format", "markdown", "lenet5"], 100),
    ("alexnet.md", ["--format", "markdown", "alexnet"], 100),
    ("alexnet-torchvision.md", ["--format", "markdown", "alexnet-torchvision"], 100),
]
# The presets table through the library, with the first three presets: the list grows.
PRESETS = ("alexnet", "alexnet-torchvision", "lenet5")


@pytest.mark.parametrize("name, args, columns", CASES, ids=[c[0] for c in CASES])
def test_golden(name, args, columns):
    check_golden(name, cli_output(args, columns))


def test_markdown_does_not_depend_on_the_width():
    assert cli_output(["--format", "markdown", "alexnet"], 40) == cli_output(["--format", "markdown", "alexnet"], 200)


def test_library_rendering_matches_the_cli():
    """paramcount.render.print_report on a plain 100-column console gives the CLI's table."""
    from rich.console import Console

    from paramcount.render import print_report

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, highlight=False)
    print_report(console, analyze(load_preset("lenet5")))
    if UPDATE:
        return  # the CLI case writes the file
    assert buffer.getvalue() == (GOLDEN / "lenet5_table.txt").read_text(encoding="utf-8")


def _presets_body():
    return [(name, render.number(r.totals.params), r.description)
            for name, r in ((n, analyze(load_preset(n))) for n in PRESETS)]


def test_golden_presets_table():
    buffer = io.StringIO()
    render.print_table(buffer, "Presets", render.PRESET_HEADERS, _presets_body(), render.PRESET_KINDS,
                       width=100, limit=None)
    check_golden("presets_table.txt", buffer.getvalue())


def test_golden_presets_markdown():
    check_golden("presets.md", render.presets_markdown(_presets_body()))


# -- the report tree, built by hand: every kind of row the table knows ----------------------------


class Node:
    """A LayerReport as the renderer reads it (analyze.LayerReport has the same attributes)."""

    def __init__(self, name, type_, out, weights=0, biases=0, state=0, children=(), repeat=1, shared=False,
                 tied_to=None, activation=None, unshared=None, trainable=True):
        self.name, self.type, self.output_shape, self.activation = name, type_, out, activation
        self.children, self.repeat, self.shared, self.tied_to = list(children), repeat, shared, tied_to
        self.counts = Counts(weights, biases, state, trainable, unshared)
        for c in self.children:  # a composite's counts include its children's, times its repeat
            times = 1 if shared else repeat
            for k in ("weights", "biases", "trainable", "non_trainable", "params", "params_unshared"):
                setattr(self.counts, k, getattr(self.counts, k) + getattr(c.counts, k) * times)


def basic(name, c, **kw):
    return Node(name, "basic", [c, 56, 56], children=[
        Node("conv1", "conv2d", [c, 56, 56], c * c * 9, unshared=c * c * 9 * 3136),
        Node("bn1", "batchnorm", [c, 56, 56], c, c, 2 * c, activation="relu"),
        Node("conv2", "conv2d", [c, 56, 56], c * c * 9, unshared=c * c * 9 * 3136),
        Node("bn2", "batchnorm", [c, 56, 56], c, c, 2 * c)], **kw)


def tree_report():
    layers = [
        Node("conv1", "conv2d", [8, 56, 56], 8 * 3 * 49, unshared=8 * 3 * 49 * 3136),
        Node("layer1", "sequence", [8, 56, 56], children=[basic("0", 8), basic("1", 8)]),
        basic("layer2", 8, repeat=2),
        Node("wte", "embedding", [16, 8], 800),
        Node("h", "transformer", [16, 8], repeat=12, shared=True, children=[
            Node("ln", "layernorm", [16, 8], 8, 8), Node("mlp", "dense", [16, 8], 64, 8, activation="gelu")]),
        Node("frozen", "dense", [16, 8], 64, 8, trainable=False),
        Node("lm_head", "dense", [16, 100], 0, 0, tied_to="wte"),
    ]
    totals = Counts()
    for node in layers:
        totals.add(node.counts)
    return Report(name="tree", description=None, source="tree.yaml", path="tree.yaml", input_shape=(3, 56, 56),
                  layers=layers, totals=totals, max_params=None, budget_mark=None, within=True)


def test_the_hand_built_tree_adds_up():
    r = tree_report()
    # conv1 1,176; a basic block 1,216 (BatchNorm: 8 + 8 learned, 16 running statistics); the shared
    # transformer counted once (88); the tied head adds nothing
    assert r.totals.params == 1176 + 2 * 1216 + 2 * 1216 + 800 + 88 + 72 == 7000
    assert r.totals.non_trainable == 4 * 2 * 16 + 72


@pytest.mark.parametrize("name, kw", [
    ("tree_table_80.txt", {"width": 80, "depth": 2}),
    ("tree_table_all_120.txt", {"width": 120, "depth": None}),
    ("tree_table_1_60.txt", {"width": 60, "depth": 1}),
    ("tree_table_wide.txt", {"width": 40, "depth": 3, "wide": True}),
])
def test_golden_tree_table(name, kw):
    buffer = io.StringIO()
    render.print_report(buffer, tree_report(), **kw)
    check_golden(name, buffer.getvalue())


def test_golden_tree_markdown():
    check_golden("tree.md", render.to_markdown(tree_report(), depth=2))
