"""Node help pages and English locale, generated from the nodes' own schemas (so they cannot drift).

Writes js/docs/<node_id>.md (the frontend's node-help panel reads /extensions/<pack>/docs/<node_id>.md) and
locales/en/nodeDefs.json (ComfyUI serves a pack's locales/ to the frontend). Figures in js/docs/img/ come
from scripts/make_thumbnails.py. Run: .venv/bin/python scripts/make_docs.py (starts ComfyUI briefly).

Each help page is the node's schema (title, description, inputs and outputs with their tooltips) plus the
hand-written prose in docs/nodes/<node_id>.md, merged in after the outputs: the one place the node reference is
written (README links here; it does not repeat it). A node without a fragment gets the schema part alone.
"""
from __future__ import annotations

import json
import os

from comfy_env import ROOT
from workflow_api import is_widget

DOCS = os.path.join(ROOT, "js", "docs")
FRAGMENTS = os.path.join(ROOT, "docs", "nodes")
LOCALE = os.path.join(ROOT, "locales", "en", "nodeDefs.json")


def pack_nodes(object_info: dict) -> dict:
    return {k: v for k, v in sorted(object_info.items()) if k.startswith("VidLift_")}


def workflows_using(node_id: str) -> list[str]:
    folder = os.path.join(ROOT, "workflows")
    names = []
    for f in sorted(os.listdir(folder)):
        if f.endswith(".json"):
            with open(os.path.join(folder, f)) as fh:
                if any(n.get("type") == node_id for n in json.load(fh)["nodes"]):
                    names.append(f)
    return names


def kind_and_range(spec: list) -> str:
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if isinstance(spec[0], list) or spec[0] == "COMBO":
        return "one of " + ", ".join(f"`{o}`" for o in (spec[0] if isinstance(spec[0], list) else opts.get("options", [])))
    text = f"{spec[0]}"
    if "default" in opts and is_widget(spec):
        text += f", default `{opts['default']}`"
    if "min" in opts and "max" in opts and spec[0] in ("INT", "FLOAT"):
        text += f", {opts['min']} … {opts['max']}"
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fragment(node_id: str) -> str:
    """The hand-written prose of docs/nodes/<node_id>.md, stripped ("" if there is none)."""
    path = os.path.join(FRAGMENTS, f"{node_id}.md")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def help_page(node_id: str, info: dict) -> str:
    lines = [f"# {info['display_name']}", "", info["description"], "",
             f"![{info['display_name']} on the canvas](img/{node_id}.png)", "", "## Inputs", "",
             "| input | type | what it does |", "|---|---|---|"]
    for section in ("required", "optional"):
        for name, spec in (info["input"].get(section) or {}).items():
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            optional = " (optional)" if section == "optional" else ""
            lines.append(f"| `{name}`{optional} | {cell(kind_and_range(spec))} | {cell(opts.get('tooltip', ''))} |")
    lines += ["", "## Outputs", "", "| output | type | what it is |", "|---|---|---|"]
    tips = info.get("output_tooltips") or [""] * len(info["output"])
    for name, kind, tip in zip(info.get("output_name") or info["output"], info["output"], tips):
        lines.append(f"| `{name}` | {kind} | {cell(tip or '')} |")
    prose = fragment(node_id)
    if prose:
        lines += ["", prose]
    used = workflows_using(node_id)
    if used:
        lines += ["", "## Example workflows", "", "In the template browser under the pack's name: "
                  + ", ".join(f"`{u}`" for u in used) + "."]
    return "\n".join(lines) + "\n"


def locale(nodes: dict) -> dict:
    out = {}
    for node_id, info in nodes.items():
        inputs = {}
        for section in ("required", "optional"):
            for name, spec in (info["input"].get(section) or {}).items():
                opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                inputs[name] = {"name": name, **({"tooltip": opts["tooltip"]} if opts.get("tooltip") else {})}
        tips = info.get("output_tooltips") or [None] * len(info["output"])
        outputs = {str(i): {"name": n, **({"tooltip": t} if t else {})}
                   for i, (n, t) in enumerate(zip(info.get("output_name") or info["output"], tips))}
        out[node_id] = {"display_name": info["display_name"], "description": info["description"],
                        "inputs": inputs, "outputs": outputs}
    return out


def generated(object_info: dict) -> dict[str, str]:
    """{path relative to ROOT: file text} for every generated file."""
    nodes = pack_nodes(object_info)
    files = {os.path.relpath(os.path.join(DOCS, f"{k}.md"), ROOT): help_page(k, v) for k, v in nodes.items()}
    files[os.path.relpath(LOCALE, ROOT)] = json.dumps(locale(nodes), indent=1, ensure_ascii=False) + "\n"
    return files


if __name__ == "__main__":
    from comfy_server import ComfyServer
    with ComfyServer(port=8196) as server:
        info = server.get("/object_info")
    for rel, text in generated(info).items():
        os.makedirs(os.path.dirname(os.path.join(ROOT, rel)), exist_ok=True)
        with open(os.path.join(ROOT, rel), "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote", rel)
