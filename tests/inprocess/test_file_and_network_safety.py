"""Files and network at run time.

None of our nodes writes a file today (outputs go through core's SaveVideo / SaveLatent, whose
filename_prefix is core's business). The schema test below fails as soon as a node of ours becomes an
output node or takes a path-like text input, until that node is listed in FILE_WRITERS with a test that
`..` and absolute names cannot leave ComfyUI's output folder; `folder_paths.get_save_image_path` is the
guard such a node must use (its behaviour is pinned here). No node opens a socket while it runs.
"""
import importlib
import os
import socket

import pytest
import torch

import folder_paths
from comfy_api.latest import io
from comfy_env import ROOT

# node_id -> the test (file::name) proving its written names stay inside ComfyUI's folders. The LoRA trainer
# (reads a dataset, writes a .safetensors) must add its row here.
FILE_WRITERS: dict[str, str] = {
    # lora_name "../evil", "sub/name" and video_folder "../outside" / absolute / symlinked out are refused there
    "VidLift_TrainTemporalShiftLoRA": "tests/inprocess/test_shift_lora_train.py::test_bad_inputs_name_node_and_parameter, "
                                      "::test_folders_outside_the_input_directory_are_refused",
}
PATH_WORDS = ("path", "file", "folder", "dir", "prefix", "name")


def pack_nodes():
    for name in sorted(os.listdir(os.path.join(ROOT, "nodes"))):        # node classes: the files of nodes/ itself
        if name.endswith(".py") and name != "__init__.py":
            yield from importlib.import_module(f"vidlift.nodes.{name[:-3]}").NODES


def test_every_node_that_could_write_files_has_a_path_escape_test():
    nodes = list(pack_nodes())
    assert len(nodes) >= 7
    for cls in nodes:
        schema = cls.define_schema()
        texts = [i.id for i in schema.inputs if isinstance(i, io.String.Input)]
        writes = schema.is_output_node or any(w in t.lower() for t in texts for w in PATH_WORDS)
        assert not writes or schema.node_id in FILE_WRITERS, (
            f"{schema.node_id} may write files ({texts}, output node: {schema.is_output_node}): add a test that "
            f"'..' and absolute names are refused, and list it in FILE_WRITERS")


@pytest.mark.parametrize("prefix", ["../escape", "../../etc/escape", "video/../../escape", "/tmp/escape"])
def test_core_guard_keeps_saved_names_inside_the_output_folder(prefix, tmp_path):
    output = str(tmp_path / "output")
    with pytest.raises(Exception, match="outside the output folder"):
        folder_paths.get_save_image_path(prefix, output)
    folder, name, _, subfolder, _ = folder_paths.get_save_image_path("video/clip", output)
    assert (subfolder, name) == ("video", "clip") and os.path.commonpath([folder, output]) == output


def test_no_node_opens_a_connection_while_it_runs(unet, conds, monkeypatch):
    from vidlift.nodes.lpff import LPFFFilter
    from vidlift.nodes.vidrd import DIRECTIONS, ReuseDiffuseExtender
    from vidlift.nodes.latent_shift import TemporalShiftPatcher
    from vidlift.nodes.temporal_vae_decode import TemporalVAEDecode
    from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler
    from comfy_test_nodes import tiny
    vae = tiny.temporal_vae_model()
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access in a test")

    for target in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, target, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    z = {"samples": torch.zeros(4, 4, 8, 8)}
    m = TemporalShiftPatcher.execute(unet, 0.125, "before conv1", "zero", 1.0, True, True, True).args[0]
    m = CrossFrameAttentionPatcher.execute(m, "first", 1.0, True, True, True).args[0]
    video = Text2VideoZeroSampler.execute(m, *conds, z, 0, 5.0, 8.0, 8.0, 4, 1, 2, 0).args[0]
    video = LPFFFilter.execute(video, "gaussian", "spatio-temporal (reference)", 1.0, 0.5, 4, 0).args[0]
    MotionLatentWarp.execute(unet, video, video, 3, 8.0, 8.0, 4, 1, 2, 0)
    clips = ReuseDiffuseExtender.execute(m, *conds, video, 0, 2, 5.0, 2, 1, 4.0, 0.4, DIRECTIONS[0], True).args[0]
    frames = TemporalVAEDecode.execute(clips, vae, 3, 1, 0, 64).args[0]
    assert frames.shape == (8, 64, 64, 3) and attempts == []
