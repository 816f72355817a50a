"""Hostile and broken files, each with its expected outcome, run as a real process.

Each case must end with its exit status and its exact stderr, never a traceback, within the
bounds that paramcount/limits.py enforces: at most MEMORY_BOUND_KIB of peak memory (measured by
the process itself) and HANG_SECONDS of wall time (a bound that catches a hang, not a timing).

`python tests/test_adversarial.py` prints each case's time and peak memory (the README's
Safety table).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from paramcount.errors import CONTROL, one_line
from paramcount.limits import MAX_BYTES

CORPUS = Path(__file__).resolve().parent / "adversarial"
ROOT = CORPUS.parent.parent
MEMORY_BOUND_KIB = 200 * 1024
HANG_SECONDS = 60

# Runs paramcount in this process and records its own peak memory, even on exit 1 or 2. Linux's
# VmHWM is this program's high-water mark; ru_maxrss would carry over the parent's across exec.
CHILD = """
import os, resource, runpy, sys
try:
    runpy.run_module("paramcount", run_name="__main__", alter_sys=True)
finally:
    try:
        with open("/proc/self/status") as f:
            peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.environ["PEAK_FILE"], "w") as f:
        f.write(str(peak))
"""

BIG = "9" * 300


def nested_flow(depth):
    return "input: [4]\nlayers: []\nx-deep: " + "[" * depth + "]" * depth + "\n"


def nested_block(depth):
    return "x-deep:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, depth)) + "input: [4]\nlayers: [{type: relu}]\n"


def layers(n, layer="{type: dense, units: 4}"):
    return "input: [4]\nlayers:\n" + f"  - {layer}\n" * n


def exactly(nbytes, head="input: [4]\nlayers: [{type: relu}]\n"):
    """`head` and then a list of one-character values, `nbytes` in all."""
    room = nbytes - len(head) - len("x-a: []\n")
    return head + "x-a: [" + ("11" if room % 2 == 0 else "1") + ",1" * ((room - 1) // 2) + "]\n"


def huge_compute():
    axis = "9" * 299
    lines = [f"input: [{', '.join([axis] * 8)}]", "layers:"]
    for i in range(13):
        pad = "  " * (i + 1)
        lines += [f"{pad}- type: sequence", f"{pad}  repeat: {axis}", f"{pad}  layers:"]
    return "\n".join(lines + ["  " * 14 + "- {type: relu}"]) + "\n"


def many_huge_rows():
    axis, indent = "9" * 299, "      "
    text = f"name: m\ninput: [{', '.join([axis] * 8)}]\nblocks:\n  big:\n    layers:\n"
    for _ in range(5):
        text += f"{indent}- type: sequence\n{indent}  repeat: {axis}\n{indent}  layers:\n"
        indent += "    "
    return text + f"{indent}- {{type: relu}}\nlayers:\n" + "  - {type: big}\n" * 9500


def write_50mb(path):
    with open(path, "w") as f:
        f.write("input: [4]\nlayers:\n")
        line = "  - {type: dense, units: 4}\n"
        f.write(line * (50 * 2**20 // len(line) + 1))


LIMIT_LAYERS = "a spec may have at most 10,000 layers; this one has 10,001"
LIMIT_BYTES = "a spec may hold at most 393,216 bytes; this one holds more"
LIMIT_VALUES = "the spec expands to more than 500,000 values (aliases count each time they are used)"
REFUSED = "is not allowed: a spec holds only plain YAML values"

# (id, file or builder, exit status, expected stderr lines; {f} is the path as given)
CASES = [
    ("billion laughs", "billion_laughs.yaml", 2, ["{f}:13:1: description must be text, got a list"]),
    ("merge bomb", "merge_bomb.yaml", 2, ["{f}:3:7: " + LIMIT_VALUES]),
    ("a mapping that merges itself", "merge_cycle.yaml", 2, ["{f}:3:6: a mapping merges itself ('<<')"]),
    ("unsafe tags", "unsafe_tags.yaml", 2, [
        f"{{f}}:3:7: tag !!python/object/apply:os.system {REFUSED}",
        f"{{f}}:5:5: tag !!python/object:collections.OrderedDict {REFUSED}",
        f"{{f}}:6:26: tag !!python/name:os.getpid {REFUSED}",
        f"{{f}}:7:26: tag !custom {REFUSED}",
        f"{{f}}:8:26: tag !!binary {REFUSED}"]),
    ("YAML's own tags on values they do not fit", "core_tags.yaml", 2, [
        "{f}:4:26: 'abc' is not a valid int",
        "{f}:5:26: '' is not a valid float",
        "{f}:6:35: 'maybe' is not a valid bool",
        "{f}:7:26: '0x_' is not a valid int"]),
    ("duplicate keys", "duplicate_keys.yaml", 2, [
        "{f}:6:5: duplicate key 'units' (first at line 5)",
        "{f}:7:1: duplicate key 'input' (first at line 2)"]),
    ("bools and floats for integers", "bools_floats.yaml", 2, [
        "{f}:2:12: input must be a list of positive integers, one per axis, without the batch axis, "
        "got 32.0 (a float)",
        "{f}:4:29: filters must be a positive integer, got true (a boolean)",
        "{f}:5:45: kernel_size must be a positive integer or a list of 2, got 3.0 (a float)",
        "{f}:5:58: stride must be a positive integer or a list of 2, got true (a boolean)",
        "{f}:6:26: units must be a positive integer, got '1e3'"]),
    ("300-digit integers, counted exactly", "big_integers.yaml", 0, []),
    ("a 301-digit integer", "too_many_digits.yaml", 2, ["{f}:4:26: an integer may have at most 300 digits"]),
    ("a BOM", "bom.yaml", 0, []),
    ("non-UTF-8 bytes", "latin1.yaml", 2, ["{f}:2:11: not UTF-8: byte 0xe9"]),
    ("an empty file", "empty.yaml", 2, ["{f}:1:1: empty spec; expected a mapping with 'input' and 'layers'"]),
    ("a directory", lambda d: d, 2, ["{f}:1:1: is a directory, not a spec file"]),
    ("a missing file", lambda d: os.path.join(d, "missing.yaml"), 2, ["{f}:1:1: cannot read: No such file or directory"]),
    ("10,000-level flow nesting", lambda d: nested_flow(10_000), 2, [
        "{f}:3:1008: exceeded maximum nesting depth while increasing flow level"]),
    # Block nesting needs ever deeper indentation: 870 levels is about as deep as 384 KiB allows;
    # libyaml stops at 1,000 flow or block levels, the flow case above.
    ("870-level block nesting", lambda d: nested_block(870), 0, []),
    ("a 50 MB spec", write_50mb, 2, ["{f}:1:1: " + LIMIT_BYTES]),
    ("a byte over the size limit", lambda d: exactly(MAX_BYTES + 1), 2, ["{f}:1:1: " + LIMIT_BYTES]),
    ("the size limit of one-character values", lambda d: exactly(MAX_BYTES), 0, []),
    ("the size limit of '- ?' lines", lambda d: "input: [4]\nlayers: [{type: relu}]\nx-a:\n"
     + "- ?\n" * ((MAX_BYTES - 40) // 4), 0, []),
    ("10,000 layers", lambda d: layers(10_000), 0, []),
    ("10,001 layers", lambda d: layers(10_001), 2, ["{f}:3:3: " + LIMIT_LAYERS]),
    ("10,001 layers by alias", lambda d: "x-l: &l {type: relu}\ninput: [4]\nlayers: [" + "*l, " * 10_000 + "*l]\n",
     2, ["{f}:3:9: " + LIMIT_LAYERS]),
    ("10,000 layers of 300-digit sizes by alias",
     lambda d: f"x-c: &c {{type: conv3d, filters: {BIG}, kernel_size: 1}}\ninput: [{BIG}, {BIG}, {BIG}, {BIG}]\n"
               "layers:\n" + "  - *c\n" * 10_000, 2,
     ["{f}:4:3: the counts up to layer 'conv3d_134' hold more than 200,000 digits in all; "
      "the limit keeps output bounded"]),
    # No parameters, but a relu's elements on 8 axes of 299 digits, times thirteen nested 299-digit
    # repeats: its other_ops and activations would print with about 6,300 digits.
    ("compute past what Python prints", lambda d: huge_compute(), 2,
     ["{f}:24:19: layer 'sequence_1.0.0.0.0.0.0.0.0.0.0.0.0.0.0' would count more than 4,000 digits"]),
    # Each row under 4,000 digits, but 9,500 uses of a block of five nested 299-digit repeats
    # around a relu on 8 axes of 299 digits: 57,000 rows of huge figures (an 816 MB JSON).
    ("figures past the report's bound", lambda d: many_huge_rows(), 2,
     ["{f}:15:21: in big_797 (block 'big'): the figures up to layer 'big_797.sequence_1.0.0.0.0.0.0.0' hold "
      "more than 30,000,000 digits in all; the limit keeps output bounded"]),
    ("10,000 layers of 5-digit sizes by alias",
     lambda d: "x-c: &c {type: conv3d, filters: 99999, kernel_size: 1}\n"
               "input: [99999, 9, 9, 9]\nlayers:\n" + "  - *c\n" * 10_000, 0, []),
    ("a kernel list of 190,000 items used 3 times",
     lambda d: "x-k: &k [" + ",".join(["1"] * 190_000) + "]\ninput: [1, 8, 8]\nlayers:\n"
               + "  - {type: conv2d, filters: 1, kernel_size: *k}\n" * 3, 2,
     ["{f}:4:32: kernel_size must list 2 values, one per spatial axis, got 190000",
      "{f}:5:32: kernel_size must list 2 values, one per spatial axis, got 190000",
      "{f}:6:32: " + LIMIT_VALUES]),
    ("90 KB of text used 10,000 times",
     lambda d: "x-t: &t " + "a" * 90_000 + "\ninput: [4]\nlayers:\n" + "  - {type: relu, name: *t}\n" * 10_000,
     2, ["{f}:352:18: " + LIMIT_VALUES]),
    ("48 misspelt keys in a layer used 10,000 times",
     lambda d: "x-l: &l {type: dense, units: 2, " + ", ".join(f"unit{i}: 1" for i in range(48))
               + "}\ninput: [4]\nlayers: [" + "*l, " * 9_999 + "*l]\n", 2,
     [f"{{f}}:1:{33 + 10 * i + (i > 9) * (i - 10)}: 'unit{i}' is not a field of dense; did you mean 'units'?"
      for i in range(48)] + ["{f}:3:9: " + LIMIT_VALUES]),
    ("300 misspelt keys, no aliases",
     lambda d: "input: [4]\nlayers:\n" + "  - {type: dense, units: 2, unitz: 1}\n" * 300, 2, None),
]


def link_to(target):
    """A builder: a symlink in the case's directory to `target` (a repository can carry one)."""
    def build(d):
        path = os.path.join(d, "spec.yaml")
        os.symlink(target(d) if callable(target) else target, path)
        return path
    return build


