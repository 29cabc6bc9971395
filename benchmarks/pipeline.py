"""Throughput of the media + face pipeline on the sample clips.

Stages, each timed end to end on whole clips (frames per second, median of ``--runs``):

* ``decode``               VideoReader only (PyAV, RGB frames, rotation applied)
* ``decode+encode``        ... and re-encode with VideoWriter (libx264 veryfast, crf 18)
* ``decode+faces``         ... the shared face pass (detection every k frames + mesh tracking)
* ``decode+faces+encode``  ... face pass and re-encode (the shape of every generator job)

Usage: ``python benchmarks/pipeline.py [--runs 3] [--detector mediapipe] [--detect-every 5]``.
Prints a table and writes ``benchmarks/results/pipeline.json``. The load average is
recorded with the numbers: on a shared machine it explains much of the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit.faces import FacePipeline  # noqa: E402
from toolkit.media import VideoReader, VideoWriter, probe  # noqa: E402
from toolkit.samples import sample_path  # noqa: E402

CLIPS = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "no_face.mp4"]
STAGES = ["decode", "decode+encode", "decode+faces", "decode+faces+encode"]


def run_stage(stage: str, path: Path, pipeline: FacePipeline, tmp: Path) -> tuple[int, float, int]:
    """Run one stage over one clip; returns (frames, seconds, frames with a face)."""
    reader = VideoReader(path)
    start = time.perf_counter()
    frames = with_faces = 0
    writer = VideoWriter(tmp / "out.mp4", fps=reader.fps) if stage.endswith("encode") else None
    try:
        source = pipeline.run(reader) if "faces" in stage else iter(reader)
        for item in source:
            frames += 1
            if "faces" in stage:
                with_faces += bool(item.faces)
            if writer is not None:
                writer.write(item.image)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return frames, time.perf_counter() - start, with_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detector", default=None, help="face detector backend (default: best installed)")
    parser.add_argument("--detect-every", type=int, default=5)
    parser.add_argument("--clips", nargs="*", default=CLIPS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pipeline.json")
    args = parser.parse_args()

    pipeline = FacePipeline(detector=args.detector, detect_every=args.detect_every, keep_images=True)
    paths = {name: sample_path(name) for name in args.clips}
    # Warm-up: load the models and start their graphs outside the timings.
    for _ in pipeline.run(paths[args.clips[0]], max_frames=3):
        pass

    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        for name, path in paths.items():
            v = probe(path).video
            for stage in STAGES:
                fps_runs, frames, with_faces = [], 0, 0
                for _ in range(args.runs):
                    frames, seconds, with_faces = run_stage(stage, path, pipeline, Path(tmp_dir))
                    fps_runs.append(frames / seconds)
                row = {
                    "clip": name, "codec": v.codec, "size": f"{v.width}x{v.height}", "stage": stage,
                    "frames": frames, "fps_median": round(statistics.median(fps_runs), 1),
                    "fps_runs": [round(f, 1) for f in fps_runs],
                }
                if "faces" in stage:
                    row["frames_with_faces"] = with_faces
                results.append(row)
                print(f"{name:28s} {stage:20s} {row['fps_median']:7.1f} fps  runs {row['fps_runs']}", file=sys.stderr)
    load_after = os.getloadavg()

    import av
    import cv2
    import mediapipe
    import numpy

    report = {
        "benchmark": "pipeline",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after]},
        "versions": {"python": platform.python_version(), "av": av.__version__, "opencv": cv2.__version__,
                     "mediapipe": mediapipe.__version__, "numpy": numpy.__version__},
        "settings": {"runs": args.runs, "detect_every": args.detect_every, **pipeline.backend_names,
                     "encoder": "libx264 veryfast crf 18"},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    table = Table(title=f"pipeline fps (median of {args.runs}; {pipeline.detector.name} every "
                        f"{args.detect_every} frames + {pipeline.landmarker.name}; {os.cpu_count()} CPUs, "
                        f"load {load_before[0]:.1f}->{load_after[0]:.1f})")
    table.add_column("clip")
    table.add_column("video")
    table.add_column("frames", justify="right")
    for stage in STAGES:
        table.add_column(stage, justify="right")
    for name in paths:
        rows = {r["stage"]: r for r in results if r["clip"] == name}
        first = rows[STAGES[0]]
        table.add_row(name, f"{first['codec']} {first['size']}", str(first["frames"]),
                      *(f"{rows[s]['fps_median']:.1f}" for s in STAGES))
    Console(width=150).print(table)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
