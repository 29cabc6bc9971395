"""Signing certificates for C2PA manifests.

C2PA validators refuse a self-signed end-entity certificate, so on first use we create a
small local PKI under ``data_dir()/keys/``:

* ``root_ca.pem`` / ``root_ca.key``: a P-256 root (CA=true, keyCertSign), our trust anchor;
* ``signer.pem`` / ``signer.key``: a P-256 end-entity certificate issued by that root
  (CA=false, digitalSignature, EKU emailProtection, SKI + AKI).

Keys are written atomically with mode 0600 (the directory is 0700). Later calls reuse the
files; the end-entity certificate is re-issued from the same root shortly before it
expires, so the trust anchor users have imported stays the same. (Without a time-stamp
authority, which needs the network, a file signed with a certificate that has since
expired validates as expired.)

A user who has a real C2PA certificate configures it instead, either with environment
variables or with ``data_dir()/keys/signing.json``:

* ``DFTK_SIGN_CERT`` / ``"cert"``: PEM file, the end-entity certificate first, then any
  intermediates (the root may be left out);
* ``DFTK_SIGN_KEY`` / ``"key"``: PEM file with its private key (unencrypted PKCS#8/SEC1/RSA);
* ``DFTK_TRUST_ANCHORS`` / ``"trust_anchors"``: optional PEM file of extra root
  certificates to trust when verifying (e.g. the root of the configured chain).

Environment variables win over the file. Relative paths in the file are relative to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from toolkit.errors import ProvenanceError
from toolkit.paths import data_dir, subdir

KEYS_DIRNAME = "keys"
ROOT_CERT = "root_ca.pem"
ROOT_KEY = "root_ca.key"
SIGNER_CERT = "signer.pem"
SIGNER_KEY = "signer.key"
CONFIG_FILE = "signing.json"

ENV_CERT = "DFTK_SIGN_CERT"
ENV_KEY = "DFTK_SIGN_KEY"
ENV_ANCHORS = "DFTK_TRUST_ANCHORS"

ROOT_VALIDITY = dt.timedelta(days=20 * 365)
SIGNER_VALIDITY = dt.timedelta(days=5 * 365)
# Re-issue the end-entity certificate this long before it expires.
RENEW_MARGIN = dt.timedelta(days=30)
# Back-date notBefore a little so a validator with a slightly slow clock accepts it.
CLOCK_SKEW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SigningIdentity:
    """A certificate chain and its private key, ready for ``c2pa.C2paSignerInfo``."""

    cert_chain_pem: bytes  # end-entity first, then intermediates
    key_pem: bytes
    alg: str  # c2pa.C2paSigningAlg member name: ES256, ES384, ES512, PS256, ED25519
    source: str  # "local" (generated root) or "configured"

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.cert_chain_pem)[0]

    def to_dict(self) -> dict:
        cert = self.certificate
        return {
            "source": self.source,
            "alg": self.alg,
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "not_after": cert.not_valid_after_utc.isoformat(),
        }


def keys_dir() -> Path:
    path = subdir(KEYS_DIRNAME)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)  # private keys live here
    return path


# --- public entry points ---------------------------------------------------------------


def load_identity() -> SigningIdentity:
    """The identity outputs are signed with: the configured one, else our local one."""
    configured = _configured_paths()
    if configured.get("cert") or configured.get("key"):
        return _load_configured_identity(configured)
    return ensure_local_identity()


def ensure_local_identity() -> SigningIdentity:
    """Create (first use) or reuse the local root CA and its end-entity certificate."""
    directory = keys_dir()
    cert_path, key_path = directory / SIGNER_CERT, directory / SIGNER_KEY
    with _keys_lock(directory):
        root_cert, root_key = _ensure_local_root()
        if not _signer_files_usable(cert_path, key_path, root_cert):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _issue_signer_cert(key.public_key(), root_cert, root_key)
            write_private_key(key_path, key)
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return SigningIdentity(
            cert_chain_pem=cert_path.read_bytes(),
            key_pem=key_path.read_bytes(),
            alg="ES256",
            source="local",
        )


def trust_anchors_pem() -> str:
    """PEM roots that verification trusts: our local root (if made) plus configured ones.

    Never creates keys: verifying a file must not change state.
    """
    pems: list[str] = []
    local_root = data_dir() / KEYS_DIRNAME / ROOT_CERT
    if local_root.is_file():
        pems.append(local_root.read_text())
    anchors = _configured_paths().get("trust_anchors")
    if anchors:
        pems.append(_read_pem_file(anchors, "trust anchors").decode())
    return "".join(p if p.endswith("\n") else p + "\n" for p in pems)


def write_private_key(path: Path, key) -> None:
    """Write an unencrypted PKCS#8 key atomically, readable by the owner only."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomic(path, pem, mode=0o600)


