"""Conformance kit: checks a plugin's own tests call to prove it fits dftk's contracts.

    from toolkit.testing import check_plugin, check_generator
    import my_plugin

    def test_conforms():
        check_plugin(my_plugin)                       # hooks, and everything they register

    def test_generator_yields_frames_only():
        run = check_generator(my_plugin.MyGenerator, inputs={"video": clip})
        assert len(run.frames) > 0

Every check raises :class:`ConformanceError` (an ``AssertionError``, so pytest shows it
as a plain failure) listing each problem found. Checks whose core half is not in this
dftk version raise :class:`PendingCheck`; call them through :func:`pending_ok` to skip.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

from toolkit import hookspecs
from toolkit.hookspecs import hookimpl
from toolkit.generation import SCOPES, GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType

MEDIA_SUFFIXES = {
    ".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif", ".y4m", ".h264", ".hevc",
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
    ".wav", ".mp3", ".aac", ".m4a", ".flac", ".ogg", ".opus",
}
FACE_BACKEND_KINDS = ("detector", "landmarker", "embedder")
HOOK_NAMES = {name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
              if hasattr(getattr(hookspecs, name), "dftk_spec")}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ConformanceError(AssertionError):
    """One or more contract violations, one per line."""

    def __init__(self, what: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{what} does not conform:\n" + "\n".join(f"  - {p}" for p in problems))


class PendingCheck(Exception):
    """This check needs a part of the dftk core that this version does not have yet."""


def pending_ok(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``check``; under pytest, turn :class:`PendingCheck` into a skip."""
    try:
        return check(*args, **kwargs)
    except PendingCheck as exc:
        import pytest

        pytest.skip(f"pending: {exc}")


# -- plugins -------------------------------------------------------------------------------

@dataclass
class PluginReport:
    """What a conforming plugin registered, by kind (names)."""

    name: str
    hooks: list[str]
    registered: dict[str, list[Any]] = field(default_factory=dict)


def check_plugin(plugin: ModuleType | object, name: str | None = None) -> PluginReport:
    """Register ``plugin`` in a fresh host, call every hook and check what comes back.

    Checks: every ``@hookimpl`` names a real hook with arguments the hookspec offers;
    no function is named like a hook but lacks ``@hookimpl``; no hook raises; every
    registered generator, face backend, model spec and web tab has the right shape; and
    ``register_commands`` accepts a scratch Typer app.
    """
    import typer

    from toolkit.plugins import HostContext, PluginHost

    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    problems: list[str] = []
    for attr in dir(plugin):
        obj = getattr(plugin, attr, None)
        if attr in HOOK_NAMES and callable(obj) and not hasattr(obj, "dftk_impl"):
            problems.append(f"{attr} looks like a hook but is not decorated with @hookimpl")
    host = PluginHost(load_entry_points=False)
    host.register(plugin, name)
    try:
        host.pm.check_pending()
    except Exception as exc:  # pluggy.PluginValidationError: a hookimpl with no hookspec
        problems.append(str(exc))
    registered: dict[str, list[Any]] = {}
    for kind, items in (("generators", host.generators()), ("detectors", host.detectors()),
                        ("face_backends", host.face_backends())):
        registered[kind] = list(items)
        for item in items.values():
            check = {"generators": generator_problems, "detectors": _detector_problems,
                     "face_backends": face_backend_problems}[kind]
            problems += [f"{kind[:-1].replace('_', ' ')} {getattr(item, 'name', item)!r}: {p}" for p in check(item)]
    from toolkit.models import ModelSpec

    registered["models"] = []
    for _, item in host.collect("register_models"):
        if isinstance(item, ModelSpec):
            registered["models"].append(item.name)
        else:
            problems.append(f"register_models registered {item!r}, not a toolkit.models.ModelSpec")
    registered["web_tabs"] = []
    for _, tab in host.web_tabs():
        if not isinstance(getattr(tab, "title", None), str) or not callable(getattr(tab, "build", None)):
            problems.append(f"web tab {tab!r} needs a str title and a callable build")
        else:
            registered["web_tabs"].append(tab.title)
    host.call_each("register_commands", cli=typer.Typer())
    with tempfile.TemporaryDirectory() as tmp:
        host.call_each("startup", context=HostContext(host="test", data_dir=Path(tmp)))
    problems += [f"{f.stage}: {f.error}" for f in host.failures]
    if problems:
        raise ConformanceError(f"plugin {name}", problems)
    return PluginReport(name, host.info[name].hooks if name in host.info else [], registered)


