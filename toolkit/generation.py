"""The generator contract: what a generator plugin implements and what it gets back.

A generator turns a consenting subject's face into new frames. It never writes files:
it returns a :class:`GeneratedVideo` whose frames the core output writer watermarks,
encodes and C2PA-signs. The core job runner verifies the consent record for the
generator's ``scope`` *before* :meth:`Generator.generate` is called and hands the verified
record in the :class:`GenerationContext`; a generator cannot skip that check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

import numpy as np

from toolkit.errors import InputError

SCOPES = ("reenact", "lipsync", "swap")


class SourceType(str, Enum):
    """IPTC digital source types used in the C2PA manifest."""

    SYNTHETIC = "trainedAlgorithmicMedia"  # every pixel made by the model (reenactment)
    COMPOSITE = "compositeWithTrainedAlgorithmicMedia"  # real footage with generated regions


@dataclass
class GenerationRequest:
    generator: str
    consent_id: str
    output: Path
    inputs: dict[str, str] = field(default_factory=dict)  # named input files, see Generator.inputs
    options: dict[str, Any] = field(default_factory=dict)  # generator-specific (text, preset...)

    def input_path(self, name: str, what: str) -> Path:
        """The named input file; a one-line InputError naming ``what`` when it was not given."""
        value = self.inputs.get(name)
        if not value:
            raise InputError(f"{self.generator} needs {what} (input {name!r})")
        return Path(value)


@dataclass
class GenerationContext:
    """What the core hands a generator after the consent check passed."""

    consent: Any  # the verified consent record
    device: str = "cpu"
    progress: Callable[[int, int | None], None] = lambda done, total=None: None
    is_cancelled: Callable[[], bool] = lambda: False
    # Raises ConsentError unless ``face_image`` shows the consenting subject; generators
    # that take an arbitrary photo must call it.
    verify_identity: Callable[[np.ndarray], None] | None = None
    model_dir: Path | None = None


@dataclass
class GeneratedVideo:
    frames: Iterable[np.ndarray]  # RGB uint8 (H, W, 3), all the same size
    fps: float
    model: str  # model name/version recorded in the manifest
    source_type: SourceType = SourceType.SYNTHETIC
    frame_count: int | None = None  # for progress bars
    audio: Path | np.ndarray | None = None  # a file to take audio from, or float32 mono samples
    audio_rate: int = 16000
    ingredients: list[Path] = field(default_factory=list)  # source media, recorded in the manifest


class Generator(ABC):
    """Base class for generator plugins (register with the ``register_generators`` hook)."""

    name: ClassVar[str]
    scope: ClassVar[str]  # one of SCOPES: the consent scope the subject must have granted
    description: ClassVar[str] = ""
    # Named inputs the generator needs, with a description each (the CLI and web app use it).
    inputs: ClassVar[dict[str, str]] = {}
    # Inputs (names from ``inputs``) holding a face the generator will animate or paste:
    # the core checks each against the consent record's face before ``generate`` runs.
    identity_inputs: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "0"

    @abstractmethod
    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        """Return frames for ``request``. Must not write media files."""
