"""`hf:ORG/NAME[@REVISION]`: a model's `config.json` from the Hugging Face Hub.

Only `config.json` is fetched, with `huggingface_hub.hf_hub_download` (the optional extra
`pip install 'paramcount[hub]'`), so the library's own settings hold: `HF_ENDPOINT` (read when the
file is fetched), `HF_TOKEN` or the stored login, `HF_HUB_OFFLINE`, `HF_HUB_ETAG_TIMEOUT` and the
Hub's cache (`HF_HOME`, `HF_HUB_CACHE`). A file the Hub says is larger than MAX_BYTES is refused
before it is downloaded; one on disk is read no further than that.

Every failure is one SpecError naming the argument as typed, at 1:1: a malformed name (refused
before any request), the extra missing, the Hub unreachable, the repository, revision or file not
found, access refused (gated or private).
"""

import inspect
import os
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

from ..errors import Problem, SpecError, clean, quote, unprintable
from ..limits import MAX_BYTES

PREFIX = "hf:"
EXTRA = "needs the hub extra: pip install 'paramcount[hub]'"
_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")  # the Hub's rule: 96 at most
_REVISION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}")
USAGE = "expected hf:ORG/NAME or hf:ORG/NAME@REVISION"


def is_hub(arg: str) -> bool:
    """Whether a SPEC argument names a Hub model (`hf:...`); `./hf:x` is a file."""
    return arg.startswith(PREFIX)


def _fail(arg, message):
    raise SpecError([Problem(arg, 1, 1, message)])


def parse(arg: str) -> tuple[str, str | None]:
    """(repo_id, revision or None) of `hf:ORG/NAME[@REVISION]`, or SpecError: nothing is requested
    for a name the Hub could not hold (empty parts, a third part, spaces, `..`, `--`, controls)."""
    body = arg[len(PREFIX):]
    repo_id, at, revision = body.partition("@")
    if not repo_id:
        _fail(arg, f"no model named; {USAGE}")
    parts = repo_id.split("/")
    if len(parts) > 2:
        _fail(arg, f"{quote(repo_id)} is not a model name: {USAGE}")
    for part in parts:
        if not _PART.fullmatch(part) or ".." in part or "--" in part:
            _fail(arg, f"{quote(repo_id)} is not a model name (letters, digits, '-', '_' and '.', "
                       f"no '..' or '--', 96 characters at most): {USAGE}")
    if at and (not _REVISION.fullmatch(revision) or ".." in revision or "//" in revision
               or revision.endswith(("/", ".lock", "."))):
        _fail(arg, f"{quote(revision)} is not a revision (a branch, tag or commit: letters, digits, "
                   f"'-', '_', '.', '+' and '/', no '..'): {USAGE}")
    return repo_id, (revision if at else None)


class _Never(Exception):
    """Stands for an error class this version of huggingface_hub does not have."""


_ERRORS = ("GatedRepoError", "RepositoryNotFoundError", "RevisionNotFoundError", "LocalEntryNotFoundError",
           "EntryNotFoundError", "OfflineModeIsEnabled", "HfHubHTTPError")


def _import_hub(arg):
    """(the functions used, huggingface_hub.constants, {error name: class}); the classes live in
    huggingface_hub.errors since 0.24 and in huggingface_hub.utils before."""
    try:
        from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url, utils
    except ImportError:  # also sys.modules['huggingface_hub'] = None
        _fail(arg, f"reading a model from the Hugging Face Hub {EXTRA}")
    except Exception as e:  # it reads its HF_* settings on import, and some refuse to load
        _fail(arg, f"huggingface_hub cannot load: {_say(e)} (check the HF_* environment variables)")
    try:
        from huggingface_hub import errors as homes
    except ImportError:
        homes = utils
    found = {name: getattr(homes, name, None) or getattr(utils, name, None) or _Never for name in _ERRORS}
    functions = SimpleNamespace(hf_hub_download=hf_hub_download, hf_hub_url=hf_hub_url,
                                get_hf_file_metadata=get_hf_file_metadata)
    return functions, constants, found


def _check_endpoint(arg, endpoint):
    """Refuse an HF_ENDPOINT that is no http(s) URL before anything reads it."""
    try:
        parts = urlsplit(endpoint)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a bad port or IPv6 address
        ok = False
    if not ok or unprintable(endpoint):
        _fail(arg, f"HF_ENDPOINT {quote(endpoint)} is not an http:// or https:// URL")


def _endpoint(constants):
    """HF_ENDPOINT as it is now (the library reads it once, at import), else the library's."""
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _offline(constants):
    check = getattr(constants, "is_offline_mode", None)
    return bool(check() if callable(check) else getattr(constants, "HF_HUB_OFFLINE", False))


