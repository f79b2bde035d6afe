"""Context-Guided Sampler on a native video model: ComfyUI's WanModel (WAN21) with tiny random weights, frames on
dim 2, each window evaluated by ComfyUI's context windows (0.33; 0.3.75 lacks the causal slot and must say so)."""
import pytest
import torch

import comfy.patcher_extension as pe
import comfy.sample
import comfy.samplers
from comfy_test_nodes import tiny_dit
from tolerance import fp32_close
from vidlift.nodes.core import sampling_math as sm
from vidlift.nodes.glue.comfy_glue import run_sampler, sampling_schedule
from vidlift.nodes.core.context_guidance import frame_noise
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.video_ldm import ContextGuidedInterpolation, ContextGuidedSampler
from vidlift.nodes.glue.video_windows import missing_causal_windows

STEPS, SEED, CFG = 3, 5, 3.0
needs_causal_windows = pytest.mark.skipif(missing_causal_windows() is not None, reason=str(missing_causal_windows()))


@pytest.fixture(scope="module")
def wan():
    return tiny_dit.wan21()


def rollout(model, conds, frames=33, window=17, context=2, guidance=1.0, start=None, batch=1, steps=STEPS, latent=None):
    latent = latent or {"samples": torch.zeros(batch, 16, 1, 4, 4)}
    return ContextGuidedSampler.execute(model, *conds, latent, SEED, steps, CFG, window, frames, context, guidance,
                                        start).args[0]["samples"]


def noise_of(frames, batch=1):
    return frame_noise(SEED, range(frames), (batch, 16, 4, 4)).movedim(0, 2)


def tracing(model, replace=None):
    """A clone whose diffusion-model calls record (global frame ids, slot source, input x); `replace(x, t, context)`
    stands in for the WanModel when given."""
    calls, m = [], model.clone()

    def wrapper(executor, x, t, context, clip_fea=None, time_dim_concat=None, transformer_options=None, **kwargs):
        window = (transformer_options or {}).get("context_window")
        calls.append((None if window is None else list(window.index_list),
                      None if window is None else getattr(window, "causal_anchor_index", None), x.clone()))
        if replace is not None:
            return replace(x, t, context)
        return executor(x, t, context, clip_fea, time_dim_concat, transformer_options, **kwargs)

    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "test_trace", wrapper)
    return m, calls


@needs_causal_windows
def test_windows_on_dim2_with_the_causal_slot_hand_computed(wan, conds):
    """33 pixel frames (9 latent), window 17 (5 positions), S = 2, guidance on: the calls the WanModel sees."""
    model, calls = tracing(wan)
    rollout(model, conds, guidance=2.0)
    seen = [(tuple(frames), slot, x.shape[2]) for frames, slot, x in calls]
    lone = [((0,), None, 1)]                                 # frame 0 alone: its own one-pixel-frame slot
    windows = [[((0, 1, 2, 3, 4), None, 5), ((1, 2, 3, 4), 1, 5)],   # S = 1 from position 0; the new frames alone
               [((3, 4, 5, 6), 2, 5), ((5, 6), 5, 3)],       # slot = held frame 2 (causal_window_fix); alone: a copy
               [((5, 6, 7, 8), 4, 5), ((7, 8), 7, 3)]]
    assert seen == lone * STEPS + [p for w in windows for _ in range(STEPS) for p in w]   # full, alone per step
    # what fills the slot: frame 2 re-noised like the context (a held frame) ... and in the pass without
    # context, a copy of the first new frame's state
    _, _, x = calls[STEPS + 2 * STEPS]
    _, _, alone = calls[STEPS + 2 * STEPS + 1]
    assert torch.equal(alone[:, :, 0], alone[:, :, 1]) and not torch.equal(x[:, :, 0], x[:, :, 1])


