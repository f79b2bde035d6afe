"""Cross-frame attention inside ComfyUI's real UNetModel (tiny random weights)."""
import pytest
import torch

import comfy.samplers
from inprocess.helpers import denoise_once, force_cond_uncond_split
from tensor.test_window_anchor import CoreWindow, frame_seen, options, rows
from vidlift.nodes.core.cross_frame_attention import CrossFrameAttentionPatch
from vidlift.nodes.glue.model_patches import add_cross_frame_attention, cross_frame_patches
from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher
from tolerance import fp32_close

SIGMA = 3.0


def patched(model, **kw):
    blocks = dict(input_blocks=True, middle_block=True, output_blocks=True)
    blocks.update(kw.pop("blocks", {}))
    return CrossFrameAttentionPatcher.execute(model, kw.get("anchor", "first"), kw.get("strength", 1.0), **blocks).args[0]


@pytest.mark.parametrize("anchor", ["first", "first+previous"])
def test_frame_zero_equals_unpatched_and_others_change(unet, conds, video, anchor):
    plain, _, _ = denoise_once(unet, video, SIGMA, *conds)
    cross, _, _ = denoise_once(patched(unet, anchor=anchor), video, SIGMA, *conds)
    assert fp32_close(cross[0], plain[0])
    assert (cross[1:] - plain[1:]).abs().amax() > 1e-3  # 100× the tolerance above


def test_identical_frames_make_cross_frame_equal_self_attention(unet, conds, video):
    same = video[:1].repeat(4, 1, 1, 1)
    plain, _, _ = denoise_once(unet, same, SIGMA, *conds)
    cross, _, _ = denoise_once(patched(unet), same, SIGMA, *conds)
    assert fp32_close(cross, plain)


def test_cond_and_uncond_never_attend_across_chunks(unet, conds, video, monkeypatch):
    model = patched(unet)
    _, cond, uncond = denoise_once(model, video, SIGMA, *conds)
    _, cond_other_neg, _ = denoise_once(model, video, SIGMA, conds[0], [[conds[1][0][0] * -2.0, {}]])
    assert fp32_close(cond, cond_other_neg)              # the negative's frames never reach cond
    _, cond_only, _ = denoise_once(model, video, SIGMA, conds[0], conds[1], cfg=1.0)  # one chunk
    assert fp32_close(cond, cond_only)
    force_cond_uncond_split(monkeypatch)
    seen = set()
    recorder = model.clone()
    recorder.set_model_attn1_patch(lambda n, c, v, o: (seen.add(tuple(o["cond_or_uncond"])), (n, c, v))[1])
    _, cond_split, uncond_split = denoise_once(recorder, video, SIGMA, *conds)
    assert seen == {(0,), (1,)}                                       # ComfyUI really ran them separately
    assert fp32_close(cond, cond_split) and fp32_close(uncond, uncond_split)


def test_several_positive_conditionings_are_separate_chunks(unet, conds, video):
    model = patched(unet)
    pos2 = conds[0] + tiny_cond(12)
    both, _, _ = denoise_once(model, video, SIGMA, pos2, conds[1])
    assert both.shape == video.shape and torch.isfinite(both).all()
    plain, _, _ = denoise_once(unet, video, SIGMA, pos2, conds[1])
    assert fp32_close(both[0], plain[0])


def tiny_cond(seed):
    from comfy_test_nodes import tiny
    return tiny.conditioning(seed)


def test_strength_zero_and_unselected_blocks_are_identity(unet, conds, video):
    plain, _, _ = denoise_once(unet, video, SIGMA, *conds)
    zero, _, _ = denoise_once(patched(unet, strength=0.0), video, SIGMA, *conds)
    none, _, _ = denoise_once(patched(unet, blocks=dict(input_blocks=False, middle_block=False, output_blocks=False)),
                              video, SIGMA, *conds)
    only_out, _, _ = denoise_once(patched(unet, blocks=dict(input_blocks=False, middle_block=False)), video, SIGMA, *conds)
    assert fp32_close(zero, plain) and fp32_close(none, plain)
    assert not torch.allclose(only_out, plain, atol=1e-3)


def test_input_model_is_not_changed_and_patches_compose(unet, conds, video):
    before, _, _ = denoise_once(unet, video, SIGMA, *conds)
    calls = []

    def other_pack_patch(n, context, value, extra_options):
        calls.append(context.shape[0])
        return n, context, value

    other = unet.clone()
    other.set_model_attn1_patch(other_pack_patch)
    model = patched(other)
    assert unet.model_options.get("transformer_options", {}).get("patches", {}) == {}
    denoise_once(model, video, SIGMA, *conds)
    patches = model.model_options["transformer_options"]["patches"]["attn1_patch"]
    assert patches[0] is other_pack_patch and isinstance(patches[1], CrossFrameAttentionPatch) and calls
    after, _, _ = denoise_once(unet, video, SIGMA, *conds)
    assert torch.equal(before, after)


def run_options(model, conds, inside=None):
    """The transformer_options a real sampling run of `model` gives its model calls (CFGGuider, as KSampler);
    inside(): code run within that run, before it ends."""
    seen = {}

    def sampler(model_k, x, sigmas, extra_args=None, callback=None, disable=None):
        seen["options"] = extra_args["model_options"]["transformer_options"]
        seen["inside"] = inside(seen["options"]) if inside else None
        return x

    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(*conds)
    zeros = torch.zeros(2, 4, 8, 8)
    guider.sample(zeros, zeros, comfy.samplers.KSAMPLER(sampler), torch.tensor([SIGMA, 0.0]), seed=0, disable_pbar=True)
    return seen


def test_clones_keep_separate_anchors(unet, conds):
    """Clones of one patched model (ComfyUI 0.33 shares the patch object between them), one's run nested in the
    other's: the inner clone sees no anchor of the outer one, and its end does not clear the outer's anchor."""
    base = add_cross_frame_attention(unet)
    a, b = base.clone(), base.clone()
    patch_a, patch_b = cross_frame_patches(a)[0], cross_frame_patches(b)[0]
    first, later = rows([0, 1]), rows([2, 3])

    def attend(patch, h, opts, ids):
        return patch(h, h, h, {**options(), **opts, "context_window": CoreWindow(ids)})[1]

    def outer(opts):
        attend(patch_a, first, opts, [0, 1])                                 # a's run keeps frame 0's states
        inner = run_options(b, conds, lambda o: attend(patch_b, later, o, [2, 3]))["inside"]
        assert frame_seen(inner) == [[2, 2], [2, 2]]                         # b: its own first row, not a's anchor
        return attend(patch_a, later, opts, [2, 3])

    assert frame_seen(run_options(a, conds, outer)["inside"]) == [[0, 0], [0, 0]]
    again = run_options(a, conds, lambda o: attend(patch_a, later, o, [2, 3]))["inside"]
    assert frame_seen(again) == [[2, 2], [2, 2]]                             # a new run starts with no anchor
