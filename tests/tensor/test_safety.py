"""No eval/exec, no pickle loading, no network access in the pack's own code (nodes/ and __init__.py)."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "dill", "marshal", "socket", "urllib", "requests", "http", "aiohttp", "subprocess"}


def pack_sources():
    yield os.path.join(ROOT, "__init__.py")
    for folder, _, names in sorted(os.walk(os.path.join(ROOT, "nodes"))):
        yield from (os.path.join(folder, n) for n in sorted(names) if n.endswith(".py"))


def violations(source: str, path: str = "<src>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{path}:{node.lineno} calls {node.func.id}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
            kw = {k.arg: k.value for k in node.keywords}
            if not (isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True):
                found.append(f"{path}:{node.lineno} torch.load without weights_only=True")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{path}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    return found


def test_pack_code_has_no_eval_pickle_or_network():
    for path in pack_sources():
        assert violations(open(path).read(), path) == []


def test_the_checker_catches_what_it_forbids():
    bad = "import pickle\nfrom urllib import request\nx = eval('1')\nimport torch\ntorch.load('f')\n"
    assert len(violations(bad)) == 4
    assert violations("import torch\ntorch.load('f', weights_only=True)\n") == []
