import hashlib
import json
import os
import types

import pytest

from loopback_http import LoopbackServer
from toolkit.cli import main
from toolkit.errors import ModelError, NetworkError
from toolkit.hookspecs import hookimpl
from toolkit.models import ModelRegistry, ModelSpec
from toolkit.plugins import PluginHost, set_host

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def spec(**kw) -> ModelSpec:
    base = dict(name="tiny", sha256=SHA, file_name="tiny.onnx", licence="CC-BY-NC-4.0", size=len(PAYLOAD),
                commercial_use=False)
    base.update(kw)
    return ModelSpec(**base)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DFTK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DFTK_ALLOW_DOWNLOADS", raising=False)
    yield tmp_path
    set_host(None)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mine.onnx"
    path.write_bytes(PAYLOAD)
    return path


def test_spec_validation():
    with pytest.raises(ModelError, match="sha256"):
        spec(sha256="abc")
    with pytest.raises(ModelError, match="name"):
        spec(name="Bad Name")
    with pytest.raises(ModelError, match="file_name"):
        spec(file_name="../x.onnx")


def test_add_local_file_then_path_needs_accepted_licence(model_file):
    reg = ModelRegistry([spec()])
    assert reg.status("tiny").state == "missing"
    status = reg.add("tiny", model_file)
    assert status.state == "cached" and status.path.read_bytes() == PAYLOAD
    with pytest.raises(ModelError, match="dftk models accept tiny"):
        reg.path("tiny")
    reg.accept("tiny")
    assert reg.path("tiny") == status.path
    # acceptance and cache survive a new registry instance
    assert ModelRegistry([spec()]).path("tiny") == status.path


def test_add_refuses_wrong_hash(tmp_path):
    other = tmp_path / "other.onnx"
    other.write_bytes(PAYLOAD[:-1] + b"x")
    reg = ModelRegistry([spec()])
    with pytest.raises(ModelError, match="refused") as err:
        reg.add("tiny", other)
    assert "\n" not in str(err.value)
    assert reg.status("tiny").state == "missing"
    assert not any(p.is_file() for p in reg.root.rglob("*.onnx*"))


def test_cached_file_changed_later_is_rehashed_and_refused(model_file):
    reg = ModelRegistry([spec()])
    reg.add("tiny", model_file, link=False)
    reg.accept("tiny")
    cached = reg.file_path("tiny")
    cached.write_bytes(PAYLOAD[:1000])  # corrupted after it was verified
    assert reg.status("tiny").state == "changed"
    with pytest.raises(ModelError, match="expected"):
        reg.path("tiny")
    assert not cached.exists()


def test_user_model_is_persisted_and_pinned(model_file, tmp_path):
    reg = ModelRegistry([])
    with pytest.raises(ModelError, match="--licence"):
        reg.add("mine", model_file)
    reg.add("mine", model_file, licence="my own", commercial_use=True)
    again = ModelRegistry([])
    s = again.spec("mine")
    assert (s.origin, s.sha256, s.size, s.commercial_use) == ("user", SHA, len(PAYLOAD), True)
    other = tmp_path / "other.onnx"
    other.write_bytes(b"not the same")
    with pytest.raises(ModelError, match="refused"):
        again.add("mine", other)


def test_no_download_without_permission():
    with LoopbackServer(PAYLOAD) as srv:
        reg = ModelRegistry([spec(url=srv.url)])
        reg.accept("tiny")
        with pytest.raises(ModelError, match="--allow-download"):
            reg.path("tiny")
        assert srv.requests == []


