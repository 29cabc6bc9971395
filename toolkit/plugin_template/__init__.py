"""``dftk plugin new``: scaffold a pip-installable plugin package from a template.

Templates are plain files under ``toolkit/plugin_template/<kind>/`` ending in ``.tmpl``;
``{{key}}`` placeholders are replaced and ``__module__`` in paths becomes the package name.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import InputError, PluginError

TEMPLATES = Path(__file__).parent
KINDS = ("generator", "detector")


@dataclass
class Names:
    slug: str  # "sepia_tint": entry-point and generator name
    distribution: str  # "dftk-sepia-tint"
    module: str  # "dftk_sepia_tint"
    cls: str  # "SepiaTint"

    def mapping(self) -> dict[str, str]:
        return {"slug": self.slug, "distribution": self.distribution, "module": self.module, "class": self.cls}


def names_for(name: str) -> Names:
    raw = name.strip().lower()
    raw = raw[5:] if raw.startswith(("dftk-", "dftk_")) else raw
    slug = re.sub(r"[^a-z0-9]+", "_", raw).strip("_")
    if not slug or not slug[0].isalpha():
        raise InputError(f"plugin name {name!r} must start with a letter (e.g. 'sepia-tint')")
    return Names(slug, "dftk-" + slug.replace("_", "-"), "dftk_" + slug, "".join(p.title() for p in slug.split("_")))


def scaffold(name: str, kind: str, directory: Path) -> Path:
    """Write the package for ``name`` into ``directory/<distribution>``; returns that path."""
    if kind not in KINDS:
        raise InputError(f"unknown plugin kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "detector" and importlib.util.find_spec("toolkit.detection") is None:
        # PENDING: the detector template lands with the detector contract.
        raise PluginError("the detector template needs the detector contract (toolkit.detection), "
                          "which this dftk version does not have yet")
    names = names_for(name)
    target = Path(directory) / names.distribution
    if target.exists():
        raise InputError(f"{target} already exists; choose another name or --dir")
    source = TEMPLATES / kind
    for template in sorted(source.rglob("*.tmpl")):
        rel = template.relative_to(source).as_posix().removesuffix(".tmpl").replace("__module__", names.module)
        text = template.read_text()
        for key, value in names.mapping().items():
            text = text.replace("{{" + key + "}}", value)
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return target