def _fifo(d):
    os.mkfifo(os.path.join(d, "fifo"))
    return os.path.join(d, "fifo")


def _secret(d):
    Path(d, "hosts.yml").write_text(f"{SECRET}\n")
    return os.path.join(d, "hosts.yml")


def _non_utf8_name(d):
    path = os.path.join(os.fsencode(d), b"net\xff\x1b]0;pwned\x07.yaml")
    with open(path, "w") as f:
        f.write("- {type: dense, units: 2}\n")
    return os.fsdecode(path)


SECRET = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
LONG_NAME = "n" * 380_000
DEVICE = "is a character device, not a spec file"
TROJAN = "name must not hold invisible or text-direction characters"
CASES += [
    # Issue 6: devices, links, disclosure, Trojan Source, long text, tags, budget: null.
    *[(f"a link to {dev}", link_to(dev), 2, ["{f}:1:1: " + DEVICE])
      for dev in ("/dev/ptmx", "/dev/kmsg", "/dev/zero", "/dev/null", "/dev/tty") if os.path.exists(dev)],
    ("a link to a pipe", link_to(_fifo), 2, ["{f}:1:1: is a pipe, not a spec file (use '-' for standard input)"]),
    ("a link to a file holding a token", link_to(_secret), 2, ["{f}:1:1: a spec must be a mapping, got text"]),
    ("a link to /etc/passwd", link_to("/etc/passwd"), 2, ["{f}:1:1: a spec must be a mapping, got text"]),
    ("a mapping without layers", "not_a_spec.yaml", 2, [
        "{f}:3:1: the spec is missing 'layers'",
        "{f}:8:1: 'layres' is not a field of a spec; did you mean 'layers'?"]),
    ("a file name that is not UTF-8, with escapes", _non_utf8_name, 2, [
        "{f}:1:1: a spec must be a mapping, got a list"]),
    ("bidirectional and zero-width characters", "trojan_source.yaml", 2, [
        "{f}:3:14: description must not hold invisible or text-direction characters (U+2066), "
        "got 'counts \\u2066the \\u2069layers'",
        f"{{f}}:6:35: {TROJAN} (U+202E), got 'admin\\u202e \\u2066// check\\u2069 \\u2066'",
        f"{{f}}:7:35: {TROJAN} (U+200B), got 'conv\\u200b1'",
        f"{{f}}:8:35: {TROJAN} (U+FEFF), got '\\ufeffhead'",
        f"{{f}}:9:35: {TROJAN} (U+200D), got 'a\\u200db'",
        f"{{f}}:10:35: {TROJAN} (U+061C), got 'a\\u061cb'",
        f"{{f}}:11:35: {TROJAN} (U+200F), got 'a\\u200fb'"]),
    ("other scripts' digits under an explicit tag", "foreign_digits.yaml", 2, [
        "{f}:5:26: '\u0663' is not a valid int",
        "{f}:6:26: '\uff13' is not a valid int",
        "{f}:7:26: ' 3' is not a valid int",
        "{f}:8:26: '\u0663.5' is not a valid float",
        "{f}:9:26: units must be a positive integer, got '\u0663'"]),
    ("budget: null", "budget_null.yaml", 0, []),
    ("a 380,000-character name used twice",
     lambda d: f"input: [4]\nlayers:\n  - {{type: dense, units: 2, name: &n {LONG_NAME}}}\n"
               "  - {type: dense, units: 2, name: *n}\n", 2,
     [f"{{f}}:4:29: layer name '{'n' * 60}…' is already used (line 3)"]),
    ("a 380,000-character name in a shape error",
     lambda d: f"input: [4]\nlayers:\n  - {{type: conv2d, filters: 2, kernel_size: 3, name: {LONG_NAME}}}\n", 2,
     [f"{{f}}:3:5: conv2d layer '{'n' * 60}…' on input [4]: needs an input [C, H, W]"]),
    # Wide and tall rows (issue 6, item 1): what a table may cost is bounded, in every format.
    ("10,000 layers on 8 axes of 300 digits",
     lambda d: f"x-r: &r {{type: relu}}\ninput: [{', '.join([BIG] * 8)}]\nlayers: [" + "*r, " * 9_999 + "*r]\n", 0, []),
    ("a name of 60,000 words after 300-digit counts",
     lambda d: f"input: [{BIG}]\nlayers:\n  - {{type: dense, units: {BIG}}}\n"
               f"  - {{type: dense, units: {BIG}, name: \"{' '.join(['word'] * 60_000)}\"}}\n", 0, []),
    ("500 names of 300 words on 300-digit shapes",
     lambda d: f"input: [{BIG}]\nlayers:\n" + "".join(
         f"  - {{type: relu, name: \"{i} {' '.join(['w'] * 300)}\"}}\n" for i in range(500)), 0, []),
]