# --- local PKI ---------------------------------------------------------------------------


def _ensure_local_root() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    directory = keys_dir()
    cert_path, key_path = directory / ROOT_CERT, directory / ROOT_KEY
    if cert_path.is_file() and key_path.is_file():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (ValueError, TypeError):
            # Replacing it silently would orphan every output trusted through it.
            raise ProvenanceError(
                f"the local signing root in {directory} is unreadable; move it away to create a new one"
            ) from None
        if _now() < cert.not_valid_after_utc - RENEW_MARGIN:
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _make_root_cert(key)
    # Key first: a root certificate without its key would be useless.
    write_private_key(key_path, key)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert, key


def _make_root_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name(f"dftk local root CA {os.urandom(4).hex()}")
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_signer_cert(public_key, root_cert: x509.Certificate, root_key) -> x509.Certificate:
    now = _now()
    not_after = min(now + SIGNER_VALIDITY, root_cert.not_valid_after_utc)
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name("dftk output signer"))
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )


def _signer_files_usable(cert_path: Path, key_path: Path, root_cert: x509.Certificate) -> bool:
    """True when the stored end-entity cert is unexpired, issued by this root and matches its key."""
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(root_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    same_key = cert.public_key().public_numbers() == key.public_key().public_numbers()
    return same_key and _now() < cert.not_valid_after_utc - RENEW_MARGIN


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dftk (local, self-issued)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(**enabled: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        [
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
        ],
        False,
    )
    flags.update(enabled)
    return x509.KeyUsage(**flags)


# --- user-configured identity ----------------------------------------------------------


def _configured_paths() -> dict[str, Path]:
    """Paths from signing.json, overridden one by one by the environment variables."""
    paths: dict[str, Path] = {}
    config = data_dir() / KEYS_DIRNAME / CONFIG_FILE
    if config.is_file():
        try:
            data = json.loads(config.read_text())
        except (OSError, ValueError) as exc:
            raise ProvenanceError(f"cannot read signing config {config}: {exc}") from None
        if not isinstance(data, dict):
            raise ProvenanceError(f"signing config {config} must be a JSON object")
        for field in ("cert", "key", "trust_anchors"):
            if data.get(field):
                paths[field] = config.parent / Path(str(data[field])).expanduser()
    for field, env in (("cert", ENV_CERT), ("key", ENV_KEY), ("trust_anchors", ENV_ANCHORS)):
        if os.environ.get(env):
            paths[field] = Path(os.environ[env]).expanduser()
    return paths


def _load_configured_identity(paths: dict[str, Path]) -> SigningIdentity:
    if not (paths.get("cert") and paths.get("key")):
        raise ProvenanceError(
            f"signing needs both a certificate and a key: set {ENV_CERT} and {ENV_KEY} together"
        )
    chain_pem = _read_pem_file(paths["cert"], "certificate")
    key_pem = _read_pem_file(paths["key"], "private key")
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ProvenanceError(f"cannot load configured signing certificate/key: {exc}") from None
    if certs[0].public_key().public_numbers() != key.public_key().public_numbers():
        raise ProvenanceError(f"{paths['key']} is not the key of the first certificate in {paths['cert']}")
    return SigningIdentity(cert_chain_pem=chain_pem, key_pem=key_pem, alg=_alg_for_key(key), source="configured")


def _alg_for_key(key) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise ProvenanceError(f"unsupported EC curve for C2PA signing: {key.curve.name}")
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"  # C2PA allows RSA only with PSS padding
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519"
    raise ProvenanceError(f"unsupported key type for C2PA signing: {type(key).__name__}")


def _read_pem_file(path: Path, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProvenanceError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise ProvenanceError(f"{what} file {path} is not PEM")
    return data


# --- small helpers ------------------------------------------------------------------------


@contextlib.contextmanager
def _keys_lock(directory: Path) -> Iterator[None]:
    """Serialise key creation between processes (web app and CLI may start together)."""
    if fcntl is None:  # not POSIX: creation races are then possible but harmless to reuse
        yield
        return
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file in the same directory; the mode is set before any byte lands."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = [
    "SigningIdentity",
    "ensure_local_identity",
    "keys_dir",
    "load_identity",
    "trust_anchors_pem",
    "write_private_key",
    "ENV_CERT",
    "ENV_KEY",
    "ENV_ANCHORS",
    "CONFIG_FILE",
]
