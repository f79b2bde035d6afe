"""The Z-Image adapter on a tiny random-weight NextDiT of ComfyUI's own class: cross-frame
K/V through `optimized_attention_override` + a DIFFUSION_MODEL wrapper, Latent-Shift's residual-branch shift
through the `noise_refiner` / `double_block` hooks.

`run` hands the clone's wrappers in transformer_options as ComfyUI's sampler does (CFGGuider.outer_sample).
Bounds as in test_dit_adapters.py: the same rows computed in differently shaped batches differ by rounding
only, ≤ ROUNDING × the output's scale (≈ 10 float32 matmul/attention stages of ≤ 700-term sums, each
≤ 700·2⁻²⁴ ≈ 4e-5 relative at worst, far less in a random walk); every change asserted is above it.
"""
from __future__ import annotations

import pytest
import torch
from comfy_test_nodes import tiny_dit
from vidlift.nodes.glue.dit_zimage import LAYOUT_KEY
from vidlift.nodes.glue.model_families import OVERRIDE, adapter_for

ROUNDING = 1e-4
SHAPE, CAPTION = (16, 8, 8), 5          # 16 image tokens, 5 caption tokens; each padded to 32


@pytest.fixture(scope="module")
def model():
    return tiny_dit.zimage()


def need(model, capability):
    problem = adapter_for(model).missing(capability)
    if problem:
        pytest.skip(f"this ComfyUI: {problem}")


def run(m, x, ctx, chunks=1):
    opts = dict(m.model_options["transformer_options"], cond_or_uncond=list(range(chunks)), wrappers=m.wrappers)
    t = torch.full((x.shape[0],), 0.5)
    return m.model.apply_model(x, t, c_crossattn=ctx, num_tokens=ctx.shape[1], transformer_options=opts)


def video(frames, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(frames, *SHAPE, generator=g), torch.randn(1, CAPTION, 32, generator=g).expand(frames, -1, -1)


def tol(ref):
    return ROUNDING * ref.abs().max().item()


def per_frame(d):
    return d.abs().amax(dim=tuple(range(1, d.dim())))


@pytest.mark.parametrize("anchor", ["first", "first+previous"])
def test_cross_frame_keeps_frame_one_and_changes_the_others(model, anchor):
    need(model, "cross-frame attention")
    x, ctx = video(3)
    ref = run(model, x, ctx)
    out = run(adapter_for(model).install_cross_frame(model, anchor), x, ctx)
    if anchor == "first":                # frame 1's keys are its own: bit-identical
        assert torch.equal(out[0], ref[0])
    assert per_frame(out[1:] - ref[1:]).min() > 100 * tol(ref)


def test_identical_frames_equal_the_unpatched_model(model):
    need(model, "cross-frame attention")
    x, ctx = video(1)
    x, ctx = x.expand(3, *SHAPE).clone(), ctx.expand(3, -1, -1)
    ref = run(model, x, ctx)
    out = run(adapter_for(model).install_cross_frame(model, "first"), x, ctx)
    assert (out - ref).abs().max() <= tol(ref)


def test_cond_and_uncond_never_attend_across_chunks(model):
    need(model, "cross-frame attention")
    m = adapter_for(model).install_cross_frame(model, "first+previous")
    (x1, c1), (x2, c2) = video(3, seed=1), video(3, seed=2)
    both = run(m, torch.cat([x1, x2]), torch.cat([c1, c2]), chunks=2)
    apart = torch.cat([run(m, x1, c1), run(m, x2, c2)])
    assert (both - apart).abs().max() <= tol(apart)
    mixed = run(m, torch.cat([x1, x2]), torch.cat([c1, c2]), chunks=1)   # one chunk of 6: frames do mix
    assert (mixed[3:] - apart[3:]).abs().max() > 100 * tol(apart)


def test_only_main_layer_image_keys_change_and_an_earlier_override_still_runs(model):
    """An override set before ours sees our k, v (inner); one set after sees the model's own (outer). Caption
    and padding keys/values and every refiner call (caption-only, image-only) keep their own."""
    need(model, "cross-frame attention")
    calls = []

    def inner(func, q, k, v, *args, **kwargs):
        calls[-1] += (k, v, kwargs["transformer_options"].get(LAYOUT_KEY))
        return func(q, k, v, *args, **kwargs)

    m = model.clone()
    m.model_options["transformer_options"][OVERRIDE] = inner
    m = adapter_for(m).install_cross_frame(m, "first")
    ours = m.model_options["transformer_options"][OVERRIDE]

    def outer(func, q, k, v, *args, **kwargs):
        calls.append((k, v))
        return ours(func, q, k, v, *args, **kwargs)

    m.model_options["transformer_options"][OVERRIDE] = outer
    run(m, *video(3))
    main = [c for c in calls if c[0].shape[2] == 64]             # 32 caption + 32 image tokens
    assert len(calls) == 6 and len(main) == 2                     # 2 context refiners, 2 noise refiners, 2 layers
    for k0, v0, k1, v1, layout in calls:
        if k0.shape[2] != 64:
            assert torch.equal(k1, k0) and torch.equal(v1, v0)
            continue
        assert layout == (64, 32, 48)
        for t0, t1 in ((k0, k1), (v0, v1)):
            assert torch.equal(t1[:, :, :32], t0[:, :, :32]) and torch.equal(t1[:, :, 48:], t0[:, :, 48:])
            assert torch.equal(t1[:, :, 32:48], t0[:1, :, 32:48].expand_as(t0[:, :, 32:48]))


def test_temporal_shift_one_frame_is_bit_identical(model):
    need(model, "temporal shift")
    m = adapter_for(model).install_temporal_shift(model)
    x, ctx = video(1)
    assert torch.equal(run(m, x, ctx), run(model, x, ctx))
    x3, ctx3 = video(3)
    ref = run(model, x3, ctx3)
    assert per_frame(run(m, x3, ctx3) - ref).min() > 100 * tol(ref)


def hand_shift(h, n, fold=32):
    """Latent-Shift on [frames, L, C] tokens [0, n): channels [0, fold) from the next frame, [fold, 2·fold) from
    the previous, zeros past the ends; fold = 256 channels · 0.125."""
    s = h.clone()
    s[:-1, :n, :fold], s[-1, :n, :fold] = h[1:, :n, :fold], 0.0
    s[1:, :n, fold:2 * fold], s[0, :n, fold:2 * fold] = h[:-1, :n, fold:2 * fold], 0.0
    return s


def test_shift_equals_the_residual_branch_shift_computed_by_hand(model):
    """Recorded at every main layer: it reads u = shift(h) on the image tokens, and the stream carries
    h′ = h + (layer(u) − u) there and the layer's own output on caption and padding tokens."""
    need(model, "temporal shift")
    dm = model.get_model_object("diffusion_model")
    seen = []
    hooks = [layer.register_forward_hook(lambda mod, a, out: seen.append((a[0].clone(), out.clone())))
             for layer in dm.layers]
    hooks.append(dm.final_layer.register_forward_hook(lambda mod, a, out: seen.append((a[0].clone(), None))))
    try:
        x, ctx = video(3)
        run(model, x, ctx)
        h = seen[0][0][:, 32:]                                   # the unpatched first layer's image part
        seen.clear()
        run(adapter_for(model).install_temporal_shift(model), x, ctx)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen) == 3
    (u0, o0), (u1, o1), (final, _) = seen
    assert torch.equal(u0[:, 32:], hand_shift(h, 16))
    h = torch.cat([h[:, :16] + (o0[:, 32:48] - u0[:, 32:48]), o0[:, 48:]], dim=1)
    assert torch.equal(u1[:, :32], o0[:, :32]) and torch.equal(u1[:, 32:], hand_shift(h, 16))
    h = torch.cat([h[:, :16] + (o1[:, 32:48] - u1[:, 32:48]), o1[:, 48:]], dim=1)
    assert torch.equal(final[:, :32], o1[:, :32]) and torch.equal(final[:, 32:], h)


