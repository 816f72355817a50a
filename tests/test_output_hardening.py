"""Issue 6, the output side: every case a real process, as a stranger's CI job would run it, with
PYTHONUNBUFFERED unset (under it, a full stdout fails at the first write and hides the exit-time
flush), its exit status and stderr checked, and its peak memory where cost is the point.

1 a table's cost bounded by its rows (cells cut past render.CELL_LIMIT); 2 memory bounded per spec,
output streamed; 3 file names cannot drive the terminal; 4 markdown shows spec text as plain text on
GitHub (rendered with cmark-gfm); 5 a file name that is not UTF-8; 6 an ASCII stdout; 7 a full or
read-only stdout; 8 a full stderr; 13 the budget message cuts long names.
"""

import html
import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from paramcount.render import CELL_LIMIT

ROOT = Path(__file__).resolve().parent.parent
MEMORY_BOUND_MIB = 200
HANG_SECONDS = 60

# paramcount run as `python -m paramcount` is, reporting its own peak memory (VmHWM) to PEAK_FILE.
from test_adversarial import CHILD  # noqa: E402

TRACEBACK = re.compile(rb"Traceback|Exception ignored|Error:")


def environment(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONUNBUFFERED", "PYTHONIOENCODING", "COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def paramcount(*args, cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **env):
    """A real `python -m paramcount` process; stdout and stderr as bytes."""
    proc = subprocess.run([sys.executable, "-m", "paramcount", *args], cwd=cwd, stdout=stdout, stderr=stderr,
                          stdin=stdin, env=environment(**env), timeout=HANG_SECONDS)
    if stderr is subprocess.PIPE:
        assert not TRACEBACK.search(proc.stderr), proc.stderr[-2000:]
    return proc


def measured(args, cwd, **env):
    """(process, peak memory in MiB) of paramcount on `args`, its stdout to a file."""
    peak_file, out_file = Path(cwd) / "peak.txt", Path(cwd) / "stdout.txt"
    with open(out_file, "wb") as out:
        proc = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=cwd, stdout=out, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=environment(PEAK_FILE=str(peak_file), **env),
                              timeout=HANG_SECONDS)
    assert not TRACEBACK.search(proc.stderr), proc.stderr[-2000:]
    return proc, int(peak_file.read_text()) // 1024, out_file


# -- 1. what a table costs ------------------------------------------------------------------------

N300, N200 = "9" * 300, "9" * 200


def long_name_after_wide_counts(d):
    """A 130,000-character name of 65,000 words after a layer with 500-digit counts."""
    words = " ".join(["w"] * 65_000)
    return (f"input: [{N200}]\nlayers:\n  - {{type: dense, units: {N300}}}\n"
            f"  - {{type: dense, units: 3, name: '{words}'}}\n")


def tall_wide_rows(d):
    """1,500 rows of many short words (tall if wrapped) in a table made wide by 600-digit counts."""
    name = " ".join(["ab"] * 60)
    return (f"input: [{N300}]\nlayers:\n  - {{type: dense, units: {N300}}}\n  - {{type: dense, units: 4}}\n"
            + "".join(f"  - {{type: dense, units: 4, name: '{name} {i}'}}\n" for i in range(1500)))


def aliased_wide_shapes(d):
    """A 70 KB file of 10,000 aliased layers whose 8-axis shapes have 480 digits each."""
    axis = "9" * 60
    return f"input: [{', '.join([axis] * 8)}]\nlayers:\n  - &l {{type: relu}}\n" + "  - *l\n" * 9_999