def block_chain(n, fan=1, leaf="{type: dense, units: 8}"):
    """Blocks b0 … b(n-1), each using the next `fan` times; the last holds one layer."""
    text = "input: [8]\nblocks:\n"
    for i in range(n):
        uses = f"      - {{type: b{i + 1}}}\n" * fan if i + 1 < n else f"      - {leaf}\n"
        text += f"  b{i}:\n    layers:\n{uses}"
    return text + "layers:\n  - {type: b0}\n"


def repeat_tower(n):
    """n blocks, each repeating the one below a billion times: counts of 9 × n digits, analysed n times."""
    text = "input: [8]\nblocks:\n  c0:\n    layers: [{type: dense, units: 8, repeat: 1000000000}]\n"
    text += "".join(f"  c{i}:\n    layers: [{{type: c{i - 1}, repeat: 1000000000}}]\n" for i in range(1, n))
    return text + f"layers:\n  - {{type: c{n - 1}, repeat: 1000000000}}\n"


NEST = "blocks and composites nest more than 64 deep here"
EXPANDS = ("{{f}}:{at}: the spec expands to more than 10,000 layer analyses (every use of a block counts; a repeat "
           "counts once only while its copies keep the shape)")
CASES += [
    # Composition (issue 7): each way to make the input expand stops at a limit in limits.py.
    ("a block that uses itself through two others",
     lambda d: "input: [4]\nblocks:\n  a: {layers: [{type: b}]}\n  b: {layers: [{type: c}]}\n"
               "  c: {layers: [{type: a}]}\nlayers: [{type: a}]\n", 2,
     ["{f}:5:23: block 'a' uses itself (a → b → c → a)"]),
    ("a repeat of a billion that keeps the shape", lambda d: "input: [8]\nlayers:\n"
     "  - {type: dense, units: 8, repeat: 1000000000}\n", 0, []),
    ("a billion repeats nested 30 deep", lambda d: repeat_tower(30), 0, []),
    ("a repeat of a billion that changes the shape each time", lambda d: "input: [1, 100000000]\nlayers:\n"
     "  - {type: maxpool1d, kernel_size: 2, stride: 1, repeat: 1000000000}\n", 2,
     [EXPANDS.format(at="3:5")]),
    ("a billion convolutions that shrink the input", lambda d: "input: [4, 100000000]\nlayers:\n"
     "  - {type: conv1d, filters: 4, kernel_size: 3, repeat: 1000000000}\n", 2, [EXPANDS.format(at="3:5")]),
    ("a chain of 300 blocks", lambda d: block_chain(300), 2,
     [f"{{f}}:194:9: in b0_1.b1_1.b2_1.b3_1.b4_1.b5_1.b6_1.b7_1.b8_1.b9_1.b10_1.b11…56_1.b57_1.b58_1.b59_1."
      f"b60_1.b61_1.b62_1.b63_1 (block 'b63'): {NEST}"]),
    ("blocks fanning out twice, 40 deep (2**40 layers)", lambda d: block_chain(40, fan=2), 2,
     ["{f}:161:9: in b0_1.b1_1.b2_1.b3_1.b4_1.b5_1.b6_1.b7_1.b8_1.b9_1.b10_1.b11…32_2.b33_2.b34_1.b35_1.b36_1."
      "b37_2.b38_1.b39_1 (block 'b39'): " + EXPANDS.format(at="")[len("{f}:: "):]]),
    ("16 blocks each adding two uses of the one before", lambda d: "input: [1, 1, 1, 1, 1, 1, 1, 1]\nblocks:\n"
     "  p0: {layers: [{type: dense, units: 1}]}\n" + "".join(
         f"  p{i}:\n    layers:\n      - {{type: parallel, merge: add, branches: [[{{type: p{i - 1}}}], "
         f"[{{type: p{i - 1}}}]]}}\n" for i in range(1, 17)) + "layers: [{type: p16}]\n", 2,
     ["{f}:3:17: in p16_1.parallel_1.0.0.parallel_1.0.0.parallel_1.0.0.parallel….0.parallel_1.1.0.parallel_1.0.0."
      "parallel_1.0.0 (block 'p0'): " + EXPANDS.format(at="")[len("{f}:: "):]]),
    ("a parallel of 95,000 aliased branches", lambda d: "x-b: &b [{type: relu}]\ninput: [4]\nlayers:\n"
     "  - type: parallel\n    branches: [" + "*b, " * 94_999 + "*b]\n", 2, [EXPANDS.format(at="1:10")]),
    ("sequences nested 80 deep", lambda d: "input: [4]\nlayers:\n" + "".join(
        "  " * i + "  - type: sequence\n" + "  " * i + "    layers:\n" for i in range(80))
     + "  " * 80 + "  - {type: relu}\n", 2, ["{f}:131:131: layers nest more than 64 deep"]),
    ("5,000 ties in a chain", lambda d: "input: [8]\nlayers:\n  - {type: dense, units: 8, name: a0}\n" + "".join(
        f"  - {{type: dense, units: 8, tie: a{i}, name: a{i + 1}}}\n" for i in range(5_000)), 0, []),
    ("arithmetic past 300 digits", lambda d: f"input: [4]\nblocks:\n  b:\n    args: {{n: {BIG}}}\n"
     "    layers: [{type: dense, units: '${n * n}'}]\nlayers: [{type: b}]\n", 2,
     ["{f}:5:35: in b_1 (block 'b'): units '${{n * n}}': the result has more than 300 digits"]),
    ("an alias bomb inside a block", lambda d: "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
     + "".join(f"x-{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
               for p, c in zip("abcdefgh", "bcdefghi"))
     + "input: [4]\nblocks:\n  b:\n    args: {k: *i}\n    layers: [{type: dense, units: 2}]\n"
     "layers: [{type: b}]\n", 0, []),  # an argument is read when it is used
    ("an alias bomb used as a block's argument", lambda d: "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
     + "".join(f"x-{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
               for p, c in zip("abcdefgh", "bcdefghi"))
     + "input: [4]\nblocks:\n  b:\n    args: {k: *i}\n    layers: [{type: dense, units: $k}]\n"
     "layers: [{type: b}]\n", 2, ["{f}:14:35: in b_1 (block 'b'): units must be a positive integer, got a list"]),
]

