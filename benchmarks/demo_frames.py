"""Example frames of ``dftk demo``'s outputs for the README (run the demo first).

One row per output (reenact, lipsync, swap): the input the generator was given beside frames
of the signed output at the same times. Writes ``docs/images/demo_outputs.png``.

Run: ``python benchmarks/demo_frames.py [--demo-dir DIR] [--out PNG]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.cli.demo import LIPSYNC_SPAN, OTHER_CLIP, SUBJECT_CLIP  # noqa: E402
from toolkit.media import VideoReader  # noqa: E402
from toolkit.paths import subdir  # noqa: E402
from toolkit.samples import sample_path  # noqa: E402

TILE_H = 180
COLUMNS = 4


def frames_at(path: Path, times: list[float]) -> list[np.ndarray]:
    """The decoded frames nearest to ``times`` (seconds), in one pass."""
    wanted = sorted(times)
    found: dict[float, np.ndarray] = {}
    for frame in VideoReader(path):
        while wanted and frame.time >= wanted[0] - 1e-6:
            found[wanted.pop(0)] = frame.image
        if not wanted:
            break
    return [found[t] for t in times if t in found]


def tile(image: np.ndarray, label: str) -> Image.Image:
    im = Image.fromarray(image)
    im = im.resize((round(im.width * TILE_H / im.height), TILE_H))
    ImageDraw.Draw(im).text((6, 4), label, fill=(255, 255, 0))
    return im


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo-dir", type=Path, default=None, help="where dftk demo wrote its outputs")
    ap.add_argument("--out", type=Path, default=Path("docs/images/demo_outputs.png"))
    args = ap.parse_args(argv)
    demo = args.demo_dir or subdir("demo")
    rows = []
    for name, source, offset in (("reenact", OTHER_CLIP, 0.0), ("lipsync", SUBJECT_CLIP, LIPSYNC_SPAN["start"]),
                                 ("swap", OTHER_CLIP, 0.0)):
        output = demo / f"demo_{name}.mp4"
        if not output.is_file():
            raise SystemExit(f"{output}: missing; run `dftk demo` first")
        duration = VideoReader(output).info.duration or 2.0
        times = [duration * (k + 0.5) / COLUMNS for k in range(COLUMNS)]
        inputs = frames_at(sample_path(source), [offset + times[0]])
        label = {"reenact": "driver", "lipsync": "her clip", "swap": "destination"}[name]
        tiles = [tile(inputs[0], f"{label} ({source})")]
        tiles += [tile(f, f"{name} output, {t:.1f} s") for f, t in zip(frames_at(output, times), times)]
        rows.append(tiles)
    width = max(sum(t.width for t in row) for row in rows)
    sheet = Image.new("RGB", (width, TILE_H * len(rows)), (0, 0, 0))
    for r, row in enumerate(rows):
        x = 0
        for t in row:
            sheet.paste(t, (x, r * TILE_H))
            x += t.width
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
