"""The command line: a thin shell over the library that turns its errors into exit codes.

`main` is the console script (and `python -m paramcount`): it alone sets up the process (standard
streams that never raise on a character they cannot encode, the cycle collector paused for the run).
`cli` is the click command, for in-process callers such as click's CliRunner: it leaves the
interpreter as it found it.

`paramcount SPEC...` counts specs. When the first argument is exactly a subcommand's name (`diff`,
`schema`, `layers`), that subcommand runs instead; a spec file named like one is `./diff`.
"""

import gc
import os
import sys

import click

from . import __version__, render
from .analyze import DTYPES, analyze, estimate_memory
from .errors import PATH_LIMIT, Problem, SpecError, clean, one_line, position
from .sources import file_text, load, load_preset, preset_dir, preset_names
from .spec import parse_size
from .limits import MAX_BATCH

OK, OVER_BUDGET, BAD_INPUT = 0, 1, 2
NAME_LIMIT = 80  # characters of a name or path in a message of ours
FORMATS = ["table", "json", "markdown", "github", "csv", "html"]
LIMIT_OPTIONS = {"max_params": "--max-params", "max_trainable": "--max-trainable",
                 "max_params_unshared": "--max-params-unshared", "max_layer_params": "--max-layer-params"}
BUDGET_WHAT = {"max_params": "params", "max_trainable": "trainable params",
               "max_params_unshared": "params without weight sharing"}


class _Command(click.Command):
    """Usage errors as one line on stderr, exit 2, like every other bad input."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            if sys.stdout is None:
                raise OSError("standard output is closed")
            code = super().main(args, prog_name or "paramcount", complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()
        except click.UsageError as e:
            say(f"paramcount: error: {render.text(e.format_message(), 1000)}")
            code = BAD_INPUT
        except BrokenPipeError:
            _silence(sys.stdout)
            code = OK
        except OSError as e:  # a full disk, a closed or read-only stdout: the output cannot be written
            _silence(sys.stdout)  # what is still buffered would fail again at exit
            say(f"paramcount: error: cannot write the output: {e.strerror or e}")
            code = BAD_INPUT
        except click.Abort:
            code = 130
        sys.exit(code or OK)


class _Root(_Command):
    """`paramcount SPEC...`, or a subcommand when the first argument is exactly its name."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        if argv and argv[0] in SUBCOMMANDS and not os.environ.get("_PARAMCOUNT_COMPLETE"):
            sub = SUBCOMMANDS[argv[0]]
            return sub.main(argv[1:], f"paramcount {argv[0]}", None, standalone_mode, **extra)
        return super().main(argv, prog_name, complete_var, standalone_mode, **extra)


def say(line):
    """A line on stderr. If stderr itself cannot be written (full, closed), there is no one to tell:
    the exit status still says what happened."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        _silence(sys.stderr)


def _silence(stream):
    """Point a standard stream at /dev/null: `paramcount alexnet | head` has what it wanted, and
    output still buffered for a full or closed stream must not fail a second time at exit."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, stream.fileno())
        finally:
            os.close(fd)
    except (AttributeError, OSError, ValueError):  # not a real file (CliRunner's): nothing buffered at exit
        pass


def main(args=None):
    """The console script. Streams: a character the terminal's encoding cannot hold (a non-ASCII
    name on an ASCII terminal, a file name that is not UTF-8) is written as a backslash escape,
    never a traceback. The cycle collector is paused: a short run builds many small acyclic
    objects, and the collector would rescan them all again and again to free nothing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    gc.disable()
    try:
        cli.main(args, prog_name="paramcount")
    finally:
        # Re-enabled as it is, the collector would at once scan everything the run made (30 ms on a
        # 10,000-layer spec) just before the process ends: freeze that first.
        gc.freeze()
        gc.enable()


def _size(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _batch(ctx, param, value):
    """--batch: a whole number from 1 to MAX_BATCH; the message quotes at most 20 characters."""
    if value is None:
        return None
    text = value.strip().replace("_", "")
    if not (text.isascii() and text.isdigit() and len(text) <= 13 and 1 <= int(text) <= MAX_BATCH):
        shown = render.text(value, 20)
        raise click.UsageError(f"--batch must be a whole number from 1 to {MAX_BATCH:,}, got '{shown}'")
    return int(text)


def _columns(ctx, param, value):
    """--columns, given once or more (each adds its items): parse_columns' reading of them all."""
    if any(not v.strip() for v in value):
        raise click.UsageError("--columns: an empty value; name at least one column")
    try:
        return render.parse_columns(",".join(value)) if value else None
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _complete_columns(ctx, param, incomplete):
    """Shell completion of --columns: the column names, after what is typed before the last comma."""
    head, _, last = incomplete.rpartition(",")
    sign = last[:1] if last[:1] in "+-" else ""
    prefix = head + "," if head else ""
    names = list(render.COLUMNS) + list(render.CSV_ONLY)
    return [prefix + sign + k for k in names if k.startswith(last[len(sign):].lower())]


