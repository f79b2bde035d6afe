"""VideoElevator's alternating loop with closed-form ε-models, against the reference loop re-implemented in
tests/videoelevator_reference.py (diffusers' schedulers, VP form) and against the schedule it must follow."""
import pytest
import torch

from videoelevator_reference import reference_loop
from vidlift.nodes.core import video_elevator as ve
from vidlift.nodes.core.lpff import lpff_frames_in_batch
from vidlift.nodes.core.schedule import (alphas_cumprod, ddim_invert, ddim_sigmas, leading_timesteps, read_at,
                                    timestep_of, ve_to_vp, vp_to_ve)


def table(betas):
    ac = torch.cumprod(1 - betas, 0)
    return ((1 - ac) / ac).sqrt().float()


SD = table(torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2)   # T2I: scaled_linear
LAVIE = table(torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64))                      # T2V: linear (LaVie)
FRAMES, SHAPE = 6, (3, 4, 4)
W_I, W_V = 7.5, 3.0
g = torch.Generator().manual_seed(11)
POS, NEG, VPOS, VNEG = (torch.randn(1, 3, 1, 1, generator=g, dtype=torch.float64) for _ in range(4))


def eps_image_raw(z, t, c):
    """Stand-in for the T2I U-Net with cross-frame attention: every frame also sees frame 0."""
    s = t / 1000
    return torch.tanh(0.7 * z + c * s) * (1 - 0.5 * s) + 0.3 * s * z[:1]


def eps_video_raw(v, t, c):
    """Stand-in for the T2V U-Net: neighbouring frames interact."""
    s = t / 1000
    return torch.tanh(0.5 * v + c * (1 - s)) + 0.2 * s * (v.roll(1, 0) + v.roll(-1, 0))


def eps_image(z, t, prompt):
    if prompt != "cfg":
        return eps_image_raw(z, t, POS if prompt == "pos" else NEG)
    u, c = eps_image_raw(z, t, NEG), eps_image_raw(z, t, POS)
    return u + W_I * (c - u)


def eps_video(v, t):
    u, c = eps_video_raw(v, t, VNEG), eps_video_raw(v, t, VPOS)
    return u + W_V * (c - u)


def denoisers(trace=None):
    """Our loop's k-diffusion denoisers around the same ε-models: x̂₀ = x − σ·ε(x/√(1+σ²), t(σ))."""
    names = {"cfg": "cfg", "positive": "pos", "negative": "neg"}

    def image(x, sigma, guidance):
        t = timestep_of(SD, float(sigma))
        if trace is not None:
            trace.append(("image", guidance, t))
        return x - float(sigma) * eps_image(ve_to_vp(x, sigma), t, names[guidance])

    def video(x, sigma):
        t = timestep_of(LAVIE, float(sigma))
        if trace is not None:
            trace.append(("video", t))
        return x - float(sigma) * eps_video(ve_to_vp(x, sigma), t)
    return image, video


def draws(n, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(FRAMES, *SHAPE, generator=gen, dtype=torch.float64) for _ in range(n)]


def lpf(x0):
    return lpff_frames_in_batch(x0, FRAMES, shape="gaussian", d_s=1.0, d_t=0.4)


def ours(steps, remaining, k, pnp=True, lcm=False, alpha=1.5, trace=None, use_lpf=True):
    z = ve.mixed_noise(torch.Generator().manual_seed(0), FRAMES, SHAPE, alpha).double()
    sigmas = ddim_sigmas(SD, steps).double()
    video_sigmas = LAVIE[leading_timesteps(steps)].double()
    noises, step_noises = iter(draws(len(remaining), 1)), iter(draws(len(remaining) * k, 2))
    image, video = denoisers(trace)
    out = ve.elevate(image, video, vp_to_ve(z, sigmas[0]), sigmas, video_sigmas, SD[0].double(),
                     ve.refine_indices(remaining, steps), k, noise=lambda like: next(noises), lpf=lpf if use_lpf else None,
                     pnp=pnp, video_step="lcm" if lcm else "ddim", step_noise=lambda like: next(step_noises))
    return z, out


@pytest.mark.parametrize("steps,remaining,k", [(12, [10, 6, 3], 3), (12, [8, 7], 2), (10, [9, 1], 1),
                                                (50, [45, 35, 25, 15], 8)])
@pytest.mark.parametrize("pnp", [True, False])
@pytest.mark.parametrize("lcm", [False, True])
def test_loop_equals_the_reference_loop(steps, remaining, k, pnp, lcm):
    z, out = ours(steps, remaining, k, pnp, lcm)
    ref = reference_loop(eps_image, eps_video, z.clone(), alphas_cumprod(SD), alphas_cumprod(LAVIE), steps, remaining,
                         k, lpf, iter(draws(len(remaining), 1)), iter(draws(len(remaining) * k, 2)), pnp, lcm)
    assert torch.allclose(out, ref, atol=2e-5, rtol=1e-5), (out - ref).abs().max()


def test_each_part_changes_the_result():
    """The comparison above would notice a missing part: PnP, LPFF, the refining itself, T2V step type."""
    _, full = ours(12, [10, 6, 3], 3)
    for changed in (ours(12, [10, 6, 3], 3, pnp=False)[1], ours(12, [10, 6, 3], 3, use_lpf=False)[1],
                    ours(12, [], 3)[1], ours(12, [10, 6, 3], 3, lcm=True)[1], ours(12, [10, 6, 4], 3)[1]):
        assert (changed - full).abs().max() > 1e-3
    with pytest.raises(ValueError, match="i \\+ K ≤ N"):
        ours(12, [10, 2], 3)


