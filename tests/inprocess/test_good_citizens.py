"""Our patches and samplers behave like good citizens in ComfyUI (tiny random models, real ComfyUI code).

- the input MODEL is never changed: a plain KSampler run on it is bit-identical before and after every node;
- they compose: with each other in both orders, with a LoRA, with another pack's attention patches and
  ResBlock object patches, in the order docs/guide.md states;
- cond/uncond batched together or run separately (low memory), cfg = 1, and several positive conditionings
  give the same video;
- the same seed gives bit-identical outputs.
"""
import pytest
import torch

import comfy.sd
import nodes as comfy_nodes
from comfy_test_nodes import tiny
from inprocess.helpers import force_cond_uncond_split
from vidlift.nodes.lpff import LPFFFilter
from vidlift.nodes.vidrd import DIRECTIONS, ReuseDiffuseExtender, ReuseDiffuseSampler
from vidlift.nodes.latent_shift import TemporalShiftPatcher
from vidlift.nodes.temporal_vae_decode import TemporalVAEDecode
from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler
from tolerance import fp32_close

FRAMES, SIZE = 4, 8


def latent(frames=FRAMES):
    return {"samples": torch.zeros(frames, 4, SIZE, SIZE)}


def ksample(model, conds, seed=5, steps=3, cfg=5.0):
    """Plain KSampler (ComfyUI's nodes.common_ksampler), frames in the batch."""
    return comfy_nodes.common_ksampler(model, seed, steps, cfg, "euler", "normal", *conds, latent())[0]["samples"]


def cfa(model, anchor="first"):
    return CrossFrameAttentionPatcher.execute(model, anchor, 1.0, True, True, True).args[0]


def shift(model, position="before conv1"):
    return TemporalShiftPatcher.execute(model, 0.25, position, "zero", 1.0, True, True, True).args[0]


def t2vz(model, conds, seed=1, cfg=5.0):
    return Text2VideoZeroSampler.execute(model, *conds, latent(), seed, cfg, 12.0, 12.0, 5, 1, 3, 0).args[0]["samples"]


def vidrd(model, conds, seed=2, cfg=5.0):
    return ReuseDiffuseExtender.execute(model, *conds, latent(), seed, 3, cfg, 2, 2, 4.0, 0.4, DIRECTIONS[0],
                                        True).args[0]["samples"]


def vidrd_chain(model, conds, seed=2, cfg=5.0):
    """Reuse-Diffuse Sampler → Extender (previous)."""
    clip0, last = ReuseDiffuseSampler.execute(model, *conds, latent(), seed, 3, cfg).args
    return ReuseDiffuseExtender.execute(model, *conds, latent(), seed, 3, cfg, 1, 2, 4.0, 0.4, DIRECTIONS[0],
                                        True, last).args[0]["samples"]


def warp(model):
    g = torch.Generator().manual_seed(4)
    at_t, at_t0 = ({"samples": torch.randn(1, 4, SIZE, SIZE, generator=g)} for _ in range(2))
    return MotionLatentWarp.execute(model, at_t, at_t0, FRAMES, 12.0, 12.0, 50, 44, 47, 0).args[0]["samples"]


def random_lora(model, rank=2, seed=9):
    """A small random LoRA (kohya key names) on a self-attention projection and a ResBlock conv the shift wraps."""
    g = torch.Generator().manual_seed(seed)
    sd = model.model.diffusion_model.state_dict()
    lora = {}
    for name in ("input_blocks.1.1.transformer_blocks.0.attn1.to_q", "input_blocks.1.0.in_layers.2",
                 "output_blocks.0.0.in_layers.2"):
        w = sd[name + ".weight"]
        key = "lora_unet_" + name.replace(".", "_")
        lora[key + ".lora_down.weight"] = torch.randn(rank, *w.shape[1:], generator=g) * 0.3
        lora[key + ".lora_up.weight"] = torch.randn(w.shape[0], rank, *[1] * (w.ndim - 2), generator=g) * 0.3
        lora[key + ".alpha"] = torch.tensor(float(rank))
    return lora