def _growth(ctx, param, value):
    if value is None:
        return None
    from .diff import BaselineError, growth_limit

    try:
        growth_limit(value)
    except BaselineError as e:
        raise click.BadParameter(str(e), ctx, param) from None
    return value


# -- budgets --------------------------------------------------------------------------------------


def budgets_of(report):
    return getattr(report, "budgets", None) or []


def budget_message(report, b):
    """`PATH:L:C: NAME has X trainable params, over the limit of Y (its budget)`, or
    `SOURCE: ... (--max-trainable)` when the limit came from the command line."""
    where = render.text(report.source, NAME_LIMIT)
    if b.mark is not None:
        where = "{}:{}:{}".format(render.text(report.path, NAME_LIMIT), *position(b.mark))
    return f"{where}: {budget_text(report, b)}"


def budget_text(report, b):
    """What a budget message says, without where."""
    origin = "its budget" if b.mark is not None else LIMIT_OPTIONS.get(b.key, b.key)
    name = render.text(report.name, NAME_LIMIT)
    if b.key == "max_layer_params":
        layer = render.text(b.layer, NAME_LIMIT) if b.layer else "a layer"
        what = f"{name}'s layer {layer} has {render.number(b.value)} params, over the limit of " \
               f"{render.number(b.limit)} per layer"
    else:
        what = (f"{name} has {render.number(b.value)} {BUDGET_WHAT.get(b.key, b.key)}, "
                f"over the limit of {render.number(b.limit)}")
    return f"{what} ({origin})"


def warning_line(p):
    """`PATH:L:C: warning: message` on stderr: said, never a failure."""
    return f"{clean(p.path, PATH_LIMIT)}:{p.line}:{p.col}: warning: {one_line(p.message)}"


def _summary_line(source, report):
    """`path: 61,706 params, within 70,000` / `..., over 70,000` / `path: error`."""
    where = render.text(source, NAME_LIMIT)
    if report is None:
        return f"{where}: error"
    parts = [f"{where}: {render.number(report.totals.params)} params"]
    budgets = budgets_of(report)
    for b in budgets:
        if b.key == "max_params":
            parts.append(f"{'within' if b.within else 'over'} {render.number(b.limit)}")
        elif not b.within:
            parts.append(f"over {b.key} {render.number(b.limit)}")
    if len(parts) == 1 and budgets:
        parts.append("within budget")
    return ", ".join(parts)


# -- GitHub workflow commands -----------------------------------------------------------------


