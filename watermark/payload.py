"""The 64-bit output ID carried by the invisible mark.

Layout (most significant bit first)::

    | version: 4 bits | installation: 20 bits | serial: 40 bits |

* ``version`` is :data:`PAYLOAD_VERSION` (1) for IDs made by this code.
* ``installation`` is a random 20-bit number drawn once per installation and kept in
  ``<data_dir>/watermark/installation_id``; it says which installation made an output (two
  installations share a number with probability 1e-6, so it is a strong hint, not a proof;
  the C2PA manifest carries the signed identity).
* ``serial`` numbers the outputs of an installation: a counter kept in
  ``<data_dir>/watermark/serial`` under a file lock, starting at a random value so that
  installations which happen to share a number still rarely share an ID.

The ID is shown as 16 hex digits (:attr:`Payload.hex`), e.g. ``1a3f2c0000012345``.
Use :func:`new_output_id` in the output writer to get a fresh ID for every output.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from toolkit.errors import DftkError
from toolkit.paths import subdir

PAYLOAD_VERSION = 1
VERSION_BITS, INSTALLATION_BITS, SERIAL_BITS = 4, 20, 40
TOTAL_BITS = VERSION_BITS + INSTALLATION_BITS + SERIAL_BITS  # 64


class PayloadError(DftkError):
    kind = "bad_watermark_id"


@dataclass(frozen=True)
class Payload:
    """A parsed output ID."""

    installation: int
    serial: int
    version: int = PAYLOAD_VERSION

    def __post_init__(self) -> None:
        for name, bits in (("version", VERSION_BITS), ("installation", INSTALLATION_BITS), ("serial", SERIAL_BITS)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < (1 << bits):
                raise PayloadError(f"watermark {name} must be an integer in [0, 2**{bits}), got {value!r}")

    @property
    def value(self) -> int:
        return (self.version << (INSTALLATION_BITS + SERIAL_BITS)) | (self.installation << SERIAL_BITS) | self.serial

    @property
    def hex(self) -> str:
        return f"{self.value:016x}"

    @classmethod
    def from_int(cls, value: int) -> "Payload":
        if not isinstance(value, int) or not 0 <= value < (1 << TOTAL_BITS):
            raise PayloadError(f"a watermark ID is a 64-bit unsigned integer, got {value!r}")
        return cls(
            installation=(value >> SERIAL_BITS) & ((1 << INSTALLATION_BITS) - 1),
            serial=value & ((1 << SERIAL_BITS) - 1),
            version=value >> (INSTALLATION_BITS + SERIAL_BITS),
        )

    @classmethod
    def from_hex(cls, text: str) -> "Payload":
        cleaned = text.strip().lower().removeprefix("0x")
        if len(cleaned) != 16 or any(ch not in "0123456789abcdef" for ch in cleaned):
            raise PayloadError(f"a watermark ID is 16 hex digits, got {text!r}")
        return cls.from_int(int(cleaned, 16))

    def __str__(self) -> str:
        return self.hex


def as_payload(payload: "Payload | int | str") -> Payload:
    """Accept a :class:`Payload`, a 64-bit integer, or 16 hex digits."""
    if isinstance(payload, Payload):
        return payload
    if isinstance(payload, bool):
        raise PayloadError("a watermark ID cannot be a bool")
    if isinstance(payload, int):
        return Payload.from_int(payload)
    if isinstance(payload, str):
        return Payload.from_hex(payload)
    raise PayloadError(f"cannot use {type(payload).__name__} as a watermark ID")


def _state_dir() -> Path:
    return subdir("watermark")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX flock; no-op where fcntl is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_int(path: Path, bits: int) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        value = int(text)
    except ValueError:
        raise PayloadError(f"{path} is corrupt (expected an integer); delete it to start afresh") from None
    if not 0 <= value < (1 << bits):
        raise PayloadError(f"{path} holds an out-of-range value; delete it to start afresh")
    return value


def installation_id() -> int:
    """This installation's 20-bit number, drawn at random on first use and kept."""
    path = _state_dir() / "installation_id"
    with _locked(_state_dir() / ".lock"):
        value = _read_int(path, INSTALLATION_BITS)
        if value is None:
            value = secrets.randbelow(1 << INSTALLATION_BITS)
            _write_atomic(path, f"{value}\n")
    return value


def new_output_id() -> Payload:
    """A fresh, unique ID for one output of this installation (thread- and process-safe)."""
    inst = installation_id()
    path = _state_dir() / "serial"
    with _locked(_state_dir() / ".lock"):
        last = _read_int(path, SERIAL_BITS)
        serial = secrets.randbelow(1 << (SERIAL_BITS - 1)) if last is None else (last + 1) % (1 << SERIAL_BITS)
        _write_atomic(path, f"{serial}\n")
    return Payload(installation=inst, serial=serial)
