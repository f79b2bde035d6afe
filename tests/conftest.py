"""Test tiers: tensor/ (a) pure functions, inprocess/ (b) real ComfyUI modules with tiny random
models, e2e/ (c) the real ComfyUI server with the pack in custom_nodes, workflows over HTTP."""
from __future__ import annotations

import os
import sys
from collections import Counter

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from comfy_env import import_comfy  # noqa: E402
from pack_import import pack_package  # noqa: E402

import_comfy(cpu=True)

# The pack as package `vidlift` without executing its root __init__ (which registers nodes with a
# running ComfyUI); ComfyUI's own top-level `nodes` module stays importable under its name.
pack_package()
# pytest imports the checkout's root __init__.py for its Package node; in a checkout whose folder name is no
# Python identifier (a worktree such as "wt-lora") it would import it as a top-level module "__init__", where
# the pack's relative imports fail. Answer that import with the package above.
# It then also puts the checkout itself first on sys.path, where the pack's nodes/ folder would shadow ComfyUI's
# nodes.py for a test that imports it first (a test run alone in a `mktemp -d` clone): import ComfyUI's now.
if not os.path.basename(ROOT).isidentifier():
    sys.modules.setdefault("__init__", sys.modules["vidlift"])
    import nodes  # noqa: E402,F401

if os.environ.get("VIDLIFT_TEST_THREADS"):      # prove a tolerance holds at any thread count: 1, 2, under load
    import torch
    torch.set_num_threads(int(os.environ["VIDLIFT_TEST_THREADS"]))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test draws the same random tensors on every run: a failure reproduces, never flakes."""
    import torch
    torch.manual_seed(0)


TIERS = {"tensor": "a: pure tensor functions", "inprocess": "b: in-process ComfyUI", "e2e": "c: real server over HTTP"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = os.path.relpath(str(item.fspath), os.path.join(ROOT, "tests")).split(os.sep)[0]
        if tier in TIERS:
            item.add_marker(tier)
            item.user_properties.append(("tier", tier))


def pytest_configure(config):
    for name, text in TIERS.items():
        config.addinivalue_line("markers", f"{name}: tier {text}")


def pytest_terminal_summary(terminalreporter):
    counts = Counter()
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            tier = dict(getattr(rep, "user_properties", [])).get("tier", "other")
            if rep.when == "call" or outcome in ("skipped", "error"):
                counts[(tier, outcome)] += 1
    terminalreporter.write_sep("-", "tiers")
    for tier, text in TIERS.items():
        parts = [f"{counts[(tier, o)]} {o}" for o in ("passed", "failed", "skipped", "error") if counts[(tier, o)]]
        terminalreporter.write_line(f"tier {text}: {', '.join(parts) or 'nothing ran'}")