def gh_data(s):
    """A workflow command's message: '%', CR and LF escaped as GitHub reads them."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(s):
    return gh_data(s).replace(":", "%3A").replace(",", "%2C")


def gh_command(kind, path, line, col, message):
    """`::error file=PATH,line=L,col=C,title=paramcount::message`; spec text sanitised first. Without
    a file GitHub can link (`path` None), `::error title=paramcount::message`, shown in the run's
    annotations but on no file."""
    text = gh_data(render.text(message))
    if path is None:
        return f"::{kind} title=paramcount::{text}"
    file = gh_property(render.text(path, 4096))
    return f"::{kind} file={file},line={line},col={col},title=paramcount::{text}"


def _linkable(path):
    """A path GitHub can link an annotation to, or None: a preset's file lies inside the installed
    package (or the checkout's architectures/), not in the repository being checked, so its
    annotations go without file= (the message names the model). A translated file (a Hugging Face
    config, a Keras model) is annotated at the file itself."""
    if path is None or path.startswith("preset:"):
        return None
    path = path.removesuffix(" (translated)")  # a Hugging Face or Keras file: the file itself
    try:
        if os.path.dirname(os.path.realpath(path)) == os.path.realpath(preset_dir()):
            return None
    except (OSError, ValueError):
        pass
    return path


def _problem_command(kind, p):
    return gh_command(kind, _linkable(p.path), p.line, p.col, p.message)


def _report_file(report):
    return _linkable(report.source) and _linkable(report.path or report.source)


def _report_command(kind, report, line, col, message):
    """A workflow command about a report: at its file, or, where GitHub cannot link one (a preset),
    without file= and with the source named in the message."""
    file = _report_file(report)
    if file is None:
        message = f"{render.text(report.source, NAME_LIMIT)}: {message}"
    return gh_command(kind, file, line, col, message)


def _budget_command(report, b):
    line, col = position(b.mark)
    return _report_command("error", report, line, col, budget_text(report, b))


# -- many specs -------------------------------------------------------------------------------------


def _is_spec_file(name):
    return name.endswith((".yaml", ".yml")) and not name.startswith(".")


def _spec_files(directory):
    """Every *.yaml / *.yml under `directory`, recursively, sorted; hidden files and folders (.git,
    .github) and links to folders are skipped."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(root, f) for f in files if _is_spec_file(f)]
    return sorted(found)


def expand(specs):
    """The SPEC arguments as spec arguments: a folder is its spec files, a glob pattern (when no file
    has that very name) its matches, sorted; anything else as it is (a folder without spec files is
    refused as a directory). Returns (specs, whether a folder or pattern was expanded)."""
    import glob

    out, expanded = [], False
    for arg in specs:
        files = _spec_files(arg) if arg != "-" and os.path.isdir(arg) else None
        if files:
            out += files
            expanded = True
        elif glob.has_magic(arg) and not os.path.lexists(arg):
            matches = sorted(m for m in glob.glob(arg, recursive=True) if not os.path.isdir(m))
            if not matches:
                raise SpecError([Problem(arg, 1, 1, "no file matches this pattern")])
            out += matches
            expanded = True
        else:
            out.append(arg)
    return out, expanded


def _source_of(arg):
    """The `source` a spec's report would have: '<stdin>', 'preset:NAME', or the path as given."""
    if arg == "-":
        return "<stdin>"
    if not (os.path.lexists(arg) or os.sep in arg or arg.endswith((".yaml", ".yml"))) and arg in preset_names():
        return f"preset:{arg}"
    return arg


def failure_dict(source, error):
    """A spec that could not be counted, as the JSON array holds it."""
    return {"source": source, "problems": [{"line": p.line, "column": p.col, "message": p.message}
                                           for p in error.problems]}


# -- the main command -----------------------------------------------------------------------------


def _list_presets(fmt, wide):
    presets = [(name, analyze(load_preset(name))) for name in preset_names()]
    out = sys.stdout
    if fmt == "json":
        out.write(render.presets_json(presets) + "\n")
        return OK
    if fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["preset", "name", "params", "description"])
        writer.writerows([name, _csv_text(r.name), r.totals.params, _csv_text(r.description or "")]
                         for name, r in presets)
        return OK
    body = [(name, render.number(r.totals.params), render.text(r.description or "")) for name, r in presets]
    if fmt == "markdown":
        out.write(render.presets_markdown(body))
    else:
        render.print_table(out, "Presets", render.PRESET_HEADERS, body, render.PRESET_KINDS, wide=wide, limit=None)
    return OK


EPILOG = """\b
Subcommands (the first argument; a spec file of that name is ./diff):
  paramcount diff OLD NEW      what changed, layer by layer (OLD may be REV:PATH)
  paramcount schema            JSON Schema of the spec format (--output: of --json)
  paramcount layers [TYPE]     the layer types, or one type's fields
\b
Examples:
  paramcount lenet5
  paramcount models/ --max-params 100M --format github
  paramcount 'models/**/*.yaml' --json > params.json
  paramcount net.yaml --baseline params.json --max-growth 5
  paramcount lenet5 --emit-spec > lenet.yaml
  paramcount resnet50 --columns name,shape,params,macs,share
  paramcount resnet50 --format html > r.html
\b
With several specs, a line per spec ends the output (not for json, csv and html).
--json with several specs gives an array: a report per spec, or for a spec that
failed {"source": ..., "problems": [{"line", "column", "message"}]}.
\b
Shell completion (bash; zsh and fish alike):
  eval "$(_PARAMCOUNT_COMPLETE=bash_source paramcount)"
"""


