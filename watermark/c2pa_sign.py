"""Sign a finished output file with its C2PA manifest.

Only the core output writer calls :func:`sign_file`. The signed file appears at ``dst``
in one step (temp file in the same directory, then ``os.replace``), so a crash or a
signing error never leaves a half-written or unsigned output behind.
"""

from __future__ import annotations

import mimetypes
import os
import stat
import tempfile
from pathlib import Path

import c2pa

from toolkit.errors import ProvenanceError
from watermark.c2pa_formats import SIGNABLE_TYPES, mime_for_suffix, same_family, sniff_mime
from watermark.c2pa_manifest import IngredientSpec, ProvenanceInfo, build_manifest, ingredient_specs
from watermark.signing import SigningIdentity, load_identity

# Thumbnails add ~125 KB per image, and ingredient thumbnails would embed previews of the
# (consented but private) source media.
BUILDER_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
_MAX_MESSAGE = 300


def sign_file(src: Path, dst: Path, info: ProvenanceInfo, identity: SigningIdentity | None = None) -> Path:
    """Write ``src`` plus a signed C2PA manifest to ``dst`` (which may equal ``src``).

    Raises :class:`ProvenanceError` (one-line message) if anything fails; ``dst`` is then
    left as it was.
    """
    src, dst = Path(src), Path(dst)
    mime = _signable_mime(src, dst)
    identity = identity or load_identity()
    builder = _make_builder(info, title=info.title or dst.name)
    try:
        _add_ingredients(builder, ingredient_specs(info))
        signer = _make_signer(identity)
        _sign_atomically(builder, signer, mime, src, dst)
    finally:
        builder.close()
    return dst


def _signable_mime(src: Path, dst: Path) -> str:
    if not src.is_file():
        raise ProvenanceError(f"cannot sign {src}: no such file")
    if src.stat().st_size == 0:
        raise ProvenanceError(f"cannot sign {src}: the file is empty")
    mime = sniff_mime(src)
    if mime is None:
        kinds = ", ".join(sorted(SIGNABLE_TYPES))
        raise ProvenanceError(f"cannot sign {src.name}: its content is none of {kinds}")
    expected = mime_for_suffix(dst)
    if expected is not None and not same_family(mime, expected):
        raise ProvenanceError(f"cannot sign {src.name} as {dst.name}: the content is {mime}, not {expected}")
    return mime


def _make_builder(info: ProvenanceInfo, title: str) -> c2pa.Builder:
    try:
        context = c2pa.Context.from_dict(BUILDER_SETTINGS)
        return c2pa.Builder(build_manifest(info, title), context)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"cannot build the C2PA manifest: {_one_line(exc)}") from None


def _add_ingredients(builder: c2pa.Builder, specs: list[IngredientSpec]) -> None:
    for spec in specs:
        mime = sniff_mime(spec.path) or mimetypes.guess_type(spec.path.name)[0] or "application/octet-stream"
        definition = spec.definition() | {"format": mime}
        try:
            with open(spec.path, "rb") as f:
                builder.add_ingredient(definition, mime, f)
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"cannot add ingredient {spec.path.name}: {_one_line(exc)}") from None


def _make_signer(identity: SigningIdentity) -> c2pa.Signer:
    try:
        alg = c2pa.C2paSigningAlg[identity.alg]
        info = c2pa.C2paSignerInfo(alg, identity.cert_chain_pem, identity.key_pem, None)
        return c2pa.Signer.from_info(info)
    except (KeyError, c2pa.C2paError) as exc:
        raise ProvenanceError(f"cannot load the signing certificate: {_one_line(exc)}") from None


def _sign_atomically(builder: c2pa.Builder, signer: c2pa.Signer, mime: str, src: Path, dst: Path) -> None:
    try:
        with open(src, "rb") as source:
            fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".c2pa.tmp")
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "w+b") as out:
                    builder.sign(signer, mime, source, out)
                    out.flush()
                    os.fsync(out.fileno())
                # mkstemp makes the file 0600; give the output the mode the unsigned file had.
                os.chmod(tmp, stat.S_IMODE(src.stat().st_mode))
                os.replace(tmp, dst)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"C2PA signing of {dst.name} failed: {_one_line(exc)}") from None
    except OSError as exc:
        raise ProvenanceError(f"cannot write signed {dst.name}: {exc.strerror or exc}") from None
    finally:
        signer.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
