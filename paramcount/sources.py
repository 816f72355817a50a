"""Where specs come from: a file, standard input, a preset shipped in architectures/, or a model's
config.json on the Hugging Face Hub (`hf:ORG/NAME[@REVISION]`)."""

import errno
import os
import select
import stat
import sys
from typing import Any

from .errors import did_you_mean, fail
from .limits import MAX_BYTES
from .spec import Spec, decode, load_text

MAX_READ = MAX_BYTES + 1  # one byte past the limit: a larger file is refused without reading it all

_HERE = os.path.dirname(os.path.abspath(__file__))


def preset_dir() -> str:
    """Installed, the presets sit inside the package; in a checkout, beside it."""
    inside = os.path.join(_HERE, "architectures")
    return inside if os.path.isdir(inside) else os.path.join(os.path.dirname(_HERE), "architectures")


def preset_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(preset_dir()) if f.endswith(".yaml"))


_KIND = {stat.S_IFIFO: "a pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory"}


def _refuse_unless_regular(path: str, mode: int) -> None:
    """Only a regular file is a spec file: a device (/dev/ptmx, /dev/kmsg, /dev/zero) could block
    forever or never end, and a pipe would wait for a writer; '-' is how standard input is read."""
    if stat.S_ISREG(mode):
        return
    kind = _KIND.get(stat.S_IFMT(mode), "a special file")
    hint = " (use '-' for standard input)" if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else ""
    fail(path, None, f"is {kind}, not a spec file{hint}")


def load_file(path: str, source: str | None = None, name: str | None = None) -> Spec:
    """A spec from a regular file, symlinks followed; errors name `path` as given. A Hugging Face
    config.json or a Keras model (.keras, to_json()) is translated into a spec first."""
    return load_text(*file_text(path, source, name))


def file_text(path: str, source: str | None = None, name: str | None = None) -> tuple[str, str, str, str | None]:
    """(spec text, path for its errors, source, default name) of a file: what load_file parses and
    `--emit-spec` prints. `hf:ORG/NAME[@REVISION]` is the Hub's config.json of that model (hub_text)."""
    from .importers.hub import is_hub

    if is_hub(path):
        return hub_text(path, source, name)
    if path.endswith(".keras"):  # a zip of config and weights: only its config.json is read
        try:
            _refuse_unless_regular(path, os.stat(path).st_mode)
        except OSError as e:
            fail(path, None, f"cannot read: {e.strerror or e}")
        from .importers import keras

        return keras.to_spec_text(path), f"{path} (translated)", source or path, name
    return translated(decode(read_file(path), path), path, source or path, name)


def translated(text: str, path: str, source: str, name: str | None) -> tuple[str, str, str, str | None]:
    """JSON that is a Hugging Face config or a Keras model's becomes a spec; anything else is one
    already (JSON is YAML too)."""
    if not (text.lstrip().startswith("{") and (path.endswith(".json") or path == "<stdin>")):
        return text, path, source, name
    import json

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text, path, source, name  # YAML's parser says what is wrong, where
    from .importers import hf, keras

    if hf.is_config(data):
        return hf.read(text, path)[1], f"{path} (translated)", source, name
    if keras.looks_like_keras(data):
        return keras.to_spec_text(data), f"{path} (translated)", source, name
    return text, path, source, name


def hub_text(arg: str, source: str | None = None, name: str | None = None) -> tuple[str, str, str, str | None]:
    """file_text of `hf:ORG/NAME[@REVISION]`: the model's config.json, fetched from the Hugging Face
    Hub (or its cache) and translated; errors name `arg` as given."""
    from .importers import hf, hub

    text = decode(hub.fetch(arg), arg)
    return hf.read(text, arg)[1], f"{arg} (translated)", source or arg, name or hub.parse(arg)[0].rsplit("/", 1)[-1]