def with_lora(model, lora):
    patched, _ = comfy.sd.load_lora_for_models(model, None, lora, 1.0, 0.0)
    assert len(patched.patches) == 3   # every LoRA key reached a U-Net weight
    return patched


def state(model):
    """What a ModelPatcher carries that a node could change."""
    return (repr(sorted(model.model_options.get("transformer_options", {}).items())),
            sorted(k for k in model.model_options if k != "transformer_options"), sorted(model.object_patches),
            sorted(model.patches), {k: len(v) for k, v in model.wrappers.items()},
            {k: len(v) for k, v in model.callbacks.items()})


USES = {
    "cross-frame attention": lambda m, c: ksample(cfa(m), c),
    "cross-frame attention first+previous": lambda m, c: ksample(cfa(m, "first+previous"), c),
    "temporal shift before conv1": lambda m, c: ksample(shift(m), c),
    "temporal shift before first norm": lambda m, c: ksample(shift(m, "before first norm"), c),
    "temporal shift block output": lambda m, c: ksample(shift(m, "block output"), c),
    "shift + cross-frame + LoRA": lambda m, c: ksample(with_lora(cfa(shift(m)), random_lora(m)), c),
    "Text2Video-Zero sampler": lambda m, c: t2vz(m, c),
    "Text2Video-Zero sampler on a shifted model": lambda m, c: t2vz(shift(m), c),
    "Reuse-Diffuse extender": lambda m, c: vidrd(cfa(m), c),
    "Reuse-Diffuse sampler then extender": lambda m, c: vidrd_chain(cfa(m), c),
    "Motion-Latent warp": lambda m, c: warp(m),
}


@pytest.mark.parametrize("use", USES, ids=list(USES))
def test_the_input_model_is_never_changed(unet, conds, use):
    before, before_state = ksample(unet, conds), state(unet)
    USES[use](unet, conds)
    assert state(unet) == before_state
    assert torch.equal(ksample(unet, conds), before)          # object patches undone, nothing left in the U-Net


def test_latent_and_vae_nodes_leave_their_inputs_alone(unet):
    vae, z = tiny.temporal_vae_model(), torch.randn(6, 4, 4, 4)
    plain = comfy_nodes.VAEDecode().decode(vae, {"samples": z})[0]
    keep = z.clone()
    LPFFFilter.execute({"samples": z}, "gaussian", "temporal only", 1.0, 0.5, 4, 0)
    TemporalVAEDecode.execute({"samples": z}, vae, 3, 1, 16, 8)
    assert torch.equal(z, keep) and torch.equal(comfy_nodes.VAEDecode().decode(vae, {"samples": z})[0], plain)


def test_cross_frame_attention_and_shift_compose_in_both_orders(unet, conds):
    one, other = ksample(cfa(shift(unet)), conds), ksample(shift(cfa(unet)), conds)
    assert torch.equal(one, other)
    assert not torch.allclose(one, ksample(cfa(unet), conds), atol=1e-4)      # the shift acts
    assert not torch.allclose(one, ksample(shift(unet), conds), atol=1e-4)    # the attention acts


def test_a_lora_applies_under_our_patches_in_either_order(unet, conds):
    lora = random_lora(unet)
    patches = lambda m: cfa(shift(m))  # noqa: E731
    lora_first, lora_last = ksample(patches(with_lora(unet, lora)), conds), ksample(with_lora(patches(unet), lora), conds)
    assert torch.equal(lora_first, lora_last)
    assert not torch.allclose(lora_first, ksample(patches(unet), conds), atol=1e-4)        # the LoRA acts
    assert not torch.allclose(lora_first, ksample(with_lora(unet, lora), conds), atol=1e-4)  # our patches act
    assert torch.equal(t2vz(with_lora(unet, lora), conds), t2vz(with_lora(cfa(unet), lora), conds))


def recorder(calls, name):
    def attn1_patch(n, context, value, extra_options):
        calls.append((name, n.shape[1], context.shape[1]))
        return n, context, value
    return attn1_patch