@needs_causal_windows
def test_one_window_over_all_frames_is_plain_sampling_bit_for_bit(wan, conds):
    """context 0 and a window as long as the video: one pass per step over all frames, no slot; the same DDIM steps
    without ComfyUI's context windows give the same bits, and ComfyUI's own euler the same numbers."""
    ours = rollout(wan, conds, frames=21, window=21, context=0, guidance=2.0)
    sched = sampling_schedule(wan, STEPS)
    eps = noise_of(6)

    def plain(model, x, sigmas, extra_args=None, callback=None, disable=None):
        z = sched.co.b(sigmas[0]) * eps.to(x)
        for i in range(len(sigmas) - 1):
            z = sm.ddim_step(sched.co, z, model(z, sigmas[i] * z.new_ones([1]), **extra_args), sigmas[i], sigmas[i + 1])
        return z

    want = run_sampler(wan, *conds, CFG, eps.shape, plain, {}, sched.sigmas, STEPS, SEED)
    assert torch.equal(ours, want)
    euler = comfy.sample.sample_custom(wan, eps, CFG, comfy.samplers.ksampler("euler"), sched.sigmas, *conds,
                                       torch.zeros_like(eps), disable_pbar=True, seed=SEED)
    assert fp32_close(ours, euler, passes=STEPS)
    assert (ours - rollout(wan, conds, frames=21, window=9, context=0)).abs().amax() > 1e-2   # windows do matter


@needs_causal_windows
def test_windows_never_mix_batch_entries(wan, conds):
    """Two videos in the batch: entry 0 is the one-video rollout (its noise is the first half of each frame's draw),
    entry 1 another video; so each window's passes keep the entries apart."""
    two = rollout(wan, conds, batch=2, guidance=2.0)
    one = rollout(wan, conds, batch=1, guidance=2.0)
    assert two.shape == (2, 16, 9, 4, 4)
    assert fp32_close(two[:1], one, passes=STEPS * 6)
    assert (two[1] - two[0]).abs().amax() > 1e-1


def toy_velocity(x, t, context):
    """An analytic stand-in for the WanModel (float64): v = 0.6·x − 0.9·mean over the call's frames (so the context
    and the slot matter) + the prompt's mean·(1 + t/1000) (so CFG does)."""
    x64 = x.double()
    prompt = context.double().mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
    return 0.6 * x64 - 0.9 * x64.mean(dim=2, keepdim=True) + prompt * (1 + t.double().view(-1, 1, 1, 1, 1) / 1000)


def reference_rollout(sigmas, eps, prompts, guidance, plan):
    """The rollout on plain float64 tensors: `plan` is [(held, new, slot)] with slot None / 'before' / 'copy'."""
    video = torch.zeros_like(eps)
    a, b = (lambda s: 1 - s), (lambda s: s)                   # flow: x = (1 − σ)·x₀ + σ·ε

    def denoise(x, s):                                        # CONST x̂₀ = x − σ·v, text CFG
        cond, uncond = (x - s * toy_velocity(x, s * 1000 * torch.ones(1), p) for p in prompts)
        return uncond + CFG * (cond - uncond)

    for held, new, slot in plan:
        ids = held + new
        lead = [ids[0] - 1] if slot == "before" else []
        z = b(sigmas[0]) * eps[:, :, ids]
        for i in range(len(sigmas) - 1):
            s = sigmas[i]
            z[:, :, :len(held)] = a(s) * video[:, :, held] + b(s) * eps[:, :, held]
            x = torch.cat([a(s) * video[:, :, lead] + b(s) * eps[:, :, lead], z], dim=2)
            d = denoise(torch.cat([z[:, :, :1], z], dim=2) if slot == "copy" else x, s)[:, :, len(lead) + (slot == "copy"):]
            if guidance != 1.0 and held:
                alone = z[:, :, len(held):]
                d_alone = denoise(torch.cat([alone[:, :, :1], alone], dim=2), s)[:, :, 1:]
                d[:, :, len(held):] = d_alone + guidance * (d[:, :, len(held):] - d_alone)
            z = a(sigmas[i + 1]) * d + (b(sigmas[i + 1]) / b(s)) * (z - a(s) * d)
        video[:, :, new] = z[:, :, len(held):]
    return video


