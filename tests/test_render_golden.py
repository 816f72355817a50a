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

from paramcount import analyze, load_preset
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
    ("presets_table.txt", ["--list-presets"], 100),
    ("presets.md", ["--list-presets", "--format", "markdown"], 100),
]


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