def test_another_packs_attention_patches_run_in_registration_order(unet, conds):
    """attn1 patches chain in the order they were added: a patch added before ours sees each frame's own
    tokens, one added after sees the keys/values we made (first+previous: twice the tokens)."""
    calls = []
    m = unet.clone()
    m.set_model_attn1_patch(recorder(calls, "before"))
    m = cfa(m, "first+previous")
    m.set_model_attn1_patch(recorder(calls, "after"))
    m.set_model_attn1_output_patch(lambda n, extra_options: (calls.append(("output", n.shape[1], 0)), n)[1])
    ours_only = ksample(cfa(unet, "first+previous"), conds)
    assert torch.equal(ksample(m, conds), ours_only)                      # recorders change nothing
    names = [c[0] for c in calls]
    assert names.count("before") == names.count("after") == names.count("output") > 0
    assert names[:3] == ["before", "after", "output"]                        # per transformer block, in this order
    assert all(ctx == tokens for name, tokens, ctx in calls if name == "before")
    assert all(ctx == 2 * tokens for name, tokens, ctx in calls if name == "after")


def test_another_packs_resblock_forward_patch_is_kept_under_the_shift(unet, conds):
    """The shift wraps whatever forward is in place (get_model_object), so an earlier object patch still runs."""
    target = "diffusion_model.input_blocks.1.0.in_layers.2.forward"
    seen = []
    original = unet.get_model_object(target)
    other = unet.clone()
    other.add_object_patch(target, lambda x, *a, **k: (seen.append(x.shape[0]), original(x, *a, **k))[1])
    out = ksample(shift(other), conds)
    assert seen and torch.equal(out, ksample(shift(unet), conds))


def sampler_runs(conds):
    return {"KSampler, shift + cross-frame": lambda m, c=conds, **k: ksample(cfa(shift(m)), c, **k),
            "Text2Video-Zero": lambda m, c=conds, **k: t2vz(shift(m), c, **k),
            "Reuse-Diffuse": lambda m, c=conds, **k: vidrd(cfa(shift(m)), c, **k)}


def chunk_recorder(model, seen):
    m = model.clone()
    m.set_model_attn1_patch(lambda n, c, v, o: (seen.add(tuple(o["cond_or_uncond"])), (n, c, v))[1])
    return m


@pytest.mark.parametrize("name", list(sampler_runs(None)))
def test_cond_and_uncond_batched_or_separate_give_the_same_video(unet, conds, monkeypatch, name):
    run = sampler_runs(conds)[name]
    two_positives = (conds[0] + tiny.conditioning(12), conds[1])      # as ConditioningCombine makes
    seen = set()
    batched = run(chunk_recorder(unet, seen))
    batched_two = run(unet, two_positives)
    one_chunk = run(unet, cfg=1.0)
    no_cfg1_shortcut = unet.clone()
    no_cfg1_shortcut.model_options["disable_cfg1_optimization"] = True     # uncond computed, weighted 0
    assert fp32_close(run(no_cfg1_shortcut, cfg=1.0), one_chunk)
    assert seen == {(1, 0)}
    force_cond_uncond_split(monkeypatch)
    seen.clear()
    split = run(chunk_recorder(unet, seen))
    assert seen == {(0,), (1,)}                                           # ComfyUI really ran them separately
    assert fp32_close(split, batched)
    assert fp32_close(run(unet, two_positives), batched_two)
    assert not torch.allclose(batched_two, batched, atol=1e-3)            # the second prompt counts


@pytest.mark.parametrize("name", list(sampler_runs(None)) + ["Motion-Latent warp"])
def test_the_same_seed_gives_bit_identical_outputs(unet, conds, name):
    if name == "Motion-Latent warp":
        assert torch.equal(warp(unet), warp(unet))
        return
    run = sampler_runs(conds)[name]
    a, b, other = run(unet, seed=11), run(unet, seed=11), run(unet, seed=12)
    assert torch.equal(a, b) and not torch.allclose(a, other, atol=1e-3)
