"""Cost of C2PA signing and verification per output format.

Signs real sample media (a 1 s and a 20 s clip, a photo, a PNG, spoken WAV) with the
local PKI in a throw-away DFTK_HOME and reports the median sign and verify time and how
many bytes the manifest adds. Writes benchmarks/results/c2pa_signing.json.

    PYTHONPATH=. python benchmarks/c2pa_signing.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "c2pa_signing.json"


def _media(root: Path) -> dict[str, Path]:
    import av
    from PIL import Image

    from toolkit.samples import sample_path

    clip = root / "clip_1s.mp4"
    with av.open(str(sample_path("single_face.mp4"))) as inp, av.open(str(clip), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=30)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        for i, frame in enumerate(inp.decode(vin)):
            if i == 30:
                break
            out.mux(vout.encode(frame.reformat(format="yuv420p")))
        out.mux(vout.encode(None))
    png = root / "photo.png"
    Image.open(sample_path("single_face.jpg")).save(png)
    wav = root / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "A short consented sample of synthetic speech."],
                   check=True, capture_output=True)
    return {
        "mp4 1 s 640x360": clip,
        "mp4 20 s 640x360": sample_path("WolfgangLanger_Pexels.mp4"),
        "jpeg 572x562": sample_path("single_face.jpg"),
        "png 572x562": png,
        "wav 22 kHz speech": wav,
    }


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from toolkit.paths import samples_dir

    samples = samples_dir()  # resolve before DFTK_HOME moves
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["DFTK_HOME"] = str(root / "home")
        os.environ["DFTK_SAMPLES_DIR"] = str(samples)
        from watermark.c2pa_manifest import ConsentRef, ProvenanceInfo
        from watermark.c2pa_read import read_provenance
        from watermark.c2pa_sign import sign_file
        from watermark.signing import ensure_local_identity

        start = time.perf_counter()
        ensure_local_identity()
        keygen_s = time.perf_counter() - start
        info = ProvenanceInfo(
            plugin="bench", plugin_version="0", model="none", watermark_id="00112233445566ff",
            consent=ConsentRef("bench", "0" * 64, "captured"),
        )
        rows = []
        for name, src in _media(root).items():
            dst = root / f"signed{src.suffix}"
            work = root / f"work{src.suffix}"
            shutil.copy(src, work)
            sign_s = _median_seconds(lambda: sign_file(work, dst, info), args.repeats)
            verify_s = _median_seconds(lambda: read_provenance(dst), args.repeats)
            state = read_provenance(dst).state
            rows.append({
                "media": name, "bytes": src.stat().st_size,
                "added_bytes": dst.stat().st_size - src.stat().st_size,
                "sign_ms": round(sign_s * 1000, 2), "verify_ms": round(verify_s * 1000, 2), "state": state,
            })

    print(f"first-use key generation: {keygen_s * 1000:.1f} ms")
    print(f"{'media':<20} {'bytes':>10} {'+bytes':>8} {'sign ms':>9} {'verify ms':>10}  state")
    for r in rows:
        print(f"{r['media']:<20} {r['bytes']:>10} {r['added_bytes']:>8} {r['sign_ms']:>9.2f} "
              f"{r['verify_ms']:>10.2f}  {r['state']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
        "repeats": args.repeats, "keygen_ms": round(keygen_s * 1000, 2), "rows": rows,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
