"""Context-Guided Sampler / Interpolation and window-aware anchors on ComfyUI's real classes (tiny weights)."""
import pytest
import torch

import comfy.context_windows as cw
import comfy.patcher_extension as pe
import comfy.sample
import comfy.samplers
from comfy_test_nodes.memory_peak import run_probe
from inprocess.helpers import denoise_once, with_run_sized_motion
from vidlift.nodes.core.context_guidance import frame_noise
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.core.frames import WINDOW_KEY
from vidlift.nodes.glue.model_patches import add_cross_frame_attention, add_temporal_shift
from vidlift.nodes.video_ldm import ContextGuidedInterpolation, ContextGuidedSampler
from vidlift.nodes.core.schedule import ddim_sigmas
from tolerance import fp32_close

SEED, STEPS, CFG = 5, 4, 5.0


def rollout(model, conds, frames=10, window=4, context=2, guidance=1.0, start=None, steps=STEPS):
    latent = {"samples": torch.zeros(1, 4, 8, 8)}
    return ContextGuidedSampler.execute(model, *conds, latent, SEED, steps, CFG, window, frames, context, guidance,
                                        start).args[0]["samples"]


def interpolate(model, conds, keyframes, window=5, passes=1, guidance=1.0):
    return ContextGuidedInterpolation.execute(model, *conds, {"samples": keyframes}, SEED, STEPS, CFG, window,
                                              passes, guidance).args[0]["samples"]


def counting(model):
    """A clone that counts U-Net forwards (one per window pass per step, cond+uncond batched)."""
    calls = []
    m = model.clone()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "test_count",
                           lambda executor, x, *a, **k: (calls.append(x.shape[0]), executor(x, *a, **k))[1])
    return m, calls


@pytest.fixture(scope="module")
def shifted(unet):
    return add_temporal_shift(unet)          # frames interact; no cross-frame attention, so no anchor frame


def test_scale_one_is_stock_inpainting_window_by_window_and_one_pass(shifted, conds):
    """An independent rollout: ComfyUI's own inpainting (noise_mask: context = 0) with Euler (= DDIM η=0) per window."""
    model, calls = counting(shifted)
    ours = rollout(model, conds, guidance=1.0)
    windows = [([], [0]), ([0], [1, 2, 3]), ([2, 3], [4, 5]), ([4, 5], [6, 7]), ([6, 7], [8, 9])]   # T 4, S 2
    assert calls == [2 * len(h + n) for h, n in windows for _ in range(STEPS)]                  # one pass a step
    noise = frame_noise(SEED, range(10), (4, 8, 8))
    sigmas = ddim_sigmas(shifted.get_model_object("model_sampling").sigmas.float().cpu(), STEPS)
    video = torch.zeros(10, 4, 8, 8)
    for held, new in windows:
        ids = sorted(held + new)
        mask = torch.tensor([0.0 if i in held else 1.0 for i in ids]).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)
        out = comfy.sample.sample_custom(shifted, noise[ids], CFG, comfy.samplers.ksampler("euler"), sigmas, *conds,
                                         video[ids].clone(), noise_mask=mask.clone(), disable_pbar=True, seed=SEED)
        video[new] = out[[ids.index(i) for i in new]].cpu()
    assert fp32_close(ours, video, passes=STEPS), (ours - video).abs().max()


def test_guidance_adds_one_pass_of_the_new_frames_alone(shifted, conds):
    model, calls = counting(shifted)
    plain = rollout(shifted, conds, guidance=1.0)
    guided = rollout(model, conds, guidance=2.0)
    per_step = [[2], [8, 6], [8, 4], [8, 4], [8, 4]]       # frame 0 alone; then window, its new frames alone
    assert calls == [c for window in per_step for _ in range(STEPS) for c in window]
    assert torch.equal(guided[0], plain[0]) and (guided[1:] - plain[1:]).abs().amax() > 1e-2


def test_start_frames_and_keyframes_come_back_exactly(shifted, conds):
    g = torch.Generator().manual_seed(1)
    start = {"samples": torch.randn(3, 4, 8, 8, generator=g)}
    out = rollout(shifted, conds, frames=9, start=start, guidance=1.5)
    assert out.shape[0] == 9 and torch.equal(out[:3], start["samples"]) and torch.isfinite(out).all()
    keys = torch.randn(3, 4, 8, 8, generator=g)
    once = interpolate(shifted, conds, keys, guidance=1.5)
    twice = interpolate(shifted, conds, keys, passes=2, window=9, guidance=1.5)
    assert once.shape[0] == 9 and torch.equal(once[::4], keys)
    assert twice.shape[0] == 33 and torch.equal(twice[::16], keys) and torch.isfinite(twice).all()


def test_with_cross_frame_attention_every_window_holds_frame0(unet, conds):
    seen = []
    model = add_cross_frame_attention(unet)
    model.set_model_attn1_patch(lambda n, c, v, o: (seen.append(tuple(o.get(WINDOW_KEY, ()))), (n, c, v))[1])
    rollout(model, conds, frames=10, window=4, context=2, guidance=2.0, steps=1)
    windows = list(dict.fromkeys(seen))
    assert windows == [(0,), (0, 1, 2, 3), (1, 2, 3), (0, 2, 3, 4, 5), (4, 5), (0, 4, 5, 6, 7), (6, 7),
                       (0, 6, 7, 8, 9), (8, 9)]


