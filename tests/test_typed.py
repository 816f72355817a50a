"""The package is typed (PEP 561): paramcount/py.typed exists and the wheel ships it."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ("pyproject.toml", "README.md", "MANIFEST.in", "paramcount", "architectures")


def test_the_marker_is_in_the_package_and_its_package_data():
    assert (ROOT / "paramcount" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"paramcount" = ["py.typed"]' in pyproject


def test_the_wheel_ships_the_marker(tmp_path):
    """Built from a copy of the checkout, so that the build leaves nothing in the source tree."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in PACKAGE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("paramcount-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "paramcount/py.typed" in names
    assert "paramcount/architectures/lenet5.yaml" in names


def test_the_readme_api_example_prints_what_it_says(tmp_path):
    """The CI section's Python example (README.md once pasted there, else examples/README-ci.md)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "## In CI and editors" in readme:
        text = readme[readme.index("## In CI and editors"):]
    else:
        text = (ROOT / "examples" / "README-ci.md").read_text(encoding="utf-8")
    section = text[text.index("### The Python API"):]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    printed = section.split("prints,", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    (tmp_path / "models").mkdir()
    lenet = (ROOT / "architectures" / "lenet5.yaml").read_text(encoding="utf-8")
    (tmp_path / "models" / "net.yaml").write_text(lenet.replace("units: 84", "units: 100"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == printed
