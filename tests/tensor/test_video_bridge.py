"""VideoElevator's VAE bridge (nodes/video_bridge.py) in the alternating loop, with closed-form models and an exact
inverse VAE pair built here: the bridged loop must be the same-space loop, call for call."""
import pytest
import torch

from tensor.test_video_elevator_loop import LAVIE, SD, denoisers
from vidlift.nodes.glue import video_bridge as vb
from vidlift.nodes.core import video_elevator as ve
from vidlift.nodes.core.schedule import ddim_sigmas, leading_timesteps, vp_to_ve

FRAMES, C, HW = 9, 3, 4                   # 9 = 4·2+1 frames → 3 latent frames of a 4n+1 video VAE
T, CV = vb.latent_frames(FRAMES, 4), FRAMES * C // 3       # the video latent holds all 27 values: 9 channels × 3


def orthogonal(n, seed):
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


M_IMAGE, M_VIDEO = orthogonal(C, 1), orthogonal(FRAMES * C, 2)


def decode_image(z):            # [F, C, h, w] → pixels [F, h, w, 3], a per-frame colour mix
    return torch.einsum("fchw,cd->fhwd", z, M_IMAGE)


def encode_frames(p):           # its exact inverse, frame by frame
    return torch.einsum("fhwd,cd->fchw", p, M_IMAGE)


def encode_video(p):            # pixels [F, h, w, 3] → [1, CV, T, h, w]: mixes all frames (and is exactly invertible)
    flat = p.permute(1, 2, 0, 3).reshape(HW, HW, FRAMES * C) @ M_VIDEO
    return flat.reshape(HW, HW, CV, T).permute(2, 3, 0, 1).unsqueeze(0)


def decode_video(v):
    flat = v[0].permute(2, 3, 0, 1).reshape(HW, HW, FRAMES * C) @ M_VIDEO.T
    return flat.reshape(HW, HW, FRAMES, C).permute(2, 0, 1, 3)


def traced(fn, name, trace):
    def call(x):
        if trace is not None:
            trace.append(("bridge", name))
        return fn(x)
    return call


def bridge_of(trace=None, **changes):
    fns = {**dict(decode_image=decode_image, encode_video=encode_video, decode_video=decode_video,
                  encode_frames=encode_frames), **changes}
    return vb.Bridge(**{k: traced(f, k, trace) for k, f in fns.items()})


def to_video_space(x):
    return encode_video(decode_image(x))


def loop(steps, remaining, k, bridged, trace=None, lcm=False, bridge=None):
    """The loop on the same draws: bridged, the T2V lives in the video VAE's space, where its denoiser is the
    same closed-form model seen through the bridge and its noise the same draws carried there (an orthogonal map
    of standard normal noise is standard normal)."""
    g = torch.Generator().manual_seed(0)
    z = ve.mixed_noise(g, FRAMES, (C, HW, HW), 1.5).double()
    draws = iter(lambda: torch.randn(FRAMES, C, HW, HW, generator=g, dtype=torch.float64), None)
    sigmas = ddim_sigmas(SD, steps).double()
    image, video = denoisers(trace)
    noise = (lambda like: to_video_space(next(draws))) if bridged else (lambda like: next(draws))
    if bridged:
        plain_video = video
        video = lambda v, s: to_video_space(plain_video(encode_frames(decode_video(v)), s))   # noqa: E731
    return ve.elevate(image, video, vp_to_ve(z, sigmas[0]), sigmas, LAVIE[leading_timesteps(steps)].double(),
                      SD[0].double(), ve.refine_indices(remaining, steps), k, noise=noise, step_noise=noise,
                      lpf=None, video_step="lcm" if lcm else "ddim",
                      bridge=(bridge or bridge_of(trace)) if bridged else None)


@pytest.mark.parametrize("lcm", [False, True])
def test_bridged_loop_equals_the_same_space_loop(lcm):
    same, bridged = loop(12, [10, 6, 3], 3, False, lcm=lcm), loop(12, [10, 6, 3], 3, True, lcm=lcm)
    # float64, orthogonal maps (condition number 1): ~100 steps of O(1) arithmetic leave ≤ 1e-12
    assert (same - bridged).abs().max() < 1e-12, (same - bridged).abs().max()
    # the comparison can fail: a bridge that is not the inverse of the forward (a colour shift on the way back)
    broken = bridge_of(encode_frames=lambda p: encode_frames(p) * 1.01)
    assert (loop(12, [10, 6, 3], 3, True, bridge=broken) - same).abs().max() > 1e-3


