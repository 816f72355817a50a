"""Start-up and parse benchmark for paramcount (issue 2, "Performance").

Times whole processes, because what a user feels is interpreter start-up plus
imports plus work, and each figure is set against a floor measured in the
same run on the same machine, so only the ratios matter, not the raw ms.

    python benchmarks/bench.py [--runs 21] [--warmup 3] [--markdown]

Run it with the python that has paramcount installed.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET = 1.3
PY = sys.executable
HERE = Path(__file__).resolve().parent


def paramcount_cmd():
    # The console script is what users run; its wrapper costs a little more
    # than -m, so measure it when it is there.
    here = Path(PY).parent
    for name in ("paramcount", "paramcount.exe"):
        if (here / name).is_file():
            return [str(here / name)]
    return [PY, "-m", "paramcount"]


def write_big_spec(path, n=10_000):
    # Flat spec with layers that keep the shape [64], so the analysis is valid
    # at any length; a few names so the name handling is exercised too.
    kinds = [
        lambda i: {"type": "dense", "units": 64},
        lambda i: {"type": "relu"},
        lambda i: {"type": "dropout", "rate": 0.1},
        lambda i: {"type": "layernorm"},
    ]
    layers = []
    for i in range(n):
        layer = kinds[i % len(kinds)](i)
        if i % 500 == 0:
            layer["name"] = f"block_{i}"
        layers.append(layer)
    spec = {"name": "flat-10k", "input": [64], "layers": layers}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def run_once(argv, env):
    # stdout to DEVNULL so terminal rendering is not timed; stderr kept for
    # the error report. perf_counter_ns around the whole child process.
    t0 = time.perf_counter_ns()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    t1 = time.perf_counter_ns()
    if p.returncode != 0:
        sys.stderr.write(f"command failed (exit {p.returncode}): {' '.join(argv)}\n")
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(1)
    return (t1 - t0) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21, help="timed runs per command")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs per command")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()

    # Same environment for every command; COLUMNS fixes the table width.
    env = dict(os.environ, COLUMNS="120")
    pc = paramcount_cmd()
    tmp = Path(tempfile.mkdtemp(prefix="paramcount-bench-"))
    try:
        spec = tmp / "flat10k.yaml"
        write_big_spec(spec)
        load = ("import yaml; yaml.load(open(%r), "
                "Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))" % str(spec))
        cmds = [  # (key, label, argv)
            ("pass", "python -c pass", [PY, "-c", "pass"]),
            ("jfloor", "import yaml, json, click", [PY, "-c", "import yaml, json, click"]),
            ("json", "paramcount --format json lenet5", pc + ["--format", "json", "lenet5"]),
            ("tfloor", "import yaml, json, click, rich.console, rich.table",
             [PY, "-c", "import yaml, json, click, rich.console, rich.table"]),
            ("table", "paramcount lenet5", pc + ["lenet5"]),
            ("big", "paramcount --format json flat10k.yaml (10,000 layers)",
             pc + ["--format", "json", str(spec)]),
            ("parse", "yaml.load(flat10k.yaml) fastest loader", [PY, "-c", load]),
            ("llama", "paramcount --format json llama2-70b.yaml (80 repeated blocks)",
             pc + ["--format", "json", str(HERE / "llama2-70b.yaml")]),
            ("million", "paramcount --format json repeat-million.yaml (a block ×1,000,000)",
             pc + ["--format", "json", str(HERE / "repeat-million.yaml")]),
        ]
        times = {key: [] for key, _, _ in cmds}
        # Round-robin: each round runs every command once, so a noisy moment
        # (another process, CPU frequency change) hits all commands alike.
        for r in range(args.warmup + args.runs):
            for key, _, argv in cmds:
                ms = run_once(argv, env)
                if r >= args.warmup:
                    times[key].append(ms)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = [
        ("3/2 JSON path / its floor", "json", "jfloor"),
        ("5/4 table path / its floor", "table", "tfloor"),
        ("6/7 10,000 layers / bare parse", "big", "parse"),
        ("8/3 Llama-2-70B-sized / lenet5", "llama", "json"),
        ("9/3 a million repeats / lenet5", "million", "json"),
    ]
    loader = "CSafeLoader" if hasattr(yaml, "CSafeLoader") else "SafeLoader (no libyaml)"
    head = (f"python {sys.version.split()[0]}, {args.runs} runs (+{args.warmup} warm-up), "
            f"median ms; yaml loader: {loader}; paramcount: {' '.join(pc)}")
    if args.markdown:
        print(head.replace("median ms", "median wall-clock ms") + "\n")
        print("| # | command | median ms |\n|---|---|---:|")
        for i, (key, label, _) in enumerate(cmds, 1):
            print(f"| {i} | `{label}` | {med[key]:.1f} |")
        print("\n| ratio | value | target | |\n|---|---:|---:|---|")
        for label, a, b in ratios:
            q = med[a] / med[b]
            print(f"| {label} | {q:.2f}× | ≤ {TARGET}× | {'within' if q <= TARGET else 'over'} |")
    else:
        print(head)
        for i, (key, label, _) in enumerate(cmds, 1):
            print(f"  {i}. {label:<55} {med[key]:8.1f} ms")
        for label, a, b in ratios:
            q = med[a] / med[b]
            print(f"  {label:<34} {q:5.2f}x  target <= {TARGET}x  "
                  f"{'within' if q <= TARGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
