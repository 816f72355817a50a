"""Regressions from review and fuzzing: each test names the defect it pins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli as run
from paramcount import SpecError, load_text, parse_size

ROOT = Path(__file__).resolve().parent.parent


def errors_of(data, name="spec.yaml"):
    """The stderr lines of paramcount on a file holding `data` (bytes or text)."""
    result = run("-", input=data.encode() if isinstance(data, str) else data)
    assert result.exit_code == 2 and result.stdout == ""
    return [line.replace("<stdin>", name) for line in result.stderr.splitlines()]


def test_a_closed_pipe_is_not_a_budget_failure():
    """`paramcount alexnet | head -1` exited 1, the over-budget status, under rich and click."""
    for args in (["alexnet"], ["--format", "markdown", "alexnet", "alexnet", "lenet5"], ["--list-presets"]):
        reader = subprocess.Popen([sys.executable, "-m", "paramcount", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        reader.stdout.readline()
        reader.stdout.close()  # the reader has what it wanted
        assert reader.wait(timeout=30) == 0, args
        assert reader.stderr.read() == b""


def test_growing_axes_are_refused_before_they_cannot_be_printed():
    """embedding + flatten, again and again, grew an axis past Python's 4,300-digit print limit (an
    embedding now takes only token ids, so the growth is a flatten of many wide axes, or of a wide
    embedding's output)."""
    n = "9" * 99
    text = f"input: [{', '.join([n] * 6)}]\nlayers:\n  - {{type: relu}}\n  - {{type: flatten}}\n"
    assert errors_of(text) == ["spec.yaml:4:5: flatten layer 'flatten_1' would output an axis of more than 500 digits"]
    text = (f"input: [{', '.join([n] * 5)}]\nlayers:\n  - {{type: embedding, num_embeddings: 2, embedding_dim: {n}}}\n"
            "  - {type: flatten}\n")
    assert errors_of(text) == ["spec.yaml:4:5: flatten layer 'flatten_1' would output an axis of more than 500 digits"]


@pytest.mark.parametrize("name", ["超長い名前の層超長い名前の層", "😀" * 10, "ThisIsAnExtremelyLongNameWithoutAnySpacesAtAll_" * 3])
def test_wide_and_long_names_are_never_cut(name):
    text = f"name: {name}\ninput: [3]\nlayers:\n  - {{type: dense, units: 2, name: {name}}}\n"
    for columns in ("40", "80", "200"):
        result = run("-", input=text, COLUMNS=columns)
        assert result.exit_code == 0
        assert sum(line.count(name) for line in result.stdout.splitlines()) == 2, result.stdout


@pytest.mark.parametrize("field,value", [("name", '"a\\nb"'), ("name", '"a\\x1b[31mred"'), ("name", '"x\\ry"')])
def test_control_characters_in_names_are_refused(field, value):
    text = f"input: [3]\nlayers:\n  - {{type: dense, units: 2, {field}: {value}}}\n"
    [line] = errors_of(text)
    assert line.startswith("spec.yaml:3:") and "must not hold control characters" in line


def test_a_key_with_a_line_break_stays_on_one_line():
    assert errors_of('input: [3]\nlayers:\n  - {type: dense, units: 2, "un\\nits": 3}\n') == [
        "spec.yaml:3:29: 'un\\nits' is not a field of dense; did you mean 'units'?"]


def test_duplicate_names_come_with_the_other_errors():
    assert errors_of("input: [3, 8, 8]\nlayers:\n  - {type: dense, units: 4, name: a}\n"
                     "  - {type: dense, units: 4, name: a}\n  - {type: dense, unitz: 4}\n") == [
        "spec.yaml:4:35: layer name 'a' is already used (line 3)",
        "spec.yaml:5:5: dense layer 3 is missing 'units'",
        "spec.yaml:5:19: 'unitz' is not a field of dense; did you mean 'units'?"]


def test_a_misspelt_type_key_gets_a_suggestion():
    assert errors_of("input: [3]\nlayers:\n  - {typ: dense}\n") == [
        "spec.yaml:3:5: layer 1 is missing 'type'",
        "spec.yaml:3:6: 'typ' is not a field of any layer type; did you mean 'type'?"]


