"""Reuse-Diffuse Extender on ComfyUI's real model classes (tiny random weights)."""
import pytest
import torch

from comfy_test_nodes.memory_peak import run_probe
from inprocess.helpers import with_run_sized_motion
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_patches import add_cross_frame_attention
from vidlift.nodes.vidrd import ReuseDiffuseExtender, ReuseDiffuseSampler
from vidlift.nodes.core import reuse_diffuse


def extend(model, conds, clips=2, frames=6, overlap=3, steps=10, guidance=0.4, direction="reverse (reference)",
           keep=True, recycle=4.0, previous=None, size=8, both=False):
    latent = {"samples": torch.zeros(frames, 4, size, size)}
    out = ReuseDiffuseExtender.execute(model, *conds, latent, 7, steps, 5.0, clips, overlap, recycle, guidance,
                                       direction, keep, previous).args
    return (out[0]["samples"], out[1]) if both else out[0]["samples"]


def first_clip(model, conds, frames=6, steps=10, latent=None):
    """Reuse-Diffuse Sampler: (latent, last clip socket)."""
    latent = latent or {"samples": torch.zeros(frames, 4, 8, 8)}
    out = ReuseDiffuseSampler.execute(model, *conds, latent, 7, steps, 5.0).args
    return out[0]["samples"], out[1]


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

    monkeypatch.setattr("vidlift.nodes.glue.reuse_clips.sample_reuse_diffuse", recording)
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
    with pytest.raises(NodeInputError, match="input 'staged_guidance': must be between 0 and 1"):
        extend(unet, conds, guidance=1.5)
    with pytest.raises(NodeInputError, match="input 'noise_recycle': must be between 0 and 100"):
        extend(unet, conds, recycle=-1.0)


@pytest.mark.parametrize("keep", [True, False], ids=["keep_overlap", "drop_overlap"])
def test_sampler_then_extenders_equal_one_extender(unet, conds, keep):
    """The documented noise scheme (clip k seeded by (seed, k)) makes a chain of nodes one run, bit for bit."""
    video_model = add_cross_frame_attention(unet)   # frames interact, so a wrong DSG copy would show
    whole = extend(video_model, conds, clips=3, keep=keep)
    clip0, handoff = first_clip(video_model, conds)
    assert torch.equal(clip0, whole[:6])                                   # the Sampler is the Extender's clip 0
    two, last = extend(video_model, conds, clips=2, keep=keep, previous=handoff, both=True)
    assert torch.equal(torch.cat([clip0, two]), whole)
    one, middle = extend(video_model, conds, clips=1, keep=keep, previous=handoff, both=True)
    other = extend(video_model, conds, clips=1, keep=keep, previous=middle)  # an extender continues an extender
    assert torch.equal(torch.cat([clip0, one, other]), whole)
    assert (handoff.clip, middle.clip, last.clip) == (0, 1, 2)


def test_a_wrong_previous_changes_the_continuation(unet, conds):
    video_model = add_cross_frame_attention(unet)
    _, handoff = first_clip(video_model, conds)
    _, unrelated = first_clip(video_model, (conds[1], conds[0]))            # another prompt's clip 0
    assert not torch.equal(extend(video_model, conds, clips=1, previous=handoff),
                           extend(video_model, conds, clips=1, previous=unrelated))


def test_previous_that_does_not_fit_names_node_and_parameter(unet, conds):
    _, handoff = first_clip(unet, conds, steps=4)
    with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input 'previous': is a clip of 6 frames but "
                                             "this latent has 8.*batch size 6"):
        extend(unet, conds, steps=4, frames=8, previous=handoff)
    with pytest.raises(NodeInputError, match="input 'previous': holds latents of shape \\[4, 8, 8\\] but this "
                                             "latent has \\[4, 16, 16\\]"):
        extend(unet, conds, steps=4, size=16, previous=handoff)
    with pytest.raises(NodeInputError, match="input 'previous': was sampled with 4 steps but steps = 10; set steps "
                                             "to 4"):
        extend(unet, conds, steps=10, previous=handoff)


def test_nodes_leave_their_inputs_alone(unet, conds):
    latent = {"samples": torch.randn(6, 4, 8, 8)}
    keep = latent["samples"].clone()
    _, handoff = first_clip(unet, conds, steps=3, latent=latent)
    saved = handoff.init.clone(), handoff.history.clone(), handoff.sigmas.clone()
    ReuseDiffuseExtender.execute(unet, *conds, latent, 7, 3, 5.0, 2, 3, 4.0, 0.4, "forward", False, handoff)
    assert torch.equal(latent["samples"], keep)
    assert all(torch.equal(a, b) for a, b in zip((handoff.init, handoff.history, handoff.sigmas), saved))


def test_peak_memory_does_not_grow_with_clips():
    """One clip in the model at a time; the video and the previous clip's history on the CPU (probe: RSS)."""
    peak = run_probe("long_video_memory_probe.py", "cpu", "reuse", 16, 32, 256)
    assert peak[32] > 4e6, peak                         # a clip really costs memory ...
    assert peak[256] <= 1.1 * peak[32], peak            # ... and 8× the frames (16 clips) do not
    unbounded = run_probe("long_video_memory_probe.py", "cpu", "reuse", 100000, 32, 128)   # one clip of all frames
    assert unbounded[128] > 2 * unbounded[32], unbounded


def test_run_sized_motion_modules_see_one_clip_per_call(unet, conds):
    """AnimateDiff-Evolved's motion modules take their frame count from the sampling run: every call of the
    extender is one clip of N frames, cond and uncond whole, and the motion reaches the frames."""
    seen = []
    moving = with_run_sized_motion(unet, seen)
    video = extend(moving, conds, clips=3)
    assert set(seen) == {(12, 2, 6)} and len(seen) == 3 * 10, set(seen)
    assert not torch.equal(video, extend(unet, conds, clips=3))
