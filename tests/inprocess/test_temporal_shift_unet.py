"""Temporal Shift Patcher inside ComfyUI's real UNetModel (tiny random weights)."""
import pytest
import torch

from inprocess.helpers import denoise_once, force_cond_uncond_split
from vidlift.nodes.glue.model_patches import add_cross_frame_attention
from vidlift.nodes.latent_shift import TemporalShiftPatcher
from tolerance import fp32_close

SIGMA = 3.0


def shifted(model, position="before conv1", boundary="zero", strength=1.0, parts=(True, True, True)):
    return TemporalShiftPatcher.execute(model, 0.125, position, boundary, strength, *parts).args[0]


POSITIONS = ["before conv1", "before first norm", "block output", "before conv1 and conv2"]


@pytest.mark.parametrize("position", POSITIONS)
def test_one_frame_is_the_unpatched_model_and_frames_change(unet, conds, video, position):
    plain1, _, _ = denoise_once(unet, video[:1], SIGMA, *conds)
    shift1, _, _ = denoise_once(shifted(unet, position), video[:1], SIGMA, *conds)
    assert torch.equal(shift1, plain1)
    plain, _, _ = denoise_once(unet, video, SIGMA, *conds)
    shift, _, _ = denoise_once(shifted(unet, position), video, SIGMA, *conds)
    assert (shift - plain).abs().amax() > 1e-3


def test_chunks_are_never_mixed(unet, conds, video, monkeypatch):
    model = shifted(unet)
    _, cond, _ = denoise_once(model, video, SIGMA, *conds)
    _, cond_other_neg, _ = denoise_once(model, video, SIGMA, conds[0], [[conds[1][0][0] * -2.0, {}]])
    _, cond_only, _ = denoise_once(model, video, SIGMA, conds[0], conds[1], cfg=1.0)
    assert fp32_close(cond, cond_other_neg) and fp32_close(cond, cond_only)
    force_cond_uncond_split(monkeypatch)
    _, cond_split, _ = denoise_once(model, video, SIGMA, *conds)
    assert fp32_close(cond, cond_split)


def test_selected_parts_and_strength_zero(unet, conds, video):
    plain, _, _ = denoise_once(unet, video, SIGMA, *conds)
    none, _, _ = denoise_once(shifted(unet, parts=(False, False, False)), video, SIGMA, *conds)
    zero, _, _ = denoise_once(shifted(unet, strength=0.0), video, SIGMA, *conds)
    mid, _, _ = denoise_once(shifted(unet, parts=(False, True, False)), video, SIGMA, *conds)
    assert torch.equal(none, plain) and torch.equal(zero, plain) and not torch.allclose(mid, plain, atol=1e-4)


def test_lora_weight_patches_still_apply_and_input_model_is_untouched(unet, conds, video):
    key = "diffusion_model.input_blocks.1.0.in_layers.2.weight"            # a conv the shift wraps
    diff = torch.randn_like(unet.model.state_dict()[key], generator=None) * 0.5

    def with_lora(model):                                                  # a plain weight diff, as LoRA loaders add
        m = model.clone()
        m.add_patches({key: (diff,)}, 1.0)
        return m

    before, _, _ = denoise_once(unet, video, SIGMA, *conds)
    lora_then_shift, _, _ = denoise_once(shifted(with_lora(unet)), video, SIGMA, *conds)
    shift_then_lora, _, _ = denoise_once(with_lora(shifted(unet)), video, SIGMA, *conds)
    shift_only, _, _ = denoise_once(shifted(unet), video, SIGMA, *conds)
    assert not torch.allclose(lora_then_shift, shift_only, atol=1e-4)      # the LoRA reaches the wrapped conv
    assert fp32_close(lora_then_shift, shift_then_lora)     # in either order
    after, _, _ = denoise_once(unet, video, SIGMA, *conds)
    assert torch.equal(before, after)


def test_composes_with_cross_frame_attention(unet, conds, video):
    both, _, _ = denoise_once(add_cross_frame_attention(shifted(unet)), video, SIGMA, *conds)
    other_order, _, _ = denoise_once(shifted(add_cross_frame_attention(unet)), video, SIGMA, *conds)
    cross, _, _ = denoise_once(add_cross_frame_attention(unet), video, SIGMA, *conds)
    assert fp32_close(both, other_order) and not torch.allclose(both, cross, atol=1e-4)


@pytest.mark.parametrize("position,per_block", [("before conv1", 1), ("before conv1 and conv2", 2)])
def test_each_shifted_resblock_carries_a_frame_one_frame_farther(unet, conds, position, per_block):
    """Latent-Shift's only temporal path is the shift (attention is per frame), one frame per shifted layer: a
    change to one input frame reaches exactly the frames within as many frames as the U-Net has shifted layers
    (one per ResBlock, two with "before conv1 and conv2"), and none farther (docs/toy_t2v.md: why the middle of a
    toy-T2V clip cannot know where in the clip it is)."""
    from vidlift.nodes.glue.model_patches import resblock_paths
    parts = ("input_blocks", "middle_block", "output_blocks")
    reach = per_block * len(list(resblock_paths(unet.get_model_object("diffusion_model"), parts)))
    x = torch.randn(2 * reach + 3, 4, 8, 8, generator=torch.Generator().manual_seed(5)) * 3.0
    model = shifted(unet, position)
    base, _, _ = denoise_once(model, x, SIGMA, *conds)
    for k in (0, reach + 1):
        x2 = x.clone()
        x2[k] += 1.0
        out, _, _ = denoise_once(model, x2, SIGMA, *conds)
        changed = [(out[f] != base[f]).any().item() for f in range(len(x))]
        assert changed == [abs(f - k) <= reach for f in range(len(x))], (k, reach, changed)