HOSTILE = [long_name_after_wide_counts, tall_wide_rows, aliased_wide_shapes]
FORMATS = ["table", "markdown", "json"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("make", HOSTILE, ids=[m.__name__ for m in HOSTILE])
def test_a_hostile_report_costs_what_its_rows_do(tmp_path, make, fmt):
    (tmp_path / "spec.yaml").write_text(make(tmp_path))
    proc, peak, out = measured(["--format", fmt, "spec.yaml"], tmp_path, COLUMNS="100")
    assert proc.returncode == 0 and proc.stderr == b""
    assert peak < MEMORY_BOUND_MIB, f"{peak} MiB"
    size = out.stat().st_size
    assert size < 40 * 2**20, size  # a few MB at most: 10,000 rows of bounded cells
    if fmt == "table":
        text = out.read_text(encoding="utf-8")
        table = [line for line in text.splitlines() if line[:1] in "┏┃┡│├└"]
        widths = {len(line) for line in table}
        assert len(widths) == 1  # aligned
        assert widths.pop() <= 8 * (CELL_LIMIT + 3) + 1  # no cell wider than the limit
        assert "…" in text  # and what was cut says so


# -- 2. memory bounded per spec, output streamed --------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_memory_is_bounded_per_spec_not_per_run(tmp_path, fmt):
    (tmp_path / "spec.yaml").write_text(aliased_wide_shapes(tmp_path))
    _, once, _ = measured(["--format", fmt, "spec.yaml"], tmp_path)
    proc, four_times, out = measured(["--format", fmt] + ["spec.yaml"] * 4, tmp_path)
    assert proc.returncode == 0
    assert four_times < once + 16, (once, four_times)  # not four reports' worth
    if fmt == "json":
        docs = json.loads(out.read_text())
        assert len(docs) == 4 and all(len(d["layers"]) == 10_000 for d in docs)


def test_a_json_array_is_streamed_element_by_element(tmp_path):
    """The first spec's document is out before the second is read (stdin, written only after)."""
    tiny = b"input: [4]\nlayers: [{type: dense, units: 3}]\n"
    proc = subprocess.Popen([sys.executable, "-m", "paramcount", "--json", "lenet5", "-"], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment())
    try:
        first = b""
        while not first.endswith(b"\n}"):  # the first document whole, before any of stdin is written
            ready, _, _ = select.select([proc.stdout], [], [], HANG_SECONDS)
            assert ready, f"no first document within {HANG_SECONDS} s: {first[-200:]!r}"
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, "paramcount ended before its first document"
            first += chunk
        assert first.startswith(b"[\n")
        assert json.loads(first[2:])["source"] == "preset:lenet5"
        rest, err = proc.communicate(tiny, timeout=HANG_SECONDS)
    finally:
        proc.kill()
    assert proc.returncode == 0 and err == b""
    docs = json.loads(first + rest)
    assert [d["source"] for d in docs] == ["preset:lenet5", "<stdin>"]


# -- 3. file names cannot drive the terminal ------------------------------------------------------

NAMES = ["a\x1b]0;pwned\x07b\nc", "clear\x1b[2J\x1b[Hd", "bidi\u202etxt.exe\u202c", "zero\u200bwidth"]


@pytest.mark.parametrize("stem", NAMES, ids=["esc-bel-newline", "clear-screen", "bidi", "zero-width"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_name_reaches_no_output_raw(tmp_path, stem, fmt):
    """The model's name defaults to the file's stem, which never passed the name check."""
    (tmp_path / f"{stem}.yaml").write_text("input: [4]\nlayers: [{type: dense, units: 3}]\n")
    proc = paramcount("--format", fmt, f"{stem}.yaml", "--max-params", "1", cwd=tmp_path)
    assert proc.returncode == 1
    out, err = proc.stdout.decode(), proc.stderr.decode()
    for bad in "\x1b\x07\r\u202e\u202c\u200b":
        assert bad not in out and bad not in err
    assert len(err.splitlines()) == 1  # the budget message: one line, the name escaped
    if fmt == "table":
        assert out.splitlines()[0].endswith(" (input [4])")  # the title is one line
    elif fmt == "markdown":
        assert out.startswith("### `") and out.splitlines()[0].endswith(" (input [4])")
    else:
        assert json.loads(out)["name"] == stem  # JSON escapes, and keeps the name exact


# -- 4. markdown shows spec text as plain text -----------------------------------------------------

HOSTILE_NAMES = [
    "https://evil.example/x", "http://e", "www.evil.example", "user@example.com", "_emph_", "__strong__",
    "*star*", "**bold**", "~del~", "~~del~~", "@octocat", "@org/team", "#123", "GH-123", "owner/repo#1",
    "\\[x\\](http://e)", "[x](http://e)", "![i](http://e/i.png)", "<b>x</b>", "<https://e>", "a|b", "a\\|b",
    "`tick`", "``", "x`", "`", " lead", "trail\\", "&amp;", "&#64;octocat", "[x]: http://e", "$x$",
]


def _outside_code(fragment):
    """The text of an HTML fragment with every <code> element taken out."""
    return re.sub(r"<code>.*?</code>", "", fragment, flags=re.S)


def test_markdown_renders_spec_text_as_plain_text_on_github(tmp_path):
    cmarkgfm = pytest.importorskip("cmarkgfm")
    layers = "".join(f"  - {{type: dense, units: 2, name: {json.dumps(n)}}}\n" for n in HOSTILE_NAMES)
    title = "[click](https://e) @octocat #1 _x_ www.e.com"
    (tmp_path / "spec.yaml").write_text(f"name: {json.dumps(title)}\ninput: [2]\nlayers:\n{layers}")
    proc = paramcount("--format", "markdown", "spec.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = cmarkgfm.github_flavored_markdown_to_html(proc.stdout.decode())
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    assert "<strong>Total</strong>" in rows[-1]  # ours: the only emphasis on the page
    spec_text = page.replace(rows[-1], "")
    for tag in ("<a ", "<em>", "<strong>", "<del>", "<b>", "<img", "<math"):
        assert tag not in spec_text, tag
    plain = html.unescape(_outside_code(spec_text))
    for trace in ("@octocat", "@org", "#123", "#1 ", "www.", "://", "@example", "GH-123", "evil"):
        assert trace not in plain, trace  # GitHub links mentions and references outside code only
    body = rows[1:-1]  # after the header, before the total
    assert len(body) == len(HOSTILE_NAMES)
    for row, name in zip(body, HOSTILE_NAMES):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        assert len(cells) == 7, row  # no cell split or merged by a pipe
        [code] = re.findall(r"<code>(.*?)</code>", cells[0], flags=re.S)
        assert html.unescape(code).strip() == name.strip()  # and the name shown as it is
    heading = re.search(r"<h3>(.*?)</h3>", page, flags=re.S).group(1)
    assert html.unescape(re.search(r"<code>(.*?)</code>", heading).group(1)) == title


# -- 5, 6. encodings -------------------------------------------------------------------------------

UNICODE_SPEC = ("name: Ünïcödé 模型\ninput: [4]\nlayers:\n  - {type: dense, units: 3, name: 超長い名前}\n"
                "  - {type: dense, units: 2, name: café😀}\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_name_that_is_not_utf8_on_a_strict_utf8_stdout(tmp_path, fmt):
    name = b"\xff\xfe-latin1-\xe9.yaml"
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as f:
        f.write(b"input: [4]\nlayers: [{type: dense, units: 3}]\n")
    for encoding in ("utf-8", "utf-8:strict"):
        proc = paramcount("--format", fmt, os.fsdecode(name), cwd=tmp_path, PYTHONIOENCODING=encoding)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == b""
        out = proc.stdout.decode("utf-8")  # strictly valid UTF-8
        if fmt == "json":
            assert json.loads(out)["name"] == os.fsdecode(name)[:-5]
        else:
            assert "\\udcff\\udcfe-latin1-\\udce9" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_ascii_stdout_degrades_and_never_crashes(tmp_path, fmt):
    (tmp_path / "spec.yaml").write_text(UNICODE_SPEC, encoding="utf-8")
    proc = paramcount("--format", fmt, "spec.yaml", cwd=tmp_path, PYTHONIOENCODING="ascii", COLUMNS="100")
    assert proc.returncode == 0 and proc.stderr == b""
    out = proc.stdout.decode("ascii")  # nothing but ASCII
    if fmt == "json":
        assert json.loads(out)["layers"][1]["name"] == "café😀"
    else:
        assert "\\u8d85\\u9577\\u3044" in out
    if fmt == "table":
        table = [line for line in out.splitlines() if line[:1] in "+|"]
        assert len({len(line) for line in table}) == 1  # still aligned, on ASCII rules


def test_an_ascii_stderr_with_a_non_ascii_error(tmp_path):
    (tmp_path / "spec.yaml").write_text(UNICODE_SPEC.replace("units: 3", "units: 0"), encoding="utf-8")
    proc = paramcount("spec.yaml", "--max-params", "1", cwd=tmp_path, PYTHONIOENCODING="ascii")
    assert proc.returncode == 2 and proc.stdout == b""
    proc.stderr.decode("ascii")
    (tmp_path / "spec.yaml").write_text(UNICODE_SPEC, encoding="utf-8")
    proc = paramcount("spec.yaml", "--max-params", "1", cwd=tmp_path, PYTHONIOENCODING="ascii")
    assert proc.returncode == 1
    assert proc.stderr.decode("ascii").startswith("spec.yaml: \\xdcn\\xefc\\xf6d\\xe9 \\u6a21\\u578b has 23 params")


# -- 7, 8. streams that cannot be written ----------------------------------------------------------

FULL = "/dev/full"
needs_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full")


@needs_full
@pytest.mark.parametrize("args", [["lenet5"], ["--format", "markdown", "lenet5"], ["--json", "lenet5"],
                                  ["--json", "big.yaml", "lenet5"], ["--list-presets"], ["--version"],
                                  ["--help"]])
def test_a_full_stdout_is_one_line_and_exit_2(tmp_path, args):
    """`paramcount lenet5 >/dev/full` printed the error, then 'Exception ignored ... OSError', exit 120."""
    (tmp_path / "big.yaml").write_text("input: [4]\nlayers:\n" + "  - {type: dense, units: 4}\n" * 5000)
    with open(FULL, "w") as full:
        proc = paramcount(*args, cwd=tmp_path, stdout=full)
    assert (proc.returncode, proc.stderr) == (2, b"paramcount: error: cannot write the output: No space left on device\n")


@pytest.mark.parametrize("args", [["lenet5"], ["--json", "lenet5"], ["--format", "markdown", "lenet5", "alexnet"]])
def test_a_read_only_stdout_is_one_line_and_exit_2(tmp_path, args):
    """`paramcount lenet5 1</dev/null`: fd 1 open for reading only."""
    with open(os.devnull, "rb") as read_only:
        proc = paramcount(*args, cwd=tmp_path, stdout=read_only)
    assert (proc.returncode, proc.stderr) == (2, b"paramcount: error: cannot write the output: Bad file descriptor\n")


@needs_full
@pytest.mark.parametrize("args, code", [
    (["bad.yaml"], 2),
    (["bad.yaml", "lenet5"], 2),
    (["lenet5", "--max-params", "1"], 1),
    (["--frobnicate"], 2),
    (["lenet5"], 0),
])
def test_a_full_stderr_keeps_the_exit_status(tmp_path, args, code):
    """`paramcount bad.yaml 2>/dev/full` exited 1, the over-budget status, for bad input."""
    (tmp_path / "bad.yaml").write_text("input: [4]\nlayers: [{type: dense, units: 0}]\n")
    with open(FULL, "w") as full:
        proc = paramcount(*args, cwd=tmp_path, stderr=full)
    assert proc.returncode == code


@needs_full
def test_both_streams_full(tmp_path):
    with open(FULL, "w") as full:
        proc = paramcount("lenet5", cwd=tmp_path, stdout=full, stderr=full)
    assert proc.returncode == 2


# -- 13. long text cut in messages -----------------------------------------------------------------


def test_the_budget_message_cuts_a_long_name(tmp_path):
    name = "n" * 300_000
    (tmp_path / "spec.yaml").write_text(f"name: {name}\ninput: [4]\nlayers: [{{type: dense, units: 3}}]\n")
    proc = paramcount("--json", "spec.yaml", "--max-params", "1", cwd=tmp_path)
    assert proc.returncode == 1
    [line] = proc.stderr.decode().splitlines()
    assert len(line) < 300
    assert line.startswith("spec.yaml: nnnn") and "…" in line
    assert line.endswith(" has 15 params, over the limit of 1 (--max-params)")
    assert json.loads(proc.stdout)["name"] == name  # JSON keeps it whole


def test_a_long_name_is_cut_in_the_table_and_title(tmp_path):
    name = "x" * 5_000
    (tmp_path / "spec.yaml").write_text(f"name: {name}\ninput: [4]\nlayers: [{{type: dense, units: 3, name: {name}}}]\n")
    proc = paramcount("spec.yaml", cwd=tmp_path, COLUMNS="80")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert max(map(len, lines)) < 600
    assert lines[0].endswith("… (input [4])")


# -- 14. invisible fillers in a file name ----------------------------------------------------------

# str.isprintable() calls these printable, yet each prints as nothing: `admin\u3164` reads `admin`.
FILLERS = ["\u3164", "\u115f", "\u1160", "\uffa0", "\u034f", "\u17b4", "\u17b5"]


@pytest.mark.parametrize("filler", FILLERS, ids=[f"U+{ord(c):04X}" for c in FILLERS])
def test_invisible_fillers_in_a_file_name_reach_no_output_raw(tmp_path, filler):
    stem = f"admin{filler}"
    (tmp_path / f"{stem}.yaml").write_text("input: [4]\nlayers: [{type: dense, units: 3}]\n")
    escaped = filler.encode("unicode_escape").decode()
    for fmt, first in (("table", "admin"), ("markdown", "### `admin")):
        proc = paramcount("--format", fmt, f"{stem}.yaml", "--max-params", "1", cwd=tmp_path)
        assert proc.returncode == 1
        out, err = proc.stdout.decode(), proc.stderr.decode()
        assert filler not in out and filler not in err
        assert out.startswith(first + escaped)  # the title (table) and the heading (markdown)
        [line] = err.splitlines()  # the budget message
        assert line.startswith(f"admin{escaped}.yaml: admin{escaped} has 15 params")


# -- 15. CSV cells a spreadsheet would run -----------------------------------------------------------


def test_csv_cells_that_start_like_a_formula_are_neutralised(tmp_path):
    (tmp_path / "=1+1.yaml").write_text(
        "input: [4]\nlayers:\n  - {type: dense, units: 3, name: '+cmd'}\n  - {type: dense, units: 2, name: '@x'}\n"
        "  - {type: dense, units: 3, name: '-y'}\n  - {type: dense, units: 3, name: '=SUM(A1)'}\n")
    proc = paramcount("--format", "csv", "=1+1.yaml", cwd=tmp_path)
    assert proc.returncode == 0
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
    assert [r["name"] for r in rows] == ["'+cmd", "'@x", "'-y", "'=SUM(A1)"]
    assert [r["path"] for r in rows] == ["'+cmd", "'@x", "'-y", "'=SUM(A1)"]
    assert {r["source"] for r in rows} == {"'=1+1.yaml"}
    assert [r["params"] for r in rows] == ["15", "8", "9", "12"]  # numbers stay numbers
    assert [r["type"] for r in rows] == ["dense"] * 4
    for cell in (c for r in rows for c in r.values()):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# -- 16. --baseline is read as a spec file is ------------------------------------------------------


@pytest.mark.parametrize("target", ["/dev/ptmx", "/dev/zero"])
def test_a_baseline_linked_to_a_device_is_refused_at_once(tmp_path, target):
    if not os.path.exists(target):
        pytest.skip(f"no {target}")
    (tmp_path / "base.json").symlink_to(target)
    proc = paramcount("lenet5", "--baseline", "base.json", "--max-growth", "5", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b""
    [line] = proc.stderr.decode().splitlines()
    assert line == "paramcount: error: --baseline base.json: is a character device, not a spec file"


def test_a_baseline_nested_too_deeply_is_one_line(tmp_path):
    (tmp_path / "base.json").write_text("[" * 100_000 + "]" * 100_000)
    proc = paramcount("lenet5", "--baseline", "base.json", "--max-growth", "5", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b""
    [line] = proc.stderr.decode().splitlines()
    assert line == "paramcount: error: --baseline base.json: not a --json document: nested too deeply"


def test_a_baseline_through_a_link_to_a_regular_file_is_read(tmp_path):
    (tmp_path / "real.json").write_bytes(paramcount("--json", "lenet5", cwd=tmp_path).stdout)
    (tmp_path / "base.json").symlink_to(tmp_path / "real.json")
    proc = paramcount("lenet5", "--baseline", "base.json", "--max-growth", "0", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""


# -- 17. 80 columns: every preset, long names ------------------------------------------------------


def _cells_of(text):
    from paramcount.render import cells

    return [cells(line) for line in text.splitlines()]


def test_every_preset_fits_80_columns_table_and_notes(tmp_path):
    from paramcount.sources import preset_names

    names = preset_names()
    proc = paramcount(*names, "--max-params", "1", cwd=tmp_path, COLUMNS="80")
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert out.count("Total params: ") == len(names)
    widths = _cells_of(out)
    assert max(widths) <= 80, [line for line in out.splitlines() if _cells_of(line)[0] > 80]


@pytest.mark.parametrize("preset", ["resnet18", "mobilenet-v2", "albert-base"])
def test_summary_lines_wrap_to_a_narrow_terminal(tmp_path, preset):
    """At 75 columns the tables fit; the lines under them (PyTorch's and Keras's figures, the sharing
    line, the notes) wrap between words, continued two spaces in, rather than run past."""
    proc = paramcount(preset, "--max-params", "1", cwd=tmp_path, COLUMNS="75")
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert max(_cells_of(out)) <= 75, out
    flat = " ".join(line.strip() for line in out.splitlines())
    assert "Total params: " in flat and "Parameter memory (fp32): " in flat


def test_a_wrapped_name_keeps_its_indentation(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        "input: [8]\nlayers:\n  - type: sequence\n    name: outer\n    layers:\n"
        "      - {type: dense, units: 4, name: 'short words that wrap around nicely when the column is narrow "
        "enough to make them'}\n")
    proc = paramcount("spec.yaml", cwd=tmp_path, COLUMNS="60")
    assert proc.returncode == 0
    rows = [line for line in proc.stdout.decode().splitlines() if line.startswith("│ ")]
    name_cells = [row.split("│")[1] for row in rows]
    start = next(i for i, c in enumerate(name_cells) if "short" in c)
    wrapped = [c for c in name_cells[start:] if c.strip() and c.strip() != "Total"]
    assert len(wrapped) >= 2
    assert all(c.startswith("   ") and c[3] != " " for c in wrapped), wrapped  # '│' + ' ' + 2 of indent