# -- generators ------------------------------------------------------------------------------

def generator_problems(cls: Any) -> list[str]:
    """Shape of a generator class: subclass, name, scope, inputs, generate signature."""
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        return [f"{cls!r} is not a subclass of toolkit.generation.Generator"]
    problems = []
    if inspect.isabstract(cls):
        problems.append("is abstract (implement generate)")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"name {name!r} must be a lower-case identifier (letters, digits, _ . -)")
    if getattr(cls, "scope", None) not in SCOPES:
        problems.append(f"scope {getattr(cls, 'scope', None)!r} is not one of {SCOPES}")
    inputs = getattr(cls, "inputs", None)
    if not isinstance(inputs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items()):
        problems.append("inputs must be a dict of input name -> description (str -> str)")
    for attr in ("description", "version"):
        if not isinstance(getattr(cls, attr, None), str):
            problems.append(f"{attr} must be a str")
    params = [p for p in inspect.signature(cls.generate).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in params[1:] if p.default is p.empty]
    if len(params) < 3 or len(required) != 2:
        problems.append("generate must take exactly (self, request, context)")
    try:
        cls()
    except Exception as exc:
        problems.append(f"cannot be constructed without arguments ({type(exc).__name__}: {exc})")
    return problems


def check_generator_class(cls: Any) -> None:
    problems = generator_problems(cls)
    if problems:
        raise ConformanceError(f"generator {getattr(cls, 'name', cls)!r}", problems)


@dataclass
class ConsentStub:
    """Stands in for the verified consent record the core hands a generator."""

    subject: str = "conformance-test-subject"
    scopes: tuple[str, ...] = SCOPES
    id: str = "conformance-test-consent"


@dataclass
class GeneratorRun:
    video: GeneratedVideo
    frames: list[np.ndarray]
    identity_checks: int  # how often the generator called context.verify_identity
    progress: list[tuple[int, int | None]]


