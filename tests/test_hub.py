"""`paramcount hf:ORG/NAME[@REVISION]` (issue 10): config.json from the Hugging Face Hub, against a
local HTTP server that answers as the Hub does (no network): HEAD and GET of
`/{repo_id}/resolve/{revision}/config.json` with the X-Repo-Commit and ETag headers
huggingface_hub's hf_hub_download requires, and the Hub's X-Error-Code on errors. HF_ENDPOINT points
at it, HF_HOME (and so the Hub's cache) lies in tmp_path.

Without huggingface_hub the tests that need it skip (fail under PARAMCOUNT_REQUIRE_TORCH=1); the
missing-extra message is tested by hiding the package."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

import paramcount
from conftest import require, run_cli
from paramcount.errors import SpecError, clean
from paramcount.importers import hub
from paramcount.limits import MAX_BYTES
from paramcount.sources import file_text, load

CONFIGS = Path(__file__).resolve().parent / "hf_configs"
ROOT = Path(__file__).resolve().parent.parent
GPT2 = 124_439_808
GPT2_TEXT = (CONFIGS / "gpt2.json").read_bytes()
# An older revision: two layers fewer (a tag, as a user would pin one).
GPT2_SMALL = json.dumps({**json.loads(GPT2_TEXT), "n_layer": 10}).encode()
GPT2_SMALL_PARAMS = GPT2 - 2 * 7_087_872  # one GPT-2 block: 7,087,872 parameters
TOKEN = "hf_test"


class Hub(BaseHTTPRequestHandler):
    """The Hub's file endpoint for the repositories in `REPOS` ({repo_id: {revision: bytes}});
    the special repositories answer as gated (403 GatedRepo) or private (401, no code) ones do."""

    REPOS = {
        "gpt2-org/gpt2": {"main": GPT2_TEXT, "v1.0": GPT2_SMALL},
        "gpt2": {"main": GPT2_TEXT},  # a name without an organisation, as the Hub's oldest ones
        "org/no-config": {},
        "org/huge": {"main": b"{" + b" " * MAX_BYTES + b"}"},
        "org/not-a-config": {"main": b'{"hello": "world"}'},
        "org/not-the-hub": {"main": GPT2_TEXT},
    }
    requests: list = []

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def _answer(self, body):
        Hub.requests.append((self.command, self.path))
        path = self.path.split("?", 1)[0]
        head, sep, tail = path.lstrip("/").partition("/resolve/")
        revision, _, filename = tail.partition("/")
        repo_id, revision, filename = unquote(head), unquote(revision), unquote(filename)
        if repo_id == "org/gated":
            return self._error(403, "GatedRepo", body)
        if repo_id == "org/private":  # readable with the token hf_test, as a private repository is
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._error(401, None, body)
            repo_id = "gpt2-org/gpt2"
        if not sep or repo_id not in self.REPOS:
            return self._error(404, "RepoNotFound", body)
        files = self.REPOS[repo_id]
        if files and revision not in files:
            return self._error(404, "RevisionNotFound", body)
        if filename != "config.json" or revision not in files:
            return self._error(404, "EntryNotFound", body, commit=True)
        data = files[revision]
        if repo_id == "org/not-the-hub":  # a plain web server: no X-Repo-Commit
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return self.wfile.write(data) if body else None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", hashlib.sha1(repo_id.encode() + revision.encode()).hexdigest())
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(self, status, code, body, commit=False):
        data = json.dumps({"error": code or "Unauthorized"}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if commit:
            self.send_header("X-Repo-Commit", "0" * 40)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    """The local Hub, on a free port of 127.0.0.1, for the module's tests."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _hub_env(tmp_path, endpoint):
    """The environment a user would set: the endpoint, a fresh HF_HOME, no token, online."""
    return {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
            "HF_TOKEN": None, "HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None,
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


@pytest.fixture
def local_hub(server, tmp_path, monkeypatch):
    """This process pointed at the local Hub. huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once,
    at import, so its constants are set too (a new process reads the environment: see `proc`)."""
    constants = require("huggingface_hub.constants")
    for key, value in _hub_env(tmp_path, server).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    Hub.requests.clear()
    return server


def proc(tmp_path, endpoint, *args, **env):
    """`python -m paramcount ARGS` in a new process under the local Hub's environment."""
    full = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    full.update({k: v for k, v in _hub_env(tmp_path, endpoint).items() if v is not None})
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT), full.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "paramcount", *args], capture_output=True, text=True,
                          env=full, cwd=tmp_path, timeout=120)


def _error(arg):
    with pytest.raises(SpecError) as info:
        load(arg)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{clean(arg)}:1:1: "), message
    return message


# -- counts -------------------------------------------------------------------------------------------


