"""What a plugin registers through the ``register_web_tabs`` hook.

Kept free of Gradio imports so a plugin module stays cheap to import for the CLI; only
``build`` runs Gradio code, and only inside the web app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class WebTab:
    """A tab a plugin adds to the web app: ``build()`` runs inside a ``gradio.Tab``."""

    title: str
    build: Callable[[], None]
    description: str = ""
