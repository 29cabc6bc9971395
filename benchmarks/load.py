"""Load: N concurrent detection jobs through gradio_client against the web app on loopback.

Starts ``dftk web`` in a subprocess on a free loopback port with a throw-away DFTK_HOME
(or uses ``--url``), then submits ``--jobs`` detection requests at once, each from its own
``gradio_client.Client``, and reports per-job completion times and failures (target: 0).
Writes benchmarks/results/load.json.

    PYTHONPATH=. python benchmarks/load.py [--jobs 20] [--clip single_face.mp4] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "load.json"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(home: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DFTK_HOME": str(home)}
    from toolkit.paths import samples_dir

    env.setdefault("DFTK_SAMPLES_DIR", str(samples_dir()))
    proc = subprocess.Popen([sys.executable, "-c", "from toolkit.cli import main; raise SystemExit(main())",
                             "web", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            log.append(line)
            if "running on" in line:
                break
            if not line and proc.poll() is not None:
                raise SystemExit("the web app did not start:\n" + "".join(log))
        threading.Thread(target=lambda: [log.append(x) for x in proc.stdout], daemon=True).start()
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _one(url: str, clip: Path, start_barrier: threading.Barrier, out: dict) -> None:
    from gradio_client import Client, handle_file

    try:
        client = Client(url, verbose=False)
        start_barrier.wait()
        t0 = time.perf_counter()
        result = client.predict(handle_file(str(clip)), api_name="/detect")
        out["seconds"] = time.perf_counter() - t0
        out["verdict"] = result[0] if isinstance(result, (list, tuple)) else result
    except Exception as exc:  # every failure is counted and reported, not raised
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]


def run(url: str, jobs: int, clip: Path) -> dict:
    barrier = threading.Barrier(jobs)
    outcomes = [dict() for _ in range(jobs)]
    threads = [threading.Thread(target=_one, args=(url, clip, barrier, outcomes[i])) for i in range(jobs)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    times = sorted(o["seconds"] for o in outcomes if "seconds" in o)
    failures = [o["error"] for o in outcomes if "error" in o]
    return {
        "jobs": jobs,
        "clip": clip.name,
        "completed": len(times),
        "failures": len(failures),
        "failure_messages": failures,
        "wall_seconds": round(wall, 2),
        "min_s": round(times[0], 2) if times else None,
        "median_s": round(statistics.median(times), 2) if times else None,
        "p90_s": round(times[int(0.9 * (len(times) - 1))], 2) if times else None,
        "max_s": round(times[-1], 2) if times else None,
        "per_job_s": [round(t, 2) for t in times],
        "verdicts": sorted({str(o.get("verdict"))[:80] for o in outcomes if "verdict" in o}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--clip", default="single_face.mp4", help="a sample name or a file path")
    parser.add_argument("--url", help="an already running app (default: start one)")
    args = parser.parse_args()
    from toolkit.samples import SAMPLES, sample_path

    clip = sample_path(args.clip) if args.clip in SAMPLES else Path(args.clip)
    load_before = [round(x, 2) for x in os.getloadavg()]  # the machine may be shared
    if args.url:
        result = run(args.url, args.jobs, clip)
    else:
        with tempfile.TemporaryDirectory() as home, _server(Path(home)) as url:
            result = run(url, args.jobs, clip)
    result.update({"machine": platform.machine(), "cpus": os.cpu_count(),
                   "load_average_after": [round(x, 2) for x in os.getloadavg()],
                   "workers": os.environ.get("DFTK_WEB_WORKERS", "default"), "load_average_before": load_before})
    print(f"{'jobs':>5} {'done':>5} {'failed':>6} {'wall s':>7} {'min s':>6} {'median s':>8} {'p90 s':>6} {'max s':>6}")
    print(f"{result['jobs']:>5} {result['completed']:>5} {result['failures']:>6} {result['wall_seconds']:>7} "
          f"{result['min_s']!s:>6} {result['median_s']!s:>8} {result['p90_s']!s:>6} {result['max_s']!s:>6}")
    for message in result["failure_messages"][:5]:
        print("failure:", message)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
