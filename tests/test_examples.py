"""The example plugins are separate distributions: installed, they appear in `dftk plugins`."""

from pathlib import Path

from plugin_install import ROOT, dftk_json, env_for, pip_install, run_pytest

EXAMPLES = ROOT / "examples"


def test_cartoon_example_installs_lists_and_passes_its_own_tests(tmp_path):
    site = tmp_path / "site"
    pip_install(EXAMPLES / "cartoon", site)
    env = env_for(site, tmp_path / "home")
    listed = {p["name"]: p for p in dftk_json(env, "plugins")["plugins"]}
    assert listed["cartoon"]["source"] == "installed"
    assert listed["cartoon"]["distribution"] == "dftk-cartoon"
    assert listed["cartoon"]["registers"] == {"generators": ["cartoon"]}
    result = run_pytest(EXAMPLES / "cartoon" / "tests", env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout  # the consent-gate check runs against the core gate


def test_install_script_installs_every_example(tmp_path):
    import subprocess
    import sys

    site = tmp_path / "site"
    subprocess.run(["bash", str(EXAMPLES / "install.sh"), "--no-index", "--target", str(site)], check=True,
                   env={"PIP": f"{sys.executable} -m pip", "PATH": "/usr/bin:/bin"})
    installed = {p.name for p in site.glob("*.dist-info")}
    expected = {f"dftk_{d.name}-0.1.0.dist-info" for d in EXAMPLES.iterdir() if (d / "pyproject.toml").is_file()}
    assert expected and expected <= installed
