"""The pre-commit hook (.pre-commit-hooks.yaml), run by pre-commit itself in a sample repository.

The hook repository is a git repository holding this checkout's package (what a project's
`.pre-commit-config.yaml` names with `repo:` and `rev:`); pre-commit clones it and installs it
into its own virtual environment with pip, once per test session (PRE_COMMIT_HOME is shared by
the tests here). Skipped when pre-commit is not installed, unless PARAMCOUNT_REQUIRE_TORCH=1
(as .ci/run sets), in which case they fail.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import require

ROOT = Path(__file__).resolve().parent.parent
# What `pip install .` of the hook repository needs, and the hook definition itself.
PACKAGE = ("pyproject.toml", "README.md", "MANIFEST.in", ".pre-commit-hooks.yaml", "paramcount", "architectures")

GOOD = """\
name: tiny
input: [1, 28, 28]
layers:
  - {type: flatten}
  - {type: dense, units: 32, activation: relu}
  - {type: dense, units: 10}
"""
BAD = GOOD.replace("activation: relu", "activaton: relu")
BIG = """\
name: big
input: [4096]
layers:
  - {type: dense, units: 4096}
"""


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=_ENV, check=True, capture_output=True, text=True).stdout


_ENV = {}


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory):
    """(repo, rev): a git repository of this checkout's package, and its commit."""
    require("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("precommit")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("")
    _ENV.update(os.environ, GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1",
                GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
                GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com",
                PRE_COMMIT_HOME=str(base / "home"), PRE_COMMIT_COLOR="never", NO_COLOR="1")
    for key in ("PRE_COMMIT", "PRE_COMMIT_ALLOW_NO_CONFIG", "SKIP", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        _ENV.pop(key, None)
    repo = base / "paramcount"
    repo.mkdir()
    for name in PACKAGE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
        else:
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "paramcount")
    return str(repo), _git(repo, "rev-parse", "HEAD").strip()


def _readme_config():
    """The README's `.pre-commit-config.yaml` snippet."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "## In CI and editors" in readme:  # pasted there from the draft, examples/README-ci.md
        text = readme[readme.index("## In CI and editors"):]
    else:
        text = (ROOT / "examples" / "README-ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return next(b for b in blocks if b.startswith("repos:"))


def _sample(tmp_path, hook_repo, config, files):
    """A git repository with `files` ({path: text}) and a .pre-commit-config.yaml naming the hook repo."""
    repo, rev = hook_repo
    sample = tmp_path / "sample"
    sample.mkdir()
    config = re.sub(r"(?m)^(\s*- repo:).*$", lambda m: f"{m.group(1)} {repo}", config)
    config = re.sub(r"(?m)^(\s*rev:).*$", lambda m: f"{m.group(1)} {rev}", config)
    files = {".pre-commit-config.yaml": config, **files}
    for path, text in files.items():
        (sample / path).parent.mkdir(parents=True, exist_ok=True)
        (sample / path).write_text(text)
    _git(sample, "init", "-q")
    _git(sample, "add", ".")
    return sample


def _pre_commit(sample):
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
                          cwd=sample, env=_ENV, capture_output=True, text=True, timeout=600)


def _paramcount_says(sample, *args):
    """What paramcount itself writes on stderr, run where pre-commit runs it."""
    proc = subprocess.run([sys.executable, "-m", "paramcount", *args], cwd=sample, env=_ENV,
                          capture_output=True, text=True)
    return proc.returncode, proc.stderr.strip()


def test_the_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = hooks
    assert hook["id"] == "paramcount" and hook["entry"] == "paramcount" and hook["language"] == "python"
    assert hook["pass_filenames"] is True and hook["description"]
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
    for path in ("net.yaml", "models/net.yml", "models/resnet/block.yaml"):
        assert files.search(path) and not exclude.search(path), path
    for path in (".pre-commit-config.yaml", ".github/workflows/ci.yml", "models/.hidden.yaml", "net.json", "a.yaml.bak"):
        assert not files.search(path) or exclude.search(path), path


def test_a_bad_spec_fails_the_hook_with_its_one_line_error_and_passes_when_fixed(tmp_path, hook_repo):
    config = "repos:\n  - repo: REPO\n    rev: REV\n    hooks:\n      - id: paramcount\n"
    sample = _sample(tmp_path, hook_repo, config, {"models/good.yaml": GOOD, "models/bad.yaml": BAD,
                                                   "notes.txt": "not YAML: never checked\n"})
    code, error = _paramcount_says(sample, "models/bad.yaml")
    assert code == 2 and error.startswith("models/bad.yaml:5:") and "\n" not in error
    first = _pre_commit(sample)
    assert first.returncode == 1, first.stdout + first.stderr
    assert re.search(r"^paramcount\.+Failed$", first.stdout, re.M), first.stdout
    assert "- exit code: 2" in first.stdout
    assert error in first.stdout.splitlines()
    assert ".pre-commit-config.yaml" not in first.stdout  # the default `exclude` keeps config files out
    (sample / "models" / "bad.yaml").write_text(GOOD)
    _git(sample, "add", ".")
    second = _pre_commit(sample)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"^paramcount\.+Passed$", second.stdout, re.M), second.stdout


def test_the_readme_snippet_narrows_to_a_folder_and_sets_a_budget(tmp_path, hook_repo):
    config = _readme_config()
    assert "files: ^models/" in config and "args: [--max-params, 10M]" in config
    sample = _sample(tmp_path, hook_repo, config, {
        "models/tiny.yaml": GOOD, "models/big.yaml": BIG,
        "deploy/compose.yaml": "services: {web: {image: nginx}}\n",  # not a spec, outside models/
    })
    code, budget = _paramcount_says(sample, "models/big.yaml", "--max-params", "10M")
    assert (code, budget) == (1, "models/big.yaml: big has 16,781,312 params, over the limit of 10,000,000 "
                                 "(--max-params)")
    first = _pre_commit(sample)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "- exit code: 1" in first.stdout
    assert budget in first.stdout.splitlines()
    assert "compose.yaml" not in first.stdout
    (sample / "models" / "big.yaml").write_text(BIG.replace("4096}", "2048}"))  # 8,390,656 params
    _git(sample, "add", ".")
    second = _pre_commit(sample)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"^paramcount\.+Passed$", second.stdout, re.M), second.stdout
