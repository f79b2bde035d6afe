"""The layers of nodes/, read from the source with `ast` (nothing is imported).

Three kinds of module:
- node modules, `node_*.py`: the ComfyUI nodes; thin, and none imports another node module;
- ComfyUI glue, GLUE below: the modules that must talk to ComfyUI itself —
  comfy_glue.py (model family and latent checks, progress, running a guider: the few private ComfyUI facts
  the pack needs, kept in one place), model_patches.py (installs our mechanisms on a ModelPatcher, shared
  by the nodes and the trainer), shift_lora_training.py (the Latent-Shift LoRA trainer, built on ComfyUI's
  weight adapters and guider), video_clips.py (training clips, resized with comfy.utils.common_upscale); model_families.py (one adapter
  per model family, dispatching on ComfyUI's diffusion-model classes); video_windows.py (ComfyUI's context windows
  evaluating the Context-Guided Sampler's passes on video latents);
- pure modules, every other file: the papers' math in torch. They import neither ComfyUI
  (comfy, comfy_api, comfy_extras, folder_paths, latent_preview, nodes, server, execution) nor a node module
  nor a glue module, so they run and are tested without a ComfyUI.
Every import counts, also one inside a function. A new module must be sorted into one of the kinds here.
"""
import ast
import os

from test_safety import ROOT

NODES_DIR = os.path.join(ROOT, "nodes")
GLUE = {"comfy_glue", "model_families", "model_patches", "shift_lora_training", "shift_lora_data", "video_clips",
        "video_windows"}
COMFY = {"comfy", "comfy_api", "comfy_extras", "folder_paths", "latent_preview", "nodes", "server", "execution"}


def modules() -> dict[str, ast.Module]:
    return {f[:-3]: ast.parse(open(os.path.join(NODES_DIR, f), encoding="utf-8").read(), f)
            for f in sorted(os.listdir(NODES_DIR)) if f.endswith(".py") and f != "__init__.py"}


def imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(top-level packages imported absolutely, sibling modules of nodes/ imported relatively)."""
    absolute, siblings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            siblings |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return absolute, siblings


def is_node(name: str) -> bool:
    return name.startswith("node_")


def test_every_module_is_of_a_known_kind():
    names = set(modules())
    assert GLUE <= names, f"glue modules listed here but absent: {GLUE - names}"
    assert any(is_node(n) for n in names) and any(not is_node(n) and n not in GLUE for n in names)


def test_pure_modules_import_neither_comfyui_nor_nodes_nor_glue():
    bad = {}
    for name, tree in modules().items():
        if is_node(name) or name in GLUE:
            continue
        absolute, siblings = imports(tree)
        found = sorted(absolute & COMFY) + sorted(s for s in siblings if is_node(s) or s in GLUE)
        if found:
            bad[name] = found
    assert not bad, f"pure modules importing ComfyUI, node or glue modules: {bad}"


def test_no_node_module_imports_another():
    bad = {name: sorted(s for s in imports(tree)[1] if is_node(s))
           for name, tree in modules().items() if is_node(name) or name in GLUE}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"modules importing a node module (move the shared code to model_patches.py or a pure module): {bad}"


def test_the_reader_sees_every_kind_of_import():
    tree = ast.parse("import comfy.utils\nfrom torch import nn\nfrom . import node_a as a\nfrom .node_b import x\n"
                     "def f():\n    from .frames import y\n    import folder_paths\n")
    assert imports(tree) == ({"comfy", "torch", "folder_paths"}, {"node_a", "node_b", "frames"})
