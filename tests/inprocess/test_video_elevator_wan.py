"""The Alternating KSampler with a native video model as T2V: ComfyUI's own WanModel and WanVAE at tiny
widths, random weights; an SD1.5-layout U-Net (and a tiny Qwen-Image, the shared-space pair) as T2I."""
import pytest
import torch

import comfy.patcher_extension as pe
from comfy_test_nodes import tiny, tiny_dit
from inprocess.helpers import CountingVAE, counting
from vidlift.nodes.core import video_elevator as ve
from vidlift.nodes.glue.comfy_glue import encode_each_frame
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler

FRAMES, SIZE, SEED = 5, 8, 3                     # 5 = 4·1+1 frames of 64×64 pixels → Wan latent [1, 16, 2, 8, 8]


@pytest.fixture(scope="module")
def wan():
    return tiny_dit.wan21()


@pytest.fixture(scope="module")
def wan_vae():
    return tiny.wan21_vae_model()


@pytest.fixture(scope="module")
def sd_vae():
    return tiny.vae_model()


@pytest.fixture(scope="module")
def vconds():
    return tiny.conditioning(30), tiny.conditioning(31)


def run(image, video, conds, vconds, image_vae=None, video_vae=None, frames=FRAMES, size=SIZE, channels=4, steps=6,
        refine="4,2", k=2, cfa=True, five_d=False):
    shape = (frames, channels, 1, size, size) if five_d else (frames, channels, size, size)
    out = AlternatingKSampler.execute(image, *conds, video, *vconds, {"samples": torch.zeros(shape)}, SEED, steps, 5.0,
                                      3.0, CUSTOM, refine, k, "ddim", "gaussian", 1.0, 0.4, INVERSIONS[0], 1.5, cfa,
                                      image_vae=image_vae, video_vae=video_vae)
    return out.args[0]["samples"]


@torch.no_grad()
def test_wan_vae_frame0_is_the_image_latent_and_per_frame_encode_never_mixes_frames(wan_vae):
    """What the shared-space shortcut may skip: latent frame 0 of a causal video encode IS frame 0's image latent,
    and pixel frame 0 of a video decode depends on latent frame 0 alone; the other latent frames mix 4 frames."""
    g = torch.Generator().manual_seed(0)
    pixels = torch.rand(FRAMES, 32, 32, 3, generator=g)
    video = wan_vae.encode(pixels)
    each = encode_each_frame(wan_vae, pixels)
    assert video.shape == (1, 16, 2, 4, 4) and each.shape == (FRAMES, 16, 1, 4, 4)
    assert torch.equal(video[0, :, 0], each[0, :, 0])                      # causal: frame 0 is encoded alone
    assert (video[0, :, 1] - each[1, :, 0]).abs().max() > 1e-3             # latent frame 1 ≠ frame 1's image latent
    decoded, first = wan_vae.decode(video), wan_vae.decode(video[:, :, :1])
    assert torch.equal(decoded.reshape(-1, 32, 32, 3)[0], first.reshape(-1, 32, 32, 3)[0])
    for k in range(FRAMES):                       # changing pixel frame k changes latent frame k only
        changed = pixels.clone()
        changed[k] = 1 - changed[k]
        diff = (encode_each_frame(wan_vae, changed) - each).flatten(1).abs().amax(1)
        assert diff[k] > 1e-3 and torch.all(diff[torch.arange(FRAMES) != k] == 0), (k, diff)


def test_sd_with_wan_runs_the_bridge_and_counts_every_call(unet, conds, vconds, wan, wan_vae, sd_vae, progress):
    calls = []
    out = run(counting(unet, calls, "image"), counting(wan, calls, "video"), conds, vconds,
              CountingVAE(sd_vae, "image_vae", calls), CountingVAE(wan_vae, "video_vae", calls))
    assert out.shape == (FRAMES, 4, SIZE, SIZE) and torch.isfinite(out).all()
    n = ve.model_calls(6, [2, 4], 2, True, 4)
    assert n == dict(image=6, video=4, inversion=3 + 1, pnp=1, bridge=8)
    assert calls.count(("image", (2 * FRAMES, 4, SIZE, SIZE))) == n["image"]
    assert calls.count(("image", (FRAMES, 4, SIZE, SIZE))) == n["inversion"] + n["pnp"]
    assert calls.count(("video", (2, 16, 2, SIZE, SIZE))) == n["video"]           # cond + uncond, 2 latent frames
    per_refining = [("image_vae", "decode", (FRAMES, 4, SIZE, SIZE)), ("video_vae", "encode", (FRAMES, 64, 64, 3)),
                    ("video_vae", "decode", (1, 16, 2, SIZE, SIZE)), ("image_vae", "encode", (FRAMES, 64, 64, 3))]
    assert [c for c in calls if c[0].endswith("vae")] == per_refining * 2
    total = sum(n.values())
    assert progress[0] == ("total", total) and progress[1:] == [(v, total) for v in range(1, total + 1)]
    assert not unet.object_patches and not wan.object_patches                      # inputs untouched


