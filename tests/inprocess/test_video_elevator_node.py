"""T2V/T2I Alternating KSampler on ComfyUI's real model classes (tiny random weights)."""
import types

import pytest
import torch

import comfy.latent_formats
import comfy.model_sampling
import comfy.patcher_extension as pe
import comfy.sample
from comfy_test_nodes import tiny
from inprocess.helpers import denoise_once, with_run_sized_motion
from videoelevator_reference import reference_loop
from vidlift.nodes.core import video_elevator as ve
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.core.lpff import lpff_frames_in_batch
from vidlift.nodes.glue.model_patches import add_cross_frame_attention, add_temporal_shift
from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler
from vidlift.nodes.core.schedule import alphas_cumprod, vp_to_ve
from tolerance import fp32_close

FRAMES, SIZE, SEED = 3, 8, 7


def run(image, video, conds, vconds, steps=8, preset=CUSTOM, refine="6,3", k=2, cfg=(5.0, 3.0), sampler="ddim",
        lpff="gaussian", inversion=INVERSIONS[0], alpha=1.5, cfa=True, frames=FRAMES):
    latent = {"samples": torch.zeros(frames, 4, SIZE, SIZE)}
    out = AlternatingKSampler.execute(image, *conds, video, *vconds, latent, SEED, steps, cfg[0], cfg[1], preset,
                                      refine, k, sampler, lpff, 1.0, 0.4, inversion, alpha, cfa)
    return out.args[0]["samples"]


def with_schedule(model, **sampling_settings):
    """The model with another DDPM schedule (e.g. LaVie's linear β 1e-4 → 0.02, "sqrt_linear" in ComfyUI)."""
    class Sampling(comfy.model_sampling.ModelSamplingDiscrete, comfy.model_sampling.EPS):
        pass
    m = model.clone()
    m.add_object_patch("model_sampling", Sampling(types.SimpleNamespace(sampling_settings=sampling_settings)))
    return m


@pytest.fixture(scope="module")
def video_model():
    """A T2V of its own (other weights, LaVie's schedule, frames interacting through the temporal shift)."""
    return with_schedule(add_temporal_shift(tiny.unet_model(seed=5)), beta_schedule="sqrt_linear",
                         linear_start=1e-4, linear_end=2e-2)


@pytest.fixture(scope="module")
def vconds():
    return tiny.conditioning(20), tiny.conditioning(21)


def initial_noise(frames=FRAMES, alpha=1.5):
    g = torch.Generator().manual_seed(SEED)
    z = ve.mixed_noise(g, frames, (4, SIZE, SIZE), alpha)
    return z, g


def table(model):
    return model.get_model_object("model_sampling").sigmas.float()


@pytest.mark.parametrize("cfa", [True, False])
def test_without_refining_it_is_comfys_ddim_sampler(unet, conds, vconds, video_model, cfa):
    out = run(unet, video_model, conds, vconds, refine="", cfa=cfa)
    model = add_cross_frame_attention(unet) if cfa else unet
    z, _ = initial_noise()
    sigma0 = table(unet)[876]                                  # first of 8 DDIM steps (leading spacing)
    noise = vp_to_ve(z, sigma0) / sigma0                       # KSampler adds σ₀·noise to the empty latent
    ksampler = comfy.sample.sample(model, noise, 8, 5.0, "ddim", "ddim_uniform", *conds,
                                   torch.zeros(FRAMES, 4, SIZE, SIZE), seed=0, disable_pbar=True)
    assert fp32_close(out, ksampler, passes=8), (out - ksampler).abs().max()


@pytest.mark.parametrize("sampler,inversion", [("ddim", INVERSIONS[0]), ("lcm", INVERSIONS[0]), ("ddim", INVERSIONS[1])])
def test_node_equals_the_reference_loop_on_real_unets(unet, conds, vconds, video_model, sampler, inversion):
    """Every call of the reference loop goes through a stock CFGGuider (helpers.denoise_once) with the right
    model, conds and cfg; the node must give the same video."""
    out = run(unet, video_model, conds, vconds, sampler=sampler, inversion=inversion)
    image = add_cross_frame_attention(unet)
    t_image, t_video = table(unet), table(video_model)
    assert not torch.allclose(t_image, t_video)

    def eps_image(z, t, prompt):
        sigma = t_image[t]
        x = vp_to_ve(z, sigma)
        pos, neg = conds if prompt != "neg" else conds[::-1]
        return (x - denoise_once(image, x, sigma, pos, neg, cfg=5.0 if prompt == "cfg" else 1.0)[0]) / sigma

    def eps_video(v, t):
        sigma = t_video[t]
        x = vp_to_ve(v, sigma)
        return (x - denoise_once(video_model, x, sigma, *vconds, cfg=3.0)[0]) / sigma

    z, g = initial_noise()
    noises = iter(lambda: torch.randn((FRAMES, 4, SIZE, SIZE), generator=g), None)
    g_step = torch.Generator().manual_seed(SEED + 1)
    step_noises = iter(lambda: torch.randn((FRAMES, 4, SIZE, SIZE), generator=g_step), None)
    lpf = lambda x0: lpff_frames_in_batch(x0, FRAMES, shape="gaussian", d_s=1.0, d_t=0.4)  # noqa: E731
    ref = reference_loop(eps_image, eps_video, z, alphas_cumprod(t_image), alphas_cumprod(t_video), 8, [6, 3], 2,
                         lpf, noises, step_noises, pnp=inversion == INVERSIONS[0], lcm=sampler == "lcm")
    ref = unet.get_model_object("latent_format").process_out(ref)
    assert fp32_close(out, ref, passes=32), (out - ref).abs().max()   # ≤ 32 model passes: 8 steps, 4 T2V, inversion, PnP


