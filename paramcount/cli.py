"""The command line: a thin shell over the library that turns its errors into exit codes.

`main` is the console script (and `python -m paramcount`): it alone sets up the process (standard
streams that never raise on a character they cannot encode, the cycle collector paused for the run).
`cli` is the click command, for in-process callers such as click's CliRunner: it leaves the
interpreter as it found it.
"""

import gc
import os
import sys

import click

from . import __version__, render
from .analyze import analyze
from .errors import SpecError, position
from .sources import load, load_preset, preset_names
from .spec import parse_size

OK, OVER_BUDGET, BAD_INPUT = 0, 1, 2
NAME_LIMIT = 80  # characters of a name or path in a message of ours


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


def _budget_message(report):
    """One line on stderr; points at the spec's budget when that is the limit exceeded."""
    where = render.text(report.source, NAME_LIMIT)
    if report.budget_mark is not None:
        where = "{}:{}:{}".format(render.text(report.path, NAME_LIMIT), *position(report.budget_mark))
    origin = "its budget" if report.budget_mark is not None else "--max-params"
    return (f"{where}: {render.text(report.name, NAME_LIMIT)} has {render.number(report.totals.params)} params, "
            f"over the limit of {render.number(report.max_params)} ({origin})")


def _list_presets(fmt, wide):
    presets = [(name, analyze(load_preset(name))) for name in preset_names()]
    out = sys.stdout
    if fmt == "json":
        out.write(render.presets_json(presets) + "\n")
        return OK
    body = [(name, render.number(r.totals.params), render.text(r.description or "")) for name, r in presets]
    if fmt == "markdown":
        out.write(render.presets_markdown(body))
    else:
        render.print_table(out, "Presets", render.PRESET_HEADERS, body, render.PRESET_KINDS, wide=wide, limit=None)
    return OK


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="Output format.")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--depth", type=click.IntRange(min=1), default=render.DEPTH, show_default=True, metavar="N",
              help="Levels of blocks the table and markdown show; deeper rows are folded into their block "
                   "(totals unchanged). JSON always has the whole tree.")
@click.option("--wide", is_flag=True, help="Every column of the table, however wide the terminal.")
@click.option("--max-params", metavar="SIZE", callback=_size,
              help="Exit 1 when a spec's total params exceed SIZE (61706, 60k, 1.5M, 7B).")
@click.option("--list-presets", is_flag=True, help="List the shipped presets with their totals.")
@click.version_option(__version__, "-V", "--version", prog_name="paramcount")
@click.pass_context
def cli(ctx, specs, fmt, as_json, depth, wide, max_params, list_presets):
    """Count the weights and biases of the networks in SPEC, layer by layer.

    SPEC is a YAML file, '-' for standard input, or a preset name
    (see --list-presets). Exit status: 0 fine, 1 over a budget, 2 bad input.
    """
    try:
        return _run(ctx, specs, fmt, as_json, depth, wide, max_params, list_presets)
    except BrokenPipeError:  # inside click, which would exit 1 (our budget status)
        _silence(sys.stdout)
        return OK


def _run(ctx, specs, fmt, as_json, depth, wide, max_params, list_presets):
    if as_json:
        if ctx.get_parameter_source("fmt") is click.core.ParameterSource.COMMANDLINE and fmt != "json":
            raise click.UsageError(f"--json contradicts --format {fmt}")
        fmt = "json"
    if list_presets:
        if specs:
            raise click.UsageError("--list-presets takes no SPEC")
        return _list_presets(fmt, wide)
    if specs.count("-") > 1:
        raise click.UsageError("standard input ('-') can be read only once")
    if not specs:
        raise click.UsageError(f"give a SPEC: a YAML file, '-', or a preset ({', '.join(preset_names())})")
    # Each spec is printed as soon as it is counted and then let go: memory is bounded by one spec,
    # however many are given; only the exit status is kept.
    code, printed, many, out = OK, 0, len(specs) > 1, sys.stdout
    for arg in specs:
        try:
            report = analyze(load(arg), max_params)
        except SpecError as e:
            say(str(e))
            code = BAD_INPUT
            continue
        if fmt == "table":
            if printed:
                out.write("\n")
            render.print_report(out, report, depth=depth, wide=wide)
        elif fmt == "markdown":
            if printed:
                out.write("\n")
            render.write_markdown(out, report, depth)
        else:
            out.write(("[\n" if not printed else ",\n") if many else "")
            for piece in render.json_pieces(report.to_dict()):
                out.write(piece)
            if not many:
                out.write("\n")
        printed += 1
        out.flush()  # each spec's output as soon as it is whole (and before its budget message)
        if not report.within:
            say(_budget_message(report))
            code = max(code, OVER_BUDGET)
        del report
    if fmt == "json" and many:
        out.write("\n]\n" if printed else "[]\n")
    return code