@needs_causal_windows
@pytest.mark.parametrize("context,guidance", [(2, 2.0), (0, 1.0)])
def test_toy_model_matches_a_float64_reference_loop(wan, conds, context, guidance):
    """The whole node (windows, slot, held context, guidance, CFG, DDIM) on an analytic model equals the same
    rollout written on plain float64 tensors, to the float32 rounding of its passes."""
    model, calls = tracing(wan, replace=toy_velocity)
    ours = rollout(model, conds, context=context, guidance=guidance)
    sched = sampling_schedule(wan, STEPS)
    prompts = [c[0][0] for c in conds]                        # the conditioning tensors the model gets as context
    if context:
        plan = [([], [0], None), ([0], [1, 2, 3, 4], None), ([3, 4], [5, 6], "before"), ([5, 6], [7, 8], "before")]
    else:
        plan = [([], [0, 1, 2, 3, 4], None), ([], [5, 6, 7, 8], "copy")]
    want = reference_rollout(sched.sigmas.double(), noise_of(9).double(), prompts, guidance, plan)
    want = wan.get_model_object("latent_format").process_out(want)
    assert fp32_close(ours, want, passes=len(calls))
    slotless = [(h, n, None) for h, n, _ in plan]             # the slot really changes the result
    assert (ours - wan.get_model_object("latent_format").process_out(
        reference_rollout(sched.sigmas.double(), noise_of(9).double(), prompts, guidance, slotless))).abs().amax() > 1e-2


@needs_causal_windows
def test_start_frames_come_back_exactly_and_guidance_changes_only_new_frames(wan, conds):
    start = {"samples": torch.randn(1, 16, 3, 4, 4, generator=torch.Generator().manual_seed(1))}
    out = rollout(wan, conds, start=start, guidance=1.5)
    assert out.shape == (1, 16, 9, 4, 4) and torch.equal(out[:, :, :3], start["samples"])
    plain, guided = rollout(wan, conds), rollout(wan, conds, guidance=2.5)
    assert torch.equal(plain[:, :, 0], guided[:, :, 0])                    # frame 0 alone: no context to guide by
    assert (plain[:, :, 1:] - guided[:, :, 1:]).abs().amax() > 1e-2


@pytest.mark.parametrize("case,match", [
    (dict(frames=32), "'frames'.*32 pixel frames.*4n\\+1.*use 29 or 33"),
    (dict(window=15), "'window'.*15 pixel frames.*use 13 or 17"),
    (dict(window=9, context=2), "'context_frames'.*S = 2.*9 pixel frames \\(3 latent frames.*S ≤ 1"),
    (dict(latent={"samples": torch.zeros(2, 16, 4, 4)}), "'latent'.*needs a video latent"),
    (dict(latent={"samples": torch.zeros(1, 4, 1, 4, 4)}), "'latent'.*4 channels.*16-channel"),
    (dict(start={"samples": torch.zeros(1, 16, 9, 4, 4)}), "'start_frames'.*9 latent frames.*nothing left"),
    (dict(start={"samples": torch.zeros(1, 16, 2, 4, 6)}), "'start_frames'.*size 6×4.*4×4"),
])
def test_bad_inputs_name_node_and_parameter(wan, conds, case, match):
    if missing_causal_windows() is not None:
        match = "'model'.*native video model.*causal_window_fix.*update ComfyUI"
    with pytest.raises(NodeInputError, match="Context-Guided Sampler: input " + match):
        rollout(wan, conds, **case)


def test_interpolation_refuses_video_models_by_name(wan, conds):
    with pytest.raises(NodeInputError, match="Context-Guided Interpolation: input 'model'.*native video model"):
        ContextGuidedInterpolation.execute(wan, *conds, {"samples": torch.zeros(1, 16, 3, 4, 4)}, SEED, STEPS, CFG,
                                           5, 1, 1.5)
