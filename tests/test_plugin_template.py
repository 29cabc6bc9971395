"""`dftk plugin new` writes a package that installs, is found by dftk and passes its own tests."""

import json

import pytest

from plugin_install import dftk_json, env_for, pip_install, run_pytest
from toolkit.cli import main


@pytest.mark.parametrize("kind, name, slug", [("generator", "Sepia Tint", "sepia_tint"),
                                              ("detector", "Face Detail", "face_detail")])
def test_template_installs_and_passes_its_tests(tmp_path, capsys, monkeypatch, samples, kind, name, slug):
    monkeypatch.setenv("DFTK_HOME", str(tmp_path / "home"))
    assert main(["plugin", "new", name, "--kind", kind, "--dir", str(tmp_path), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    distribution, module = "dftk-" + slug.replace("_", "-"), "dftk_" + slug
    package = tmp_path / distribution
    assert made["path"] == str(package) and made["module"] == module
    assert {p.name for p in package.iterdir()} == {"pyproject.toml", "README.md", module, "tests"}
    assert f'{slug} = "{module}"' in (package / "pyproject.toml").read_text()

    site = tmp_path / "site"
    pip_install(package, site)
    env = env_for(site, tmp_path / "home")
    listed = {p["name"]: p for p in dftk_json(env, "plugins")["plugins"]}
    entry = listed[slug]
    assert (entry["source"], entry["distribution"], entry["version"]) == ("installed", distribution, "0.1.0")
    assert entry["registers"] == {kind + "s": [slug]}

    result = run_pytest(package / "tests", env)
    assert result.returncode == 0, result.stdout + result.stderr
    # generator: conformance, frames, the consent gate; detector: conformance, contract and bad input, a blurred face
    assert "3 passed" in result.stdout

    if kind == "detector":  # not a default detector: `dftk detect --detectors NAME` runs it by name
        report = dftk_json(env, "detect", str(samples["single_face.jpg"]), "--detectors", slug)
        (result,) = report["detectors"]
        assert result["detector"] == slug and result["applicable"] and result["clip_score"] == 0.5
        assert result["explanation"].startswith("face detail: the face holds")
    else:  # DFTK_LOAD_PLUGINS is an allow-list of entry-point names
        assert slug not in {p["name"] for p in dftk_json({**env, "DFTK_LOAD_PLUGINS": "other"}, "plugins")["plugins"]}


def test_plugins_dir_loads_a_single_file_plugin(tmp_path):
    plugin_dir = tmp_path / "my_plugins"
    plugin_dir.mkdir()
    (plugin_dir / "hello.py").write_text(
        "from toolkit.hookspecs import hookimpl\n\n"
        "@hookimpl\n"
        "def register_commands(cli):\n"
        "    @cli.command()\n"
        "    def hello():\n"
        "        print('hello from a plugins-dir plugin')\n"
    )
    env = env_for(tmp_path / "no-site", tmp_path / "home", DFTK_LOAD_PLUGINS="")
    listed = dftk_json(env, "--plugins-dir", str(plugin_dir), "plugins")
    assert [(p["name"], p["source"], p["hooks"]) for p in listed["plugins"]] == [("hello", "directory", ["register_commands"])]


def test_template_errors(tmp_path, capsys):
    assert main(["plugin", "new", "x-ray", "--dir", str(tmp_path)]) == 0
    assert main(["plugin", "new", "x-ray", "--dir", str(tmp_path)]) == 2  # already exists
    assert main(["plugin", "new", "9lives", "--dir", str(tmp_path)]) == 2
    assert main(["plugin", "new", "thing", "--kind", "painter", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
