"""Typed errors with a one-line human message.

Every error the CLI or web app can show a user derives from :class:`DftkError`. The CLI
prints ``error: <message>`` and exits with ``exit_code``; nothing else reaches the user,
so messages must stand alone and say what to do.
"""

from __future__ import annotations


class DftkError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to the user."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": self.kind, "message": self.message}


class InputError(DftkError):
    """The input file cannot be used (missing, empty, truncated, not media...)."""

    exit_code = 2
    kind = "bad_input"


class UnsupportedMediaError(InputError):
    kind = "unsupported_media"


class NoVideoStreamError(InputError):
    kind = "no_video_stream"


class MediaTooLargeError(InputError):
    kind = "media_too_large"


class NoFaceError(InputError):
    kind = "no_face"


class PluginError(DftkError):
    exit_code = 3
    kind = "plugin_error"


class ConsentError(DftkError):
    """Generation refused: no valid consent record covers this face and scope."""

    exit_code = 4
    kind = "consent_refused"


class ProvenanceError(DftkError):
    exit_code = 5
    kind = "provenance_error"


class ModelError(DftkError):
    """A model file is missing, has the wrong hash, or cannot be loaded."""

    exit_code = 6
    kind = "model_error"


class JobCancelled(DftkError):
    exit_code = 130
    kind = "cancelled"


class NetworkError(DftkError):
    exit_code = 7
    kind = "network_error"
