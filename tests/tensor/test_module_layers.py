"""The layers of nodes/, read from each module's folder and its source with `ast` (nothing is imported).

- nodes/core/: the papers' math in torch (and the error contract). Imports neither ComfyUI (comfy, comfy_api,
  comfy_extras, folder_paths, latent_preview, nodes, server, execution) nor anything outside core/, so it runs and is
  tested without a ComfyUI.
- nodes/glue/: what must talk to ComfyUI: patch installers, one adapter per model family, DiT patches, the
  context-window and VAE bridges, the trainer internals, and compat.py, the one module holding every private ComfyUI
  access. Imports core/ and glue/, never a node module.
- nodes/*.py: the node classes, one file per paper or node group. Import core/ and glue/, never each other.
Every import counts, also one inside a function.
"""
import ast
import os

from test_safety import ROOT

NODES_DIR = os.path.join(ROOT, "nodes")
COMFY = {"comfy", "comfy_api", "comfy_extras", "folder_paths", "latent_preview", "nodes", "server", "execution"}
LAYERS = ("core", "glue", "node")


def modules() -> dict[tuple[str, str], ast.Module]:
    """{(layer, module name): tree} for every .py file of nodes/ (layer "node") and its two folders."""
    out = {}
    for layer in LAYERS:
        folder = NODES_DIR if layer == "node" else os.path.join(NODES_DIR, layer)
        for f in sorted(os.listdir(folder)):
            if f.endswith(".py") and f != "__init__.py":
                out[layer, f[:-3]] = ast.parse(open(os.path.join(folder, f), encoding="utf-8").read(), f)
    return out


def imports(tree: ast.Module, layer: str) -> tuple[set[str], set[str]]:
    """(top-level packages imported absolutely, layers of the pack imported relatively)."""
    absolute, layers = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            layers.add(target_layer(layer, node.level, node.module))
    return absolute, layers


def target_layer(layer: str, level: int, module: str | None) -> str:
    """The layer a relative import reaches: from a folder, `.x` stays in it and `..core.x` / `..glue.x` / `..x` climb
    to nodes/; from nodes/, `.core.x` / `.glue.x` go down and `.x` is a node module."""
    first = (module or "").split(".")[0]
    if layer != "node" and level == 1:
        return layer
    return first if first in ("core", "glue") else "node"


def test_every_layer_has_modules_and_compat_is_in_glue():
    names = set(modules())
    assert all(any(layer == k for layer, _ in names) for k in LAYERS) and ("glue", "compat") in names


def test_core_imports_neither_comfyui_nor_other_layers():
    bad = {}
    for (layer, name), tree in modules().items():
        if layer == "core":
            absolute, layers = imports(tree, layer)
            found = sorted(absolute & COMFY) + sorted(layers - {"core"})
            if found:
                bad[name] = found
    assert not bad, f"core modules importing ComfyUI or another layer: {bad}"


def test_glue_never_imports_a_node_module_and_nodes_never_each_other():
    bad = {name: sorted(imports(tree, layer)[1] & {"node"}) for (layer, name), tree in modules().items()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"modules importing a node module (move the shared code to core/ or glue/): {bad}"


def test_the_reader_sees_every_kind_of_import():
    tree = ast.parse("import comfy.utils\nfrom torch import nn\nfrom .core import frames\nfrom .glue.x import y\n"
                     "def f():\n    from .vidrd import z\n    import folder_paths\n")
    assert imports(tree, "node") == ({"comfy", "torch", "folder_paths"}, {"core", "glue", "node"})
    assert imports(ast.parse("from .frames import a\nfrom ..glue import b\nfrom .. import lpff\n"), "core")[1] == \
        {"core", "glue", "node"}
