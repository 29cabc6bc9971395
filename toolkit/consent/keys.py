"""The installation key that signs consent records.

An Ed25519 key in ``data_dir()/keys/consent_ed25519.key`` (PKCS#8 PEM, mode 0600, written
atomically; the directory is 0700), created on the first record. It is separate from the
C2PA signing certificate because that one is re-issued every few years, and a consent
record must stay verifiable for as long as it is valid.

The key's fingerprint (``key_id``: first 16 hex digits of the sha256 of the raw public
key) is recorded in every record, so a record copied from another installation, or one
left over after the key was replaced, is refused with a message that says so.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from toolkit.errors import ConsentError
from watermark.signing import keys_dir, write_private_key

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

KEY_FILE = "consent_ed25519.key"


def key_path() -> Path:
    return keys_dir() / KEY_FILE


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _load(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConsentError(f"the consent signing key {path} is unreadable ({type(exc).__name__}); "
                           "records signed with it cannot be verified") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConsentError(f"the consent signing key {path} is not an Ed25519 key")
    return key


def load_key(create: bool = False) -> Ed25519PrivateKey | None:
    """The installation key; created when ``create`` is set and none exists yet.

    Verification never creates a key (checking a record must not change state).
    """
    path = key_path()
    if path.is_file():
        return _load(path)
    if not create:
        return None
    with _lock(path.parent):
        if path.is_file():  # another process made it meanwhile
            return _load(path)
        key = Ed25519PrivateKey.generate()
        write_private_key(path, key)
        return key


def sign(data: bytes) -> tuple[str, str]:
    """Sign ``data``; returns ``(key_id, base64 signature)``. Creates the key on first use."""
    key = load_key(create=True)
    assert key is not None
    return key_fingerprint(key.public_key()), base64.b64encode(key.sign(data)).decode("ascii")


def signing_key_id() -> str:
    """Fingerprint of the installation key, creating the key if there is none yet."""
    key = load_key(create=True)
    assert key is not None
    return key_fingerprint(key.public_key())


def installation_key_id() -> str | None:
    key = load_key()
    return key_fingerprint(key.public_key()) if key else None


def verify(data: bytes, signature: str, key_id: str) -> str | None:
    """``None`` if ``signature`` over ``data`` is valid for this installation, else why not."""
    key = load_key()
    if key is None:
        return "this installation has no consent signing key (was the data directory replaced?)"
    public = key.public_key()
    if key_fingerprint(public) != key_id:
        return (f"it was signed by another installation key ({key_id}); this installation's key is "
                f"{key_fingerprint(public)}")
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return "its signature does not match its contents (the record was altered)"
    return None


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    """Serialise key creation between processes (CLI and web app may start together)."""
    if fcntl is None:
        yield
        return
    with open(directory / ".consent.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