@click.command(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format. github: workflow commands (::error at the spec's line) and the table; "
                   "csv: a row per layer; html: one self-contained page with charts.")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--depth", type=click.IntRange(min=1), default=render.DEPTH, show_default=True, metavar="N",
              help="Levels of blocks the table, markdown and HTML show; deeper rows are folded into their block "
                   "(totals unchanged). JSON always has the whole tree.")
@click.option("--wide", is_flag=True, help="Every column of the table, however wide the terminal.")
@click.option("--columns", "picked", metavar="COL,...", multiple=True, callback=_columns,
              shell_complete=_complete_columns,
              help="The table's, markdown's, HTML's and CSV's columns, in order: " + ", ".join(render.COLUMNS)
                   + ". +COL,-COL change the default set (--columns +macs,+share).")
@click.option("--explain", is_flag=True,
              help="After the table (table and markdown formats): each layer's count as a formula with its "
                   "numbers filled in.")
@click.option("--dtype", type=click.Choice(DTYPES),
              help="Data type of the parameter and activation memory under the table (default fp32; int4: half "
                   "a byte, rounded up per tensor); Adam training is fp32 whatever it is. With --dtype or "
                   "--batch, the JSON has `memory`.")
@click.option("--batch", callback=_batch, metavar="N",
              help="Samples per batch for the activation memory and the Adam training estimate (default 1).")
@click.option("--max-params", metavar="SIZE", callback=_size,
              help="Exit 1 when a spec's total params exceed SIZE (61706, 60k, 1.5M, 7B, 1e8, 100_000_000).")
@click.option("--max-trainable", metavar="SIZE", callback=_size, help="Exit 1 above SIZE trainable params.")
@click.option("--max-params-unshared", metavar="SIZE", callback=_size,
              help="Exit 1 above SIZE params counted without weight sharing.")
@click.option("--max-layer-params", metavar="SIZE", callback=_size,
              help="Exit 1 when any single layer holds more than SIZE params.")
@click.option("--baseline", metavar="FILE.json", type=click.Path(dir_okay=False),
              help="A file --json wrote earlier; with --max-growth.")
@click.option("--max-growth", metavar="PERCENT", callback=_growth,
              help="Exit 1 when a spec's total grew more than PERCENT against --baseline.")
@click.option("--emit-spec", is_flag=True,
              help="Write the spec's YAML text as it is (a preset's, to start from); for a Hugging Face "
                   "config.json or a Keras model, the spec it is translated into.")
@click.option("--list-presets", is_flag=True, help="List the shipped presets with their totals.")
@click.version_option(__version__, "-V", "--version", prog_name="paramcount")
@click.pass_context
def cli(ctx, specs, fmt, as_json, depth, wide, list_presets, emit_spec, baseline, max_growth, explain, dtype=None,
        batch=None, picked=None, **limits):
    """Count the weights and biases of the networks in SPEC, layer by layer.

    SPEC is a YAML file, a folder (every *.yaml and *.yml under it), a glob
    ('models/**/*.yaml'), '-' for standard input, or a preset name
    (see --list-presets). Exit status: 0 fine, 1 over a budget, 2 bad input.
    """
    limits = {k: v for k, v in limits.items() if v is not None}
    try:
        return _run(ctx, specs, fmt, as_json, depth, wide, limits, list_presets, emit_spec, baseline, max_growth,
                    explain, dtype, batch, picked)
    except BrokenPipeError:  # inside click, which would exit 1 (our budget status)
        _silence(sys.stdout)
        return OK


def _emit_spec(specs):
    if len(specs) != 1:
        raise click.UsageError("--emit-spec takes one SPEC")
    arg = specs[0]
    if arg == "-":
        raise click.UsageError("--emit-spec takes a file or a preset, not '-'")
    if _is_onnx(arg):
        raise click.UsageError("--emit-spec: an ONNX model is counted as it is; it has no spec to write")
    try:
        if arg.startswith("hf:"):  # fetched once: the translation, checked as any spec is
            from .spec import load_text

            text = file_text(arg)
            load_text(*text)
            data = text[0].encode("utf-8")
        elif (spec := load(arg)).path.endswith(" (translated)"):  # a config or a Keras model: its translation
            data = file_text(arg)[0].encode("utf-8")
        else:
            with open(spec.path, "rb") as f:
                data = f.read()
    except SpecError as e:
        say(str(e))
        return BAD_INPUT
    except OSError as e:
        say(str(Problem(arg, 1, 1, f"cannot read: {e.strerror or e}")))
        return BAD_INPUT
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    return OK


