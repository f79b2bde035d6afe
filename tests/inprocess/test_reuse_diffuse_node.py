"""Reuse-Diffuse Extender on ComfyUI's real model classes (tiny random weights)."""
import pytest
import torch

from vidlift.nodes.errors import NodeInputError
from vidlift.nodes.node_reuse_diffuse import ReuseDiffuseExtender
from vidlift.nodes import reuse_diffuse
from vidlift.nodes.node_text2video_zero import add_cross_frame_attention


def extend(model, conds, clips=2, frames=6, overlap=3, steps=10, guidance=0.4, direction="reverse (reference)",
           keep=True, recycle=4.0):
    latent = {"samples": torch.zeros(frames, 4, 8, 8)}
    return ReuseDiffuseExtender.execute(model, *conds, latent, 7, steps, 5.0, clips, overlap, recycle, guidance,
                                        direction, keep).args[0]["samples"]


def test_first_clip_is_independent_of_the_extension_and_lengths(unet, conds):
    one, two = extend(unet, conds, clips=1), extend(unet, conds, clips=2)
    assert one.shape[0] == 6 and two.shape[0] == 12 and torch.equal(two[:6], one)
    assert extend(unet, conds, clips=3, keep=False).shape[0] == 6 + 2 * 3


def test_dsg_holds_overlap_frames_at_the_previous_clips_latents(unet, conds, monkeypatch):
    seen = []
    original = reuse_diffuse.sample_reuse_diffuse

    def recording(model, x, sigmas, extra_args=None, callback=None, disable=None, **kw):
        def cb(d):
            seen.append(d["x"].clone())
            return callback(d) if callback else None
        return original(model, x, sigmas, extra_args, cb, disable, **kw)

    monkeypatch.setattr("vidlift.nodes.node_reuse_diffuse.sample_reuse_diffuse", recording)
    steps, overlap = 10, 3
    video_model = add_cross_frame_attention(unet)   # frames interact, so a frame released by DSG evolves anew
    extend(video_model, conds, steps=steps, overlap=overlap, guidance=0.6)
    clip0, clip1 = seen[:steps], seen[steps:]
    stages = reuse_diffuse.staged_guidance_steps(overlap, steps, 0.6)           # 6, 4, 2 steps
    for i in range(steps):
        for j in range(overlap):
            same = torch.equal(clip1[i][j], clip0[i][6 - 1 - j])
            assert same == (i < stages[j]), (i, j)


def test_bad_input_names_node_and_parameter(unet, conds):
    with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input 'overlap'.*smaller than the clip's 6"):
        extend(unet, conds, overlap=6)
    with pytest.raises(NodeInputError, match="staged_guidance g must be in \\[0, 1\\]"):
        extend(unet, conds, guidance=1.5)
    with pytest.raises(NodeInputError, match="noise_recycle r must be ≥ 0"):
        extend(unet, conds, recycle=-1.0)
