"""The command line: a thin shell over the library that turns its errors into exit codes."""

import gc
import os
import sys

import click

from . import __version__, render
from .analyze import analyze
from .errors import SpecError, one_line, position
from .sources import load, load_preset, preset_names
from .spec import parse_size

OK, OVER_BUDGET, BAD_INPUT = 0, 1, 2


class _Command(click.Command):
    """Usage errors as one line on stderr, exit 2, like every other bad input."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # A short run that builds many small acyclic objects: the cycle collector would rescan them
        # all again and again (nearly half the time on a 10,000-layer spec) to free nothing.
        gc.disable()
        try:
            if sys.stdout is None:
                raise OSError("standard output is closed")
            code = super().main(args, prog_name or "paramcount", complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()
        except click.UsageError as e:
            click.echo(f"paramcount: error: {one_line(e.format_message())}", err=True)
            code = BAD_INPUT
        except BrokenPipeError:
            _silence_stdout()
            code = OK
        except OSError as e:  # a full disk, a closed stdout: the output cannot be written
            click.echo(f"paramcount: error: cannot write the output: {e.strerror or e}", err=True)
            code = BAD_INPUT
        except click.Abort:
            code = 130
        finally:
            # Re-enabled as it is, the collector would at once scan everything the run made
            # (30 ms on a 10,000-layer spec) just before the process ends: freeze that first.
            gc.freeze()
            gc.enable()
        sys.exit(code or OK)


def _silence_stdout():
    """`paramcount alexnet | head`: the reader has what it wanted; no second error at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _size(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _console():
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self):  # rich would exit 1 (our budget status); let `cli` handle it
            raise BrokenPipeError

    return _Console(highlight=False)


def _budget_message(report):
    """One line on stderr; points at the spec's budget when that is the limit exceeded."""
    where = report.source
    if report.budget_mark is not None:
        where = "{}:{}:{}".format(report.path, *position(report.budget_mark))
    origin = "its budget" if report.budget_mark is not None else "--max-params"
    return one_line(f"{where}: {report.name} has {render.number(report.totals.params)} params, "
                    f"over the limit of {render.number(report.max_params)} ({origin})")


def _list_presets(fmt):
    presets = [(name, analyze(load_preset(name))) for name in preset_names()]
    if fmt == "json":
        click.echo(render.presets_json(presets))
        return OK
    body = [(n, render.number(r.totals.params), r.description) for n, r in presets]
    if fmt == "markdown":
        click.echo(render.presets_markdown(body), nl=False)
    else:
        render.print_table(_console(), "Presets", render.PRESET_HEADERS, body, render.PRESET_KINDS)
    return OK


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("specs", nargs=-1, metavar="SPEC...")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="Output format.")
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--max-params", metavar="SIZE", callback=_size,
              help="Exit 1 when a spec's total params exceed SIZE (61706, 60k, 1.5M, 7B).")
@click.option("--list-presets", is_flag=True, help="List the shipped presets with their totals.")
@click.version_option(__version__, "-V", "--version", prog_name="paramcount")
@click.pass_context
def cli(ctx, specs, fmt, as_json, max_params, list_presets):
    """Count the weights and biases of the networks in SPEC, layer by layer.

    SPEC is a YAML file, '-' for standard input, or a preset name
    (see --list-presets). Exit status: 0 fine, 1 over a budget, 2 bad input.
    """
    try:
        return _run(ctx, specs, fmt, as_json, max_params, list_presets)
    except BrokenPipeError:  # inside click, which would exit 1 (our budget status)
        _silence_stdout()
        return OK


def _run(ctx, specs, fmt, as_json, max_params, list_presets):
    if as_json:
        if ctx.get_parameter_source("fmt") is click.core.ParameterSource.COMMANDLINE and fmt != "json":
            raise click.UsageError(f"--json contradicts --format {fmt}")
        fmt = "json"
    if list_presets:
        if specs:
            raise click.UsageError("--list-presets takes no SPEC")
        return _list_presets(fmt)
    if specs.count("-") > 1:
        raise click.UsageError("standard input ('-') can be read only once")
    if not specs:
        raise click.UsageError(f"give a SPEC: a YAML file, '-', or a preset ({', '.join(preset_names())})")
    code, reports = OK, []
    console = _console() if fmt == "table" else None
    for i, arg in enumerate(specs):
        try:
            report = analyze(load(arg), max_params)
        except SpecError as e:
            click.echo(str(e), err=True)
            code = BAD_INPUT
            continue
        reports.append(report)
        if fmt == "table":
            if i:
                console.print()
            render.print_report(console, report)
        elif fmt == "markdown":
            click.echo(("\n" if i else "") + render.to_markdown(report), nl=False)
        if not report.within:
            click.echo(_budget_message(report), err=True)
            code = max(code, OVER_BUDGET)
    if fmt == "json" and (reports or len(specs) > 1):
        click.echo(render.to_json(reports, many=len(specs) > 1))
    return code


main = cli
