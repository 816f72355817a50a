"""A coverage-guided fuzz target for the loader, the analysis and the renderers (atheris).

    pip install atheris
    python tests/fuzz_loader.py -max_total_time=300 architectures tests/fixtures/specs tests/adversarial

Any input must end in a report or in SpecError problems shaped PATH:LINE:COL: message; any
other exception is a crash that atheris reports with the input that caused it.
"""

import re
import sys

import atheris

with atheris.instrument_imports():
    from paramcount import SpecError, analyze, render
    from paramcount.spec import decode, load_text

PROBLEM = re.compile(r"^fuzz\.yaml:\d+:\d+: \S[^\n]*$")


def one_input(data):
    try:
        report = analyze(load_text(decode(data, "fuzz.yaml"), "fuzz.yaml"))
    except SpecError as e:
        assert e.problems and all(PROBLEM.match(str(p)) for p in e.problems), e.problems
        return
    render.to_json([report], many=False)
    render.to_markdown(report)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
