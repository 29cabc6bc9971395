"""C2PA signing and verification of dftk outputs, on real media.

Each format is signed with the local PKI (trusted with our root, merely valid without it),
read back field by field, tampered by one byte of media data, and fed bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
import struct
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from toolkit.errors import InputError, ProvenanceError, UnsupportedMediaError
from toolkit.samples import sample_path
from watermark import signing
from watermark.c2pa_manifest import (
    COMPOSITE_WITH_TRAINED_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    TRAINING_MINING_USES,
    ConsentRef,
    ProvenanceInfo,
    file_sha256,
)
from watermark.c2pa_read import read_provenance
from watermark.c2pa_sign import sign_file

WATERMARK_ID = "9f3a5c7e01b2d4e6"
CONSENT = ConsentRef(record_id="consent-0001", record_sha256="ab" * 32, kind="captured")
FORMATS = ["mp4", "jpg", "png", "wav"]
HASH_MISMATCH = {
    "mp4": "assertion.bmffHash.mismatch",
    "jpg": "assertion.dataHash.mismatch",
    "png": "assertion.dataHash.mismatch",
    "wav": "assertion.dataHash.mismatch",
}


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """One small real file per format: clip (re-encoded), photo, PNG of it, spoken WAV."""
    root = tmp_path_factory.mktemp("media")
    photo = sample_path("single_face.jpg")
    files = {
        "mp4": _first_second_of(sample_path("single_face.mp4"), root / "clip.mp4"),
        "jpg": Path(shutil.copy(photo, root / "photo.jpg")),
        "png": root / "photo.png",
        "wav": root / "speech.wav",
    }
    Image.open(photo).save(files["png"])
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(files["wav"]), "This clip was made with consent."],
        check=True, capture_output=True,
    )
    return files


@pytest.fixture(scope="module")
def samples_cache() -> Path:
    """The shared sample cache, resolved before any test points DFTK_HOME elsewhere."""
    return sample_path("single_face.jpg").parent


@pytest.fixture(autouse=True)
def dftk_home(tmp_path, monkeypatch, samples_cache) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DFTK_HOME", str(home))
    monkeypatch.setenv("DFTK_SAMPLES_DIR", str(samples_cache))
    for var in (signing.ENV_CERT, signing.ENV_KEY, signing.ENV_ANCHORS):
        monkeypatch.delenv(var, raising=False)
    return home


def _first_second_of(src: Path, dst: Path) -> Path:
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=30)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        for i, frame in enumerate(inp.decode(vin)):
            if i == 30:
                break
            out.mux(vout.encode(frame.reformat(format="yuv420p")))
        out.mux(vout.encode(None))
    return dst


def _info(**overrides) -> ProvenanceInfo:
    fields = dict(
        plugin="faceswap", plugin_version="0.3.1", model="fs-gan-v2", watermark_id=WATERMARK_ID,
        consent=CONSENT, components=(sample_path("multi_face.jpg"),), title="synthetic demo",
    )
    fields.update(overrides)
    return ProvenanceInfo(**fields)


def _signed(media: dict[str, Path], fmt: str, tmp_path: Path, **info) -> Path:
    dst = tmp_path / f"out.{fmt}"
    assert sign_file(media[fmt], dst, _info(**info)) == dst
    return dst


# --- signing each format ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_signed_output_is_trusted_with_our_root_and_valid_without(media, fmt, tmp_path):
    out = _signed(media, fmt, tmp_path)

    trusted = read_provenance(out)
    assert trusted.state == "Trusted", trusted.status_codes
    assert trusted.status_codes == []

    untrusted = read_provenance(out, trust_anchors="")
    assert untrusted.state == "Valid"
    assert untrusted.status_codes == ["signingCredential.untrusted"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_manifest_field_reads_back(media, fmt, tmp_path):
    out = _signed(media, fmt, tmp_path)
    report = read_provenance(out)

    assert report.ai_generated and report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.title == "synthetic demo"
    assert report.claim_generator.startswith("dftk ")
    assert report.consent == CONSENT
    assert report.watermark_id == WATERMARK_ID
    assert report.generator == {
        "dftk_version": report.generator["dftk_version"], "plugin": "faceswap",
        "plugin_version": "0.3.1", "model": "fs-gan-v2",
    }
    assert report.training_mining == {use: "notAllowed" for use in TRAINING_MINING_USES}

    names = [a["action"] for a in report.actions]
    assert names == ["c2pa.created", "c2pa.watermarked"]
    agent = report.actions[0]["softwareAgent"]["name"]
    assert agent.startswith("dftk ") and agent.endswith(" / faceswap 0.3.1 / fs-gan-v2")

    [ingredient] = report.ingredients
    components = sample_path("multi_face.jpg")
    assert (ingredient.title, ingredient.relationship) == (components.name, "componentOf")
    assert ingredient.sha256 == file_sha256(components)

    root = x509.load_pem_x509_certificate((signing.keys_dir() / signing.ROOT_CERT).read_bytes())
    assert "CN=dftk output signer" in report.signer.subject
    assert _cn(root) in report.signer.issuer

    # Thumbnails are off, and the report serialises for `dftk verify --json`.
    assert "thumbnail" not in json.dumps(report.manifest_json["manifests"])
    assert json.loads(json.dumps(report.to_dict()))["watermark_id"] == WATERMARK_ID


@pytest.mark.parametrize("fmt", FORMATS)
def test_signing_leaves_the_media_content_unchanged(media, fmt, tmp_path):
    out = _signed(media, fmt, tmp_path)
    assert out.stat().st_size > media[fmt].stat().st_size
    assert np.array_equal(_decode(media[fmt], fmt), _decode(out, fmt))


def test_composite_output_names_its_parent_and_attested_consent(media, tmp_path):
    parent = sample_path("single_face.mp4")
    consent = ConsentRef("consent-0002", "cd" * 32, "attested", operator="studio operator")
    out = _signed(media, "mp4", tmp_path, source_type="composite", parent=parent, consent=consent)
    report = read_provenance(out)

    assert report.state == "Trusted"
    assert report.digital_source_type == COMPOSITE_WITH_TRAINED_MEDIA and report.ai_generated
    assert [a["action"] for a in report.actions] == ["c2pa.opened", "c2pa.edited", "c2pa.watermarked"]
    assert report.actions[0]["parameters"]["ingredients"], "c2pa.opened must point at the parent"
    assert [(i.title, i.relationship, i.sha256) for i in report.ingredients] == [
        (parent.name, "parentOf", file_sha256(parent)),
        ("multi_face.jpg", "componentOf", file_sha256(sample_path("multi_face.jpg"))),
    ]
    assert report.consent == consent and report.consent.operator == "studio operator"


def test_signing_in_place_replaces_the_file(media, tmp_path):
    work = Path(shutil.copy(media["jpg"], tmp_path / "inplace.jpg"))
    sign_file(work, work, _info())
    assert read_provenance(work).state == "Trusted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "inplace.jpg"]


def test_signed_ingredient_keeps_its_own_provenance(media, tmp_path):
    first = _signed(media, "wav", tmp_path)
    second = tmp_path / "second.jpg"
    sign_file(media["jpg"], second, _info(components=(first,)))
    [ingredient] = read_provenance(second).ingredients
    assert ingredient.has_manifest and ingredient.format == "audio/wav"


# --- tampering and unsigned files ------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_byte_change_in_media_data_is_invalid(media, fmt, tmp_path):
    out = _signed(media, fmt, tmp_path)
    data = bytearray(out.read_bytes())
    offset = _media_payload_offset(bytes(data), fmt)
    data[offset] ^= 0x01
    out.write_bytes(bytes(data))

    report = read_provenance(out)
    assert report.state == "Invalid"
    assert HASH_MISMATCH[fmt] in report.status_codes
    # The manifest itself is intact, so its claims are still readable.
    assert report.watermark_id == WATERMARK_ID


@pytest.mark.parametrize("fmt", FORMATS)
def test_unsigned_real_file_has_no_manifest(media, fmt):
    report = read_provenance(media[fmt])
    assert report.state is None and not report.has_manifest
    assert report.to_dict()["has_manifest"] is False and report.watermark_id is None


def test_manifest_from_another_tool_is_read(media, tmp_path):
    """A manifest without any dftk assertion: AI label and signer still come through."""
    import c2pa

    identity = signing.ensure_local_identity()
    manifest = {
        "claim_generator_info": [{"name": "OtherTool", "version": "9.1"}],
        "title": "from elsewhere",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA},
        ]}}],
    }
    out = tmp_path / "other.png"
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.cert_chain_pem, identity.key_pem, None)
    )
    with c2pa.Builder(manifest) as builder, open(media["png"], "rb") as src, open(out, "w+b") as dst:
        builder.sign(signer, "image/png", src, dst)

    report = read_provenance(out)
    assert report.state == "Trusted" and report.ai_generated
    assert report.claim_generator == "OtherTool 9.1" and report.title == "from elsewhere"
    assert report.consent is None and report.watermark_id is None and report.generator is None
    assert report.training_mining == {}


# --- certificates ------------------------------------------------------------------------


def test_local_keys_are_private_and_certificates_have_the_c2pa_profile():
    identity = signing.ensure_local_identity()
    keys = signing.keys_dir()
    for name in (signing.ROOT_KEY, signing.SIGNER_KEY):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600

    root = x509.load_pem_x509_certificate((keys / signing.ROOT_CERT).read_bytes())
    leaf = identity.certificate
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey) and root.public_key().curve.name == "secp256r1"

    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    leaf.verify_directly_issued_by(root)


def test_certificates_are_reused_on_second_use(media, tmp_path):
    first = _signed(media, "jpg", tmp_path)
    keys = {p.name: p.read_bytes() for p in signing.keys_dir().iterdir()}
    second = tmp_path / "again.png"
    sign_file(media["png"], second, _info())

    assert {p.name: p.read_bytes() for p in signing.keys_dir().iterdir()} == keys
    serials = {read_provenance(p).signer.serial_number for p in (first, second)}
    assert len(serials) == 1


def test_expired_signer_certificate_is_reissued_by_the_same_root():
    signing.ensure_local_identity()
    keys = signing.keys_dir()
    root_pem = (keys / signing.ROOT_CERT).read_bytes()
    root = x509.load_pem_x509_certificate(root_pem)
    root_key = serialization.load_pem_private_key((keys / signing.ROOT_KEY).read_bytes(), None)
    old_key = serialization.load_pem_private_key((keys / signing.SIGNER_KEY).read_bytes(), None)
    expired = _cert("dftk output signer", old_key.public_key(), root_key, issuer=root.subject, days=-1)
    (keys / signing.SIGNER_CERT).write_bytes(expired.public_bytes(serialization.Encoding.PEM))

    renewed = signing.ensure_local_identity().certificate
    assert renewed.not_valid_after_utc > dt.datetime.now(dt.timezone.utc)
    assert (keys / signing.ROOT_CERT).read_bytes() == root_pem
    renewed.verify_directly_issued_by(root)


@pytest.mark.parametrize("configured_by", ["env", "file"])
def test_user_configured_chain_signs_and_verifies(media, tmp_path, monkeypatch, configured_by):
    chain = _user_chain(tmp_path / "user")
    if configured_by == "env":
        monkeypatch.setenv(signing.ENV_CERT, str(chain["cert"]))
        monkeypatch.setenv(signing.ENV_KEY, str(chain["key"]))
        monkeypatch.setenv(signing.ENV_ANCHORS, str(chain["root"]))
    else:
        config = {k: str(v) for k, v in chain.items() if k in ("cert", "key")}
        config["trust_anchors"] = str(chain["root"])
        (signing.keys_dir() / signing.CONFIG_FILE).write_text(json.dumps(config))

    out = _signed(media, "jpg", tmp_path)
    report = read_provenance(out)
    assert report.state == "Trusted", report.status_codes
    assert "CN=Example Newsroom Signer" in report.signer.subject
    assert "CN=Example Intermediate CA" in report.signer.issuer
    assert report.signer.alg.upper() == "ES384"
    assert not (signing.keys_dir() / signing.ROOT_KEY).exists(), "no local PKI when one is configured"
    assert read_provenance(out, trust_anchors="").state == "Valid"


def test_configured_key_that_does_not_match_is_refused(media, tmp_path, monkeypatch):
    chain = _user_chain(tmp_path / "user")
    monkeypatch.setenv(signing.ENV_CERT, str(chain["cert"]))
    monkeypatch.setenv(signing.ENV_KEY, str(chain["other_key"]))
    with pytest.raises(ProvenanceError, match="is not the key"):
        sign_file(media["jpg"], tmp_path / "out.jpg", _info())
    assert not (tmp_path / "out.jpg").exists()


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_to_sign_is_a_typed_error_and_writes_nothing(media, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"previous output")

    for src, message in [(empty, "empty"), (text, "content is none of"), (tmp_path / "missing.mp4", "no such")]:
        with pytest.raises(ProvenanceError, match=message) as err:
            sign_file(src, dst, _info())
        assert "\n" not in str(err.value)
    with pytest.raises(ProvenanceError, match="not image/png"):
        sign_file(media["jpg"], tmp_path / "out.png", _info())
    assert dst.read_bytes() == b"previous output"


def test_signing_failure_leaves_destination_untouched(media, tmp_path):
    """A self-signed end-entity certificate is refused by C2PA at signing time."""
    key = ec.generate_private_key(ec.SECP256R1())
    self_signed = _cert("lonely signer", key.public_key(), key, days=30)
    identity = signing.SigningIdentity(
        cert_chain_pem=self_signed.public_bytes(serialization.Encoding.PEM),
        key_pem=_key_pem(key), alg="ES256", source="configured",
    )
    dst = tmp_path / "out.jpg"
    dst.write_bytes(b"previous output")
    with pytest.raises(ProvenanceError, match="signing of out.jpg failed"):
        sign_file(media["jpg"], dst, _info(), identity)
    assert dst.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_bad_input_to_read_is_a_typed_error(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text_mp4 = tmp_path / "notes.mp4"
    text_mp4.write_text("this is not a video\n")
    text = tmp_path / "notes.txt"
    text.write_text("plain text\n")

    for path, error in [
        (empty, InputError), (text_mp4, InputError), (text, UnsupportedMediaError),
        (tmp_path / "missing.jpg", InputError), (tmp_path, InputError),
    ]:
        with pytest.raises(error) as err:
            read_provenance(path)
        assert "\n" not in str(err.value)


def test_provenance_info_rejects_inconsistent_fields():
    with pytest.raises(ProvenanceError, match="parent"):
        _info(source_type="composite")
    with pytest.raises(ProvenanceError, match="hex"):
        _info(watermark_id="not-hex")
    with pytest.raises(ProvenanceError, match="operator"):
        ConsentRef("r", "ab" * 32, "attested")
    with pytest.raises(ProvenanceError, match="sha256"):
        ConsentRef("r", "abc", "captured")


# --- helpers -----------------------------------------------------------------------------


def _decode(path: Path, fmt: str) -> np.ndarray:
    if fmt == "wav":
        with wave.open(str(path)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), np.int16)
    if fmt == "mp4":
        with av.open(str(path)) as c:
            return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    return np.asarray(Image.open(path).convert("RGB"))


def _media_payload_offset(data: bytes, fmt: str) -> int:
    """An offset in the middle of the compressed/sample data, away from the manifest."""
    start, length = {"mp4": _mp4_mdat, "png": _png_idat, "wav": _wav_data, "jpg": _jpeg_scan}[fmt](data)
    offset = start + length // 2
    # In JPEG scan data avoid 0xFF bytes and their stuffing so the markers stay intact.
    while data[offset] in (0xFE, 0xFF) or data[offset - 1] == 0xFF:
        offset += 1
    return offset


def _mp4_mdat(data: bytes) -> tuple[int, int]:
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        if kind == b"mdat":
            return pos + header, size - header
        pos += size
    raise AssertionError("no mdat box")


def _png_idat(data: bytes) -> tuple[int, int]:
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            return pos + 8, length
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


def _wav_data(data: bytes) -> tuple[int, int]:
    pos = 12
    while pos < len(data):
        kind, size = struct.unpack("<4sI", data[pos:pos + 8])
        if kind == b"data":
            return pos + 8, size
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk")


def _jpeg_scan(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker == 0xDA:
            start = pos + 2 + length
            return start, data.rindex(b"\xff\xd9") - start
        pos += 2 + length
    raise AssertionError("no SOS segment")


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _cert(cn, public_key, signing_key, *, issuer=None, days=365, ca=False, issuer_key=None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example News"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc)
    not_after = now + dt.timedelta(days=days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, not_after) - dt.timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if ca:
        builder = builder.add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
    else:
        builder = builder.add_extension(_usage(digital_signature=True), critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    if issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _usage(**on) -> x509.KeyUsage:
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _user_chain(directory: Path) -> dict[str, Path]:
    """An organisation's PKI: root -> intermediate -> P-384 end-entity signer."""
    directory.mkdir(parents=True)
    root_key, mid_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP384R1())
    root = _cert("Example Root CA", root_key.public_key(), root_key, ca=True, days=3650)
    mid = _cert("Example Intermediate CA", mid_key.public_key(), root_key, issuer=root.subject, ca=True,
                days=1825, issuer_key=root_key.public_key())
    leaf = _cert("Example Newsroom Signer", leaf_key.public_key(), mid_key, issuer=mid.subject,
                 issuer_key=mid_key.public_key())
    pem = serialization.Encoding.PEM
    paths = {name: directory / name for name in ("cert", "key", "root", "other_key")}
    paths["cert"].write_bytes(leaf.public_bytes(pem) + mid.public_bytes(pem))
    paths["key"].write_bytes(_key_pem(leaf_key))
    paths["root"].write_bytes(root.public_bytes(pem))
    paths["other_key"].write_bytes(_key_pem(ec.generate_private_key(ec.SECP384R1())))
    return paths


def test_corrupt_signer_files_are_reissued_but_a_corrupt_root_is_refused():
    first = signing.ensure_local_identity()
    keys = signing.keys_dir()
    (keys / signing.SIGNER_KEY).write_bytes(b"garbage")
    second = signing.ensure_local_identity()
    assert second.certificate.serial_number != first.certificate.serial_number
    assert stat.S_IMODE((keys / signing.SIGNER_KEY).stat().st_mode) == 0o600

    (keys / signing.ROOT_KEY).write_bytes(b"garbage")
    with pytest.raises(ProvenanceError, match="unreadable"):
        signing.ensure_local_identity()


def test_verifying_creates_no_keys(media, dftk_home):
    assert read_provenance(media["jpg"]).state is None
    assert not (dftk_home / signing.KEYS_DIRNAME).exists()
