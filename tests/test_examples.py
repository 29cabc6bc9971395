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


def test_blink_detector_example_installs_lists_and_runs_in_dftk_detect(tmp_path, samples):
    # Its own tests run with the rest of the suite (testpaths); here: the installed distribution.
    site = tmp_path / "site"
    pip_install(EXAMPLES / "blink", site)
    env = env_for(site, tmp_path / "home")
    listed = {p["name"]: p for p in dftk_json(env, "plugins")["plugins"]}
    assert (listed["blink"]["source"], listed["blink"]["distribution"]) == ("installed", "dftk-blink")
    assert listed["blink"]["registers"] == {"detectors": ["blink"]}
    # 120 analysed frames: 5 s from the middle of a real 20 s clip
    report = dftk_json(env, "detect", str(samples["WolfgangLanger_Pexels.mp4"]), "--detectors", "blink",
                       "--max-frames", "120")
    (result,) = report["detectors"]
    assert result["detector"] == "blink" and result["applicable"] and result["clip_score"] == 0.5
    facts = next(e["data"] for e in result["evidence"] if e["kind"] == "fact")
    assert facts["blinks"] >= 2 and result["explanation"].startswith(f"blinks: {facts['blinks']} in 5.0 s")
    assert report["sampling"]["analysed_frames"] == 120


def test_install_script_installs_every_example(tmp_path):
    import subprocess
    import sys

    site = tmp_path / "site"
    subprocess.run(["bash", str(EXAMPLES / "install.sh"), "--no-index", "--target", str(site)], check=True,
                   env={"PIP": f"{sys.executable} -m pip", "PATH": "/usr/bin:/bin"})
    installed = {p.name for p in site.glob("*.dist-info")}
    expected = {f"dftk_{d.name}-0.1.0.dist-info" for d in EXAMPLES.iterdir() if (d / "pyproject.toml").is_file()}
    assert expected and expected <= installed
