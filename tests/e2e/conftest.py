"""One real ComfyUI server for the whole tier: the pack and the test-only nodes in its custom_nodes."""
import os
import socket

import pytest

from comfy_env import ROOT
from comfy_server import ComfyServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy_base")
    os.makedirs(base / "custom_nodes")
    os.symlink(ROOT, base / "custom_nodes" / "vidlift")
    os.symlink(os.path.join(ROOT, "tests", "comfy_test_nodes"), base / "custom_nodes" / "vidlift_test_nodes")
    # latent previews on, as most artists run (the pack's samplers send the frames being made)
    srv = ComfyServer(port=free_port(), base_dir=str(base), output_dir=str(base / "output"), cpu=True,
                      extra_args=["--preview-method", "latent2rgb"])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def object_info(server):
    return server.get("/object_info")

