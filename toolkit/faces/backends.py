"""What a face backend must provide, and how the core picks one.

Plugins register backend *objects* through the ``register_face_backends`` hook. Each has
``name`` (unique across all kinds), ``kind`` and ``priority`` (higher wins when the user
names none), plus the methods of its kind's protocol below. Registering must be cheap:
backends build their models on first use, through :class:`LazyModel`, and plugins
register module-level instances so a model is built once per process.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, Hashable, Mapping, Protocol, Sequence, TypeVar, runtime_checkable

import numpy as np

from toolkit.errors import PluginError
from toolkit.faces.records import DetectedFace, MeshFace

KINDS = ("detector", "landmarker", "embedder")


@runtime_checkable
class FaceDetectorBackend(Protocol):
    name: str
    kind: str  # "detector"
    priority: int

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in an RGB uint8 ``(H, W, 3)`` image, highest score first."""
        ...


@runtime_checkable
class LandmarkTracker(Protocol):
    """A video-mode landmarker session: follows each keyed face from frame to frame.

    Not thread-safe; one session per clip. ``rois`` maps a caller's key (a track id) to
    the box where that face is expected on this frame (last frame's mesh box, or a fresh
    detection); the session reuses its state for keys it has seen.
    """

    def update(self, image: np.ndarray, rois: Mapping[Hashable, np.ndarray]) -> dict[Hashable, MeshFace | None]: ...

    def drop(self, key: Hashable) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class LandmarkerBackend(Protocol):
    name: str
    kind: str  # "landmarker"
    priority: int

    def landmark(self, image: np.ndarray, boxes: Sequence[np.ndarray]) -> list[MeshFace | None]:
        """Static mode: one 478-point mesh per face box (``None`` where none is found)."""
        ...

    def open_tracker(self) -> LandmarkTracker:
        """Video mode: a new tracking session (close it when the clip ends)."""
        ...


@runtime_checkable
class EmbedderBackend(Protocol):
    """An identity embedder.

    It should also say which crop it wants, as ``input_size`` (side of the square
    aligned crop) and ``crop_padding`` (the ``padding`` of :func:`toolkit.faces.align_face`);
    without them the ArcFace convention applies: 112 px, padding 0. See
    :func:`toolkit.faces.identity.embed_face`.
    """

    name: str
    kind: str  # "embedder"
    priority: int

    def embed(self, aligned_face: np.ndarray) -> np.ndarray:
        """Identity embedding (1-D float32, L2-normalised) of an aligned RGB crop."""
        ...


_PROTOCOLS = {"detector": FaceDetectorBackend, "landmarker": LandmarkerBackend, "embedder": EmbedderBackend}

T = TypeVar("T")


class LazyModel(Generic[T]):
    """Build a heavy model on first :meth:`get`, exactly once, even across threads."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


def available_backends(kind: str) -> list[Any]:
    """Registered backends of one kind that implement its protocol, best first."""
    if kind not in KINDS:
        raise ValueError(f"unknown face backend kind {kind!r}; one of {', '.join(KINDS)}")
    from toolkit.plugins import PluginFailure, get_host

    host = get_host()
    registered = host.face_backends(kind)
    backends = []
    for plugin_name, item in host.collect("register_face_backends"):
        name = getattr(item, "name", None)
        if registered.get(name) is not item:
            continue
        if isinstance(item, _PROTOCOLS[kind]):
            backends.append(item)
            continue
        # Shown by `dftk plugins`; the backend is left out rather than failing later.
        failure = PluginFailure(plugin_name, "register_face_backends",
                                f"face {kind} {name!r} lacks the {_PROTOCOLS[kind].__name__} methods")
        if failure not in host.failures:
            host.failures.append(failure)
    return sorted(backends, key=lambda b: (-int(getattr(b, "priority", 0)), b.name))


def get_backend(kind: str, name: str | None = None) -> Any:
    """The backend called ``name``, or the highest-priority one of ``kind``.

    Raises :class:`~toolkit.errors.PluginError` (one line, listing what exists) when there
    is no such backend.
    """
    backends = available_backends(kind)
    if name is not None:
        for backend in backends:
            if backend.name == name:
                return backend
        known = ", ".join(b.name for b in backends) or "none"
        raise PluginError(f"no face {kind} called {name!r} (available: {known})")
    if not backends:
        hint = " (embedders come from plugins that declare their weights in the model registry)" if kind == "embedder" else ""
        raise PluginError(f"no face {kind} backend is installed{hint}; see `dftk plugins`")
    return backends[0]


def get_detector(name: str | None = None) -> FaceDetectorBackend:
    return get_backend("detector", name)


def get_landmarker(name: str | None = None) -> LandmarkerBackend:
    return get_backend("landmarker", name)


def get_embedder(name: str | None = None) -> EmbedderBackend:
    return get_backend("embedder", name)