def test_one_checkpoint_as_both_models_switches_patches(unet, conds, vconds):
    """T2V = the T2I's own weights + Temporal Shift (object patches on the shared U-Net): the same video as with
    a separate copy of the weights, so each model ran with exactly its own patches."""
    shared = run(unet, add_temporal_shift(unet), conds, vconds)
    separate = run(unet, add_temporal_shift(tiny.unet_model(seed=0)), conds, vconds)
    plain = run(unet, unet, conds, vconds)
    assert fp32_close(shared, separate)
    assert (shared - plain).abs().max() > 1e-3                 # the shift did act in the T2V calls
    before = comfy.sample.sample(unet, torch.ones(2, 4, SIZE, SIZE), 2, 5.0, "euler", "normal", *conds,
                                 torch.zeros(2, 4, SIZE, SIZE), seed=0, disable_pbar=True)
    run(unet, add_temporal_shift(unet), conds, vconds)
    after = comfy.sample.sample(unet, torch.ones(2, 4, SIZE, SIZE), 2, 5.0, "euler", "normal", *conds,
                                torch.zeros(2, 4, SIZE, SIZE), seed=0, disable_pbar=True)
    assert torch.equal(before, after) and not unet.object_patches   # the input model is untouched


def counting(model, calls, name):
    m = model.clone()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_test_count",
                           lambda executor, x, *a, **kw: (calls.append((name, x.shape[0])), executor(x, *a, **kw))[1])
    return m


def test_unet_calls_and_progress_follow_the_analytic_count(unet, conds, vconds, video_model, progress):
    calls = []
    run(counting(unet, calls, "image"), counting(video_model, calls, "video"), conds, vconds, steps=12,
        refine="10,6,3", k=3)
    n = ve.model_calls(12, [2, 6, 9], 3)
    assert n == dict(image=12, video=9, inversion=9 + 5 + 2, pnp=3 + 2 + 1)
    assert calls.count(("image", 2 * FRAMES)) == n["image"]                       # cond + uncond batched
    assert calls.count(("image", FRAMES)) == n["inversion"] + n["pnp"]            # one prompt, no CFG
    assert calls.count(("video", 2 * FRAMES)) == n["video"] and len(calls) == sum(n.values())
    total = sum(n.values())
    assert progress[0] == ("total", total) and progress[1:] == [(v, total) for v in range(1, total + 1)]


@pytest.mark.parametrize("kwargs,param,words", [
    (dict(refine="60"), "refine_steps", "outside 1..8"),
    (dict(refine="0"), "refine_steps", "outside 1..8"),
    (dict(refine="6,3", k=4), "refine_steps/video_steps", "i + K ≤ N"),
    (dict(k=0), "video_steps", "between 1 and 500"),
    (dict(preset="ZeroScope", k=8), "preset/video_steps", "i + K ≤ N"),
    (dict(refine="6,x"), "refine_steps", "'x' is not a whole number"),
])
def test_bad_settings_name_node_and_parameter(unet, conds, vconds, video_model, kwargs, param, words):
    with pytest.raises(NodeInputError, match=f"T2V/T2I Alternating KSampler: input '{param}'") as e:
        run(unet, video_model, conds, vconds, **kwargs)
    assert words in str(e.value)
    found = AlternatingKSampler.validate_inputs(8, kwargs.get("preset", CUSTOM), kwargs.get("refine", "6,3"),
                                                kwargs.get("k", 2))
    assert isinstance(found, str) and param in found and words in found      # rejected at queue time too


def test_bad_models_and_frames_name_node_and_parameter(unet, conds, vconds, video_model):
    sdxl_space = unet.clone()
    sdxl_space.add_object_patch("latent_format", comfy.latent_formats.SDXL())
    with pytest.raises(NodeInputError, match="input 'video_model': works on SDXL latents.*image_model on SD15"):
        run(unet, sdxl_space, conds, vconds)
    with pytest.raises(NodeInputError, match="input 'video_model': works on Flux latents \\(16 channels\\)"):
        run(unet, tiny.dit_model(), conds, vconds)
    with pytest.raises(NodeInputError, match="input 'image_model': model family .*MMDITWrapper is not supported"):
        run(tiny.unsupported_model(), video_model, conds, vconds)
    two = [[torch.cat([conds[0][0][0]] * 2), {}]]
    with pytest.raises(NodeInputError, match="input 'video_positive': holds 2 conditionings.*3 frames"):
        run(unet, video_model, conds, (two, vconds[1]))
    assert run(unet, video_model, (two, conds[1]), vconds, frames=2, refine="").shape == (2, 4, SIZE, SIZE)


@pytest.mark.parametrize("shared", [False, True])
def test_t2v_calls_are_runs_of_the_t2v_for_run_sized_motion_modules(unet, conds, vconds, video_model, shared):
    """AnimateDiff-Evolved sets its motion modules up in the T2V's own sampling run (an OUTER_SAMPLE wrapper) and
    reads the frame count from it: every T2V call is such a run, of all frames, cond and uncond whole; the T2I
    never runs the module. Also with one checkpoint as both models (T2V = T2I + the module)."""
    seen = []
    t2v = unet if shared else video_model
    video = run(unet, with_run_sized_motion(t2v, seen), conds, vconds)
    assert len(seen) == 2 * 2 and set(seen) == {(2 * FRAMES, 2, FRAMES)}, seen     # 2 refinings × K = 2 T2V steps
    assert not torch.equal(video, run(unet, t2v, conds, vconds))
