"""The GitHub Actions example (examples/github-actions.yml, pasted into the README): its YAML parses,
it has the steps the README promises, and every `run:` step runs in a pull request's checkout (a git
clone whose origin holds the base branch), with `${{ ... }}` expressions given test values. What
needs GitHub itself is stubbed on PATH: `gh` (records the comment it would post) and `pip` (the
package under test is this checkout: `paramcount` runs `python -m paramcount` from it).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions.yml"
README_CI = ROOT / "examples" / "README-ci.md"  # the README section's draft, until it is pasted into README.md
LENET5 = (ROOT / "architectures" / "lenet5.yaml").read_text(encoding="utf-8")
SMALL = """\
name: small
input: [1, 28, 28]
budget: {max_params: 30k}
layers:
  - {type: flatten}
  - {type: dense, units: 32, activation: relu}
  - {type: dense, units: 10}
"""
HUGE = """\
name: huge
input: [16384]
layers:
  - {type: dense, units: 16384}
"""
EXPRESSIONS = {  # what GitHub would put in for each expression, on a pull request from main's repository
    "github.token": "test-token",
    "github.base_ref": "main",
    "github.event.pull_request.number": "7",
    "github.event.pull_request.head.repo.full_name": "owner/repo",
    "github.repository": "owner/repo",
}


def _workflow():
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps():
    (job,) = _workflow()["jobs"].values()
    return job["steps"]


def _step(words):
    (step,) = [s for s in _steps() if words in s.get("run", "")]
    return step


def _substitute(text):
    def value(m):
        assert m.group(1) in EXPRESSIONS, f"no test value for ${{{{ {m.group(1)} }}}}"
        return EXPRESSIONS[m.group(1)]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, str(text))


def test_the_workflow_parses_and_has_the_promised_steps():
    doc = _workflow()
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in on
    assert doc["permissions"]["pull-requests"] == "write"
    steps = _steps()
    uses = [s.get("uses", "") for s in steps]
    checkout = steps[uses.index(next(u for u in uses if u.startswith("actions/checkout@")))]
    assert checkout["with"]["fetch-depth"] == 0
    assert any(u.startswith("actions/setup-python@") for u in uses)
    runs = [s["run"] for s in steps if "run" in s]
    assert "pip install paramcount" in runs
    assert "paramcount models/ --format github --max-params 100M" in runs
    assert 'paramcount models/ --format markdown >> "$GITHUB_STEP_SUMMARY"' in runs
    comment = _step("paramcount diff")
    assert 'paramcount diff "origin/$BASE_REF:models/net.yaml" models/net.yaml --format markdown' in comment["run"]
    assert "gh pr comment" in comment["run"] and "--body-file" in comment["run"]
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"
    for step in steps:  # every expression a step's script or env holds has a test value
        for text in [step.get("run", ""), *step.get("env", {}).values()]:
            _substitute(text)


def readme_ci():
    """The CI section: README.md's once pasted there, else the draft."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "## In CI and editors" in readme:
        return readme[readme.index("## In CI and editors"):]
    return README_CI.read_text(encoding="utf-8")


def test_the_readme_holds_the_workflow_verbatim():
    assert WORKFLOW.read_text(encoding="utf-8") in readme_ci()


def _run(args, cwd, env=None):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _available():
    """What of the workflow the CLI offers yet (subcommands and formats landed separately)."""
    top = _run([sys.executable, "-m", "paramcount", "--help"], ROOT, _pythonpath(dict(os.environ))).stdout
    sub = _run([sys.executable, "-m", "paramcount", "diff", "--help"], ROOT, _pythonpath(dict(os.environ))).stdout
    missing = [what for what, ok in (("--format github", "github" in top), ("a folder as SPEC", "folder" in top),
                                     ("paramcount diff", sub.startswith("Usage: paramcount diff"))) if not ok]
    if missing:
        pytest.skip(f"not in the CLI yet: {', '.join(missing)}")


def _pythonpath(env):
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture
def pull_request(tmp_path):
    """(checkout, env): a clone of a repository whose main branch has models/net.yaml (LeNet-5) and
    models/small.yaml, on a pull-request branch that widens F6 from 84 to 100 units; env has the stubs."""
    if shutil.which("git") is None or shutil.which("bash") is None:
        pytest.skip("git and bash are needed")
    _available()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "paramcount").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m paramcount "$@"\n')
    (stubs / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$*" > "$STUB_LOG/gh.args"\n'
                              'while [ $# -gt 0 ]; do [ "$1" = --body-file ] && cp "$2" "$STUB_LOG/gh.body"; shift; done\n')
    (stubs / "pip").write_text('#!/bin/sh\nprintf "%s\\n" "$*" > "$STUB_LOG/pip.args"\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("")
    env = _pythonpath(dict(os.environ, PATH=f"{stubs}{os.pathsep}{os.environ.get('PATH', '')}",
                           STUB_LOG=str(tmp_path), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
                           GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1",
                           GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
                           GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com"))
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    upstream = tmp_path / "upstream"
    (upstream / "models").mkdir(parents=True)
    (upstream / "models" / "net.yaml").write_text(LENET5)
    (upstream / "models" / "small.yaml").write_text(SMALL)
    for args in (["init", "-q"], ["checkout", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=upstream, env=env, check=True)
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(upstream), str(checkout)], env=env, check=True)
    (checkout / "models" / "net.yaml").write_text(LENET5.replace("units: 84", "units: 100"))
    for args in (["checkout", "-q", "-b", "wider-f6"], ["commit", "-q", "-am", "wider F6"]):
        subprocess.run(["git", *args], cwd=checkout, env=env, check=True)
    return checkout, env


def _run_step(step, checkout, env):
    """A step's script as GitHub runs it for `shell: bash` (-e, pipefail), with its env."""
    env = dict(env, **{k: _substitute(v) for k, v in step.get("env", {}).items()})
    return _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _substitute(step["run"])], checkout, env)


def test_every_run_step_works_in_a_pull_requests_checkout(pull_request, tmp_path):
    checkout, env = pull_request
    for step in _steps():
        if "run" in step:
            result = _run_step(step, checkout, env)
            assert result.returncode == 0, (step["run"], result.stdout, result.stderr)
    assert (tmp_path / "pip.args").read_text() == "install paramcount\n"
    summary = (tmp_path / "summary.md").read_text()
    assert "LeNet-5" in summary and "small" in summary and "| F6 |" in summary.replace("`", "")
    assert (tmp_path / "gh.args").read_text() == "pr comment 7 --body-file paramcount-diff.md\n"
    body = (tmp_path / "gh.body").read_text()
    assert "F6" in body and "OUTPUT" in body
    for figure in ("10,164", "12,100", "+1,936", "850", "1,010", "+160", "61,706", "63,802", "+2,096"):
        assert figure in body, figure
    assert "C1" not in body  # unchanged layers are left out


def test_the_check_step_annotates_an_exceeded_budget_and_fails(pull_request):
    checkout, env = pull_request
    (checkout / "models" / "huge.yaml").write_text(HUGE)  # 268,451,840 params, over 100M
    (checkout / "models" / "small.yaml").write_text(SMALL.replace("units: 32", "units: 64"))  # over its own 30k
    result = _run_step(_step("--format github"), checkout, env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert any(e.startswith("::error file=models/huge.yaml,line=1,") for e in errors), errors
    assert any(e.startswith("::error file=models/small.yaml,line=3,") for e in errors), errors
    assert not any("net.yaml" in e for e in errors)