@pytest.mark.parametrize("data,line", [
    (b'\xef\xbb\xbfinput: [3]\nlayers:\n  - {type: dense, units: 3, name: "\xff"}\n', "spec.yaml:3:36: not UTF-8: byte 0xff"),
    ("description: ééééé\ninput: [3]\nlayers:\n  - {type: dense, units: 4}\n\x07\n".encode(),
     "spec.yaml:5:1: character U+0007 is not allowed in YAML"),
    (b'input: [3]\rname: "\xff"\r', "spec.yaml:2:8: not UTF-8: byte 0xff"),
])
def test_positions_after_a_bom_non_ascii_text_or_cr_line_ends(data, line):
    assert errors_of(data) == [line]


def test_cr_line_ends_count_as_lines():
    assert errors_of(b"input: [3]\rlayers:\r  - {type: dense, unitz: 4}\r") == [
        "spec.yaml:3:5: dense layer 1 is missing 'units'",
        "spec.yaml:3:19: 'unitz' is not a field of dense; did you mean 'units'?"]


@pytest.mark.parametrize("text", ["٥", "１", " 5k", "5k ", "5\n"])
def test_sizes_are_ascii_digits_only(text):
    with pytest.raises(ValueError):
        parse_size(text)
    result = run("--max-params", text, "lenet5")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_usage_errors_for_odd_combinations():
    assert run("--list-presets", "lenet5").stderr == "paramcount: error: --list-presets takes no SPEC\n"
    assert run("-", "-", input="").stderr == "paramcount: error: standard input ('-') can be read only once\n"


def test_two_documents_read_as_one_sentence():
    assert errors_of("---\n---\n") == [
        "spec.yaml:2:1: expected a single document in the stream, but found another document"]


def test_null_means_the_default_where_the_default_is_none():
    spec = load_text("input: [1, 8]\nlayers:\n  - {type: maxpool1d, kernel_size: 2, stride: null}\n"
                     "  - {type: flatten}\n  - {type: dense, units: 2, activation: ~}\n")
    assert spec.layers[0].cfg["stride"] == (2,) and spec.layers[2].cfg["activation"] is None


def test_a_budget_needs_its_limit():
    assert errors_of("input: [3]\nbudget: {}\nlayers:\n  - {type: dense, units: 2}\n") == [
        "spec.yaml:2:9: budget is missing 'max_params'"]


def test_the_model_name_defaults_to_the_file_stem_in_the_library_too():
    assert load_text("input: [3]\nlayers: [{type: relu}]\n", path="nets/tiny.v2.yaml").name == "tiny.v2"


def test_presets_are_names_not_paths():
    from paramcount import load_preset

    with pytest.raises(SpecError, match="no such preset"):
        load_preset("../architectures/lenet5")


def test_an_alias_error_points_at_its_use():
    assert errors_of("x-k: &k [3, 3, 3]\ninput: [1, 8, 8]\nlayers:\n  - {type: conv2d, filters: 2, kernel_size: *k}\n") == [
        "spec.yaml:4:32: kernel_size must list 2 values, one per spatial axis, got 3"]


def test_a_layer_written_at_the_top_level_gets_a_hint():
    assert errors_of("type: conv2d\n") == [
        "spec.yaml:1:1: 'type' is not a field of a spec; a layer's fields go in an item of 'layers'",
        "spec.yaml:1:1: the spec is missing 'input'",
        "spec.yaml:1:1: the spec is missing 'layers'"]


# -- from the review of issue 3 --------------------------------------------------------------