def test_call_trace_follows_the_zeroscope_schedule():
    trace = []
    steps, k = 50, 8
    remaining = ve.preset_remaining("ZeroScope", steps)
    refine = ve.refine_indices(remaining, steps)
    assert refine == [5, 15, 25, 35]
    ours(steps, remaining, k, trace=trace)
    ts = leading_timesteps(steps)
    pnp_steps = {j for r, r_next in zip(refine, refine[1:] + [steps]) for j in range(r + 1, min(r_next, steps - 1))}
    expected = []
    for i in range(steps):
        expected.append(("image", "cfg", ts[i]))
        if i in refine:
            expected += [("video", ts[j]) for j in range(i, i + k)]                     # K T2V steps at t_i…
            expected += [("image", "negative", ts[j]) for j in range(steps - 1, i, -1)]  # invert 1, 21, … t_{i+1}
        elif i in pnp_steps:
            expected.append(("image", "positive", ts[i]))
    assert trace == expected
    assert trace[6:14] == [("video", t) for t in (881, 861, 841, 821, 801, 781, 761, 741)]  # refine at i = 5
    assert trace[14:58] == [("image", "negative", t) for t in range(1, 862, 20)]       # inverted up to t_6 = 861
    assert trace[58:61] == [("image", "cfg", 861), ("image", "positive", 861), ("image", "cfg", 841)]
    calls = ve.model_calls(steps, refine, k)
    assert calls == dict(image=50, video=32, inversion=44 + 34 + 24 + 14, pnp=9 + 9 + 9 + 13)
    kinds = [c[:2] if c[0] == "image" else c[:1] for c in trace]
    assert (kinds.count(("image", "cfg")), kinds.count(("video",)), kinds.count(("image", "negative")),
            kinds.count(("image", "positive"))) == (calls["image"], calls["video"], calls["inversion"], calls["pnp"])


def test_presets_and_their_timesteps():
    assert ve.refine_indices(ve.preset_remaining("LaVie", 50), 50) == [5, 15, 20, 25, 30, 35]
    assert [leading_timesteps(50)[i] for i in ve.refine_indices(ve.preset_remaining("LaVie", 50), 50)] == \
        [881, 681, 581, 481, 381, 281]
    lcm = ve.refine_indices(ve.preset_remaining("AnimateLCM", 30), 30)
    assert lcm == [4, 9, 15, 21] and [leading_timesteps(30)[i] for i in lcm] == [826, 661, 463, 265]
    assert ve.preset_remaining("AnimateLCM", 50) == [43, 35, 25, 15]          # i = round(i_ref·50/30)
    assert ve.preset_remaining("ZeroScope", 20) == [18, 14, 10, 6]            # i = 2, 6, 10, 14


def test_parse_and_schedule_problems():
    assert ve.parse_remaining("45, 35;25 15") == [45, 35, 25, 15] and ve.parse_remaining(" ") == []
    with pytest.raises(ValueError, match="'4.5' is not a whole number"):
        ve.parse_remaining("45,4.5")
    assert ve.schedule_problem([45, 35, 25, 15], 50, 8) is None
    assert ve.schedule_problem([51], 50, 8)[0] == "refine_steps" and "outside 1..50" in ve.schedule_problem([51], 50, 8)[1]
    assert "outside 1..50" in ve.schedule_problem([0], 50, 1)[1]
    assert ve.schedule_problem([45, 5], 50, 8)[0] == "refine_steps/video_steps"
    assert "i + K ≤ N" in ve.schedule_problem([45, 5], 50, 8)[1]
    assert ve.schedule_problem([8], 50, 8) is None and ve.schedule_problem([8], 50, 0)[0] == "video_steps"


def test_mixed_noise_prior():
    gen = torch.Generator().manual_seed(4)
    base, res = torch.randn(1, 2, 3, generator=gen), torch.randn(5, 2, 3, generator=gen)
    out = ve.mixed_noise(torch.Generator().manual_seed(4), 5, (2, 3), 2.0)
    assert torch.allclose(out, (2.0 * base + res) / 5 ** 0.5)
    assert torch.equal(ve.mixed_noise(torch.Generator().manual_seed(4), 5, (2, 3), 0.0), res)
    big = ve.mixed_noise(torch.Generator().manual_seed(0), 4, (20000,), 1.5)
    assert abs(big.var().item() - 1) < 0.03                                             # unit variance
    corr = torch.corrcoef(big[:2])[0, 1].item()
    assert abs(corr - 1.5 ** 2 / (1 + 1.5 ** 2)) < 0.03                                # shared part α²/(1+α²)


def test_ddim_invert_step_hand_computed():
    ac = alphas_cumprod(SD)
    z, eps = torch.tensor([0.3, -1.2], dtype=torch.float64), torch.tensor([0.5, 0.25], dtype=torch.float64)
    t, t_next = 21, 41
    x = vp_to_ve(z, SD[t])
    assert torch.allclose(ve_to_vp(read_at(x, SD[t], SD[t_next]), SD[t_next]), z)       # same sample z
    x0 = (z - (1 - ac[t]).sqrt() * eps) / ac[t].sqrt()
    expected = ac[t_next].sqrt() * x0 + (1 - ac[t_next]).sqrt() * eps                  # DDIMInverseScheduler.step
    assert torch.allclose(ve_to_vp(ddim_invert(x, eps, SD[t], SD[t_next]), SD[t_next]), expected)
