"""Where specs come from: a file, standard input, or a preset shipped in architectures/."""

import os
import stat
import sys

from .errors import did_you_mean, fail
from .limits import MAX_BYTES
from .spec import decode, load_text

MAX_READ = MAX_BYTES + 1  # one byte past the limit: a larger file is refused without reading it all

_HERE = os.path.dirname(os.path.abspath(__file__))


def preset_dir():
    """Installed, the presets sit inside the package; in a checkout, beside it."""
    inside = os.path.join(_HERE, "architectures")
    return inside if os.path.isdir(inside) else os.path.join(os.path.dirname(_HERE), "architectures")


def preset_names():
    return sorted(f[:-5] for f in os.listdir(preset_dir()) if f.endswith(".yaml"))


def load_file(path, source=None, name=None):
    """A spec from a file; errors name `path` as given."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0  # open() says why
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # opening one would wait for a writer
        fail(path, None, "is a pipe or socket, not a spec file (use '-' for standard input)")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ)
    except IsADirectoryError:
        fail(path, None, "is a directory, not a spec file")
    except OSError as e:
        fail(path, None, f"cannot read: {e.strerror or e}")
    return load_text(decode(data, path), path, source or path, name)


def load_preset(name):
    if name not in preset_names():
        fail(f"preset:{name}", None, f"no such preset{did_you_mean(name, preset_names(), cutoff=0.75)} "
                                     f"(presets: {', '.join(preset_names())})")
    return load_file(os.path.join(preset_dir(), name + ".yaml"), f"preset:{name}", name)


def load_stdin():
    if sys.stdin is None:
        fail("<stdin>", None, "standard input is closed")
    return load_text(decode(sys.stdin.buffer.read(MAX_READ), "<stdin>"), "<stdin>", "<stdin>", "stdin")


def load(arg):
    """What the command line means by SPEC: '-', a path, or a preset name."""
    if arg == "-":
        return load_stdin()
    if os.path.lexists(arg) or os.sep in arg or arg.endswith((".yaml", ".yml")):
        return load_file(arg)
    if arg in preset_names():
        return load_preset(arg)
    fail(arg, None, f"no such file, nor a preset{did_you_mean(arg, preset_names(), cutoff=0.75)} "
                    f"(presets: {', '.join(preset_names())})")