def test_bridged_call_trace_is_the_analytic_count():
    trace, steps, k = [], 50, 8
    refine = ve.refine_indices(ve.preset_remaining("ZeroScope", steps), steps)
    loop(steps, ve.preset_remaining("ZeroScope", steps), k, True, trace=trace)
    calls = ve.model_calls(steps, refine, k, bridge_ops=vb.Bridge.OPS_PER_REFINING)
    assert calls == dict(image=50, video=32, inversion=116, pnp=40, bridge=16)
    kinds = [c[0] if c[0] != "image" else c[1] for c in trace]
    assert (kinds.count("cfg"), kinds.count("video"), kinds.count("negative"), kinds.count("positive"),
            kinds.count("bridge")) == tuple(calls.values())
    at5 = trace.index(("image", "cfg", leading_timesteps(steps)[5]))                  # the first refining, i = 5
    assert trace[at5 + 1:at5 + 3] == [("bridge", "decode_image"), ("bridge", "encode_video")]
    assert [c[0] for c in trace[at5 + 3:at5 + 3 + k]] == ["video"] * k
    assert trace[at5 + 3 + k:at5 + 5 + k] == [("bridge", "decode_video"), ("bridge", "encode_frames")]
    assert trace[at5 + 5 + k] == ("image", "negative", 1)                            # then the inversion


@pytest.mark.parametrize("temporal", [4, 8])
def test_frame_count_mapping_round_trips(temporal):
    for n in range(40):
        f = temporal * n + 1
        assert vb.is_valid_count(f, temporal) and vb.latent_frames(f, temporal) == n + 1
        assert vb.pixel_frames(vb.latent_frames(f, temporal), temporal) == f
        assert vb.latent_frames(vb.pixel_frames(n + 1, temporal), temporal) == n + 1
        assert vb.nearest_valid_count(f, temporal) == f and vb.frames_problem(f, temporal, "Wan") is None
        for d in range(1, temporal):                           # invalid counts between two valid ones
            assert not vb.is_valid_count(f + d, temporal)
            near = vb.nearest_valid_count(f + d, temporal)
            assert near == (f if d < temporal / 2 else f + temporal)
    assert vb.nearest_valid_count(0, temporal) == 1


def test_frame_and_size_problems_offer_valid_values():
    param, text = vb.frames_problem(8, 4, "Wan 2.1")
    assert param == "latent" and "4n+1" in text and "use 9 frames" in text
    assert "use 17 frames" in vb.frames_problem(16, 8, "LTX")[1] and "use 9 frames" in vb.frames_problem(12, 8, "LTX")[1]
    assert vb.size_problem(512, 768, 16, "Wan") is None
    param, text = vb.size_problem(520, 760, 16, "Wan 2.1 (VAE 8 × patch 2)")
    assert param == "latent" and "760×520" in text and "use 768×528" in text


def test_shared_space_frame0_skips_its_round_trip():
    seen = {}
    x0 = torch.randn(5, 16, 1, 2, 2, dtype=torch.float64)

    def enc_frames(p):
        seen["frames"] = p.shape[0]
        return torch.zeros(p.shape[0], 16, 1, 2, 2, dtype=torch.float64)

    b = vb.Bridge(decode_image=lambda z: torch.zeros(5, 16, 16, 3), encode_video=lambda p: torch.ones(1, 16, 2, 2, 2, dtype=torch.float64),
                  decode_video=lambda v: torch.zeros(5, 16, 16, 3), encode_frames=enc_frames, shared_frame0=True)
    v = b.to_video(x0)
    assert torch.equal(v[0, :, 0], x0[0, :, 0]) and torch.equal(v[0, :, 1], torch.ones(16, 2, 2))
    back = b.to_image(v)
    assert seen["frames"] == 4 and torch.equal(back[0], x0[0]) and not back[1:].any()