def _load_baseline(path):
    """The --baseline document, read as a spec file is (sources.read_file: a regular file only, links
    followed, devices and pipes refused, at most MAX_BYTES), parsed with JSON nested too deep for the
    parser refused: every failure one line, exit 2."""
    import json

    from .limits import MAX_BYTES
    from .sources import read_file

    where = f"--baseline {render.text(path, NAME_LIMIT)}"
    try:
        data = read_file(path)
    except SpecError as e:
        why = e.problems[0].message if e.problems else "cannot read"
        raise click.UsageError(f"{where}: {render.text(why, 200)}") from None
    try:
        if len(data) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES:,} bytes")
        return json.loads(data)
    except RecursionError:
        raise click.UsageError(f"{where}: not a --json document: nested too deeply") from None
    except ValueError as e:  # bad JSON, bad UTF-8, too large
        why = render.text(str(e), 200)
        raise click.UsageError(f"{where}: not a --json document: {why}") from None


class _Output:
    """stdout for the reports: once its reader has gone (`| head -1`), nothing more is written, but
    every spec is still checked, its problems said on stderr and its status counted."""

    def __init__(self):
        self.stream, self.closed = sys.stdout, False

    def __call__(self, action, *args):
        if self.closed:
            return
        try:
            action(*args)
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            _silence(self.stream)


def _run(ctx, specs, fmt, as_json, depth, wide, limits, list_presets, emit_spec, baseline, max_growth,
         explain=False, dtype=None, batch=None, picked=None):
    if as_json:
        if ctx.get_parameter_source("fmt") is click.core.ParameterSource.COMMANDLINE and fmt != "json":
            raise click.UsageError(f"--json contradicts --format {fmt}")
        fmt = "json"
    if explain and fmt in ("json", "csv"):
        raise click.UsageError(f"--explain writes after a table or markdown (HTML always has it), not in {fmt}")
    if list_presets and fmt == "html":
        raise click.UsageError("--list-presets writes a table, markdown, JSON or CSV, not HTML")
    if picked is not None and (fmt == "json" or list_presets or emit_spec):
        raise click.UsageError("--columns picks the columns of a table, markdown, HTML or CSV; "
                               + ("JSON has every figure" if fmt == "json" else "not of this output"))
    try:
        if fmt == "csv":
            render.check_columns(picked, CSV_KEYS, render.CSV_NAMES)
        else:
            render.check_columns(picked, render.default_columns(), optional=("non_trainable",))
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if list_presets:
        if specs:
            raise click.UsageError("--list-presets takes no SPEC")
        return _list_presets(fmt, wide)
    if emit_spec:
        return _emit_spec(specs)
    if (baseline is None) != (max_growth is None):
        raise click.UsageError("--baseline and --max-growth go together")
    if specs.count("-") > 1:
        raise click.UsageError("standard input ('-') can be read only once")
    if not specs:
        raise click.UsageError(f"give a SPEC: a YAML file, '-', or a preset ({', '.join(preset_names())})")
    baseline_doc = _load_baseline(baseline) if baseline is not None else None
    try:
        args, expanded = expand(specs)
    except SpecError as e:
        say(str(e))
        if fmt == "github":
            sys.stdout.write("".join(_problem_command("error", p) + "\n" for p in e.problems))
        return BAD_INPUT
    # Each spec is printed as soon as it is counted and then let go: memory is bounded by one spec,
    # however many are given; only the exit status (and a summary line) is kept.
    code, printed, many, out = OK, 0, len(args) > 1 or expanded, sys.stdout
    write = _Output()
    summaries = []
    csv_writer = None
    if fmt == "csv":
        import csv

        csv_writer = csv.writer(out, lineterminator="\n")
    for arg in args:
        try:
            report = count_spec(arg, limits)
            if dtype is not None or batch is not None:  # asked for: in the JSON too
                report.memory = estimate_memory(report, dtype or "fp32", batch or 1)
        except SpecError as e:
            say(str(e))
            code = BAD_INPUT
            source = _source_of(arg)
            summaries.append(_summary_line(source, None))
            if fmt == "github":
                write(out.write, ("\n" if printed else "") + "".join(_problem_command("error", p) + "\n"
                                                                      for p in e.problems))
                printed += 1
            elif fmt == "json" and many:
                write(_json_item, out, failure_dict(source, e), printed)
                printed += 1
            elif fmt == "html" and many:  # the saved page says what it lacks, as the JSON array does
                write(_html_failure, out, source, e.problems, printed, len(args))
                printed += 1
            continue
        warnings = list(getattr(report, "warnings", ()) or ())
        for w in warnings:
            say(warning_line(w))
        over = [b for b in budgets_of(report) if not b.within]
        growth, growth_warning = _check_growth(report, baseline_doc, max_growth)
        if fmt == "github":
            lines = [_problem_command("warning", w) for w in warnings]
            lines += [_budget_command(report, b) for b in over]
            if growth:
                lines.append(_report_command("error", report, 1, 1, growth))
            if growth_warning:
                lines.append(_report_command("warning", report, 1, 1, growth_warning))
            write(out.write, ("\n" if printed else "") + "".join(line + "\n" for line in lines))
        if fmt in ("table", "github"):
            write(_table, out, report, depth, wide, printed and fmt == "table", picked)
            if explain and fmt == "table":
                write(_explain_text, out, report, depth)
        elif fmt == "markdown":
            write(_markdown, out, report, depth, printed, picked)
            if explain:
                write(_explain_markdown, out, report, depth)
        elif fmt == "csv":
            write(_csv_rows, csv_writer, report, printed, picked)
        elif fmt == "html":
            write(_html, out, report, depth, picked, printed, f"{len(args):,} specs" if many else report.name)
        elif many:
            write(_json_item, out, report.to_dict(), printed)
        else:
            write(_json_one, out, report.to_dict())
        printed += 1
        for b in over:
            say(budget_message(report, b))
        if over:
            code = max(code, OVER_BUDGET)
        if growth:
            say(growth)
            code = max(code, OVER_BUDGET)
        if growth_warning:
            say(growth_warning)
        summaries.append(_summary_line(report.source, report))
        del report
    if fmt == "json" and many:
        write(out.write, "\n]\n" if printed else "[]\n")
    if fmt == "html" and printed:
        from . import html

        write(_html_writer(out), html.tail())
    # A line per spec for people; json and csv hold the same for programs (and a failed spec's
    # problems are on stderr), and stderr stays for problems only.
    if len(args) > 1 and fmt not in ("json", "csv", "html"):
        if fmt == "markdown":
            write(out.write, "\n" + "".join(f"- {line}\n" for line in summaries))
        else:
            write(out.write, "\n" + "".join(line + "\n" for line in summaries))
    return code