@pytest.mark.parametrize("value,message", [
    ("²", "units must be a positive integer, got '²'"),  # isdigit() is true, int() refuses it
    ("١٢", "units must be a positive integer, got '١٢'"),  # YAML reads other scripts' digits as text
    ("0x_", "'0x_' is not a valid int"),
    ("!!int abc", "'abc' is not a valid int"),
    ("!!int 1.5", "'1.5' is not a valid int"),
    ('!!int ""', "'' is not a valid int"),
    ('!!int "٣"', "'٣' is not a valid int"),  # an explicit tag keeps the rule: other scripts' digits are text
    ('!!int "３"', "'３' is not a valid int"),
    ('!!int " 3"', "' 3' is not a valid int"),
    ('!!float "٣.٥"', "'٣.٥' is not a valid float"),
    ("!!int -", "'-' is not a valid int"),
    ("!!float abc", "'abc' is not a valid float"),
    ("!!bool abc", "'abc' is not a valid bool"),
])
def test_scalars_that_crashed_the_reader(value, message):
    assert errors_of(f"input: [4]\nlayers: [{{type: dense, units: {value}}}]\n") == [f"spec.yaml:2:31: {message}"]


def test_a_leading_zero_is_octal_as_yaml_says():
    from paramcount import analyze

    spec = "input: [4]\nlayers: [{type: dense, units: %s}]\n"
    assert [analyze(load_text(spec % u)).totals.biases for u in ("010", "+010", "0_10", "10")] == [8, 8, 8, 10]


def test_a_size_too_long_to_print_is_refused():
    nines = "9" * 4290
    assert errors_of(f'input: [4]\nbudget: {{max_params: "{nines}T"}}\nlayers: [{{type: relu}}]\n') == [
        f"spec.yaml:2:22: max_params '{'9' * 60}…' has more than 300 digits"]
    result = run("--max-params", nines + "T", "lenet5")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_unicode_line_separators_are_refused_in_names():
    [line] = errors_of('input: [4]\nlayers: [{type: dense, units: 2, name: "a\\Lb"}]\n')
    assert line == "spec.yaml:2:40: name must not hold control characters or line breaks, got 'a\\u2028b'"


def test_a_path_with_a_line_break_stays_on_one_line():
    result = run("evil\nname.yaml")
    assert result.stderr == "evil\\nname.yaml:1:1: cannot read: No such file or directory\n"


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run(str(fifo))
    assert result.stderr == f"{fifo}:1:1: is a pipe, not a spec file (use '-' for standard input)\n"


