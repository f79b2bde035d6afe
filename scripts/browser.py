"""Headless Chromium (Debian's package, no browser download) driven by Playwright against the real frontend."""
from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("VIDLIFT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# as root on a closed network: no sandbox, no background connections (they are refused and flood the log)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Console noise of the frontend itself, present with no custom nodes at all: resources of hosts this closed
# network cannot reach, absent per-user files, and one error the frontend logs on a fresh user profile.
NOISE = ("Failed to load resource", "net::ERR_", "Cannot read properties of undefined (reading 'id')")


def is_noise(text: str) -> bool:
    return any(n in text for n in NOISE)


class Page:
    """One frontend tab: console errors collected, workflows loaded through the app's own loader."""

    def __init__(self, browser, url: str, size=(1600, 1000)):
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" and not is_noise(m.text) else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        # a returning artist: no first-run template browser, no "Nodes 2.0" banner over the canvas
        self.page.request.post(url + "/api/settings", data={"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False,
                                                         "LiteGraph.Canvas.LowQualityRenderingZoomThreshold": 0.1})
        self.page.add_init_script("localStorage.setItem('vueNodesBannerDismissed', 'true')")
        self.page.goto(url)
        self.page.wait_for_function("window.app && window.app.graph && window.LiteGraph && window.app.extensionManager",
                                    timeout=120_000)
        self.page.wait_for_timeout(1000)
        self.close_dialogs()

    def eval(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def close_dialogs(self):
        self.page.keyboard.press("Escape")
        self.eval("() => document.querySelectorAll('.p-dialog-close-button').forEach(b => b.click())")

    def dialogs(self) -> list[str]:
        return self.eval("() => Array.from(document.querySelectorAll('.p-dialog')).map(d => d.innerText)")

    def missing_node_notices(self) -> list[str]:
        """What the frontend shows about missing nodes: a dialog (frontend 1.2x) or an inline banner whose line
        reads "Missing node: <type>" (1.4x)."""
        banners = self.eval("""() => Array.from(document.querySelectorAll('body *'))
          .filter(e => e.children.length === 0 && /missing node/i.test(e.innerText || '')).map(e => e.innerText)""")
        return [d for d in self.dialogs() if "missing" in d.lower()] + banners

    def load(self, workflow: dict):
        self.eval("wf => window.app.loadGraphData(wf)", workflow)
        self.page.wait_for_timeout(800)

    def fit_view(self):
        self.eval("() => window.app.extensionManager.command.execute('Comfy.Canvas.FitView')")
        self.eval("() => window.app.graph.setDirtyCanvas(true, true)")
        self.page.wait_for_timeout(400)

    def graph_box(self, pad: int = 12):
        """The screen rectangle (x, y, w, h) that holds every node and group after fit_view."""
        return self.eval("""pad => {
          const ds = window.app.canvas.ds, g = window.app.graph, r = [Infinity, Infinity, -Infinity, -Infinity];
          const add = (x, y, w, h) => { r[0] = Math.min(r[0], x); r[1] = Math.min(r[1], y);
                                        r[2] = Math.max(r[2], x + w); r[3] = Math.max(r[3], y + h); };
          for (const n of g._nodes) add(n.pos[0], n.pos[1] - 30, n.size[0], n.size[1] + 30);
          for (const gr of g._groups || []) add(gr.pos[0], gr.pos[1], gr.size[0], gr.size[1]);
          const rect = window.app.canvas.canvas.getBoundingClientRect();
          const sx = v => rect.left + (v + ds.offset[0]) * ds.scale, sy = v => rect.top + (v + ds.offset[1]) * ds.scale;
          return [sx(r[0]) - pad, sy(r[1]) - pad, (r[2] - r[0]) * ds.scale + 2 * pad, (r[3] - r[1]) * ds.scale + 2 * pad];
        }""", pad)
