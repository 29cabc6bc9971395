"""Hash-pinned model files: specs, the cache, licences and (opt-in) downloads.

Plugins declare :class:`ModelSpec` records with the ``register_models`` hook and get
weights only through :meth:`ModelRegistry.path` (usually ``get_registry().path(name)``).
"""

from toolkit.models.registry import ModelRegistry, ModelStatus, downloads_allowed, get_registry
from toolkit.models.spec import ModelSpec

__all__ = ["ModelRegistry", "ModelSpec", "ModelStatus", "downloads_allowed", "get_registry"]
