"""The plugin host: entry points, --plugins-dir, failure isolation, allow-list, tracing."""

from __future__ import annotations

import json
import textwrap

import pytest

from toolkit.plugins import PluginHost, set_host

GOOD = '''
from toolkit.hookspecs import hookimpl
from toolkit.generation import Generator, GeneratedVideo


class Mirror(Generator):
    name = "mirror-test"
    scope = "reenact"
    description = "test generator"

    def generate(self, request, context):
        return GeneratedVideo(frames=[], fps=25, model="none")


@hookimpl
def register_generators(register):
    register(Mirror)


@hookimpl
def register_commands(cli):
    @cli.command(name="hello-test")
    def hello():
        """Say hello from a directory plugin."""
        print("hello from the plugins dir")
'''

BROKEN_IMPORT = "import this_module_does_not_exist\n"

RAISES_IN_HOOK = '''
from toolkit.hookspecs import hookimpl


@hookimpl
def register_detectors(register):
    raise RuntimeError("detector registry exploded")
'''


@pytest.fixture
def plugins_dir(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "broken.py").write_text(BROKEN_IMPORT)
    (tmp_path / "raises.py").write_text(RAISES_IN_HOOK)
    return tmp_path


@pytest.fixture(autouse=True)
def fresh_host():
    set_host(None)
    yield
    set_host(None)


def test_builtin_plugins_load_through_the_entry_point_group():
    host = PluginHost()
    builtins = {name for name, info in host.info.items() if info.source == "builtin"}
    assert {"faces_mediapipe", "faces_mtcnn"} <= builtins
    assert not [f for f in host.failures if f.plugin in builtins]


def test_directory_plugins_failures_are_isolated(plugins_dir):
    host = PluginHost(plugins_dir=plugins_dir, load_entry_points=False)
    assert set(host.info) == {"good", "raises"}
    assert "mirror-test" in host.generators()
    assert host.detectors() == {}
    failures = {(f.plugin, f.stage): f.error for f in host.failures}
    assert "ModuleNotFoundError" in failures[("broken", "import")]
    assert "detector registry exploded" in failures[("raises", "register_detectors")]


def test_allow_list_limits_entry_point_plugins(monkeypatch):
    monkeypatch.setenv("DFTK_LOAD_PLUGINS", "faces_mtcnn")
    host = PluginHost()
    assert set(host.info) == {"faces_mtcnn"}
    monkeypatch.setenv("DFTK_LOAD_PLUGINS", "")
    assert PluginHost().info == {}


def test_tracing_reports_hook_calls(plugins_dir, monkeypatch, capsys):
    monkeypatch.setenv("DFTK_TRACE_PLUGINS", "1")
    PluginHost(plugins_dir=plugins_dir, load_entry_points=False).generators()
    assert "[dftk trace] good.register_generators" in capsys.readouterr().err


def test_duplicate_names_are_reported(plugins_dir, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "again.py").write_text(textwrap.dedent(GOOD))
    host = PluginHost(plugins_dir=plugins_dir, load_entry_points=False)
    host.load_directory(other)
    assert list(host.generators()) == ["mirror-test"]
    assert any("already taken" in f.error for f in host.failures)


def test_cli_lists_plugins_as_json(plugins_dir, run_cli):
    code, out, err = run_cli("--plugins-dir", plugins_dir, "plugins", "--json")
    assert code == 0, err
    data = json.loads(out)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["good"]["source"] == "directory"
    assert by_name["good"]["registers"]["generators"] == ["mirror-test"]
    assert "register_commands" in by_name["good"]["hooks"]
    assert by_name["faces_mediapipe"]["source"] == "builtin"
    assert by_name["faces_mediapipe"]["version"]
    stages = {(f["plugin"], f["stage"]) for f in data["failures"]}
    assert ("broken", "import") in stages and ("raises", "register_detectors") in stages


def test_plugin_commands_are_added_to_the_cli(plugins_dir, run_cli):
    code, out, _ = run_cli("--plugins-dir", plugins_dir, "hello-test")
    assert code == 0 and "hello from the plugins dir" in out
