"""The generation job: consent gate, generator, then the core output writer.

Every generated file goes through :func:`run_generation`, the one place generators are
run. Inside a tracked job it

1. authorises the named consent record for the generator's scope
   (:func:`toolkit.consent.authorize`: unknown, tampered, revoked, expired and
   out-of-scope records are refused before the generator class is even instantiated);
2. checks the face in every input the generator declares in ``identity_inputs`` against
   the record's face reference (embedder backend; refused when none is installed),
   except an input that *is* the file the record was made from (same sha256: the
   consent recording, or the clip its face reference was taken from);
3. builds the :class:`GenerationContext` (the verified record, device, progress,
   cancellation and ``verify_identity`` for photos a generator picks up on its own);
4. calls the generator, which only returns frames;
5. re-checks the record (it may have been revoked meanwhile) and hands the frames to
   :func:`toolkit.output.write_generated`, which watermarks, encodes and C2PA-signs
   them with the record's :class:`~watermark.c2pa_manifest.ConsentRef`.

Because the check lives here and not in plugins, a third-party generator cannot skip it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from toolkit.errors import DftkError, InputError, PluginError
from toolkit.generation import SCOPES, GeneratedVideo, GenerationContext, GenerationRequest, Generator
from toolkit.jobs.runner import Job, ProgressCallback, run_job
from toolkit.jobs.store import JobRecord, JobStore

JOB_KIND = "generate"


def write_generated(video: GeneratedVideo, output: Path, **kwargs: Any):
    """The core output writer (looked up at call time, so tests can watch it)."""
    from toolkit import output as output_writer

    return output_writer.write_generated(video, output, **kwargs)


def default_device() -> str:
    """"cuda" when torch sees a GPU, else "cpu"."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _generator_class(name: str, host: Any) -> type[Generator]:
    generators = host.generators()
    cls = generators.get(name)
    if cls is None:
        known = ", ".join(sorted(generators)) or "none installed"
        raise PluginError(f"no generator called {name!r} (available: {known}); see `dftk plugins`")
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise PluginError(f"generator {name!r} is not a toolkit.generation.Generator subclass")
    if getattr(cls, "scope", None) not in SCOPES:
        raise PluginError(f"generator {name!r} declares scope {getattr(cls, 'scope', None)!r}; "
                          f"it must be one of {', '.join(SCOPES)}")
    return cls


def record_media(path: Path, record: Any) -> str | None:
    """Which of the files the record was made from ``path`` is (same sha256), or None.

    The consent recording (captured records) and the clip or photo the record's face
    reference was taken from show the subject by construction, so they need no
    embedder check; any other file does.
    """
    from toolkit.hashing import sha256_file

    if not path.is_file():
        return None
    digest = sha256_file(path)
    if not record.attested and digest == record.evidence_sha256:
        return "the consent recording"
    if digest == record.face.source_sha256:
        return "the clip the record's face reference was taken from"
    return None


def _guarded_frames(frames: Iterable[Any], name: str) -> Iterator[Any]:
    """Frames from the plugin; its own failures become one-line PluginErrors."""
    try:
        for frame in frames:
            yield frame
    except DftkError:
        raise
    except Exception as exc:
        raise PluginError(f"generator {name!r} failed while producing frames: {type(exc).__name__}: {exc}") from exc


def run_generation(
    request: GenerationRequest,
    store: JobStore | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    host: Any = None,
    registry: Any = None,
    on_start: Any = None,
) -> JobRecord:
    """Run one generation as a tracked job and return its final record.

    ``result`` holds the written output (path, sha256, watermark ID, frames) and the
    consent record's id, hash and kind. Raises :class:`~toolkit.errors.ConsentError`
    when the record does not authorise the run (the job is then recorded as failed).
    """
    from toolkit.consent import authorize, identity_verifier, verify_media_identity
    from toolkit.media.probe import check_file
    from toolkit.plugins import get_host

    host = host or get_host()
    cls = _generator_class(request.generator, host)
    params = {
        "generator": request.generator,
        "scope": cls.scope,
        "consent_id": request.consent_id,
        "output": str(request.output),
        "inputs": dict(request.inputs),
        "options": dict(request.options),
    }

    def work(job: Job) -> dict[str, Any]:
        record = authorize(request.consent_id, cls.scope, registry=registry)
        job.progress(0, None, f"consent {record.id} ({record.kind}) authorises {cls.scope}")
        verifier = identity_verifier(record, registry=registry, host=host)
        for name in getattr(cls, "identity_inputs", ()):
            path = request.inputs.get(name)
            if not path:
                raise InputError(f"generator {cls.name!r} needs the input {name!r}")
            check_file(Path(path))  # a missing or unreadable file is bad input, not a consent question
            if record_media(Path(path), record):
                job.progress(0, None, f"{Path(path).name} is the file consent {record.id} was given with")
                continue
            verify_media_identity(Path(path), verifier)
        context = GenerationContext(
            consent=record,
            device=default_device(),
            progress=lambda done, total=None: job.progress(done, total),
            is_cancelled=job.is_cancelled,
            verify_identity=verifier,
        )
        job.check_cancelled()
        try:
            video = cls().generate(request, context)
        except DftkError:
            raise
        except Exception as exc:
            raise PluginError(f"generator {cls.name!r} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(video, GeneratedVideo):
            raise PluginError(f"generator {cls.name!r} returned {type(video).__name__}, not a GeneratedVideo")
        video.frames = _guarded_frames(video.frames, cls.name)
        # Revoked while the generator prepared? Nothing is written then.
        record = authorize(request.consent_id, cls.scope, registry=registry)
        written = write_generated(
            video,
            Path(request.output),
            plugin=cls.name,
            plugin_version=str(getattr(cls, "version", "0")),
            consent=record.reference(),
            consent_id=record.id,
            progress=lambda done, total=None: job.progress(done, total),
            is_cancelled=job.is_cancelled,
        )
        result = written.to_dict() if hasattr(written, "to_dict") else {"output": str(request.output)}
        result["consent"] = record.reference().to_dict()
        return result

    return run_job(JOB_KIND, params, work, store=store, on_progress=on_progress, on_start=on_start)