if os.geteuid() != 0:  # root reads any file
    def _unreadable(d):
        path = os.path.join(d, "secret.yaml")
        Path(path).write_text("input: [4]\n")
        os.chmod(path, 0)
        return path
    CASES.append(("an unreadable file", _unreadable, 2, ["{f}:1:1: cannot read: Permission denied"]))


def materialise(source, directory):
    """The path to give paramcount: a corpus file, a generated one, or what a builder returns."""
    if isinstance(source, str):
        return str(CORPUS / source)
    path = os.path.join(directory, "generated.yaml")
    if source is write_50mb:
        source(path)
        return path
    made = source(directory)
    if made == directory or made.startswith(directory + os.sep):
        return made
    Path(path).write_text(made)
    return path


def run_case(source, directory, fmt="json"):
    path = materialise(source, directory)
    peak_file = os.path.join(directory, "peak")
    # As a stranger's CI job runs it: normal buffering (PYTHONUNBUFFERED hides a failed final flush).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(PEAK_FILE=peak_file, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, "--format", fmt, path], capture_output=True,
                          text=True, env=env, timeout=HANG_SECONDS, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return path, done, seconds, int(Path(peak_file).read_text())


# A refused spec prints nothing on stdout whatever the format: one format is enough. A counted one
# is rendered in every format, each within the same bounds.
RUNS = [(*case, fmt) for case in CASES
        for fmt in (("json", "table", "markdown", "html") if case[2] != 2 else ("json",))]