def _is_onnx(arg):
    return arg != "-" and not arg.startswith("hf:") and arg.lower().endswith(".onnx")


def count_spec(arg, limits):
    """The report of one SPEC argument: an ONNX model (a path ending .onnx) is counted by the ONNX
    importer, anything else loaded as a spec and analysed; `limits` the command line's budgets."""
    if not _is_onnx(arg):
        return analyze(load(arg), limits=limits)
    from .analyze import BUDGET_KEYS, Budget
    from .importers import onnx

    report = onnx.to_report(arg)  # without the onnx package: one problem naming paramcount[onnx]
    t = report.totals
    values = {"max_params": t.params, "max_trainable": t.trainable, "max_params_unshared": t.params_unshared}
    for key in BUDGET_KEYS:  # as analyze does, with no budget written in a spec
        limit = limits.get(key)
        if limit is None:
            continue
        if key == "max_layer_params":
            value, layer = report.largest_layer()
            report.budgets.append(Budget(key, limit, value, layer))
        else:
            report.budgets.append(Budget(key, limit, values[key]))
    first = report.budgets[0] if report.budgets and report.budgets[0].key == "max_params" else None
    report.max_params = first.limit if first else None
    report.within = all(b.within for b in report.budgets)
    return report


def _check_growth(report, baseline_doc, max_growth):
    """(message when it grew too much, warning when the baseline cannot tell)."""
    if baseline_doc is None:
        return None, None
    from .diff import BaselineError, check_growth

    try:
        return check_growth(report, baseline_doc, max_growth), None
    except BaselineError as e:
        return None, f"{e}; growth not checked"


def _table(out, report, depth, wide, printed, picked=None):
    if printed:
        out.write("\n")
    render.print_report(out, report, depth=depth, wide=wide, picked=picked)


