"""The Alternating KSampler with Wan 2.2 A14B's two experts as T2V: two tiny WanModels (WAN21 class, as
both A14B experts are) as high- and low-noise experts, an SD1.5-layout U-Net as T2I, the Wan VAE bridge."""
import math

import pytest
import torch

import comfy.patcher_extension as pe
from comfy_test_nodes import tiny, tiny_dit
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler

FRAMES, SIZE, SEED = 5, 8, 3                     # 5 = 4·1+1 frames of 64×64 pixels → Wan latent [1, 16, 2, 8, 8]
STEPS, REFINE, K = 6, "4,2", 2                   # refining at i = 2 and 4, T2V steps j = 2, 3 and 4, 5
ERROR = "T2V/T2I Alternating KSampler: input '{}': "


@pytest.fixture(scope="module")
def high():
    return tiny_dit.wan21(seed=13)


@pytest.fixture(scope="module")
def low():
    return tiny_dit.wan21(seed=29)


@pytest.fixture(scope="module")
def vaes():
    return tiny.vae_model(), tiny.wan21_vae_model()


@pytest.fixture(scope="module")
def vconds():
    return tiny.conditioning(30), tiny.conditioning(31)


def run(image, video, conds, vconds, vaes, low=None, boundary=0.875, video_vae=True):
    out = AlternatingKSampler.execute(image, *conds, video, *vconds, {"samples": torch.zeros(FRAMES, 4, SIZE, SIZE)},
                                      SEED, STEPS, 5.0, 3.0, CUSTOM, REFINE, K, "ddim", "gaussian", 1.0, 0.4,
                                      INVERSIONS[0], 1.5, True, image_vae=vaes[0],
                                      video_vae=vaes[1] if video_vae else None, video_model_low_noise=low,
                                      expert_boundary=boundary)
    return out.args[0]["samples"]


def traced(model, calls, name):
    """A clone whose diffusion-model calls append (name, σ) to `calls`; a flow model's timestep is 1000·σ."""
    m = model.clone()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_test_trace",
                           lambda executor, x, t, *a, **kw: (calls.append((name, float(t[0]) / 1000)),
                                                             executor(x, t, *a, **kw))[1])
    return m


def wan_sigmas(shift: float, steps: int) -> list[float]:
    """ComfyUI's `simple` schedule on a discrete flow model, from its definition: step x takes the table entry
    999 − ⌊x·1000/steps⌋, whose t = (1000 − ⌊x·1000/steps⌋)/1000 is shifted as
    σ = shift·t/(1 + (shift − 1)·t)."""
    ts = [(1000 - int(x * 1000 / steps)) / 1000 for x in range(steps)]
    return [shift * t / (1 + (shift - 1) * t) for t in ts]


@pytest.mark.parametrize("boundary", [0.875, 0.9])
def test_the_high_expert_runs_exactly_the_steps_at_or_above_the_boundary(unet, conds, vconds, high, low, vaes,
                                                                         boundary):
    calls = []
    out = run(unet, traced(high, calls, "high"), conds, vconds, vaes, traced(low, calls, "low"), boundary)
    assert out.shape == (FRAMES, 4, SIZE, SIZE) and torch.isfinite(out).all()
    sigmas = wan_sigmas(high.get_model_object("model_sampling").shift, STEPS)
    # σ here (float64) and ComfyUI's (a float32 table): ~1e-7 apart; no σ within 1e-3 of the boundary
    assert min(abs(s - boundary) for s in sigmas) > 1e-3
    steps = [j for i in (2, 4) for j in range(i, i + K)]
    want = [("high" if sigmas[j] >= boundary else "low", sigmas[j]) for j in steps]
    assert [name for name, _ in calls] == [name for name, _ in want]
    assert {name for name, _ in want} == {"high", "low"}              # both experts take part at both boundaries
    for (name, s), (want_name, want_s) in zip(calls, want):
        assert math.isclose(s, want_s, abs_tol=1e-6), (name, s, want_s)   # float32 σ and 1000·σ: a few ulp


def test_a_low_expert_with_the_high_experts_weights_is_the_single_model_run(unet, conds, vconds, high, vaes):
    """Both experts used (boundary 0.9 switches inside the first refining), same weights: bit-identical."""
    single = run(unet, high, conds, vconds, vaes)
    assert torch.equal(run(unet, high, conds, vconds, vaes, high.clone(), 0.9), single)
    assert not torch.equal(run(unet, high, conds, vconds, vaes, tiny_dit.wan21(seed=29), 0.9), single)   # can differ


@pytest.mark.parametrize("case,param,words", [
    ("same_space_t2v", "video_model_low_noise", "is connected but video_model is not a native video model"),
    ("wan22_5b", "video_model_low_noise", "is a Wan 2.2 5B model on Wan22 latents but video_model .* Wan 2.1 model "
                                          "on Wan21 latents"),
    ("sd_unet", "video_model_low_noise", "is a non-video model on SD15 latents"),
    ("boundary_high", "expert_boundary", "must be between 0 and 1, got 1.5"),
    ("boundary_low", "expert_boundary", "must be between 0 and 1, got -0.1"),
    ("boundary_nan", "expert_boundary", "must be between 0 and 1, got nan"),
])
def test_bad_expert_inputs_name_node_and_parameter(unet, conds, vconds, high, low, vaes, case, param, words):
    video, expert, boundary, bridge = high, low, 0.875, vaes
    if case == "same_space_t2v":
        video, bridge = unet.clone(), (None, None)
    elif case == "wan22_5b":
        expert = tiny_dit.wan22()
    elif case == "sd_unet":
        expert = unet
    else:
        boundary = {"boundary_high": 1.5, "boundary_low": -0.1, "boundary_nan": float("nan")}[case]
    with pytest.raises(NodeInputError, match=ERROR.format(param) + words):
        run(unet, video, conds, vconds, bridge, expert, boundary)
    if case.startswith("boundary"):
        answer = AlternatingKSampler.validate_inputs(STEPS, CUSTOM, REFINE, K, expert_boundary=boundary)
        assert answer.startswith(ERROR.format(param) + "must be between 0 and 1")