def test_shift_never_crosses_chunks(model):
    need(model, "temporal shift")
    m = adapter_for(model).install_temporal_shift(model)
    (x1, c1), (x2, c2) = video(3, seed=1), video(3, seed=2)
    both = run(m, torch.cat([x1, x2]), torch.cat([c1, c2]), chunks=2)
    apart = torch.cat([run(m, x1, c1), run(m, x2, c2)])
    assert (both - apart).abs().max() <= tol(apart)


def test_missing_hooks_are_reported(model):
    adapter = adapter_for(model)
    assert adapter.name == "Z-Image" and adapter.frames == "batch"
    problem = adapter.missing("temporal shift")
    if problem is None:
        pytest.skip("this ComfyUI has NextDiT's double_block and noise_refiner hooks")
    assert "needs a ComfyUI with the Z-Image" in problem
    with pytest.raises(ValueError, match="TestNode: input 'model': temporal shift on Z-Image needs a ComfyUI"):
        adapter.install_temporal_shift(model, node="TestNode")


def test_omni_reference_latents_are_refused(model):
    need(model, "cross-frame attention")
    m = adapter_for(model).install_cross_frame(model)
    x, ctx = video(2)
    opts = dict(m.model_options["transformer_options"], wrappers=m.wrappers)
    with pytest.raises(ValueError, match="Z-Image Omni reference latents"):
        m.model.apply_model(x, torch.full((2,), 0.5), c_crossattn=ctx, num_tokens=CAPTION, ref_latents=[x[:1]],
                            transformer_options=opts)


def test_input_model_is_not_mutated(model):
    before, wrappers = repr(model.model_options), repr(model.wrappers)
    adapter = adapter_for(model)
    adapter.install_cross_frame(model)
    if adapter.missing("temporal shift") is None:
        adapter.install_temporal_shift(model)
    assert repr(model.model_options) == before and repr(model.wrappers) == wrappers


def test_the_shift_guard_refuses_a_forward_that_never_calls_the_shift():
    """As on Flux and Qwen-Image (test_dit_adapters.py): a fork whose NextDiT forward never reads `patches` is
    refused after its first forward, by the patcher node's name."""
    from test_dit_adapters import ignoring_patches
    fresh = tiny_dit.zimage()
    need(fresh, "temporal shift")
    ignoring_patches(fresh.model.diffusion_model, "_forward")
    m = adapter_for(fresh).install_temporal_shift(fresh, node="TestNode")
    x, ctx = video(3)
    with pytest.raises(ValueError, match="TestNode: input 'model': temporal shift on Z-Image: .*never called"):
        run(m, x, ctx)
