"""Pictures taken on the real canvas: template-browser thumbnails workflows/<name>.jpg (ComfyUI lists a
pack's workflows/ in its template browser with <name>.jpg beside each), and each node alone, with its
figure, for its help page (js/docs/img/<node_id>.png).

Run after changing a workflow or a node: .venv/bin/python scripts/make_thumbnails.py [names]
(starts ComfyUI and Chromium briefly).
"""
from __future__ import annotations

import io
import json
import os
import socket
import sys
import tempfile

from PIL import Image

from browser import ARGS, CHROMIUM, Page
from comfy_env import ROOT
from comfy_server import ComfyServer

WIDTH = 640
EMPTY = {"last_node_id": 0, "last_link_id": 0, "nodes": [], "links": [], "groups": [], "version": 0.4}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shoot(page, size):
    """A screenshot of the whole graph, fitted to the view and cropped to it."""
    page.fit_view()
    x, y, w, h = page.graph_box()
    clip = {"x": max(0, x), "y": max(0, y), "width": min(w, size[0]), "height": min(h, size[1])}
    return Image.open(io.BytesIO(page.page.screenshot(clip=clip))).convert("RGB")


def main(names=None):
    from playwright.sync_api import sync_playwright
    folder = os.path.join(ROOT, "workflows")
    all_pictures = not names
    names = names or sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
    with tempfile.TemporaryDirectory() as base:
        os.makedirs(os.path.join(base, "custom_nodes"))
        os.symlink(ROOT, os.path.join(base, "custom_nodes", "vidlift"))
        with ComfyServer(port=free_port(), base_dir=base, cpu=True) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = Page(browser, server.url, size=(2200, 1300))
            node_ids = sorted(k for k in server.get("/object_info") if k.startswith("VidLift_"))
            for name in names:
                with open(os.path.join(folder, name + ".json")) as f:
                    page.load(json.load(f))
                shot = shoot(page, (2200, 1300))
                shot = shot.resize((WIDTH, round(shot.height * WIDTH / shot.width)), Image.LANCZOS)
                shot.save(os.path.join(folder, name + ".jpg"), quality=82, optimize=True)
                print("wrote", os.path.join("workflows", name + ".jpg"))
            os.makedirs(os.path.join(ROOT, "js", "docs", "img"), exist_ok=True)
            small = Page(browser, server.url, size=(900, 700))
            for node_id in node_ids if all_pictures else []:
                small.load(EMPTY)
                small.eval("t => window.app.graph.add(window.LiteGraph.createNode(t))", node_id)
                small.eval("() => { window.app.canvas.ds.scale = 1 }")
                path = os.path.join(ROOT, "js", "docs", "img", node_id + ".png")
                shoot(small, (900, 700)).save(path, optimize=True)
                print("wrote", os.path.relpath(path, ROOT))
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
