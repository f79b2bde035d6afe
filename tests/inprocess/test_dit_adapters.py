"""Model-family adapters on real (tiny, random-weight) ComfyUI DiTs: cross-frame K/V through
`attn1_patch` and Latent-Shift's temporal shift through `patches_replace["dit"]`, or `attn1_output_patch`
on Krea 2. Z-Image has its own file (test_zimage_adapter.py).

float32 throughout: ComfyUI's rope kernel (comfy_kitchen) refuses float64. Comparisons of the same
rows computed in differently shaped batches may differ by rounding only: each of the ≈ 12 matmul /
attention stages of these models sums ≤ 128 float32 products (relative rounding ≤ 128·2⁻²⁴ ≈ 8e-6),
so 1e-4 × the output's scale bounds their sum; a change asserted to exceed it is more than rounding.
"""
from __future__ import annotations

import inspect

import pytest
import torch
from comfy_test_nodes import tiny_dit
from vidlift.nodes.glue.dit_temporal_shift import (
    DiTShiftAttentionOutputPatch,
    DiTShiftBlockPatch,
)
from vidlift.nodes.glue.model_families import adapter_for

ROUNDING = 1e-4
# the tiny Qwen at weight scale 0.1: at 0.05 its attention is nearly uniform, so a frame's change under cross-frame
# K/V is ~1× the rounding bound below (a marginal test); at 0.1 it is ≥ 25× (Flux ≥ 6×, Krea 2 ≥ 70×)
FAMILIES = {"flux": (tiny_dit.flux, (16, 8, 8)), "qwen": (lambda: tiny_dit.qwen_image(std=0.1), (16, 1, 8, 8)),
            "krea2": (tiny_dit.krea2, (16, 1, 8, 8)), "chroma": (tiny_dit.chroma, (16, 8, 8))}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    build, shape = FAMILIES[request.param]
    model = build()
    if model is None:
        pytest.skip(f"this ComfyUI has no {request.param} model")
    return model, shape


def need(model, capability):
    problem = adapter_for(model).missing(capability)
    if problem:
        pytest.skip(f"this ComfyUI: {problem}")


def run(m, x, ctx, chunks=1, wrappers=False, **kw):
    """The model's output; wrappers: hand the clone's wrappers in as ComfyUI's sampler does (CFGGuider.outer_sample)."""
    opts = dict(m.model_options["transformer_options"], **({"wrappers": m.wrappers} if wrappers else {}))
    opts["cond_or_uncond"] = list(range(chunks))
    t = torch.full((x.shape[0],), 0.5)
    guidance = inspect.signature(m.model.diffusion_model.forward).parameters.get("guidance")
    if guidance is not None and guidance.default is inspect.Parameter.empty:   # Chroma: a required (unused) input
        kw.setdefault("guidance", torch.zeros(x.shape[0]))
    return m.model.apply_model(x, t, c_crossattn=ctx, transformer_options=opts, **kw)