def read_file(path: str) -> bytes:
    """A regular file's bytes, at most MAX_READ of them, symlinks followed; errors name `path`."""
    try:
        _refuse_unless_regular(path, os.stat(path).st_mode)  # refused before opening: opening a device acts
        # Checked again on what was opened, in case the path changed in between; O_NONBLOCK keeps
        # open() itself from waiting, O_NOCTTY from taking a terminal.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            info = os.fstat(fd)
            _refuse_unless_regular(path, info.st_mode)
            # What stat calls empty is not read: /proc's files (/proc/kmsg waits for the kernel's
            # log, and reading it takes the messages from others) say size 0, like an empty file.
            data = f.read(MAX_READ) if info.st_size else b""
            if data is None:  # a file that would block, O_NONBLOCK says so rather than wait
                raise BlockingIOError(errno.EAGAIN, "it would wait for data, as no spec file does")
    except IsADirectoryError:
        fail(path, None, "is a directory, not a spec file")
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        hint = _preset_hint(path) if isinstance(e, FileNotFoundError) else ""
        fail(path, None, f"cannot read: {getattr(e, 'strerror', None) or e}{hint}")
    return data


def _preset_hint(path):
    """'; did you mean the preset ...?' when a missing file's stem is close to a preset's name
    (`paramcount lenet.yaml`, what someone reading about the presets types first); else ''."""
    stem = os.path.basename(path)
    for ext in (".yaml", ".yml"):
        if stem.endswith(ext):
            stem = stem[:-len(ext)]
    if not stem or len(stem) > 64:
        return ""
    try:
        names = preset_names()
    except OSError:
        return ""
    hint = did_you_mean(stem, names, cutoff=0.75)  # "; did you mean 'lenet5'?"
    return hint.replace("did you mean ", "did you mean the preset ", 1)


def load_preset(name: str) -> Spec:
    if name not in preset_names():
        fail(f"preset:{name}", None, f"no such preset{did_you_mean(name, preset_names(), cutoff=0.75)} "
                                     f"(presets: {', '.join(preset_names())})")
    return load_file(os.path.join(preset_dir(), name + ".yaml"), f"preset:{name}", name)


def read_stdin(stream: Any = None) -> bytes:
    """Standard input's bytes up to end of file (at most MAX_READ), whatever the descriptor's mode:
    on a non-blocking one, wait for data rather than take an empty read for the end."""
    stream = sys.stdin if stream is None else stream
    if stream is None:
        fail("<stdin>", None, "standard input is closed")
    stream = getattr(stream, "buffer", stream)
    try:
        try:
            fd = stream.fileno()
        except (AttributeError, ValueError, OSError):  # a stream in memory (tests, embedding)
            data = stream.read(MAX_READ) or b""
            return data.encode() if isinstance(data, str) else data
        chunks, size = [], 0
        while size < MAX_READ:
            try:
                chunk = os.read(fd, MAX_READ - size)
            except BlockingIOError:  # O_NONBLOCK and nothing yet: sleep until there is
                _wait_readable(fd)
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as e:  # `paramcount - 0>file`: a descriptor open for writing only
        fail("<stdin>", None, f"cannot read: {e.strerror or e}")


def _wait_readable(fd: int) -> None:
    if hasattr(select, "poll"):  # any descriptor number; select() stops at 1,024
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        poller.poll()
    else:
        select.select([fd], [], [])


def load_stdin() -> Spec:
    return load_text(*translated(decode(read_stdin(), "<stdin>"), "<stdin>", "<stdin>", "stdin"))


def load(arg: str) -> Spec:
    """What the command line means by SPEC: '-', `hf:ORG/NAME[@REVISION]` (the Hugging Face Hub), a
    path, or a preset name. A file whose name starts `hf:` is read as `./hf:...`."""
    if arg == "-":
        return load_stdin()
    if arg.startswith("hf:"):
        return load_text(*hub_text(arg))
    if os.path.lexists(arg) or os.sep in arg or arg.endswith((".yaml", ".yml", ".json", ".keras")):
        return load_file(arg)
    if arg in preset_names():
        return load_preset(arg)
    fail(arg, None, f"no such file, nor a preset{did_you_mean(arg, preset_names(), cutoff=0.75)} "
                    f"(presets: {', '.join(preset_names())})")

