"""Consent-capture recordings built at test time from the real sample clips.

None of the samples has on-camera speech, so the audio of these recordings is
*constructed* (and said so in docs/consent.md):

* ``speech_carrier``: espeak-ng reading a consent statement (a real synthetic voice);
* ``synced_audio``: that voice with its loudness made to follow a mouth-aperture series
  measured on the clip itself (loud where the mouth is open, quiet where it is shut), which
  stands in for a subject reading the statement aloud;
* the video is always real footage: segments, loops, side-by-side and spliced copies of
  the sample clips, or a real photo repeated (the "frozen image" attack).
"""

from __future__ import annotations

import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from toolkit.media import VideoReader, read_audio

AUDIO_RATE = 16000
STATEMENT = ("I, Test Subject, agree that this toolkit may create synthetic video of my face. "
             "My challenge phrase is: garden quail balloon silver.")


def frames_of(path: Path, start: int = 0, stop: int | None = None) -> list[np.ndarray]:
    return [f.image for f in VideoReader(path) if f.index >= start and (stop is None or f.index < stop)]


def ping_pong(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Loop a clip forwards and backwards (no jump at the seams) to ``n`` frames."""
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(n)]


def speech_carrier(seconds: float, text: str = STATEMENT) -> np.ndarray:
    """espeak-ng reading ``text`` at 16 kHz, repeated to ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-g", "2", "-w", str(wav), text], check=True,
                       capture_output=True)
        voice = read_audio(wav, sample_rate=AUDIO_RATE)
    n = int(round(seconds * AUDIO_RATE))
    return np.resize(voice, n).astype(np.float32)


def flatten_loudness(x: np.ndarray, window_s: float = 0.03) -> np.ndarray:
    """Even out the voice's own loudness so an imposed envelope dominates."""
    w = max(1, int(window_s * AUDIO_RATE))
    rms = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(w) / w, mode="same"))
    floor = 0.05 * rms.max()
    return (x / np.maximum(rms, floor)).astype(np.float32)


def synced_audio(aperture: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """A voice whose loudness follows ``aperture`` (per video frame): the mouth-sync stand-in."""
    carrier = flatten_loudness(speech_carrier(seconds))
    ap = np.nan_to_num(np.asarray(aperture, np.float64), nan=0.0)
    lo, hi = np.percentile(ap, 5), np.percentile(ap, 95)
    gain = np.clip((ap - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    t = np.arange(carrier.size) / AUDIO_RATE
    g = np.interp(t, (np.arange(len(gain)) + 0.5) / fps, gain)
    return (0.25 * carrier * g / max(np.abs(carrier).max(), 1e-6)).astype(np.float32)


def write_clip(dst: Path, frames: list[np.ndarray], fps: float, audio: np.ndarray | None = None) -> Path:
    """H.264 (+ AAC) MP4 of ``frames`` (RGB) and mono ``audio`` at 16 kHz."""
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(dst), "w") as out:
        h, w = frames[0].shape[:2]
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        vs.options = {"crf": "18", "preset": "veryfast"}
        astream = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio is not None else None
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: vs.height, : vs.width]), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if astream is not None:
            samples = np.asarray(audio, np.float32)
            step = 1024
            for i in range(0, samples.size, step):
                chunk = samples[i:i + step]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate = AUDIO_RATE
                af.pts = i
                af.time_base = Fraction(1, AUDIO_RATE)
                out.mux(astream.encode(af))
            out.mux(astream.encode(None))
    return dst


def still_clip(image: np.ndarray, seconds: float, fps: float = 25.0) -> list[np.ndarray]:
    """A photo turned into a video: the same frame repeated (the frozen-image attack)."""
    h, w = image.shape[:2]
    image = image[: h - h % 2, : w - w % 2]
    return [image] * int(round(seconds * fps))


def side_by_side(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    n = min(len(left), len(right))
    return [np.concatenate([left[i], right[i]], axis=1) for i in range(n)]