def test_the_bridge_changes_the_video_and_the_same_seed_repeats_it(unet, conds, vconds, wan, wan_vae, sd_vae):
    a = run(unet, wan, conds, vconds, sd_vae, wan_vae)
    assert torch.equal(a, run(unet, wan, conds, vconds, sd_vae, wan_vae))
    assert (a - run(unet, wan, conds, vconds, sd_vae, wan_vae, refine="")).abs().max() > 1e-3


def test_qwen_image_with_wan_shares_one_latent_space(conds, vconds, wan, wan_vae):
    """Qwen-Image (Wan 2.1 latents, one frame each) + Wan 2.1: image_vae alone serves both sides; the image latents'
    frame 0 crosses without a pixel round trip, the per-frame encodes skip it (4 of 5 frames encoded)."""
    calls = []
    qwen = tiny_dit.qwen_image()
    out = run(qwen, wan, conds, vconds, CountingVAE(wan_vae, "image_vae", calls), channels=16, five_d=True, cfa=False)
    assert out.shape == (FRAMES, 16, 1, SIZE, SIZE) and torch.isfinite(out).all()
    encodes = [c[2] for c in calls if c[1] == "encode"]
    assert encodes == [(FRAMES, 64, 64, 3)] + [(1, 64, 64, 3)] * (FRAMES - 1) + \
        [(FRAMES, 64, 64, 3)] + [(1, 64, 64, 3)] * (FRAMES - 1)        # video encode, then frames 1… one by one


@pytest.mark.parametrize("case,param,words", [
    ("frames", "latent", "needs 4n\\+1 frames.*use 9 frames"),
    ("size", "latent", "multiples of 16; use 80×80"),
    ("no_image_vae", "image_vae", "is needed: video_model is a Wan 2.1 video model"),
    ("no_video_vae", "video_vae", "is needed: video_model \\(Wan 2.1\\) works on Wan21 latents, image_model on SD15"),
    ("video_vae_same_space", "video_vae", "share one latent space.*disconnect it"),
    ("wrong_image_vae", "image_vae", "makes 16-channel latents but its model works on 4-channel SD15"),
    ("image_vae_as_video_vae", "video_vae", "makes 4-channel latents but its model works on 16-channel Wan21"),
])
def test_bad_bridge_inputs_name_node_and_parameter(unet, conds, vconds, wan, wan_vae, sd_vae, case, param, words):
    args = dict(frames=8) if case == "frames" else dict(size=9) if case == "size" else {}
    image_vae, video_vae, video = sd_vae, wan_vae, wan
    if case == "no_image_vae":
        image_vae = None
    elif case == "no_video_vae":
        video_vae = None
    elif case == "video_vae_same_space":
        video, image_vae = unet, None
    elif case == "wrong_image_vae":
        image_vae = wan_vae
    elif case == "image_vae_as_video_vae":
        video_vae = sd_vae
    with pytest.raises(NodeInputError, match=f"T2V/T2I Alternating KSampler: input '{param}': .*{words}"):
        run(unet, video, conds, vconds, image_vae, video_vae, **args)


def test_each_phase_loads_its_own_model(unet, conds, vconds, wan_vae, sd_vae):
    """The T2V is not loaded with the T2I (no additional model): ComfyUI loads each when its phase runs, so two big
    models need not be resident together. A fresh Wan, never loaded before, must be absent at the first T2I step."""
    import comfy.model_management as mm
    wan, seen = tiny_dit.wan21(seed=17), []

    def phase(name):
        def wrapper(executor, x, *a, **kw):
            seen.append((name, any(lm.model.model is wan.model for lm in mm.current_loaded_models)))
            return executor(x, *a, **kw)
        return wrapper
    image, video = unet.clone(), wan.clone()
    image.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_test_phase", phase("image"))
    video.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_test_phase", phase("video"))
    run(image, video, conds, vconds, sd_vae, wan_vae)
    assert seen[0] == ("image", False)                       # the T2I phase started without the T2V
    assert {s for s in seen if s[0] == "video"} == {("video", True)}
