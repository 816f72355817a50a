"""Shared test helpers: the one CLI runner and the one loader of optional oracles.

The CLI runner
--------------
`run_cli(*args, input=None, **env)` (and the fixture `cli_run`, the same function) invokes the CLI
in this process through click's CliRunner and returns click's Result, stdout and stderr apart.
Environment policy, one for every test: rich must see the same terminal wherever the tests run, so
`CLI_ENV` fixes COLUMNS at 100 and TERM at xterm, and unsets NO_COLOR, FORCE_COLOR, TTY_COMPATIBLE and
TTY_INTERACTIVE (CliRunner's output is no terminal, so nothing is coloured). The rest of the
process environment is inherited. A test that needs another terminal says so in the call:
`run_cli("-", input=text, COLUMNS="40")`; a value of None unsets a variable. The CLI always ends with
sys.exit, so any other exception escaping it, or a traceback on stderr, fails the test at once.

Optional oracles
----------------
`require(module_name)` imports and returns a package the tests check against (torch, keras,
transformers, onnx, pre_commit...), or skips the calling test when it is missing; under
PARAMCOUNT_REQUIRE_TORCH=1 (as .ci/run sets) a missing package fails instead. `load_oracle(stem)`
loads tests/STEM.py (torch_oracle, keras_oracle, zoo_oracle, compose_oracle) by path, once, after
requiring the package it is built on; the fixtures `torch_oracle` and `keras_oracle` hand them out.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# -- the CLI runner ---------------------------------------------------------------------------------

CLI_ENV = {"COLUMNS": "100", "NO_COLOR": None, "FORCE_COLOR": None, "TTY_COMPATIBLE": None,
           "TTY_INTERACTIVE": None, "TERM": "xterm"}


def run_cli(*args, input=None, **env):
    """Invoke the CLI with `args` and `input` (stdin, str or bytes) under CLI_ENV updated
    with `env`; click's Result, with stdout and stderr apart."""
    from click.testing import CliRunner

    from paramcount.cli import cli

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2: stderr is always apart
    result = runner.invoke(cli, list(args), input=input, env={**CLI_ENV, **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def cli_run():
    """`run_cli` as a fixture: `cli_run(*args, input=None, **env)` -> click's Result."""
    return run_cli


# -- optional oracles -------------------------------------------------------------------------------

REQUIRE = "PARAMCOUNT_REQUIRE_TORCH"
# Set before a package is first imported: Keras reads its backend once, and the oracles count on torch's.
BEFORE_IMPORT = {"keras": {"KERAS_BACKEND": "torch"}}
# The package each oracle file is built on.
ORACLES = {"torch_oracle": "torch", "zoo_oracle": "torch", "compose_oracle": "torch", "keras_oracle": "keras",
           "fvcore_oracle": "fvcore"}


def require(module_name):
    """The module `module_name`, imported, or skip the calling test (fail under PARAMCOUNT_REQUIRE_TORCH=1)."""
    os.environ.update(BEFORE_IMPORT.get(module_name.partition(".")[0], {}))
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {module_name} cannot be imported: {exc}", pytrace=False)
        pytest.skip(f"{module_name} is not installed (set {REQUIRE}=1 to make this fail)")


def load_oracle(stem="torch_oracle"):
    """tests/STEM.py as module `paramcount_tests_STEM`, loaded by path once (independent of pytest's
    import mode), or skip / fail as `require` when the package it is built on is missing."""
    require(ORACLES[stem])
    name = f"paramcount_tests_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


@pytest.fixture(scope="session")
def torch_oracle():
    return load_oracle("torch_oracle")


@pytest.fixture(scope="session")
def keras_oracle():
    return load_oracle("keras_oracle")


def without_compute(report):
    """`report` as an import that cannot derive compute builds it: no node's compute known (the
    figures must then read '?', 'not known' or null, never 0). Returns the report."""
    from paramcount.analyze import Compute

    todo = list(report.layers)
    while todo:
        node = todo.pop()
        node.compute = Compute(known=False)
        todo += node.children
    report.compute = Compute(known=False)
    return report
