"""Start a real ComfyUI server headless with the pack, queue prompts over HTTP, follow them on the websocket."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

from comfy_env import BASE_DIR, comfyui_path


class ComfyServer:
    def __init__(self, port: int = 8188, base_dir: str = BASE_DIR, output_dir: str | None = None,
                 log_path: str | None = None, extra_args=(), cpu: bool | None = None):
        self.port, self.base_dir, self.output_dir = port, base_dir, output_dir
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path or os.path.join(base_dir, "comfyui.log")
        self.extra_args, self.cpu, self.proc = list(extra_args), cpu, None

    def command(self) -> list[str]:
        cmd = [sys.executable, os.path.join(comfyui_path(), "main.py"), "--listen", "127.0.0.1", "--port", str(self.port),
               "--base-directory", self.base_dir, "--disable-auto-launch",
               "--database-url", "sqlite:///" + os.path.join(self.base_dir, "user", "comfyui.db")]
        if self.output_dir:
            cmd += ["--output-directory", self.output_dir]
        cpu = self.cpu
        if cpu is None:
            import torch
            cpu = not torch.cuda.is_available()
        # on CPU, PyTorch's SDPA attention is about 2× faster than the sub-quadratic default
        return cmd + (["--cpu", "--use-pytorch-cross-attention"] if cpu else []) + self.extra_args

    def start(self, timeout: float = 180) -> "ComfyServer":
        os.makedirs(os.path.join(self.base_dir, "user"), exist_ok=True)
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command(), cwd=comfyui_path(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.get("/system_stats")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"ComfyUI did not answer on {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "".join(open(self.log_path, errors="replace").readlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- HTTP -------------------------------------------------------------------------------------
    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw.strip() else {})
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw.strip() else {})

    def run(self, prompt: dict, extra_data: dict | None = None, on_message=None, timeout: float = 1800) -> dict:
        """Queue an API-format prompt and wait for it; returns {status, prompt_id, history, messages, errors}."""
        return asyncio.run(self._run(prompt, extra_data or {}, on_message, timeout))

    async def _run(self, prompt, extra_data, on_message, timeout):
        import aiohttp
        client_id = uuid.uuid4().hex
        messages = []
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{self.port}/ws?clientId={client_id}") as ws:
                code, body = self.post("/prompt", {"prompt": prompt, "client_id": client_id, "extra_data": extra_data})
                if code != 200:
                    return {"status": "rejected", "http_status": code, "errors": body, "messages": messages}
                pid = body["prompt_id"]
                deadline = time.time() + timeout
                while time.time() < deadline:
                    msg = await ws.receive(timeout=max(1.0, deadline - time.time()))
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
                        continue
                    data = json.loads(msg.data)
                    if data.get("data", {}).get("prompt_id") not in (None, pid):
                        continue
                    messages.append(data)
                    if on_message:
                        on_message(data)
                    kind = data["type"]
                    if kind in ("execution_success", "execution_error", "execution_interrupted") or (
                            kind == "executing" and data["data"].get("node") is None and data["data"].get("prompt_id") == pid):
                        break
        history = {}
        for _ in range(100):  # the history entry is stored just after the last websocket message
            history = self.get(f"/history/{pid}").get(pid, {})
            if history.get("status", {}).get("completed") is not None:
                break
            await asyncio.sleep(0.1)
        status = history.get("status", {}).get("status_str", "unknown")
        errors = [m["data"] for m in messages if m["type"] == "execution_error"]
        return {"status": status, "prompt_id": pid, "history": history, "messages": messages, "errors": errors}


def output_files(history: dict, kinds=("images", "videos", "gifs", "animated")) -> list[dict]:
    """Every file a finished prompt reports in its UI outputs."""
    files = []
    for node_out in history.get("outputs", {}).values():
        for kind in kinds:
            files += [f for f in node_out.get(kind, []) if isinstance(f, dict) and "filename" in f]
    return files