def _markdown(out, report, depth, printed, picked=None):
    if printed:
        out.write("\n")
    render.write_markdown(out, report, depth, picked)


def _html(out, report, depth, picked, printed, title):
    """A report's section of the HTML page; the page's head before the first (its title the report's
    name, or 'N specs' with several); cli writes the tail after the last."""
    from . import html

    put = _html_writer(out)
    if not printed:
        put(html.head(title))
    for piece in html.report_html(report, depth=depth, keys=render.columns(report, picked), explain=True):
        put(piece)


def _html_failure(out, source, problems, printed, count):
    from . import html

    put = _html_writer(out)
    if not printed:
        put(html.head(f"{count:,} specs"))
    put(html.failure_html(source, problems))


def _html_writer(out):
    """out.write, or where stdout is not UTF-8 (PYTHONIOENCODING=ascii or latin-1), a writer of
    ASCII that turns every other character into an HTML character reference: the page declares
    UTF-8, and ASCII reads the same in it, so the page stays exact whatever the stream's encoding."""
    import codecs

    try:
        if codecs.lookup(getattr(out, "encoding", None) or "utf-8").name == "utf-8":
            return out.write
    except LookupError:
        pass

    def put(piece):
        out.write(piece.encode("ascii", "xmlcharrefreplace").decode("ascii"))

    return put


def _explain_text(out, report, depth):
    from . import explain

    explain.write_text(out, report, depth)


def _explain_markdown(out, report, depth):
    from . import explain

    explain.write_markdown(out, report, depth)


def _json_one(out, doc):
    for piece in render.json_pieces(doc):
        out.write(piece)
    out.write("\n")


def _json_item(out, doc, printed):
    out.write("[\n" if not printed else ",\n")
    for piece in render.json_pieces(doc):
        out.write(piece)


CSV_KEYS = ["name", "type", "input_shape", "output_shape", "weights", "biases", "trainable", "non_trainable",
            "params", "params_unshared", "path", "depth", "repeat", "copies", "tied_to", "macs", "other_ops",
            "connections", "activations"]


# A cell a spreadsheet would read as a formula (OWASP's CSV injection): text starting with one of
# these is written with a leading apostrophe. Numbers are never text here, so they stay numbers.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value):
    """Text from a spec for a CSV cell: sanitised, and neutralised if a spreadsheet would run it."""
    out = render.text(value)
    return "'" + out if value.startswith(FORMULA_START) or out.startswith(FORMULA_START) else out


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return render.shape(value)
    if isinstance(value, str):
        return _csv_text(value)
    return value


def _csv_rows(writer, report, printed, picked=None):
    """A row per leaf layer: `source`, then the JSON's leaf keys (or the --columns picked); the header once."""
    leaves = report.to_dict()["layers"]
    keys = list(CSV_KEYS)
    for leaf in leaves:
        keys += [k for k in leaf if k not in keys]
    keys = [k for k in render.apply_columns(keys, picked, render.CSV_NAMES) if k != "source"]  # always first
    if not printed:
        writer.writerow(["source"] + keys)
    source = _csv_text(report.source)
    derived = [k for k in keys if k in render.CSV_DERIVED]
    if derived:
        for leaf, (node, _, copies) in zip(leaves, report.leaves()):
            leaf.update((k, render.leaf_figure(report, node, copies, k)) for k in derived)
    writer.writerows([source] + [_csv_cell(leaf.get(k)) for k in keys] for leaf in leaves)


# -- subcommands ----------------------------------------------------------------------------------

_SUB = {"help_option_names": ["-h", "--help"]}


