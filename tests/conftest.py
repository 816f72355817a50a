"""Shared test helpers: the torch oracle, optional on a user's machine and required in CI."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def load_oracle():
    """tests/torch_oracle.py, or skip (fail under PARAMCOUNT_REQUIRE_TORCH=1, as .ci/run sets)."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        if os.environ.get("PARAMCOUNT_REQUIRE_TORCH") == "1":
            pytest.fail(f"PARAMCOUNT_REQUIRE_TORCH=1 but torch cannot be imported: {exc}", pytrace=False)
        pytest.skip("torch is not installed (set PARAMCOUNT_REQUIRE_TORCH=1 to make this fail)")
    name = "paramcount_tests_torch_oracle"
    if name not in sys.modules:  # load by path: independent of pytest's import mode
        spec = importlib.util.spec_from_file_location(name, TESTS / "torch_oracle.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def torch_oracle():
    return load_oracle()
