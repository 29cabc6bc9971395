"""What a published model file is: the record plugins register and users add."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from toolkit.errors import ModelError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelSpec:
    """One hash-pinned model file.

    ``sha256`` pins the exact bytes: the registry refuses any other file under this name.
    ``url`` is optional: models whose publisher withdrew the download (or that users
    already own) are added from a local file with ``dftk models add NAME --file PATH``.
    ``commercial_use`` is False for weights whose licence forbids commercial use; the
    licence is shown and must be accepted once before the model is first used.
    """

    name: str
    sha256: str
    file_name: str
    licence: str
    size: int | None = None
    licence_url: str | None = None
    url: str | None = None
    description: str = ""
    commercial_use: bool = False
    origin: str = ""  # set by the registry: the plugin that registered it, or "user"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name or ""):
            raise ModelError(f"bad model name {self.name!r}: use lower-case letters, digits, '_', '-' or '.'")
        sha = (self.sha256 or "").lower()
        if not _SHA256.match(sha):
            raise ModelError(f"model {self.name}: sha256 must be 64 hex digits")
        object.__setattr__(self, "sha256", sha)
        if not self.file_name or "/" in self.file_name or "\\" in self.file_name or self.file_name.startswith("."):
            raise ModelError(f"model {self.name}: file_name must be a plain file name")
        if self.size is not None and self.size <= 0:
            raise ModelError(f"model {self.name}: size must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