def test_download_when_allowed_by_env(monkeypatch):
    monkeypatch.setenv("DFTK_ALLOW_DOWNLOADS", "1")
    seen = []
    with LoopbackServer(PAYLOAD) as srv:
        reg = ModelRegistry([spec(url=srv.url)])
        reg.accept("tiny")
        path = reg.path("tiny", progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert not path.with_name(path.name + ".part").exists()


def test_interrupted_download_resumes_with_range():
    with LoopbackServer(PAYLOAD) as srv:
        reg = ModelRegistry([spec(url=srv.url)])
        reg.accept("tiny")
        srv.cut_after = 120_000
        with pytest.raises(NetworkError, match="resume"):
            reg.path("tiny", allow_download=True)
        part = reg.file_path("tiny").with_name("tiny.onnx.part")
        kept = part.stat().st_size
        assert 0 < kept <= 120_000  # whole chunks that arrived before the cut
        assert reg.status("tiny").state == "partial"
        assert not reg.file_path("tiny").exists()  # never a half file under the real name
        path = reg.path("tiny", allow_download=True)
        assert srv.requests == [None, f"bytes={kept}-"]
        assert srv.bytes_sent == len(PAYLOAD) - kept
    assert path.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_cleanly():
    with LoopbackServer(PAYLOAD) as srv:
        srv.honour_range = False
        reg = ModelRegistry([spec(url=srv.url)])
        reg.accept("tiny")
        srv.cut_after = 50_000
        with pytest.raises(NetworkError):
            reg.path("tiny", allow_download=True)
        path = reg.path("tiny", allow_download=True)
    assert path.read_bytes() == PAYLOAD


def test_download_with_wrong_hash_is_refused_and_leaves_nothing():
    bad = hashlib.sha256(b"something else").hexdigest()
    with LoopbackServer(PAYLOAD) as srv:
        reg = ModelRegistry([spec(url=srv.url, sha256=bad)])
        reg.accept("tiny")
        with pytest.raises(ModelError, match="refused"):
            reg.path("tiny", allow_download=True)
    assert not any(p.is_file() for p in reg.root.rglob("tiny*"))


# -- through plugins and the CLI -------------------------------------------------------

def _host_with(*specs):
    plugin = types.ModuleType("model_plugin")

    @hookimpl
    def register_models(register):
        for s in specs:
            register(s)
        register("not a spec")

    plugin.register_models = register_models
    host = PluginHost(load_entry_points=False)
    host.register(plugin, "model_plugin")
    set_host(host)
    return host


def run_json(capsys, *args):
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_models_flow(capsys, model_file, tmp_path):
    host = _host_with(spec())
    code, listed = run_json(capsys, "models", "list")
    assert code == 0
    (entry,) = listed["models"]
    assert (entry["name"], entry["origin"], entry["state"], entry["accepted"]) == ("tiny", "model_plugin", "missing", False)
    assert any("not a ModelSpec" in f.error for f in host.failures)

    code, added = run_json(capsys, "models", "add", "tiny", "--file", str(model_file))
    assert code == 0 and added["state"] == "cached"
    code, out = run_json(capsys, "models", "path", "tiny")
    assert code == 6 and out["error"] == "model_error" and "accept" in out["message"]
    code, _ = run_json(capsys, "models", "accept", "tiny")
    assert code == 0
    code, out = run_json(capsys, "models", "path", "tiny")
    assert code == 0 and open(out["path"], "rb").read() == PAYLOAD
    code, out = run_json(capsys, "models", "verify")
    assert code == 0 and out["verified"] == [{"name": "tiny", "ok": True, "path": added["path"]}]

    wrong = tmp_path / "wrong.onnx"
    wrong.write_bytes(b"\0" * 10)
    code, out = run_json(capsys, "models", "add", "tiny", "--file", str(wrong))
    assert code == 6 and "refused" in out["message"]


def test_cli_download_needs_flag(capsys):
    with LoopbackServer(PAYLOAD) as srv:
        _host_with(spec(url=srv.url))
        assert run_json(capsys, "models", "accept", "tiny")[0] == 0
        code, out = run_json(capsys, "models", "path", "tiny")
        assert code == 6 and "--allow-download" in out["message"]
        code, out = run_json(capsys, "models", "path", "tiny", "--allow-download")
        assert code == 0 and open(out["path"], "rb").read() == PAYLOAD