@pytest.mark.parametrize("name,source,status,stderr,fmt", RUNS, ids=[f"{r[0]} ({r[4]})" for r in RUNS])
def test_hostile_input(tmp_path, name, source, status, stderr, fmt):
    path, done, _, peak_kib = run_case(source, str(tmp_path), fmt)
    assert "Traceback" not in done.stderr
    assert done.returncode == status, done.stderr[:2000]
    if stderr is None:  # too many problems to list here: they stop at the limit
        lines = done.stderr.splitlines()
        assert len(lines) == 101 and lines[-1].endswith("more problems follow; stopping after 100")
    else:
        assert done.stderr.splitlines() == [line.format(f=one_line(path)) for line in stderr]
    assert (done.stdout == "") == (status == 2)
    assert peak_kib <= MEMORY_BOUND_KIB, f"{peak_kib} KiB"
    if fmt != "json":  # nothing in a table or in markdown can drive a terminal
        assert CONTROL.search(done.stdout.replace("\n", "")) is None


def test_the_fuzz_target_replays_the_corpus():
    """tests/fuzz_loader.py's checks (every format rendered, no control character in any) on the
    corpus and the presets, without atheris."""
    sys.path.insert(0, str(CORPUS.parent))
    try:
        import fuzz_loader
    finally:
        sys.path.remove(str(CORPUS.parent))
    assert fuzz_loader.replay([str(CORPUS), str(ROOT / "architectures")]) == []


def test_big_integers_are_counted_exactly(tmp_path):
    import json
    import re

    _, done, _, _ = run_case("big_integers.yaml", str(tmp_path))
    features, units = map(int, re.findall(r"[0-9]{300}", (CORPUS / "big_integers.yaml").read_text()))
    layer = json.loads(done.stdout)["layers"][0]
    assert (layer["weights"], layer["biases"], layer["params"]) == (features * units, units, features * units + units)


def test_nothing_was_executed(tmp_path):
    """The unsafe tags would print 'pwned' (os.system) if anything constructed them."""
    _, done, _, _ = run_case("unsafe_tags.yaml", str(tmp_path))
    assert "pwned" not in done.stdout + done.stderr


if __name__ == "__main__":
    print("| case | exit | seconds | peak memory |\n| --- | ---: | ---: | ---: |")
    for name, source, _, _, fmt in RUNS:
        with tempfile.TemporaryDirectory() as d:
            _, done, seconds, peak_kib = run_case(source, d, fmt)
        print(f"| {name}{'' if fmt == 'json' else f' ({fmt})'} | {done.returncode} | {seconds:.2f} | {peak_kib / 1024:.0f} MiB |")