def video(shape, frames, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(frames, *shape, generator=g), torch.randn(1, 5, 32, generator=g).expand(frames, -1, -1)


def tol(ref):
    return ROUNDING * ref.abs().max().item()


@pytest.mark.parametrize("anchor", ["first", "first+previous"])
def test_cross_frame_keeps_frame_one_and_changes_the_others(family, anchor):
    model, shape = family
    need(model, "cross-frame attention")
    x, ctx = video(shape, 3)
    ref = run(model, x, ctx)
    out = run(adapter_for(model).install_cross_frame(model, anchor), x, ctx)
    if anchor == "first":                # frame 1's keys are its own: bit-identical
        assert torch.equal(out[0], ref[0])
    assert (out[1:] - ref[1:]).abs().amax(dim=tuple(range(1, ref.dim()))).min() > tol(ref)


def test_identical_frames_equal_the_unpatched_model(family):
    model, shape = family
    need(model, "cross-frame attention")
    x, ctx = video(shape, 1)
    x, ctx = x.expand(3, *shape).clone(), ctx.expand(3, -1, -1)
    ref = run(model, x, ctx)
    out = run(adapter_for(model).install_cross_frame(model, "first"), x, ctx)
    assert (out - ref).abs().max() <= tol(ref)


def test_cond_and_uncond_never_attend_across_chunks(family):
    model, shape = family
    need(model, "cross-frame attention")
    m = adapter_for(model).install_cross_frame(model, "first+previous")
    (x1, c1), (x2, c2) = video(shape, 3, seed=1), video(shape, 3, seed=2)
    both = run(m, torch.cat([x1, x2]), torch.cat([c1, c2]), chunks=2)
    apart = torch.cat([run(m, x1, c1), run(m, x2, c2)])
    assert (both - apart).abs().max() <= tol(apart)
    mixed = run(m, torch.cat([x1, x2]), torch.cat([c1, c2]), chunks=1)   # one chunk of 6: frames do mix
    assert (mixed[3:] - apart[3:]).abs().max() > tol(apart)


def test_text_tokens_keep_their_own_keys_and_values(family):
    model, shape = family
    need(model, "cross-frame attention")
    seen = []

    def probe(q, k, v, pe=None, attn_mask=None, extra_options=None):
        seen.append((k, v, list(extra_options["img_slice"]), extra_options.get("block_type")))
        return {}

    m = model.clone()
    m.set_model_attn1_patch(probe)
    m = adapter_for(m).install_cross_frame(m, "first")
    m.set_model_attn1_patch(probe)
    x, ctx = video(shape, 3)
    run(m, x, ctx)
    assert len(seen) % 2 == 0 and seen
    for (k0, v0, (s, e), _), (k1, v1, _, _) in zip(seen[::2], seen[1::2]):
        assert torch.equal(k1[:, :, :s], k0[:, :, :s]) and torch.equal(v1[:, :, :s], v0[:, :, :s])
        assert torch.equal(k1[:, :, s:e], k0[:1, :, s:e].expand_as(k0[:, :, s:e]))
        assert torch.equal(v1[:, :, s:e], v0[:1, :, s:e].expand_as(v0[:, :, s:e]))
    if isinstance(model.get_model_object("diffusion_model"), tiny_dit.flux_class()):
        assert {b for *_, b in seen} == {"double", "single"}


def test_temporal_shift_one_frame_is_bit_identical(family):
    model, shape = family
    x, ctx = video(shape, 1)
    m = adapter_for(model).install_temporal_shift(model)
    assert torch.equal(run(m, x, ctx), run(model, x, ctx))
    x3, ctx3 = video(shape, 3)
    ref = run(model, x3, ctx3)
    assert (run(m, x3, ctx3) - ref).abs().max() > tol(ref)


def test_shift_patch_matches_a_hand_computed_case():
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)    # 2 frames; token 0 text, 1–2 image
    opts = {"cond_or_uncond": [0], "img_slice": [1, 3]}

    def block(args):                                                 # adds its residual in place, as Flux does
        return {"img": args["img"].mul_(2).add_(1)}

    out = DiTShiftBlockPatch("single", fraction=0.125)({"img": x.clone(), "transformer_options": opts},
                                                       {"original_block": block})["img"]
    shifted = x.clone()                                              # fold = 8 · 0.125 = 1 channel each way
    shifted[0, 1:, 0], shifted[1, 1:, 0] = x[1, 1:, 0], 0.0          # channel 0 from the next frame
    shifted[0, 1:, 1], shifted[1, 1:, 1] = 0.0, x[0, 1:, 1]          # channel 1 from the previous frame
    expected = 2 * x + 1                                             # text token: the block's own output
    expected[:, 1:] = x[:, 1:] + (2 * shifted[:, 1:] + 1 - shifted[:, 1:])
    assert torch.equal(out, expected)


def test_attention_output_shift_matches_a_hand_computed_case():
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)    # 2 frames; token 0 text, 1–2 image
    opts = {"cond_or_uncond": [0], "img_slice": [1, 3], "block_type": "single"}
    out = DiTShiftAttentionOutputPatch(fraction=0.125)(x.clone(), opts)
    expected = x.clone()                                             # fold = 8 · 0.125 = 1 channel each way
    expected[0, 1:, 0], expected[1, 1:, 0] = x[1, 1:, 0], 0.0
    expected[0, 1:, 1], expected[1, 1:, 1] = 0.0, x[0, 1:, 1]
    assert torch.equal(out, expected)
    assert torch.equal(DiTShiftAttentionOutputPatch(blocks=("double",))(x, opts), x)


