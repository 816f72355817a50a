"""The preset zoo (issue 7): published figures, paramcount, and a hand-built torch model agree.

Three sources for every preset in ``architectures/`` that the issue lists:

* ``PUBLISHED``: the figures of the issue's table, typed by hand from the papers, torchvision and
  Hugging Face (trainable = PyTorch's ``sum(p.numel() for p in model.parameters())``);
* ``paramcount NAME --json``, run as a user runs it;
* ``tests/zoo_oracle.py``: each model written by hand in plain ``torch.nn`` (on the meta device),
  independent of paramcount; it gives totals, per-block subtotals by dotted path and the output
  shape.

torch is optional: without it the oracle tests skip, unless ``PARAMCOUNT_REQUIRE_TORCH=1`` (as
``.ci/run`` sets), when they fail. The published-figure tests need only paramcount.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import load_oracle

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# name: (trainable, non-trainable), from the table (the published sources).
PUBLISHED = {
    "lenet5-1998": (60_000, 840),
    "textcnn": (110, 0),
    "vgg16": (138_357_544, 0),
    "vgg16-bn": (138_365_992, 8_448),
    "resnet18": (11_689_512, 9_600),
    "resnet50": (25_557_032, 53_120),
    "mobilenet-v2": (3_504_872, 34_112),
    "gpt2": (124_439_808, 0),
    "bert-base": (109_482_240, 0),
    "albert-base": (11_683_584, 0),
    "llama2-7b": (6_738_415_616, 0),
}
NAMES = list(PUBLISHED)

# Subtotals the issue states outright.
PUBLISHED_BLOCKS = {
    "lenet5-1998": {"C1": (156, 0), "S2": (12, 0), "C3": (1_516, 0), "S4": (32, 0), "C5": (48_120, 0),
                    "F6": (10_164, 0), "OUTPUT": (0, 840)},
    "textcnn": {"regions": (96, 0), "regions.region4": (42, 0), "regions.region3": (32, 0),
                "regions.region2": (22, 0), "fc": (14, 0)},
}

pytestmark = [pytest.mark.filterwarnings("ignore:Failed to initialize NumPy")]


def zoo_oracle():
    """tests/zoo_oracle.py, or skip (fail under PARAMCOUNT_REQUIRE_TORCH=1): conftest.load_oracle."""
    return load_oracle("zoo_oracle")


_REPORTS = {}


def report(name):
    """``paramcount NAME --json``, parsed (run once per preset)."""
    if name not in _REPORTS:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARAMCOUNT_")}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        done = subprocess.run([sys.executable, "-m", "paramcount", name, "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"paramcount {name} --json exited {done.returncode}:\n{done.stderr}"
        _REPORTS[name] = json.loads(done.stdout)
    return _REPORTS[name]


def _counts(node):
    return node["trainable"], node["non_trainable"]


def tree_nodes(data):
    """path -> (trainable, non_trainable) of every node of the report's tree, copies included.

    A leaf appears in the tree as ``{"layer": i}``, an index into ``layers`` (one occurrence's
    counts). A node with ``repeat: N`` holds all N copies' counts (one copy's when ``shared``) and
    describes one copy in its children: either copies ``PATH.0`` ... ``PATH.N-1`` (its children
    under ``PATH.0``), or, when a repeat is split where the input shape changes, the run of
    siblings ``PREFIX.K`` ... ``PREFIX.K+N-1`` from its own path ``PREFIX.K``. Each copy and its
    descendants are added here under their own names, as torch's ModuleList names them. An
    unnamed residual carries its block's path; the outermost node of a path is the one kept.
    """
    leaves, out = data["layers"], {}

    def path_of(node):
        return leaves[node["layer"]]["path"] if set(node) == {"layer"} else node["path"]

    def visit(node):
        if set(node) == {"layer"}:
            leaf = leaves[node["layer"]]
            out.setdefault(leaf["path"], _counts(leaf))
            return
        path, counts, n = node["path"], _counts(node), node.get("repeat", 1)
        children = node.get("children", ())
        if n == 1:
            out.setdefault(path, counts)
            for child in children:
                visit(child)
            return
        shared = node.get("shared")
        one = counts if shared else tuple(c // n for c in counts)
        if children and path_of(children[0]).startswith(path + ".0"):
            out.setdefault(path, counts)
            base, copies = path + ".0", [f"{path}.{i}" for i in range(n)]
        else:  # a split run: this node is copy K of its parent's repeat
            prefix, k = path.rsplit(".", 1)
            base, copies = path, [f"{prefix}.{int(k) + i}" for i in range(n)]
        before = set(out)
        out.setdefault(base, one)
        for child in children:
            visit(child)
        inside = {p: c for p, c in out.items() if p not in before and (p == base or p.startswith(base + "."))}
        for i, copy in enumerate(copies[1:], 1):
            for p, c in inside.items():
                out.setdefault(copy + p[len(base):], (0, 0) if shared else c)

    for top in data["tree"]:
        visit(top)
    return out


def totals(data):
    t = data["totals"]
    return t["trainable"], t["non_trainable"]


def test_every_preset_is_shipped():
    for name in NAMES:
        assert (ROOT / "architectures" / f"{name}.yaml").is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_oracle_reproduces_published_figures(name):
    m = zoo_oracle().measure(name)
    assert (m.trainable, m.non_trainable) == PUBLISHED[name]
    for path, figures in PUBLISHED_BLOCKS.get(name, {}).items():
        assert m.blocks[path] == figures, path


@pytest.mark.parametrize("name", NAMES)
def test_paramcount_gives_published_figures(name):
    data = report(name)
    assert totals(data) == PUBLISHED[name]
    assert data["totals"]["params"] == sum(PUBLISHED[name])
    nodes = tree_nodes(data)
    for path, figures in PUBLISHED_BLOCKS.get(name, {}).items():
        assert nodes.get(path) == figures, path


@pytest.mark.parametrize("name", NAMES)
def test_paramcount_agrees_with_torch(name):
    m = zoo_oracle().measure(name)
    data = report(name)
    assert totals(data) == (m.trainable, m.non_trainable)
    nodes = tree_nodes(data)
    wrong = {path: (nodes.get(path, "missing"), want) for path, want in m.blocks.items() if nodes.get(path) != want}
    assert not wrong, f"block subtotals (paramcount, torch): {wrong}"
    assert tuple(data.get("output_shape") or data["layers"][-1]["output_shape"]) == m.output_shape


@pytest.mark.parametrize("name", NAMES)
def test_preset_names_its_source(name):
    import yaml

    spec = yaml.safe_load((ROOT / "architectures" / f"{name}.yaml").read_text())
    assert spec.get("name") and spec.get("description")


def _tree_node(data, path):
    stack = list(data["tree"])
    while stack:
        node = stack.pop()
        if node.get("path") == path:
            return node
        stack.extend(node.get("children", ()))
    raise KeyError(path)


def test_gpt2_output_projection_is_tied_to_the_token_embedding():
    data = report("gpt2")
    head = next(leaf for leaf in data["layers"] if leaf["path"] == "lm_head")
    assert head["tied_to"] == "wte"
    assert head["output_shape"] == [1024, 50257]
    assert (head["trainable"], head["params"]) == (0, 0)  # counted once, in wte: 50,257 x 768
    assert next(leaf for leaf in data["layers"] if leaf["path"] == "wte")["params"] == 50257 * 768


def test_albert_shares_one_layer_among_twelve():
    node = _tree_node(report("albert-base"), "encoder.layer")
    assert (node["repeat"], node["shared"], node["trainable"]) == (12, True, 7_087_872)


def test_bert_repeats_twelve_layers():
    node = _tree_node(report("bert-base"), "encoder.layer")
    assert (node["repeat"], node["shared"], node["trainable"]) == (12, False, 12 * 7_087_872)