def test_a_symlink_loop_says_so(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert run(str(tmp_path / "a")).stderr == f"{tmp_path / 'a'}:1:1: cannot read: Too many levels of symbolic links\n"


@pytest.mark.parametrize("text,position", [
    ('x-a: !!python/object/apply:os.system ["echo pwned"]\ninput: [4]\nlayers: [{type: relu}]\n', "1:6"),
    ("input: [4]\nlayers: [{<<: !!python/object/apply:os.system [{name: q}], type: relu}]\n", "2:15"),
])
def test_unsafe_tags_are_refused_where_the_spec_never_reads(text, position):
    assert errors_of(text) == [
        f"spec.yaml:{position}: tag !!python/object/apply:os.system is not allowed: a spec holds only plain YAML values"]


def test_closed_standard_streams_and_a_full_disk():
    closed_stdin = subprocess.run([sys.executable, "-c", "import os, runpy, sys; os.close(0); sys.stdin = None; "
                                   "sys.argv = ['paramcount', '-']; runpy.run_module('paramcount', run_name='__main__')"],
                                  capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert (closed_stdin.returncode, closed_stdin.stderr) == (2, "<stdin>:1:1: standard input is closed\n")
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            result = subprocess.run([sys.executable, "-m", "paramcount", "lenet5"], stdout=full, stderr=subprocess.PIPE,
                                    text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert (result.returncode, result.stderr) == (2, "paramcount: error: cannot write the output: No space left on device\n")


def test_a_long_table_is_one_table():
    """Printed in pieces of 500 rows (rich holds a whole table in memory), it must read as one."""
    text = "input: [8]\nlayers:\n" + "".join(f"  - {{type: dense, units: 8, name: l{i}}}\n" for i in range(1200))
    lines = run("-", input=text).stdout.splitlines()
    rows = [line for line in lines if line.startswith("│ l")]
    assert [row.split()[1] for row in rows] == [f"l{i}" for i in range(1200)]
    edges = [line for line in lines if line[:1] in "┏┡├└┌"]
    assert [edge[0] for edge in edges] == ["┏", "┡", "├", "└"]  # top, under the header, above the total, bottom


def test_a_padding_mode_in_the_wrong_case_gets_a_suggestion():
    assert errors_of("input: [1, 8, 8]\nlayers: [{type: conv2d, filters: 2, kernel_size: 3, padding: Same}]\n") == [
        "spec.yaml:2:62: padding must be a non-negative integer or a list of 2, 'valid' or 'same', got 'Same'; "
        "did you mean 'same'?"]


# -- from issue 6: hostile input, second round (run as real processes, PYTHONUNBUFFERED unset) -------


def paramcount(*args, stdin=subprocess.DEVNULL, input=None, env=None, timeout=30):
    """paramcount as a stranger's CI job runs it: its own process, normal buffering."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    environ.update(PYTHONPATH=str(ROOT), **(env or {}))
    done = subprocess.run([sys.executable, "-m", "paramcount", *args], stdin=None if input is not None else stdin,
                          input=input, capture_output=True, env=environ, cwd=ROOT, timeout=timeout)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c",
                                  "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\u115f", "\u034f"])
def test_bidi_and_zero_width_characters_in_names_are_refused(tmp_path, char):
    """Trojan Source: U+202E and its kind make a table or an error line read as what it is not."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"input: [4]\nlayers: [{{type: dense, units: 2, name: \"ad{char}min\"}}]\n", encoding="utf-8")
    code = f"U+{ord(char):04X}"
    assert paramcount(str(spec)) == (2, "", f"{spec}:2:40: name must not hold invisible or text-direction characters "
                                            f"({code}), got 'ad\\u{ord(char):04x}min'\n")
    spec.write_text(f"description: \"x{char}y\"\ninput: [4]\nlayers: [{{type: relu}}]\n", encoding="utf-8")
    assert paramcount(str(spec))[2] == (f"{spec}:1:14: description must not hold invisible or text-direction "
                                        f"characters ({code}), got 'x\\u{ord(char):04x}y'\n")


def test_one_sanitising_path_for_every_text():
    """errors.clean: one line, controls, bidi, zero-width and lone surrogates escaped, cut with '…'."""
    import io

    from paramcount.errors import clean, one_line

    hostile = "a\x1b]0;pwn\x07\x1b[2J\n\r\x85\u2028\u202e\u2066\u200b\ufeff\udcff\ud800z"
    assert clean(hostile) == one_line(hostile) == (
        "a\\x1b]0;pwn\\x07\\x1b[2J\\n\\r\\x85\\u2028\\u202e\\u2066\\u200b\\ufeff\\udcff\\ud800z")
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    print(clean(hostile), file=strict)  # a non-UTF-8 file name, as os.fsdecode gives it, prints anywhere
    strict.flush()
    assert clean("x" * 380_000, 60) == "x" * 59 + "…"
    assert clean("short", 60) == "short" and clean("", 5) == ""
    assert clean("abcdefgh\x1b", 10) == "abcdefgh…"  # an escape is never cut in half
    assert clean("abcdefghij", 10) == "abcdefghij" and clean(12345) == "12345"
    assert all(len(clean(hostile * n, limit)) <= limit for n in (1, 3) for limit in (1, 2, 9, 10, 11, 60))


def test_a_non_utf8_file_name_prints_on_a_strict_utf8_stream(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"bad\xff\x1b[2J.yaml")
    with open(path, "w") as f:
        f.write("- 1\n")
    for env in ({"PYTHONIOENCODING": "utf-8"}, {"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C"}):
        assert paramcount(os.fsdecode(path), env=env) == (
            2, "", f"{tmp_path}/bad\\udcff\\x1b[2J.yaml:1:1: a spec must be a mapping, got a list\n")


DEVICES = [d for d in ("/dev/ptmx", "/dev/kmsg", "/dev/zero", "/dev/null", "/dev/tty", "/dev/urandom")
           if os.path.exists(d)]


@pytest.mark.parametrize("device", DEVICES)
def test_devices_and_links_to_them_are_refused(tmp_path, device):
    """A repository can carry `spec.yaml -> /dev/ptmx`: opening or reading it would block forever."""
    link = tmp_path / "spec.yaml"
    link.symlink_to(device)
    (tmp_path / "chain.yaml").symlink_to(link)  # and a link to the link
    for path in (link, tmp_path / "chain.yaml", device):
        assert paramcount(str(path), timeout=15) == (2, "", f"{path}:1:1: is a character device, not a spec file\n")


def test_pipes_and_sockets_behind_links_are_refused(tmp_path):
    import socket

    os.mkfifo(tmp_path / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    try:
        for target, kind in (("fifo", "a pipe"), ("sock", "a socket")):
            (tmp_path / f"{target}.yaml").symlink_to(tmp_path / target)
            for path in (tmp_path / target, tmp_path / f"{target}.yaml"):
                assert paramcount(str(path), timeout=15) == (
                    2, "", f"{path}:1:1: is {kind}, not a spec file (use '-' for standard input)\n")
    finally:
        sock.close()


def test_standard_input_is_read_to_the_end_when_non_blocking():
    """An empty O_NONBLOCK pipe gave a TypeError; a spec written in two parts was read only in part."""
    import json
    import time

    first = b"input: [1]\nlayers:\n  - {type: dense, units: 5}\n"  # alone: 10 params
    second = b"  - {type: dense, units: 1}\n  - {type: dense, units: 998}\n"  # in all: 10 + 2 + 1,996 + 4
    r, w = os.pipe()
    os.set_blocking(r, False)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([sys.executable, "-m", "paramcount", "--json", "-"], stdin=r, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, env=dict(environ, PYTHONPATH=str(ROOT)))
    os.close(r)
    try:
        time.sleep(1)  # nothing written yet: the first read finds the pipe empty
        os.write(w, first)
        time.sleep(1.5)
        os.write(w, second)
    finally:
        os.close(w)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (0, b"")
    assert json.loads(out)["totals"]["params"] == 2_012
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert cpu < 2, cpu  # it waited: a spin would burn the 2.5 s it waits


def test_an_unreadable_standard_input_says_so(tmp_path):
    """`paramcount - 0>file`: a write-only descriptor said 'cannot write the output'."""
    with open(tmp_path / "file", "w") as write_only:
        assert paramcount("-", stdin=write_only) == (2, "", "<stdin>:1:1: cannot read: Bad file descriptor\n")
    with open(tmp_path / "file", "w") as write_only:  # and the other specs are still counted
        code, out, err = paramcount("--json", "-", "lenet5", stdin=write_only)
        assert (code, err) == (2, "<stdin>:1:1: cannot read: Bad file descriptor\n") and '"source": "preset:lenet5"' in out


def test_budget_null_means_no_budget():
    """The README: null means the default where the default is none; a budget's default is none."""
    code, out, err = paramcount("--json", "-", input=b"input: [3]\nbudget: null\nlayers: [{type: dense, units: 2}]\n")
    assert (code, err) == (0, "") and '"max_params": null' in out
    code, _, err = paramcount("-", input=b"input: [3]\nbudget: ~\nlayers: [{type: dense, units: 2}]\n")
    assert (code, err) == (0, "")
    assert errors_of("input: [3]\nbudget: 5k\nlayers: [{type: dense, units: 2}]\n") == [
        "spec.yaml:2:9: budget must be a mapping, got '5k'"]


LONG = "n" * 380_000


def long_lines(stderr):
    return [line for line in stderr.splitlines() if LONG in line or len(line) > 400]


def test_a_long_name_is_cut_in_a_duplicate_name_error():
    text = f"input: [4]\nlayers:\n  - {{type: dense, units: 2, name: &n {LONG}}}\n  - {{type: dense, units: 2, name: *n}}\n"
    code, out, err = paramcount("-", input=text.encode())
    assert (code, out) == (2, "") and err == f"<stdin>:4:29: layer name '{'n' * 60}…' is already used (line 3)\n"


def test_a_long_name_is_cut_in_a_shape_error():
    text = f"input: [4]\nlayers:\n  - {{type: conv2d, filters: 2, kernel_size: 3, name: {LONG}}}\n"
    code, out, err = paramcount("-", input=text.encode())
    assert (code, out) == (2, "") and len(err.splitlines()) == 1 and not long_lines(err), len(err)


def test_a_long_name_is_cut_in_the_budget_message():
    text = f"name: &n {LONG}\ninput: [4]\nbudget: {{max_params: 1}}\nlayers:\n  - {{type: dense, units: 2, name: *n}}\n"
    code, _, err = paramcount("--json", "-", input=text.encode())
    assert code == 1 and len(err.splitlines()) == 1 and not long_lines(err), err[:500]


SECRET = "ghp_0123456789abcdefghijABCDEFGHIJ012345"


@pytest.mark.parametrize("content, message", [
    (f"{SECRET}\n", "a spec must be a mapping, got text"),
    (f"GITHUB_TOKEN={SECRET}\n", "a spec must be a mapping, got text"),
    (f"- {SECRET}\n", "a spec must be a mapping, got a list"),
    ("1234567890\n", "a spec must be a mapping, got an integer"),
    (f"token: {SECRET}\n", "the spec is missing 'input'\n{f}:1:1: the spec is missing 'layers'"),
    (f"input: {SECRET}\nname: \"\\x1b{SECRET}\"\n{SECRET}: 1\n{SECRET}: 2\n",
     "the spec is missing 'layers'"),
])
def test_a_link_to_a_file_that_is_not_a_spec_discloses_nothing(tmp_path, content, message):
    """A pull request can add `spec.yaml -> ~/.config/gh/hosts.yml`: its content must not reach a CI log."""
    (tmp_path / "secret").write_text(content)
    link = tmp_path / "spec.yaml"
    link.symlink_to(tmp_path / "secret")
    assert paramcount(str(link)) == (2, "", f"{link}:1:1: {message.format(f=link)}\n")


def test_a_link_to_etc_passwd_discloses_nothing(tmp_path):
    link = tmp_path / "spec.yaml"
    link.symlink_to("/etc/passwd")
    code, out, err = paramcount(str(link))
    assert (code, out, err) == (2, "", f"{link}:1:1: a spec must be a mapping, got text\n")


def test_quoted_values_in_a_spec_stay_short():
    assert errors_of(f"input: [4]\nlayers: {SECRET * 3}\n") == [
        f"spec.yaml:2:9: layers must be a list, got '{(SECRET * 3)[:60]}…'"]


@pytest.mark.parametrize("target", ["/proc/kmsg", "/proc/self/environ", "/proc/self/mem"])
def test_links_into_proc_are_not_read(tmp_path, target):
    """/proc's files are 'regular' but say size 0: /proc/kmsg waits for the kernel's log (and reading
    it takes the messages from others), /proc/self/environ holds a CI job's secrets."""
    if not os.path.exists(target):
        pytest.skip(f"no {target}")
    link = tmp_path / "spec.yaml"
    link.symlink_to(target)
    code, out, err = paramcount(str(link), env={"CI_TOKEN": SECRET}, timeout=15)
    assert (code, out) == (2, "") and err in (  # unprivileged, /proc/kmsg cannot be opened
        f"{link}:1:1: empty spec; expected a mapping with 'input' and 'layers'\n",
        f"{link}:1:1: cannot read: Permission denied\n", f"{link}:1:1: cannot read: Operation not permitted\n")


def test_a_long_tag_is_cut():
    code, out, err = paramcount("-", input=f"input: [4]\nlayers: [{{type: dense, units: !{LONG} 3}}]\n".encode())
    assert (code, out) == (2, "") and len(err.splitlines()) == 1 and len(err) < 300, err[:300]


def test_a_path_longer_than_any_is_cut_in_messages():
    """A path is printed whole up to PATH_MAX (4,096): an argument of 100,000 characters is not."""
    code, out, err = paramcount("x" * 100_000 + "\x1b")
    assert (code, out) == (2, "") and err.startswith("x" * 4095 + "…:1:1: no such file, nor a preset")
    assert len(err) < 4096 + 200 and "\x1b" not in err
