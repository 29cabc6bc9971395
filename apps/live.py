"""Live webcam reenactment: the streaming handler behind the Create tab's live view.

The browser streams webcam frames (``gr.Image(sources=["webcam"], streaming=True)`` with
``.stream(...)``); :class:`LiveReenactor` turns each into a frame of the consenting subject
driven by that motion and returns it. Per browser session it

* authorises the chosen consent record for ``reenact`` (:func:`toolkit.consent.authorize`)
  when the stream starts, and again every ``recheck_s`` seconds (a revocation stops it);
* loads the personal model trained for that record (:meth:`PersonalModel.for_consent`)
  and drives a :class:`toolkit.gan.ReenactSession`;
* embeds the invisible watermark in every frame it returns, with one fresh output ID per
  live session, so a screen recording of the preview is still marked. (The preview is not
  a file, so there is no C2PA manifest; a recording made with the Reenact form is signed.)

``benchmarks/webcam.py`` replays a clip through this same handler.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from toolkit.errors import InputError


@dataclass
class LiveSession:
    consent_id: str
    session: Any  # toolkit.gan.ReenactSession
    mark: Callable[[np.ndarray], np.ndarray]
    watermark_id: str
    authorised_at: float
    frames: int = 0
    last_used: float = field(default_factory=time.monotonic)


def _downscale(frame: np.ndarray, max_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if max(h, w) <= max_side:
        return frame
    import cv2

    scale = max_side / max(h, w)
    return cv2.resize(frame, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)


class LiveReenactor:
    """``handler(frame, consent_id, session_id) -> frame``; one ReenactSession per browser session."""

    def __init__(self, recheck_s: float = 5.0, max_side: int = 640, fps: float = 15.0,
                 model_dir: Any = None, threads: int | None = 1, idle_s: float = 120.0):
        self.idle_s = idle_s
        self.recheck_s = recheck_s
        self.max_side = max_side
        self.fps = fps
        self.model_dir = model_dir
        self.threads = threads
        self._sessions: dict[str, LiveSession] = {}
        self._lock = threading.Lock()

    def open(self, consent_id: str, session_id: str) -> LiveSession:
        from toolkit.consent import authorize
        from toolkit.gan import PersonalModel, ReenactSession
        from watermark.invisible import WatermarkEmbedder
        from watermark.payload import new_output_id

        record = authorize(consent_id, "reenact")
        model = PersonalModel.for_consent(consent_id, self.model_dir, threads=self.threads)
        model.check_record(record)  # not a model bound to another version of the record
        payload = new_output_id()
        live = LiveSession(consent_id, ReenactSession(model, fps=self.fps),
                           WatermarkEmbedder(payload, profile="video"), payload.hex, time.monotonic())
        self.close(session_id)
        self._close_idle()
        with self._lock:
            self._sessions[session_id] = live
        return live

    def _close_idle(self) -> None:
        """Browsers that went away without stopping their stream free their sessions here."""
        now = time.monotonic()
        with self._lock:
            idle = [sid for sid, live in self._sessions.items() if now - live.last_used > self.idle_s]
        for sid in idle:
            self.close(sid)

    def close(self, session_id: str) -> None:
        with self._lock:
            live = self._sessions.pop(session_id, None)
        if live is not None:
            live.session.close()

    def get(self, session_id: str) -> LiveSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def __call__(self, frame: np.ndarray | None, consent_id: str | None, session_id: str) -> np.ndarray | None:
        if frame is None:
            return None
        if not consent_id:
            raise InputError("choose a consent record that grants reenact before starting the webcam")
        live = self.get(session_id)
        if live is None or live.consent_id != consent_id:
            live = self.open(consent_id, session_id)
        elif time.monotonic() - live.authorised_at > self.recheck_s:
            from toolkit.consent import authorize

            try:
                authorize(consent_id, "reenact")  # revoked or expired meanwhile: stop now
            except Exception:
                self.close(session_id)
                raise
            live.authorised_at = time.monotonic()
        out = live.session.push(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
        live.frames += 1
        live.last_used = time.monotonic()
        return live.mark(_downscale(out, self.max_side))