def test_an_unsupported_family_and_bad_fraction_are_refused(unet):
    from comfy_test_nodes import tiny
    from vidlift.nodes.core.errors import NodeInputError
    with pytest.raises(NodeInputError, match="Temporal Shift Patcher: input 'model': model family .*MMDITWrapper"):
        shifted(tiny.unsupported_model())
    with pytest.raises(NodeInputError, match="input 'shift_fraction'.*between 0 and 0.5"):
        TemporalShiftPatcher.execute(unet, 0.7, "before conv1", "zero", 1.0, True, True, True)



FRACTION = 0.11       # 3 of 32 / 7 of 64 channels: portions straddle GroupNorm groups, so positions differ


def tsm_zero(x, frames, fraction=FRACTION):
    """TSM's TemporalShift.shift (TSM, Lin et al. 2019) written out again: zero boundary, fold = C·fraction."""
    v = x.view(-1, frames, *x.shape[1:])
    fold, out = int(x.shape[1] * fraction), torch.zeros_like(v)
    out[:, :-1, :fold] = v[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = v[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = v[:, :, 2 * fold:]
    return out.view_as(x)


def tiny_with_norm_affine():
    """The tiny U-Net with random GroupNorm scales and biases (all 1 and 0 in the fixture), a fresh object:
    otherwise a shift before the norm would commute with it and positions could not be told apart."""
    from comfy_test_nodes import tiny
    model = tiny.unet_model(seed=0)
    unet = model.model.diffusion_model
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for m in unet.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
    return model


def hooked_reference(position, shift, parts):
    """The same U-Net with the shift added by torch hooks on its own modules (an independent route)."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock
    ref = tiny_with_norm_affine()
    unet = ref.model.diffusion_model
    blocks = {"input_blocks": unet.input_blocks, "middle_block": unet.middle_block, "output_blocks": unet.output_blocks}
    for part in parts:
        for m in blocks[part].modules():
            if not isinstance(m, ResBlock):
                continue
            if position == "block output":
                m.register_forward_hook(lambda mod, args, out: shift(out))
                continue
            layers = {"before conv1": [m.in_layers[2]], "before first norm": [m.in_layers[0]],
                      "before conv1 and conv2": [m.in_layers[2], m.out_layers[3]]}[position]
            for layer in layers:
                layer.register_forward_pre_hook(lambda mod, args: (shift(args[0]), *args[1:]))
    return ref


@pytest.mark.parametrize("position,boundary,strength,parts", [
    ("before conv1", "zero", 1.0, (True, True, True)),
    ("before first norm", "zero", 1.0, (True, True, True)),
    ("block output", "zero", 1.0, (True, True, True)),
    ("before conv1", "replicate", 1.0, (True, True, False)),
    ("before first norm", "loop", 0.5, (False, True, True)),
    ("before conv1 and conv2", "zero", 1.0, (True, True, True)),
])
def test_each_option_equals_hooks_on_the_modules(conds, video, position, boundary, strength, parts):
    """cond and uncond (2 chunks × 5 frames) each shifted within itself, as hooks on conv1/norm/block do it."""
    from vidlift.nodes.core.temporal_shift import temporal_shift
    frames = video.shape[0]
    if boundary == "zero" and strength == 1.0:
        shift = lambda x: tsm_zero(x, frames)                                          # noqa: E731
    else:                                                                              # op checked by hand in tier a
        shift = lambda x: temporal_shift(x, frames, FRACTION, boundary, strength)      # noqa: E731
    names = [p for p, on in zip(("input_blocks", "middle_block", "output_blocks"), parts) if on]
    model = tiny_with_norm_affine()
    patched = TemporalShiftPatcher.execute(model, FRACTION, position, boundary, strength, *parts).args[0]
    got, got_c, got_u = denoise_once(patched, video, SIGMA, *conds)
    want, want_c, want_u = denoise_once(hooked_reference(position, shift, names), video, SIGMA, *conds)
    assert fp32_close(got_c, want_c) and fp32_close(got_u, want_u)
    assert fp32_close(got, want)
    for other in set(POSITIONS) - {position}:                                          # the positions differ
        _, wrong_c, _ = denoise_once(hooked_reference(other, shift, names), video, SIGMA, *conds)
        assert not torch.allclose(got_c, wrong_c, atol=1e-3), other
    assert not torch.allclose(got_c, got_u, atol=1e-3)                                 # the two chunks differ