def test_hub_gpt2_counts_as_the_file(local_hub):
    report = paramcount.analyze(load("hf:gpt2-org/gpt2"))
    assert report.totals.params == GPT2
    assert [c for c, _ in Hub.requests] == ["HEAD", "HEAD", "GET"]  # the probe, hf_hub_download's HEAD, the file
    assert all(p.endswith("/gpt2-org/gpt2/resolve/main/config.json") for _, p in Hub.requests)


def test_hub_cli_json_and_cache(local_hub, tmp_path):
    result = run_cli("hf:gpt2-org/gpt2", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == GPT2
    assert result.stderr == ""
    cached = list((tmp_path / "hf" / "hub").glob("models--gpt2-org--gpt2/snapshots/*/config.json"))
    assert len(cached) == 1 and cached[0].read_bytes() == GPT2_TEXT  # the Hub's cache, as the library keeps it


def test_hub_revision(local_hub):
    assert paramcount.analyze(load("hf:gpt2-org/gpt2@v1.0")).totals.params == GPT2_SMALL_PARAMS
    assert paramcount.analyze(load("hf:gpt2-org/gpt2@main")).totals.params == GPT2
    assert any(p.endswith("/gpt2-org/gpt2/resolve/v1.0/config.json") for _, p in Hub.requests)


def test_hub_name_without_organisation(local_hub):
    assert paramcount.analyze(load("hf:gpt2")).totals.params == GPT2


def test_hub_emit_spec_round_trips(local_hub, tmp_path):
    text, path, source, name = file_text("hf:gpt2-org/gpt2")
    assert path == "hf:gpt2-org/gpt2 (translated)" and source == "hf:gpt2-org/gpt2" and name == "gpt2"
    assert text == file_text(str(CONFIGS / "gpt2.json"))[0].replace(str(CONFIGS / "gpt2.json"), "hf:gpt2-org/gpt2")
    result = run_cli("hf:gpt2-org/gpt2", "--emit-spec")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == text
    spec = tmp_path / "gpt2.yaml"
    spec.write_text(result.stdout)
    assert paramcount.analyze(load(str(spec))).totals.params == GPT2


def test_hub_offline_reads_the_cache(local_hub, monkeypatch):
    load("hf:gpt2-org/gpt2")  # now cached
    monkeypatch.setattr(sys.modules["huggingface_hub.constants"], "HF_HUB_OFFLINE", True)
    Hub.requests.clear()
    assert paramcount.analyze(load("hf:gpt2-org/gpt2")).totals.params == GPT2
    assert Hub.requests == []  # offline: not one request
    assert "HF_HUB_OFFLINE is set and config.json of gpt2-org/gpt2@v1.0 is not in the Hub's cache" in \
        _error("hf:gpt2-org/gpt2@v1.0")


def test_hub_unreachable_reads_the_cache(local_hub, monkeypatch, free_port):
    load("hf:gpt2-org/gpt2")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port}")  # the same files, the server gone
    start = time.monotonic()
    assert paramcount.analyze(load("hf:gpt2-org/gpt2")).totals.params == GPT2
    assert time.monotonic() - start < 5


# -- errors -------------------------------------------------------------------------------------------


