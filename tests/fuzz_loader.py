"""A coverage-guided fuzz target for the loader, the analysis and the renderers (atheris).

    pip install atheris
    python tests/fuzz_loader.py -max_total_time=300 architectures tests/fixtures/specs tests/adversarial

Any input must end in a report or in SpecError problems shaped PATH:LINE:COL: message; any
other exception is a crash that atheris reports with the input that caused it. Every report is
rendered as JSON, markdown and a table (at two widths), and no rendering may hold a control,
bidirectional or zero-width character: what a spec says never drives a terminal.

Without atheris, `python tests/fuzz_loader.py FILE_OR_DIR...` replays files through the same
checks (test_adversarial.py replays the corpus this way).
"""

import io
import os
import re
import sys

try:
    import atheris
except ImportError:  # replay only
    atheris = None

if atheris is not None:
    with atheris.instrument_imports():
        from paramcount import SpecError, analyze, render
        from paramcount.errors import CONTROL
        from paramcount.spec import decode, load_text
else:
    from paramcount import SpecError, analyze, render
    from paramcount.errors import CONTROL
    from paramcount.spec import decode, load_text

PROBLEM = re.compile(r"^fuzz\.yaml:\d+:\d+: \S[^\n]*$")


def _clean(output, what):
    bad = CONTROL.search(output.replace("\n", ""))
    assert bad is None, f"{what} holds U+{ord(bad.group()):04X}"


def render_all(report):
    """Every output format, checked for characters that could drive or disguise a terminal."""
    render.to_json([report], many=False)
    _clean(render.to_markdown(report), "markdown")
    for width in (40, 200):
        table = io.StringIO()
        render.print_report(table, report, width=width)
        _clean(table.getvalue(), "the table")


def one_input(data):
    try:
        report = analyze(load_text(decode(data, "fuzz.yaml"), "fuzz.yaml"))
    except SpecError as e:
        assert e.problems and all(PROBLEM.match(str(p)) for p in e.problems), e.problems
        return
    render_all(report)


def replay(paths):
    """Each file (directories walked) through `one_input`; the names of those that crash."""
    crashes = []
    for top in paths:
        files = [top] if os.path.isfile(top) else sorted(
            os.path.join(d, f) for d, _, names in os.walk(top) for f in names)
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            try:
                one_input(data)
            except Exception as e:  # noqa: BLE001 (a crash is what the replay reports)
                crashes.append(f"{path}: {type(e).__name__}: {e}"[:500])
    return crashes


if __name__ == "__main__":
    if atheris is None:
        found = replay(sys.argv[1:])
        print("\n".join(found) or "no crash")
        sys.exit(1 if found else 0)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