class Handler(cw.IndexListContextHandler):
    """ComfyUI's context windows; set_step as fixed upstream in 0.16.0 (0.3.75 compares a per-frame timestep)."""

    def set_step(self, timestep, model_options):
        ss = model_options["transformer_options"]["sample_sigmas"]
        self._step = int(torch.isclose(ss, timestep[0].to(ss), rtol=1e-4).nonzero()[0])


def with_core_windows(model, length, overlap=0):
    m = model.clone()
    m.model_options["context_handler"] = Handler(cw.get_matching_context_schedule("standard_static"),
                                                 cw.get_matching_fuse_method("flat"), length, overlap, dim=0)
    return m


def test_core_context_windows_anchor_on_the_videos_first_frame(unet, conds):
    """Windows [0..3], [4..7]: the second one's frames see frame 0's keys, i.e. they equal the model on
    frames [0, 4, 5, 6, 7] (frame 0 attends only to itself, so its states do not depend on the others)."""
    video = torch.randn(8, 4, 8, 8, generator=torch.Generator().manual_seed(3)) * 3.0
    cfa = add_cross_frame_attention(unet)
    windowed, _, _ = denoise_once(with_core_windows(cfa, 4), video, 3.0, *conds)
    first, _, _ = denoise_once(cfa, video[:4], 3.0, *conds)
    anchored, _, _ = denoise_once(cfa, video[[0, 4, 5, 6, 7]], 3.0, *conds)
    own_first, _, _ = denoise_once(cfa, video[4:], 3.0, *conds)
    assert fp32_close(windowed[:4], first)
    assert fp32_close(windowed[4:], anchored[1:])
    assert (windowed[4:] - own_first).abs().amax() > 1e-3              # not each window's own first frame
    plain, _, _ = denoise_once(with_core_windows(unet, 4), video, 3.0, *conds)
    assert (plain[4:] - windowed[4:]).abs().amax() > 1e-3              # and the patch is really active


def test_bad_inputs_name_node_and_parameter(shifted, conds):
    with pytest.raises(NodeInputError, match="Context-Guided Sampler: input 'context_frames'.*window−1 = 3"):
        rollout(shifted, conds, window=4, context=4)
    with pytest.raises(NodeInputError, match="Context-Guided Sampler: input 'context_guidance'.*≥ 1"):
        rollout(shifted, conds, guidance=0.5)
    with pytest.raises(NodeInputError, match="Context-Guided Sampler: input 'start_frames'.*nothing left"):
        rollout(shifted, conds, frames=3, start={"samples": torch.zeros(3, 4, 8, 8)})
    with pytest.raises(NodeInputError, match="Context-Guided Interpolation: input 'keyframes'.*at least 2"):
        interpolate(shifted, conds, torch.zeros(1, 4, 8, 8))
    with pytest.raises(NodeInputError, match="Context-Guided Interpolation: input 'window'.*4m\\+1"):
        interpolate(shifted, conds, torch.zeros(3, 4, 8, 8), window=8)
    with pytest.raises(NodeInputError, match="Context-Guided Interpolation: input 'context_guidance'"):
        interpolate(shifted, conds, torch.zeros(3, 4, 8, 8), guidance=0.9)
    assert ContextGuidedSampler.validate_inputs(8, 4, 4, 1.0).startswith("Context-Guided Sampler: input 'context_f")
    assert ContextGuidedSampler.validate_inputs(8, 4, 2, 1.0) is True
    assert ContextGuidedInterpolation.validate_inputs(6, 1, 1.0).startswith("Context-Guided Interpolation: input 'w")


def measure_peaks(*counts, window=16):
    return run_probe("long_video_memory_probe.py", "cpu", "context", window, *counts)


def test_peak_memory_does_not_grow_with_frames():
    peak = measure_peaks(32, 256)
    assert peak[32] > 4e6, peak                         # a window really costs memory ...
    assert peak[256] <= 1.1 * peak[32], peak            # ... and 8× the frames do not
    unbounded = measure_peaks(32, 128, window=512)    # one window over all frames: the probe sees growth
    assert unbounded[128] > 2 * unbounded[32], unbounded


@pytest.mark.parametrize("cross_frame", [False, True])
def test_each_call_is_a_run_of_its_own_frames_for_run_sized_motion_modules(unet, conds, cross_frame):
    """AnimateDiff-Evolved's motion modules take their frame count from the sampling run. Frame 0 alone, full
    and short windows (with the anchor frame) and the guidance passes of the new frames each run as a run of
    their own, so the module sees every call's own frames and never reads two chunks as one video."""
    seen = []
    base = add_cross_frame_attention(unet) if cross_frame else unet
    moving = with_run_sized_motion(base, seen)
    video = rollout(moving, conds, frames=11, window=4, context=2, guidance=1.5)
    assert {f for _, _, f in seen} >= {1, 2, 4 + cross_frame}, seen     # lone frame, new frames alone, windows
    assert {c for _, c, _ in seen} == {2}                               # cond + uncond, each a whole chunk
    assert not torch.equal(video, rollout(base, conds, frames=11, window=4, context=2, guidance=1.5))
    seen.clear()
    keys = interpolate(moving, conds, torch.randn(3, 4, 8, 8), window=5, guidance=1.5)
    assert keys.shape[0] == 9 and {f for _, _, f in seen} == {3, 5} | ({6} if cross_frame else set()), seen