class _WriteGuard:
    """Patches every media-writing entry point we know of to record and refuse the call."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def refuse(self, what: str) -> None:
        self.attempts.append(what)
        raise ConformanceError("generator", [f"tried to write media itself with {what}; yield frames instead"])

    @contextlib.contextmanager
    def active(self, sandbox: Path) -> Iterator[None]:
        import av
        import cv2
        from PIL import Image

        from toolkit.media import writer as media_writer

        guard = self
        patches: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, attr: str, value: Any) -> None:
            patches.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, value)

        real_av_open = av.open

        def av_open(file, mode="r", *args, **kwargs):
            if str(mode).startswith("w"):
                guard.refuse(f"av.open({file!r}, mode={mode!r})")
            return real_av_open(file, mode, *args, **kwargs)

        real_save = Image.Image.save

        def pil_save(img, fp, *args, **kwargs):
            if isinstance(fp, (str, os.PathLike)):
                guard.refuse(f"PIL Image.save({str(fp)!r})")
            return real_save(img, fp, *args, **kwargs)

        real_popen_init = subprocess.Popen.__init__

        def popen_init(proc, args, *a, **kw):
            argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
            if argv and os.path.basename(str(argv[0]).split()[0]) in ("ffmpeg", "ffmpeg.exe"):
                guard.refuse(f"subprocess {argv[0]!r}")
            return real_popen_init(proc, args, *a, **kw)

        def video_writer_init(writer, path, *a, **kw):
            guard.refuse(f"toolkit.media.VideoWriter({str(path)!r})")

        patch(av, "open", av_open)
        patch(Image.Image, "save", pil_save)
        patch(media_writer.VideoWriter, "__init__", video_writer_init)
        patch(cv2, "imwrite", lambda path, *a, **k: guard.refuse(f"cv2.imwrite({path!r})"))
        patch(cv2, "VideoWriter", lambda *a, **k: guard.refuse("cv2.VideoWriter"))
        patch(subprocess.Popen, "__init__", popen_init)
        patch(tempfile, "tempdir", str(sandbox))  # temp files land where we look for them
        cwd = os.getcwd()
        os.chdir(sandbox)
        try:
            yield
        finally:
            os.chdir(cwd)
            for owner, attr, value in reversed(patches):
                setattr(owner, attr, value)


def _media_files(dirs: list[Path]) -> dict[Path, tuple[int, int]]:
    found = {}
    for d in dirs:
        if d.is_dir():
            for p in d.rglob("*"):
                if p.is_file() and (p.suffix.lower() in MEDIA_SUFFIXES or ".part" in p.name):
                    st = p.stat()
                    found[p] = (st.st_size, st.st_mtime_ns)
    return found


def run_generator(
    generator: type[Generator] | Generator,
    inputs: dict[str, str | Path],
    options: dict[str, Any] | None = None,
    consent: Any = None,
    max_frames: int | None = None,
) -> GeneratorRun:
    """Run ``generate()`` the way the core would, in a sandbox that refuses media writes.

    Frames are consumed inside the sandbox (generators are often lazy). Checks each
    frame (RGB uint8, one size), fps, model name and source type, and that no media
    file appeared in the sandbox, beside the inputs or in the output's folder.
    """
    gen = generator() if isinstance(generator, type) else generator
    label = f"generator {getattr(gen, 'name', gen)!r}"
    with tempfile.TemporaryDirectory(prefix="dftk-conformance-") as tmp:
        sandbox = Path(tmp)
        output = sandbox / "out" / "result.mp4"
        watched = [sandbox] + sorted({Path(p).resolve().parent for p in inputs.values()})
        before = _media_files(watched)
        identity_calls: list[int] = []
        progress: list[tuple[int, int | None]] = []
        request = GenerationRequest(generator=gen.name, consent_id=getattr(consent or ConsentStub(), "id", "test"),
                                    output=output, inputs={k: str(v) for k, v in inputs.items()},
                                    options=dict(options or {}))
        context = GenerationContext(
            consent=consent or ConsentStub(scopes=(gen.scope,)),
            progress=lambda done, total=None: progress.append((done, total)),
            verify_identity=lambda image: identity_calls.append(1),
        )
        guard = _WriteGuard()
        problems: list[str] = []
        frames: list[np.ndarray] = []
        with guard.active(sandbox):
            video = gen.generate(request, context)
            if not isinstance(video, GeneratedVideo):
                raise ConformanceError(label, [f"generate returned {type(video).__name__}, not GeneratedVideo"])
            for i, frame in enumerate(video.frames):
                frames.append(np.asarray(frame))
                if max_frames and i + 1 >= max_frames:
                    break
        problems += [f"tried to write media itself with {a}" for a in guard.attempts]
        after = _media_files(watched)
        new = sorted(str(p) for p, stamp in after.items() if before.get(p) != stamp)
        problems += [f"wrote a media file itself: {p}" for p in new]
        if not frames:
            problems.append("yielded no frames")
        shapes = {f.shape for f in frames}
        bad = [i for i, f in enumerate(frames) if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3]
        if bad:
            problems.append(f"frame {bad[0]} is {frames[bad[0]].dtype} {frames[bad[0]].shape}, not RGB uint8 (H, W, 3)")
        elif len(shapes) > 1:
            problems.append(f"frames change size: {sorted(shapes)[:3]}")
        if not (isinstance(video.fps, (int, float)) and math.isfinite(video.fps) and video.fps > 0):
            problems.append(f"fps {video.fps!r} must be a positive number")
        if not isinstance(video.model, str) or not video.model:
            problems.append("model (recorded in the C2PA manifest) must be a non-empty str")
        if not isinstance(video.source_type, SourceType):
            problems.append("source_type must be a toolkit.generation.SourceType")
        if video.frame_count is not None and not max_frames and video.frame_count != len(frames):
            problems.append(f"frame_count says {video.frame_count} but {len(frames)} frames came")
        if problems:
            raise ConformanceError(label, problems)
        return GeneratorRun(video, frames, len(identity_calls), progress)


def check_generator(generator: type[Generator], inputs: dict[str, str | Path],
                    options: dict[str, Any] | None = None, max_frames: int | None = None) -> GeneratorRun:
    """Class shape plus one sandboxed run; returns the run for further assertions."""
    check_generator_class(generator)
    return run_generator(generator, inputs, options, max_frames=max_frames)


def check_refused_without_consent(generator: type[Generator], inputs: dict[str, str | Path]) -> None:
    """The core generation job refuses this generator when no consent record covers it.

    Registers a watched subclass of ``generator`` on a fresh plugin host, with an empty
    consent registry and job store in a temporary directory, and runs
    :func:`toolkit.jobs.generate.run_generation` with no consent id and with an unknown
    one. Each run must raise :class:`~toolkit.errors.ConsentError` before the generator
    is constructed, and leave no output file.
    """
    try:
        from toolkit.consent import ConsentRegistry
        from toolkit.jobs.generate import run_generation
    except ImportError:
        raise PendingCheck("the core consent gate (toolkit.jobs.generate) is not in this dftk version") from None
    from toolkit.errors import ConsentError
    from toolkit.jobs import JobStore
    from toolkit.plugins import PluginHost

    calls: list[str] = []

    class Watched(generator):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            calls.append("constructed")
            super().__init__(*args, **kwargs)

        def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
            calls.append("generate")
            return super().generate(request, context)

    Watched.__name__ = generator.__name__

    class _Plugin:
        @hookimpl
        def register_generators(self, register: Callable[[Any], None]) -> None:
            register(Watched)

    label = f"generator {getattr(generator, 'name', generator)!r}"
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dftk-consent-check-") as tmp:
        host = PluginHost(load_entry_points=False)
        host.register(_Plugin(), "conformance-generator")
        registry = ConsentRegistry(Path(tmp) / "consent.sqlite3")
        store = JobStore(Path(tmp) / "jobs.sqlite3")
        for consent_id in ("", "conformance-unknown-record"):
            output = Path(tmp) / "out.mp4"
            request = GenerationRequest(generator=generator.name, consent_id=consent_id, output=output,
                                        inputs={k: str(v) for k, v in inputs.items()})
            try:
                run_generation(request, store=store, host=host, registry=registry)
            except ConsentError:
                pass
            except Exception as exc:
                problems.append(f"with consent id {consent_id!r} the run failed with {type(exc).__name__}: {exc}, "
                                "not a consent refusal")
            else:
                problems.append(f"ran with consent id {consent_id!r}, which names no record")
            if calls:
                problems.append(f"was {' and '.join(dict.fromkeys(calls))} without a consent record")
                calls.clear()
            if output.exists():
                problems.append(f"an output was written without a consent record ({consent_id!r})")
    if problems:
        raise ConformanceError(label, problems)


# -- detectors ------------------------------------------------------------------------------

def _detector_problems(cls: Any) -> list[str]:
    try:
        import toolkit.detection  # noqa: F401
    except ImportError:
        return []  # PENDING: the detector contract is not in this dftk version
    return []


def check_detector(detector: Any, *args: Any, **kwargs: Any) -> None:
    """Detector contract (scores in [0, 1], typed errors on bad input).

    PENDING: needs ``toolkit.detection``; raises :class:`PendingCheck` until it lands.
    """
    raise PendingCheck("the detector contract (toolkit.detection) is not in this dftk version")


# -- face backends ----------------------------------------------------------------------------

def face_backend_problems(backend: Any) -> list[str]:
    problems = []
    if not isinstance(getattr(backend, "name", None), str) or not backend.name:
        problems.append("needs a non-empty str name")
    kind = getattr(backend, "kind", None)
    if kind not in FACE_BACKEND_KINDS:
        problems.append(f"kind {kind!r} is not one of {FACE_BACKEND_KINDS}")
    if not isinstance(getattr(backend, "priority", None), (int, float)):
        problems.append("priority must be a number")
    if kind == "embedder" and not callable(getattr(backend, "embed", None)):
        problems.append("an embedder needs embed(aligned_face) -> np.ndarray")
    try:  # the full protocols live in toolkit.faces.backends once the face pipeline is there
        from toolkit.faces.backends import _PROTOCOLS
    except ImportError:
        return problems
    protocol = _PROTOCOLS.get(kind)
    if protocol is not None and not problems and not isinstance(backend, protocol):
        problems.append(f"does not implement {protocol.__name__} (toolkit.faces.backends)")
    return problems


def check_embedder(backend: Any, faces: list[np.ndarray]) -> np.ndarray:
    """Run ``backend.embed`` on aligned RGB faces (``input_size`` square); returns (N, D).

    Each embedding must be a finite, non-zero 1-D float vector of one length.
    """
    problems = face_backend_problems(backend)
    out = []
    for face in faces:
        vec = np.asarray(backend.embed(face))
        if vec.ndim != 1 or not np.issubdtype(vec.dtype, np.floating):
            problems.append(f"embed returned {vec.dtype} {vec.shape}, not a 1-D float vector")
            break
        if not np.all(np.isfinite(vec)) or not np.any(vec):
            problems.append("embed returned a non-finite or all-zero vector")
            break
        out.append(vec)
    if len({v.shape for v in out}) > 1:
        problems.append("embeddings differ in length")
    if problems:
        raise ConformanceError(f"face backend {getattr(backend, 'name', backend)!r}", problems)
    return np.stack(out)