def _say(error):
    """An exception's first line, for a message that stays one line."""
    text = str(error).strip().splitlines()
    return clean(text[0] if text else type(error).__name__, 200)


def _probe(hub, constants, http_error, repo_id, revision, endpoint):
    """HEAD the file once, without the retries hf_hub_download makes when no connection can be
    opened (half a minute of back-off). Returns (size or None, None) when the server answered, an
    error page included (hf_hub_download then says what it means), or (None, the connection error)."""
    url = hub.hf_hub_url(repo_id, "config.json", revision=revision, endpoint=endpoint)
    kwargs = {"timeout": getattr(constants, "HF_HUB_ETAG_TIMEOUT", 10)}
    params = inspect.signature(hub.get_hf_file_metadata).parameters
    if "retry_on_errors" in params:
        kwargs["retry_on_errors"] = False
    if "endpoint" in params:
        kwargs["endpoint"] = endpoint
    try:
        return getattr(hub.get_hf_file_metadata(url, **kwargs), "size", None), None
    except http_error:
        return None, None
    except Exception as e:  # httpx's or requests' connection and timeout errors, proxies, TLS
        return None, e


def fetch(arg: str) -> bytes:
    """The bytes of `config.json` of the model `arg` names (`hf:ORG/NAME[@REVISION]`), from the
    Hub or its cache, at most MAX_BYTES + 1 of them; SpecError (one line) on any failure."""
    repo_id, revision = parse(arg)
    if os.environ.get("HF_ENDPOINT"):
        _check_endpoint(arg, os.environ["HF_ENDPOINT"])
    hub, constants, errors = _import_hub(arg)
    endpoint = _endpoint(constants)
    where = f"{repo_id}@{revision}" if revision else repo_id
    kwargs = {"revision": revision, "endpoint": endpoint}
    unreachable = None
    if not _offline(constants):
        size, unreachable = _probe(hub, constants, errors["HfHubHTTPError"], repo_id, revision, endpoint)
        if size is not None and size > MAX_BYTES:
            _fail(arg, f"config.json holds {size:,} bytes; a spec may hold at most {MAX_BYTES:,}")
        if unreachable is not None:
            kwargs["local_files_only"] = True  # what the library falls back to: the cache
    try:
        path = hub.hf_hub_download(repo_id, "config.json", **kwargs)
    except Exception as e:  # every failure, the HTTP client's own errors included, is one line
        _fail(arg, _message(e, errors, where, repo_id, revision, endpoint, unreachable, _offline(constants)))
    try:
        with open(path, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        _fail(arg, f"cannot read config.json of {where} from the Hub's cache: {e.strerror or e}")


def _message(e, errors, where, repo_id, revision, endpoint, unreachable, offline):
    """What went wrong fetching, in one line, from huggingface_hub's exception `e`."""
    if isinstance(e, errors["GatedRepoError"]):
        return f"{where} is gated: accept its terms on the Hub, then set HF_TOKEN to a token with access"
    if isinstance(e, errors["RepositoryNotFoundError"]):
        return (f"no model repository {repo_id} on {endpoint} (if it is private or gated, "
                f"set HF_TOKEN to a token with access)")
    if isinstance(e, errors["RevisionNotFoundError"]):
        return f"no revision {quote(revision or 'main')} in {repo_id} on {endpoint}"
    if isinstance(e, (errors["LocalEntryNotFoundError"], errors["OfflineModeIsEnabled"])):
        if unreachable is not None:
            return (f"cannot reach the Hub at {endpoint} ({_say(unreachable)}), and config.json of "
                    f"{where} is not in the Hub's cache")
        if offline:
            return f"HF_HUB_OFFLINE is set and config.json of {where} is not in the Hub's cache"
        cause = e.__cause__ or e  # the library's error behind "cannot find the requested files"
        return (f"cannot fetch config.json of {where} from {endpoint} ({_say(cause)}), and it is not in "
                f"the Hub's cache")
    if isinstance(e, errors["EntryNotFoundError"]) and _is_404(e):
        return f"{where} has no config.json on {endpoint}"
    if isinstance(e, errors["HfHubHTTPError"]):
        return _http_message(e, where, endpoint)
    return f"cannot fetch config.json of {where} from {endpoint}: {_say(e)}"


def _status(error):
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _is_404(error):
    return _status(error) in (None, 404)


def _http_message(error, where, endpoint):
    status = _status(error)
    if status in (401, 403):
        return (f"the Hub refused access to {where} (HTTP {status}): it is private or gated; "
                f"set HF_TOKEN to a token with access")
    return f"the Hub at {endpoint} answered HTTP {status or '?'} for {where}: {_say(error)}"
