"""The one way to import the pack outside ComfyUI (tests, benchmarks, scripts).

ComfyUI imports the repository folder as a package under whatever name it was cloned as, and its own top-level
module is called `nodes`; outside ComfyUI the pack is package `vidlift`, built here without executing the root
`__init__.py` (which registers the nodes with a running ComfyUI): `vidlift.nodes.…` then imports as in ComfyUI.
"""
from __future__ import annotations

import importlib
import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "vidlift"


def pack_package() -> types.ModuleType:
    """Package `vidlift` whose path is the repository root (made once per process)."""
    if NAME not in sys.modules:
        pkg = types.ModuleType(NAME)
        pkg.__path__ = [ROOT]
        sys.modules[NAME] = pkg
    return sys.modules[NAME]


def pack_module(name: str) -> types.ModuleType:
    """`pack_module("nodes.lpff")` is `vidlift.nodes.core.lpff`."""
    pack_package()
    return importlib.import_module(f"{NAME}.{name}")
