"""paramcount.diff: two specs compared layer by layer, OLD/NEW read from files, presets or git, and
growth against a baseline. Every expected count is derived by hand in a comment."""

import io
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from paramcount import SpecError, analyze, load_text
from paramcount.diff import (BaselineError, check_growth, diff_markdown, diff_reports, diff_rows, load_revision,
                             print_diff)
from paramcount.limits import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
LENET = (ROOT / "architectures" / "lenet5.yaml").read_text()
WIDER = LENET.replace("units: 84", "units: 100")


def report(text, path="net.yaml"):
    return analyze(load_text(text, path))


def by_path(diff):
    return {d.path: d for d in diff.layers}


def test_lenet5_against_wider_f6(tmp_path, monkeypatch):
    """The issue's example: `paramcount diff lenet5 wider.yaml`, F6 at 100 units instead of 84."""
    monkeypatch.chdir(tmp_path)
    Path("wider.yaml").write_text(WIDER)
    diff = diff_reports(analyze(load_revision("lenet5")), analyze(load_revision("wider.yaml")))
    layers = by_path(diff)
    assert diff.changed
    # C5 gives [120, 1, 1], flattened to 120 features.
    # F6 old: 120·84 + 84 = 10,164; new: 120·100 + 100 = 12,100 (+1,936); its output [84] -> [100].
    f6 = layers["F6"]
    assert f6.status == "changed"
    assert (f6.old.total, f6.new.total, f6.change) == (10_164, 12_100, 1_936)
    assert (f6.old.output_shape, f6.new.output_shape) == ((84,), (100,))
    # OUTPUT old: 84·10 + 10 = 850; new: 100·10 + 10 = 1,010 (+160); its output stays [10].
    out = layers["OUTPUT"]
    assert out.status == "changed"
    assert (out.old.total, out.new.total, out.change) == (850, 1_010, 160)
    assert out.old.output_shape == out.new.output_shape == (10,)
    assert out.new.counts == {"weights": 1_000, "biases": 10, "trainable": 1_010, "non_trainable": 0,
                              "params": 1_010, "params_unshared": 1_010}
    assert {d.path for d in diff.layers if d.status != "unchanged"} == {"F6", "OUTPUT"}
    assert [d.status for d in diff.layers].count("unchanged") == 6  # C1 S2 C3 S4 C5 flatten
    # Total: 61,706 + 1,936 + 160 = 63,802 (+2,096); 2,096 / 61,706 = 3.397% -> +3.4%.
    # Biases: 236 + 16 (100 - 84) = 252; 16 / 236 = 6.78% -> +6.8%.
    t = diff.totals
    p = t["params"]
    assert (p.old, p.new, p.change, p.percent) == (61_706, 63_802, 2_096, "+3.4")
    assert t["params"].tenths == 34
    assert (t["biases"].old, t["biases"].new, t["biases"].percent) == (236, 252, "+6.8")
    assert (t["non_trainable"].change, t["non_trainable"].percent) == (0, "0.0")

    d = diff.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["changed"] is True and d["summary"] == {"added": 0, "removed": 0, "changed": 2, "unchanged": 6}
    assert sum(layer["params_change"] for layer in d["layers"]) == d["totals"]["params"]["change"] == 2_096
    f6d = next(layer for layer in d["layers"] if layer["path"] == "F6")
    assert f6d["old"]["params"] == 10_164 and f6d["new"]["output_shape"] == [100]
    assert d["totals"]["params"] == {"old": 61_706, "new": 63_802, "change": 2_096, "percent": "+3.4",
                                     "percent_tenths": 34}

    headers, kinds, body, footer = diff_rows(diff)
    assert [row[0] for row in body] == ["F6", "OUTPUT"] and len(headers) == len(kinds) == len(body[0])
    assert body[0] == ("F6", "changed", "dense", "[84] → [100]", "10,164", "12,100", "+1,936")
    assert footer[4:] == ("61,706", "63,802", "+2,096")
    assert len(diff_rows(diff, unchanged=True)[2]) == 8

    md = diff_markdown(diff)
    assert "| `F6` | changed | `dense` | [84] → [100] | 10,164 | 12,100 | +1,936 |" in md
    assert "| `OUTPUT` | changed | `dense` | [10] | 850 | 1,010 | +160 |" in md
    assert "`C1`" not in md  # unchanged layers are left out
    assert "| Total params | 61,706 | 63,802 | +2,096 | +3.4% |" in md

    out = io.StringIO()
    print_diff(out, diff, width=120)
    text = out.getvalue()
    assert "F6" in text and "OUTPUT" in text and "C1" not in text
    assert "Total params: 61,706 → 63,802 (+2,096, +3.4%)" in text


