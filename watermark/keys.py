"""Watermark keys: the public toolkit key, and an optional private key per installation.

The key seeds the carrier layout of the invisible mark (which frequency slots carry the sync
pattern and which carry each coded bit, and their signs). Whoever holds a key can detect the
marks made with it:

* :data:`PUBLIC_KEY` is a constant in the code. Every installation embeds with it by default,
  so any installation (or anyone reading this source) can detect any other's marks.
* An installation may configure a private key instead: the environment variable
  ``DFTK_WATERMARK_KEY`` (any string), or the file ``<data_dir>/watermark/private.key``
  (created by :func:`create_private_key`). The environment variable wins over the file.

Embedding uses :func:`embedding_key` (the private key if configured, else the public one);
detection tries :func:`detection_keys` (the configured private key first, then the public key).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import DftkError
from toolkit.paths import subdir

ENV_VAR = "DFTK_WATERMARK_KEY"
KEY_FILE_NAME = "private.key"
PUBLIC_KEY_TEXT = "dftk public invisible watermark key v1"


class WatermarkKeyError(DftkError):
    kind = "watermark_key_error"


@dataclass(frozen=True)
class WatermarkKey:
    """A named key. ``name`` is ``"public"`` or ``"private"``; ``secret`` is never shown."""

    name: str
    secret: bytes

    @property
    def seed(self) -> int:
        """A 128-bit integer that seeds the carrier layout (domain-separated from other uses)."""
        digest = hashlib.sha256(b"dftk-watermark-layout\x00" + self.secret).digest()
        return int.from_bytes(digest[:16], "big")

    @property
    def fingerprint(self) -> str:
        """A short, safe-to-show identifier of the key (first 8 hex digits of a hash)."""
        return hashlib.sha256(b"dftk-watermark-fingerprint\x00" + self.secret).hexdigest()[:8]

    def __repr__(self) -> str:  # never print the secret
        return f"WatermarkKey(name={self.name!r}, fingerprint={self.fingerprint!r})"


PUBLIC_KEY = WatermarkKey("public", PUBLIC_KEY_TEXT.encode())


def key_file() -> Path:
    return subdir("watermark") / KEY_FILE_NAME


def private_key() -> WatermarkKey | None:
    """The configured private key (``DFTK_WATERMARK_KEY``, else the key file), or None."""
    text = os.environ.get(ENV_VAR)
    if text is not None:
        if not text.strip():
            raise WatermarkKeyError(f"{ENV_VAR} is set but empty; unset it or give a key")
        return WatermarkKey("private", text.strip().encode())
    path = key_file()
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise WatermarkKeyError(f"watermark key file {path} is empty; delete it or write a key")
        return WatermarkKey("private", text.encode())
    return None


def embedding_key() -> WatermarkKey:
    """The key new outputs are marked with: the private key if configured, else the public key."""
    return private_key() or PUBLIC_KEY


def detection_keys() -> list[WatermarkKey]:
    """Keys detection tries, in order: the configured private key (if any), then the public key."""
    key = private_key()
    return [key, PUBLIC_KEY] if key is not None else [PUBLIC_KEY]


def create_private_key(overwrite: bool = False) -> WatermarkKey:
    """Write a fresh random private key to the key file (mode 0600) and return it."""
    path = key_file()
    if path.exists() and not overwrite:
        raise WatermarkKeyError(f"a private watermark key already exists at {path}")
    text = secrets.token_hex(32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return WatermarkKey("private", text.encode())


def as_key(key: WatermarkKey | str | bytes | None) -> WatermarkKey:
    """Accept a key object, a raw secret (str/bytes, named "private"), or None (embedding key)."""
    if key is None:
        return embedding_key()
    if isinstance(key, WatermarkKey):
        return key
    secret = key.encode() if isinstance(key, str) else bytes(key)
    if secret == PUBLIC_KEY.secret:
        return PUBLIC_KEY
    return WatermarkKey("private", secret)