@click.command("diff", cls=_Command, context_settings=_SUB, epilog="""\b
Examples:
  paramcount diff lenet5 wider.yaml
  paramcount diff HEAD~1:models/net.yaml models/net.yaml --format markdown
  paramcount diff origin/main:net.yaml net.yaml --fail-on-change
""")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True, help="Output format (markdown: for a pull-request comment).")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when anything changed.")
@click.option("--all", "show_all", is_flag=True, help="List unchanged layers too.")
@click.option("--wide", is_flag=True, help="Every column of the table, however wide the terminal.")
def diff_command(old, new, fmt, as_json, fail_on_change, show_all, wide):
    """Compare two specs layer by layer: parameters and output shapes added,
    removed or changed, and each total's change with its percentage.

    OLD and NEW are files, presets, '-', or REV:PATH read from git
    (git show, no checkout). Exit status: 0 (1 with --fail-on-change when
    anything changed), 2 bad input.
    """
    from . import diff as d

    if as_json:
        fmt = "json"
    if old == "-" and new == "-":
        raise click.UsageError("standard input ('-') can be read only once")
    reports, problems = [], []
    for arg in (old, new):
        try:
            reports.append(analyze(d.load_revision(arg)))
        except SpecError as e:
            problems += e.problems
    if problems:
        for p in problems:
            say(str(p))
        return BAD_INPUT
    result = d.diff_reports(*reports)
    out = sys.stdout
    try:  # `| head -1` closing the pipe must not hide the status
        if fmt == "json":
            import json

            out.write(json.dumps(result.to_dict(), indent=2) + "\n")
        elif fmt == "markdown":
            out.write(d.diff_markdown(result, unchanged=show_all))
        else:
            d.print_diff(out, result, unchanged=show_all, wide=wide)
        out.flush()
    except BrokenPipeError:
        _silence(out)
    return OVER_BUDGET if fail_on_change and result.changed else OK


@click.command("schema", cls=_Command, context_settings=_SUB, epilog="""\b
Examples:
  paramcount schema > paramcount.schema.json
  # then, first line of a spec, for editors with the YAML language server:
  # yaml-language-server: $schema=paramcount.schema.json
  paramcount schema --output > output.schema.json
""")
@click.option("--output", is_flag=True, help="The schema of --json's output instead of the spec format.")
def schema_command(output):
    """Print the JSON Schema (draft 2020-12) of the spec format, generated from the layer registry."""
    from . import schema

    sys.stdout.write(schema.dumps(schema.output_schema() if output else schema.spec_schema()) + "\n")
    return OK


@click.command("layers", cls=_Command, context_settings=_SUB, epilog="""\b
Examples:
  paramcount layers
  paramcount layers conv2d
""")
@click.argument("type_name", metavar="[TYPE]", required=False)
@click.option("--wide", is_flag=True, help="Every column of the table, however wide the terminal.")
def layers_command(type_name, wide):
    """List the layer types, or show one TYPE's fields, defaults, what it does to a shape, and notes."""
    from .layers import REGISTRY

    if type_name is None:
        body = [(t.name, t.doc or "") for t in REGISTRY.values()]
        notes = ["Composites: sequence (layers), residual (body, shortcut), parallel (branches, merge, axis); "
                 "blocks: see the README.", "paramcount layers TYPE shows a type's fields."]
        render.print_table(sys.stdout, "Layer types", ("Type", "What it does"), body, "wt", wide=wide, limit=None,
                           after=notes)
        return OK
    kind = REGISTRY.get(type_name)
    if kind is None:
        from .errors import did_you_mean
        from .layers import TYPE_ALIASES

        hint = did_you_mean(type_name, list(REGISTRY), TYPE_ALIASES)
        say(f"paramcount: error: no layer type {render.text(type_name, NAME_LIMIT)!r}{hint} "
            "(paramcount layers lists them)")
        return BAD_INPUT
    sys.stdout.write("\n".join(layer_help(kind)) + "\n")
    return OK


def layer_help(kind):
    """One layer type, as `paramcount layers TYPE` shows it."""
    from .docs import _default
    from .layers import COMMON, LayerType

    lines = [f"{kind.name}: {kind.doc}" if kind.doc else kind.name, ""]
    if kind.fields:
        lines.append("Fields (default):")
        width = max(len(f.name) for f in kind.fields)
        for f in kind.fields:
            lines.append(f"  {f.name:<{width}}  ({_default(f)})" + (f"  {f.doc}" if f.doc else ""))
    else:
        lines.append("Fields: none of its own.")
    lines.append(f"Every layer also takes {', '.join(COMMON)}, repeat, shared and tie.")
    aliases = getattr(kind, "aliases", None) or {}
    if aliases:
        lines.append("Other frameworks' names: " + ", ".join(f"{a} -> {b}" for a, b in aliases.items()) + ".")
    rule = type(kind).__doc__
    if rule and rule is not LayerType.__doc__:
        lines.append("Notes: " + " ".join(rule.split()))
    return lines


SUBCOMMANDS = {"diff": diff_command, "schema": schema_command, "layers": layers_command}