def test_krea2_shift_acts_on_the_recorded_attention_output():
    """Recorders before and after ours see the attention output of every block: image tokens shifted between
    the 3 frames as by hand (fold = 64 · 0.125 = 8), text tokens as they were."""
    model = tiny_dit.krea2()
    if model is None:
        pytest.skip("this ComfyUI has no Krea 2")
    need(model, "temporal shift")
    seen = []
    m = model.clone()
    m.set_model_attn1_output_patch(lambda out, opts: seen.append(("in", out.clone(), opts["img_slice"])) or out)
    m = adapter_for(m).install_temporal_shift(m)
    m.set_model_attn1_output_patch(lambda out, opts: seen.append(("out", out.clone(), None)) or out)
    run(m, *video(FAMILIES["krea2"][1], 3))
    assert [s[0] for s in seen] == ["in", "out"] * 2
    for (_, a, (s, e)), (_, b, _) in zip(seen[::2], seen[1::2]):
        expected = a.clone()
        expected[:-1, s:e, :8], expected[-1, s:e, :8] = a[1:, s:e, :8], 0.0
        expected[1:, s:e, 8:16], expected[0, s:e, 8:16] = a[:-1, s:e, 8:16], 0.0
        assert torch.equal(b, expected)


def test_krea2_rope_rotates_appended_keys_at_their_own_positions():
    """Krea 2 rotates q and k in one call, apply_rope(q, k, pe): with "first+previous" k and pe are longer than
    q, and q must take pe's first rows, k all of them."""
    if tiny_dit.krea2() is None:
        pytest.skip("this ComfyUI has no Krea 2")
    from comfy.ldm.flux.layers import EmbedND
    from comfy.ldm.flux.math import apply_rope, apply_rope1
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(3, 2, 7, 32, generator=g), torch.randn(3, 1, 11, 32, generator=g)
    pe = EmbedND(dim=32, theta=1000, axes_dim=[8, 12, 12])(torch.randint(0, 9, (1, 11, 3), generator=g).float())
    q2, k2 = apply_rope(q, k, pe)
    assert torch.equal(q2, apply_rope1(q, pe[:, :, :7])) and torch.equal(k2, apply_rope1(k, pe))


def test_unknown_family_is_named():
    class Fake:
        def get_model_object(self, name):
            return torch.nn.Linear(2, 2)

    with pytest.raises(ValueError, match=r"TestNode: input 'model': model family torch\.nn\.modules\.linear\.Linear .*"
                                         r"supported: U-Net, Flux, Qwen-Image, Z-Image, Krea 2\)"):
        adapter_for(Fake(), "TestNode")


def test_input_model_is_not_mutated(family):
    model, _ = family
    before = repr(model.model_options)
    adapter = adapter_for(model)
    adapter.install_temporal_shift(model)
    if adapter.missing("cross-frame attention") is None:
        adapter.install_cross_frame(model)
    assert repr(model.model_options) == before


def test_missing_hook_is_reported(family):
    model, _ = family
    adapter = adapter_for(model)
    problem = adapter.missing("cross-frame attention")
    if problem is None:
        pytest.skip("this ComfyUI has the attn1_patch hook")
    assert "needs a ComfyUI with the" in problem and "attn1_patch hook" in problem
    with pytest.raises(ValueError, match="TestNode: input 'model': cross-frame attention on .*attn1_patch hook"):
        adapter.install_cross_frame(model, node="TestNode")


def test_first_previous_keys_rotate_at_image_positions_in_comfy_attention():
    """ComfyUI's Flux attention with our extended `pe` equals rotating each key at its own image position.

    The rope of a ComfyUI without the attn1_patch hook does not take a key-side `pe` longer than q."""
    need(FAMILIES["flux"][0](), "cross-frame attention")
    from comfy.ldm.flux.layers import EmbedND
    from comfy.ldm.flux.math import apply_rope1, attention
    from vidlift.nodes.glue.dit_cross_frame import cross_frame_kv
    txt, img, heads, dim = 3, 4, 2, 8
    g = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(3, heads, txt + img, dim, generator=g) for _ in range(3))
    pe = EmbedND(dim=dim, theta=10000, axes_dim=[2, 2, 4])(torch.randint(0, 9, (1, txt + img, 3), generator=g).float())
    k2, v2, pe2 = cross_frame_kv(k, v, pe, txt, txt + img, chunks=1, anchor="first+previous")
    out = attention(q, k2, v2, pe=pe2)
    for row, prev in enumerate((0, 0, 1)):
        keys = torch.cat([apply_rope1(k[row:row + 1, :, :txt], pe[:, :, :txt]),
                          apply_rope1(k[0:1, :, txt:], pe[:, :, txt:]),
                          apply_rope1(k[prev:prev + 1, :, txt:], pe[:, :, txt:])], dim=2)
        values = torch.cat([v[row:row + 1, :, :txt], v[0:1, :, txt:], v[prev:prev + 1, :, txt:]], dim=2)
        ref = torch.nn.functional.scaled_dot_product_attention(apply_rope1(q[row:row + 1], pe), keys, values)
        ref = ref.transpose(1, 2).reshape(1, txt + img, heads * dim)
        assert (out[row:row + 1] - ref).abs().max() <= tol(ref)