@pytest.fixture
def free_port():
    """A port on 127.0.0.1 nothing listens on: connections are refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hub_server_down_fails_quickly(local_hub, monkeypatch, free_port):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port}")
    start = time.monotonic()
    message = _error("hf:gpt2-org/gpt2")
    assert time.monotonic() - start < 5, "no retries with back-off when nothing listens"
    assert f"cannot reach the Hub at http://127.0.0.1:{free_port}" in message
    assert "is not in the Hub's cache" in message


def test_hub_repository_not_found(local_hub):
    message = _error("hf:org/nope")
    assert f"no model repository org/nope on {local_hub}" in message and "HF_TOKEN" in message


def test_hub_revision_not_found(local_hub):
    assert f"no revision 'v9' in gpt2-org/gpt2 on {local_hub}" in _error("hf:gpt2-org/gpt2@v9")


def test_hub_no_config(local_hub):
    assert f"org/no-config has no config.json on {local_hub}" in _error("hf:org/no-config")


def test_hub_gated_and_private(local_hub):
    gated = _error("hf:org/gated")
    assert "org/gated is gated: accept its terms on the Hub, then set HF_TOKEN" in gated
    private = _error("hf:org/private")
    assert "HF_TOKEN" in private and ("401" in private or "no model repository" in private)


def test_hub_token(local_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert paramcount.analyze(load("hf:org/private")).totals.params == GPT2


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://x", "http://[::1", "http://127.0.0.1:99999", "http://",
                                      "http://a\nb"])
def test_hub_bad_endpoint(local_hub, monkeypatch, endpoint):
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    assert "is not an http:// or https:// URL" in _error("hf:gpt2-org/gpt2")
    assert Hub.requests == []


def test_hub_refuses_a_huge_config_before_downloading_it(local_hub):
    assert f"a spec may hold at most {MAX_BYTES:,}" in _error("hf:org/huge")
    assert "GET" not in [c for c, _ in Hub.requests]


def test_hub_endpoint_that_is_not_the_hub(local_hub):
    message = _error("hf:org/not-the-hub")
    assert f"cannot fetch config.json of org/not-the-hub from {local_hub} (" in message
    assert "X-Repo-Commit" in message and message.endswith("and it is not in the Hub's cache")


def test_hub_not_a_config(local_hub):
    assert "not a Hugging Face config" in _error("hf:org/not-a-config")


@pytest.mark.parametrize("arg", ["hf:", "hf:@main", "hf:a/b/c", "hf:/b", "hf:a/", "hf:a b/c", "hf:a/b c",
                                 "hf:../etc", "hf:a/..", "hf:a/b..c", "hf:a--b/c", "hf:a/b@", "hf:a/b@x y",
                                 "hf:a/b@../x", "hf:a/b@-x", "hf:a/b\nc", "hf:a/" + "b" * 97, "hf:a/b@" + "v" * 300])
def test_hub_malformed_names_make_no_request(arg):
    Hub.requests.clear()
    message = _error(arg)  # needs no huggingface_hub: refused before it is imported
    assert "expected hf:ORG/NAME or hf:ORG/NAME@REVISION" in message
    assert Hub.requests == []


def test_hub_parse():
    assert hub.parse("hf:gpt2-org/gpt2") == ("gpt2-org/gpt2", None)
    assert hub.parse("hf:meta-llama/Llama-3.2-1B@refs/pr/1") == ("meta-llama/Llama-3.2-1B", "refs/pr/1")
    assert hub.parse("hf:gpt2@" + "a" * 40) == ("gpt2", "a" * 40)


def test_hub_without_huggingface_hub(monkeypatch):
    for name in [m for m in sys.modules if m == "huggingface_hub" or m.startswith("huggingface_hub.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import huggingface_hub raises ImportError
    message = _error("hf:gpt2-org/gpt2")
    assert message == ("hf:gpt2-org/gpt2:1:1: reading a model from the Hugging Face Hub needs the hub extra: "
                       "pip install 'paramcount[hub]'")
    result = run_cli("hf:gpt2-org/gpt2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == message


# -- real processes -------------------------------------------------------------------------------------


def test_hub_process_counts(server, tmp_path):
    require("huggingface_hub")
    done = proc(tmp_path, server, "hf:gpt2-org/gpt2@v1.0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == GPT2_SMALL_PARAMS
    assert done.stderr == ""


@pytest.mark.parametrize("arg, env, expected", [
    ("hf:org/nope", {}, "no model repository org/nope on "),
    ("hf:gpt2-org/gpt2@v9", {}, "no revision 'v9' in gpt2-org/gpt2 on "),
    ("hf:gpt2-org/gpt2", {"HF_ENDPOINT": "DOWN"}, "cannot reach the Hub at http://127.0.0.1:"),
    ("hf:gpt2-org/gpt2", {"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set and config.json of gpt2-org/gpt2 is not"),
    ("hf:a/b/c", {}, "expected hf:ORG/NAME or hf:ORG/NAME@REVISION"),
])
def test_hub_process_errors(server, tmp_path, free_port, arg, env, expected):
    require("huggingface_hub")
    if env.get("HF_ENDPOINT") == "DOWN":
        env = {"HF_ENDPOINT": f"http://127.0.0.1:{free_port}"}
    done = proc(tmp_path, server, arg, **env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{arg}:1:1: ") and expected in lines[0], lines[0]


def test_hub_process_token_and_bad_endpoint(server, tmp_path):
    require("huggingface_hub")
    done = proc(tmp_path, server, "hf:org/private", "--json", HF_TOKEN=TOKEN)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == GPT2
    done = proc(tmp_path, "http://127.0.0.1:99999", "hf:org/private")  # huggingface_hub would not even import
    assert (done.returncode, done.stderr) == (2, "hf:org/private:1:1: HF_ENDPOINT 'http://127.0.0.1:99999' is not "
                                                 "an http:// or https:// URL\n")


def test_hub_process_without_huggingface_hub(tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['huggingface_hub'] = None\n")
    done = proc(tmp_path, "http://127.0.0.1:9", "hf:gpt2-org/gpt2",
                PYTHONPATH=os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")]))
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("hf:gpt2-org/gpt2:1:1: reading a model from the Hugging Face Hub needs the hub extra: "
                           "pip install 'paramcount[hub]'\n")
