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


def write_big_spec(path, n=10_000, name="flat-10k"):
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
    spec = {"name": name, "input": [64], "layers": layers}
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
        rows150 = tmp / "rows150.yaml"
        write_big_spec(rows150, 150, "rows-150")
        load = ("import yaml; yaml.load(open(%r), "
                "Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))" % str(spec))
        cmds = [  # (key, label, argv)
            ("pass", "python -c pass", [PY, "-c", "pass"]),
            ("jfloor", "import yaml, json, click", [PY, "-c", "import yaml, json, click"]),
            ("json", "paramcount --format json lenet5", pc + ["--format", "json", "lenet5"]),
            ("table", "paramcount lenet5", pc + ["lenet5"]),
            ("t150", "paramcount rows150.yaml (a 150-row table)", pc + [str(rows150)]),
            ("t10k", "paramcount flat10k.yaml (a 10,000-row table)", pc + [str(spec)]),
            ("big", "paramcount --format json flat10k.yaml (10,000 layers)",
             pc + ["--format", "json", str(spec)]),
            ("parse", "yaml.load(flat10k.yaml) fastest loader", [PY, "-c", load]),
            ("llama", "paramcount --format json llama2-70b.yaml (80 repeated blocks)",
             pc + ["--format", "json", str(HERE / "llama2-70b.yaml")]),
            ("million", "paramcount --format json repeat-million.yaml (a block ×1,000,000)",
             pc + ["--format", "json", str(HERE / "repeat-million.yaml")]),
            ("r50", "paramcount resnet50 (the table)", pc + ["resnet50"]),
            ("r50html", "paramcount --format html resnet50 (the page)", pc + ["--format", "html", "resnet50"]),
            ("h10k", "paramcount --format html flat10k.yaml (10,000 rows and explanations)",
             pc + ["--format", "html", str(spec)]),
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
    number = {key: i for i, (key, _, _) in enumerate(cmds, 1)}
    # (what, command, against, target): a ratio of medians, or with against=None a time in ms.
    checks = [
        ("JSON path / its import floor", "json", "jfloor", 1.3),
        ("table path / the same floor (no rich)", "table", "jfloor", 1.3),
        ("150-row table / the floor", "t150", "jfloor", 1.2),
        ("10,000-row table, ms", "t10k", None, 1000),
        ("10,000 layers as JSON / bare parse", "big", "parse", 1.3),
        ("Llama-2-70B-sized / lenet5 as JSON", "llama", "json", 1.3),
        ("a million repeats / lenet5 as JSON", "million", "json", 1.3),
        ("ResNet-50's HTML page / its table", "r50html", "r50", 1.3),
        ("10,000-row HTML page, ms", "h10k", None, 1000),
    ]

    def verdict(a, b, target):
        q = med[a] / med[b] if b else med[a]
        label = f"{number[a]}/{number[b]}" if b else f"{number[a]}"
        shown = f"{q:.2f}×" if b else f"{q:.0f} ms"
        limit = f"≤ {target}×" if b else f"≤ {target} ms"
        return label, shown, limit, "within" if q <= target else "over"

    loader = "CSafeLoader" if hasattr(yaml, "CSafeLoader") else "SafeLoader (no libyaml)"
    head = (f"python {sys.version.split()[0]}, {args.runs} runs (+{args.warmup} warm-up), "
            f"median ms; yaml loader: {loader}; paramcount: {' '.join(pc)}")
    if args.markdown:
        print(head.replace("median ms", "median wall-clock ms") + "\n")
        print("| # | command | median ms |\n|---|---|---:|")
        for i, (key, label, _) in enumerate(cmds, 1):
            print(f"| {i} | `{label}` | {med[key]:.1f} |")
        print("\n| check | | value | target | |\n|---|---|---:|---:|---|")
        for what, a, b, target in checks:
            label, shown, limit, ok = verdict(a, b, target)
            print(f"| {label} | {what} | {shown} | {limit} | {ok} |")
    else:
        print(head)
        for i, (key, label, _) in enumerate(cmds, 1):
            print(f"  {i:2}. {label:<62} {med[key]:8.1f} ms")
        for what, a, b, target in checks:
            label, shown, limit, ok = verdict(a, b, target)
            print(f"  {label:>5} {what:<40} {shown:>8}  target {limit}  {ok.upper() if ok == 'over' else ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