def test_unet_adapter_delegates_to_the_unet_patch():
    from comfy_test_nodes import tiny
    from vidlift.nodes.core.cross_frame_attention import CrossFrameAttentionPatch
    unet = tiny.unet_model()
    adapter = adapter_for(unet)
    assert adapter.name == "U-Net" and adapter.frames == "batch"
    m = adapter.install_cross_frame(unet, "first")
    patches = m.model_options["transformer_options"]["patches"]["attn1_patch"]
    assert any(isinstance(p, CrossFrameAttentionPatch) for p in patches)
    assert "patches" not in unet.model_options["transformer_options"]


def ignoring_patches(dm, method):
    """A fork of ComfyUI whose `method` never sees transformer_options' patches (block replace ones included)."""
    original = getattr(dm, method)

    def strip(v):
        return {k: x for k, x in v.items() if k not in ("patches", "patches_replace")} if isinstance(v, dict) else v

    setattr(dm, method, lambda *a, **kw: original(*map(strip, a), **{k: strip(v) for k, v in kw.items()}))


@pytest.mark.parametrize("name,method", [("flux", "forward_orig"), ("qwen", "_forward")])
def test_the_shift_guard_refuses_a_forward_that_never_calls_the_shift(name, method):
    """The runtime half of finding the whole-model hooks: a fork whose forward never calls the patches is refused
    after its first forward, by the patcher node's name (the real forward: every other test here)."""
    build, shape = FAMILIES[name]
    model = build()
    ignoring_patches(model.model.diffusion_model, method)
    m = adapter_for(model).install_temporal_shift(model, node="TestNode")
    x, ctx = video(shape, 3)
    assert torch.isfinite(run(model, x, ctx, wrappers=True)).all()          # the unpatched model: no guard
    with pytest.raises(ValueError, match="TestNode: input 'model': temporal shift on .*never called the "):
        run(m, x, ctx, wrappers=True)


def test_the_shift_guard_checks_the_first_forward_only():
    """After a first forward that ran the shift, a forward that runs no block (a step cache's skipped step) passes."""
    model = tiny_dit.flux()
    m = adapter_for(model).install_temporal_shift(model, node="TestNode")
    x, ctx = video(FAMILIES["flux"][1], 3)
    run(m, x, ctx, wrappers=True)
    ignoring_patches(model.model.diffusion_model, "forward_orig")
    assert torch.isfinite(run(m, x, ctx, wrappers=True)).all()


def test_the_shift_composes_with_comfyuis_easycache():
    """EasyCache (ComfyUI's step cache, a DIFFUSION_MODEL wrapper applied after the patcher) skips whole steps; a
    KSampler run with both finishes, and differs from the shift alone (EasyCache did skip)."""
    import comfy.sample
    easycache = pytest.importorskip("comfy_extras.nodes_easycache")
    model = tiny_dit.flux()
    m = adapter_for(model).install_temporal_shift(model, node="TestNode")
    cached = easycache.EasyCacheNode.execute(m, 0.5, 0.0, 1.0, False)[0]
    g = torch.Generator().manual_seed(0)
    latent, conds = torch.zeros(3, 16, 8, 8), [[torch.randn(1, 5, 32, generator=g), {"pooled_output": torch.zeros(1, 32)}]]
    noise = torch.randn(latent.shape, generator=g)

    def sample(mp):
        return comfy.sample.sample(mp, noise, 8, 1.0, "euler", "simple", conds, conds, latent, seed=0,
                                   disable_pbar=True)
    alone, both = sample(m), sample(cached)
    assert torch.isfinite(both).all() and (both - alone).abs().max() > tol(alone)      # steps were reused


def test_chained_shift_patchers_do_not_trip_the_guard(family):
    """A second Temporal Shift Patcher replaces the first one's block patches; the first one's guard still sees
    shift patches run (one counter for all)."""
    model, shape = family
    adapter = adapter_for(model)
    if adapter.name == "Krea 2":
        pytest.skip("Krea 2's shift is an attention-output patch, found by its block probe")
    twice = adapter.install_temporal_shift(adapter.install_temporal_shift(model, strength=0.5))
    x, ctx = video(shape, 3)
    once = run(adapter.install_temporal_shift(model), x, ctx)        # the second patcher's settings win
    assert (run(twice, x, ctx, wrappers=True) - once).abs().max() <= tol(once)