FLAT = """
input: [10]
layers:
  - {name: a, type: dense, units: 20}
  - {name: b, type: dense, units: 30}
  - {name: c, type: dense, units: 5}
"""


def test_added_removed_and_renamed_layers():
    # New: `b` removed, `x` (a dense) added after `a`, `extra` (a relu) added at the end.
    new = """
input: [10]
layers:
  - {name: a, type: dense, units: 20}
  - {name: x, type: dense, units: 40}
  - {name: c, type: dense, units: 5}
  - {name: extra, type: relu}
"""
    diff = diff_reports(report(FLAT), report(new))
    # `b` and `x` are both unmatched denses between `a` and `c`: paired by position as a change,
    # b: 20·30 + 30 = 630 -> x: 20·40 + 40 = 840. `c` changes: 30·5 + 5 = 155 -> 40·5 + 5 = 205.
    assert [(d.path, d.status) for d in diff.layers] == [("a", "unchanged"), ("x", "changed"),
                                                          ("c", "changed"), ("extra", "added")]
    x = by_path(diff)["x"]
    assert (x.old.path, x.old.total, x.new.total) == ("b", 630, 840)
    assert by_path(diff)["extra"].old is None and by_path(diff)["extra"].change == 0
    # a: 10·20 + 20 = 220; totals 220 + 630 + 155 = 1,005 -> 220 + 840 + 205 = 1,265 (+260, +25.9%).
    p = diff.totals["params"]
    assert (p.old, p.new, p.percent) == (1_005, 1_265, "+25.9")
    assert diff_rows(diff)[2][0][0] == "b → x"

    # Different types do not pair: `b` (a dense) replaced by `n` (a layernorm) is removed + added, in place.
    new2 = """
input: [10]
layers:
  - {name: a, type: dense, units: 20}
  - {name: n, type: layernorm}
  - {name: c, type: dense, units: 5}
"""
    diff = diff_reports(report(FLAT), report(new2))
    # layernorm over 20 features: scale and shift, 2·20 = 40; `c` now sees 20 features, not 30.
    assert [(d.path, d.status) for d in diff.layers] == [("a", "unchanged"), ("b", "removed"), ("n", "added"),
                                                          ("c", "changed")]
    assert by_path(diff)["b"].change == -630 and by_path(diff)["n"].change == 40
    # c: 20·5 + 5 = 105 (from 155); total 220 + 40 + 105 = 365 from 1,005: -640, -63.7% (63.68).
    assert by_path(diff)["c"].new.total == 105
    assert (diff.totals["params"].change, diff.totals["params"].percent) == (-640, "-63.7")
    d = diff.to_dict()
    assert d["summary"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    removed = next(layer for layer in d["layers"] if layer["status"] == "removed")
    assert removed["new"] is None and removed["old"]["total_params"] == 630
    assert sum(layer["params_change"] for layer in d["layers"]) == -640


COMPOSED = """
name: stack
input: [8]
blocks:
  mlp:
    args: {units: required}
    layers:
      - {type: dense, name: fc1, units: $units}
      - {type: dense, name: fc2, units: 8}
layers:
  - {type: dense, name: inp, units: 8}
  - {type: mlp, name: stage, units: 16, repeat: REPEAT}
  - {type: dense, name: head, units: 2}
"""


def test_composed_repeat_two_to_three_diffs_by_path():
    old, new = report(COMPOSED.replace("REPEAT", "2")), report(COMPOSED.replace("REPEAT", "3"))
    diff = diff_reports(old, new)
    layers = by_path(diff)
    assert set(layers) == {"inp", "stage.0.fc1", "stage.0.fc2", "head"}  # copies share their paths
    assert layers["inp"].status == layers["head"].status == "unchanged"
    # fc1: 8·16 + 16 = 144 a copy, 2 -> 3 copies: 288 -> 432. fc2: 16·8 + 8 = 136: 272 -> 408.
    fc1, fc2 = layers["stage.0.fc1"], layers["stage.0.fc2"]
    assert fc1.status == fc2.status == "changed"
    assert (fc1.old.counts["params"], fc1.old.copies, fc1.new.copies) == (144, 2, 3)
    assert (fc1.old.total, fc1.new.total, fc2.old.total, fc2.new.total) == (288, 432, 272, 408)
    # inp: 8·8 + 8 = 72; head: 8·2 + 2 = 18. Totals 72 + 288 + 272 + 18 = 650 -> 72 + 432 + 408 + 18 = 930:
    # +280, 280 / 650 = 43.08% -> +43.1%.
    t = diff.totals["params"]
    assert (t.old, t.new, t.change, t.percent) == (650, 930, 280, "+43.1")
    assert diff_rows(diff)[2][0][4:] == ("288 (×2)", "432 (×3)", "+144")


def test_nothing_changed():
    diff = diff_reports(report(LENET), report(LENET, "other.yaml"))
    assert diff.changed is False
    assert all(d.status == "unchanged" for d in diff.layers) and len(diff.layers) == 8
    assert all(t.change == 0 and t.percent == "0.0" for t in diff.totals.values())
    assert diff.to_dict()["changed"] is False and diff_rows(diff)[2] == []
    assert "No layer changed." in diff_markdown(diff)
    out = io.StringIO()
    print_diff(out, diff)
    assert "No layer changed." in out.getvalue() and "Total params: 61,706 (no change)" in out.getvalue()


def test_markdown_escapes_spec_text():
    spec = "input: [4]\nlayers:\n  - {name: 'a|b <img src=x> @team [x](http://e) `t`', type: dense, units: 2}\n"
    diff = diff_reports(report(spec), report(spec.replace("units: 2", "units: 3")))
    md = diff_markdown(diff)
    row = next(line for line in md.splitlines() if "changed" in line and "img" in line)
    # In a code span, the pipe escaped for the table, backticks fenced by a longer run.
    assert "`` a\\|b <img src=x> @team [x](http://e) `t` ``" in row
    assert row.count(" | ") == 6  # seven cells: the name's pipe does not split the row


def test_growth_from_zero_is_new():
    empty = "input: [4]\nlayers:\n  - {type: relu}\n"
    diff = diff_reports(report(empty), report("input: [4]\nlayers:\n  - {type: dense, units: 2}\n"))
    # dense 4·2 + 2 = 10 from 0
    assert (diff.totals["params"].old, diff.totals["params"].new, diff.totals["params"].percent) == (0, 10, "new")
    assert diff.totals["params"].to_dict()["percent_tenths"] is None
    assert "| Total params | 0 | 10 | +10 | new |" in diff_markdown(diff)


def test_percent_rounds_half_away_from_zero():
    from paramcount.diff import percent_tenths

    # 1 of 2,000 is 0.05%: half a tenth, rounded away from zero both ways.
    assert percent_tenths(2_000, 2_001) == 1 and percent_tenths(2_000, 1_999) == -1
    assert percent_tenths(2_000, 2_000) == 0 and percent_tenths(3, 4) == 333 and percent_tenths(3, 2) == -333
    assert percent_tenths(10**300, 2 * 10**300) == 1_000  # integers only: no float overflow


# -- REV:PATH from git ---------------------------------------------------------------------------


def git(*args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                    *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.chdir(tmp_path)
    git("init", "-q")
    Path("net.yaml").write_text(LENET)
    git("add", "net.yaml")
    git("commit", "-q", "-m", "lenet")
    Path("net.yaml").write_text(WIDER)
    git("commit", "-q", "-am", "wider")
    return tmp_path


def test_git_revision(repo):
    old = load_revision("HEAD~1:net.yaml")
    assert old.source == "HEAD~1:net.yaml" and old.name == "LeNet-5"
    diff = diff_reports(analyze(old), analyze(load_revision("net.yaml")))
    assert {d.path for d in diff.layers if d.status == "changed"} == {"F6", "OUTPUT"}
    assert diff.totals["params"].change == 2_096  # as in test_lenet5_against_wider_f6
    assert diff.to_dict()["old"]["source"] == "HEAD~1:net.yaml"
    assert not diff_reports(analyze(load_revision("HEAD:net.yaml")), analyze(load_revision("net.yaml"))).changed
    # Without a name of its own, a spec is named after the file's stem, not the revision.
    Path("plain.yaml").write_text("input: [4]\nlayers: [{type: dense, units: 2}]\n")
    git("add", "plain.yaml")
    git("commit", "-q", "-m", "plain")
    git("branch", "feature/x")
    assert load_revision("feature/x:plain.yaml").name == "plain"


@pytest.mark.parametrize("arg, message", [
    ("HEAD~9:net.yaml", "cannot read from git: "),
    ("HEAD:missing.yaml", "cannot read from git: "),
    ("nosuchrev:net.yaml", "cannot read from git: "),
    ("HEAD:", "cannot read from git: give a file's path after the ':'"),
])
def test_bad_revision_is_one_line(repo, arg, message):
    with pytest.raises(SpecError) as e:
        load_revision(arg)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"{arg}:1:1: {message}")
    assert arg == "HEAD:" or len(text) > len(f"{arg}:1:1: {message}")  # git's reason, not nothing


def test_git_outside_a_repository(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(SpecError, match=r"^HEAD:net\.yaml:1:1: cannot read from git: not a git repository"):
        load_revision("HEAD:net.yaml")


def test_git_directory_and_size_limit(repo):
    Path("models").mkdir()
    Path("models/big.yaml").write_bytes(b"#" * (MAX_BYTES + 10) + b"\n")
    git("add", "models")
    git("commit", "-q", "-m", "big")
    with pytest.raises(SpecError, match=r"^HEAD:models:1:1: cannot read from git: a directory"):
        load_revision("HEAD:models")
    with pytest.raises(SpecError, match=rf"^HEAD:models/big\.yaml:1:1: a spec may hold at most {MAX_BYTES:,} bytes"):
        load_revision("HEAD:models/big.yaml")


def test_a_file_wins_over_a_revision_and_options_never_reach_git(repo):
    Path("HEAD:net.yaml").write_text(FLAT)  # a file whose name reads like REV:PATH
    assert load_revision("HEAD:net.yaml").layers[0].name == "a"
    with pytest.raises(SpecError) as e:  # not `git show --output=...`: read as a (missing) file
        load_revision("--output=x:y.yaml")
    assert "cannot read from git" not in str(e.value) and not Path("x").exists()
    assert analyze(load_revision("lenet5")).totals.params == 61_706  # a preset


# -- baselines ------------------------------------------------------------------------------------


def baseline(params, source="net.yaml"):
    return {"schema_version": 1, "name": "net", "source": source, "totals": {"params": params}}


def test_growth_at_under_and_over_the_limit():
    new = report(LENET)  # 61,706 params, source net.yaml
    # 61,706 is 10% over 56,096 (56,096 · 1.1 = 61,705.6): just over; 56,097 · 1.1 = 61,706.7: under.
    assert check_growth(new, baseline(56_097), 10) is None
    assert check_growth(new, baseline(56_096), 10) == ("net.yaml: 56,096 → 61,706 params, +10.001%, "
                                                       "over the allowed 10%")
    # Shown with the decimals it takes to be over the limit: 5,610 / 56,096 = 10.0007% -> +10.001%.
    at = "input: [4]\nlayers:\n  - {type: dense, units: 11000}\n  - {type: dense, units: 1}\n"
    # 4·11,000 + 11,000 = 55,000; 11,000·1 + 1 = 11,001: 66,001 in all.
    r = report(at)
    assert r.totals.params == 66_001
    assert check_growth(r, baseline(60_001), 10) is None  # 60,001 · 1.1 = 66,001.1 > 66,001: under
    assert check_growth(r, baseline(60_000, "x"), 10) == \
        "net.yaml: 60,000 → 66,001 params, +10.002%, over the allowed 10%"  # 6,001 / 60,000 = 10.0017%
    assert check_growth(r, baseline(60_010), "10") is None
    r_at = report("input: [4]\nlayers:\n  - {type: dense, units: 11000}\n")  # 4·11,000 + 11,000 = 55,000
    assert check_growth(r_at, baseline(50_000), 10) is None  # exactly +10%: at the limit
    assert check_growth(r_at, baseline(50_000), "9.99") == \
        "net.yaml: 50,000 → 55,000 params, +10.0%, over the allowed 9.99%"
    assert check_growth(r_at, baseline(50_000), Decimal("10.0")) is None
    assert check_growth(r_at, baseline(55_000), 0) is None  # no growth
    assert check_growth(r_at, baseline(60_000), 0) is None  # shrinking is never over
    assert check_growth(r_at, baseline(0), 1_000) == "net.yaml: 0 → 55,000 params, new, over the allowed 1,000%"
    # The example: 61,706 -> 70,000 is +13.4% (8,294 / 61,706 = 13.44%).
    seventy = report("input: [6999]\nlayers:\n  - {type: dense, units: 10}\n")  # 6,999·10 + 10 = 70,000
    assert check_growth(seventy, baseline(61_706), "10%") == \
        "net.yaml: 61,706 → 70,000 params, +13.4%, over the allowed 10%"
    assert check_growth(seventy, baseline(61_706), "13.5") is None


def test_baseline_entries_and_errors():
    r = report(LENET)  # source net.yaml
    doc = [baseline(1, "other.yaml"), baseline(61_706), {"source": "bad.yaml", "problems": []}]
    assert check_growth(r, doc, 0) is None  # the entry with the same source
    assert check_growth(r, [baseline(50_000, "elsewhere/net.yaml")], 10) is not None  # the only entry
    with pytest.raises(BaselineError, match="no entry in the baseline"):
        check_growth(r, [baseline(1, "a.yaml"), baseline(1, "b.yaml")], 10)
    with pytest.raises(BaselineError, match="failed when the baseline was written"):
        check_growth(r, {"source": "net.yaml", "problems": [{"line": 1, "column": 1, "message": "x"}]}, 10)
    for bad in (-1, "ten", "1e3", "nan", 10.0, True, ""):
        with pytest.raises(BaselineError):
            check_growth(r, baseline(61_706), bad)
    # A baseline that --json wrote, read back.
    doc = json.loads(json.dumps(report(LENET).to_dict()))
    assert check_growth(report(WIDER), doc, 3) == "net.yaml: 61,706 → 63,802 params, +3.4%, over the allowed 3%"
    assert check_growth(report(WIDER), doc, "3.4") is None  # +3.3967%: under 3.4
