"""Text2Video-Zero cross-frame attention and Latent-Shift's temporal shift on Z-Image / Lumina 2 (NextDiT).

NextDiT has no `attn1_patch`. Its blocks run `[caption | image]` through one joint attention, caption
and image each padded to a multiple of `pad_tokens_multiple` (32 on Z-Image), after two refiner stacks
that attend to the caption alone and to the image alone. Three public hooks carry the mechanisms:
- a `WrappersMP.DIFFUSION_MODEL` wrapper (`ZImageTokenLayout`) sees x and the caption and writes the
  joint length and the image-token range into this call's transformer_options;
- `optimized_attention_override` (`ZImageCrossFrameAttention`) gets q, k, v as [B, heads, L, D] *after*
  RoPE and after the GQA repeat. In the main layers (the calls of the joint length) the image keys and
  values of every frame are the anchor frame's of the same chunk (Khachatryan et al. 2023, Eq. 6):
      K′ = [K_cap | K_img^anchor | K_pad],  V′ likewise.
  Copying rotated keys is exact: every frame has the same token positions, so the anchor's key already
  carries the rotation the frame's own key would have; "first+previous" appends the previous frame's
  rotated image keys, which need no position table. Any override set before ours is called with our
  k, v, so the two compose;
- `patches["noise_refiner"]` and `patches["double_block"]` (`ZImageShift`): post-block hooks. Latent-Shift
  (An et al. 2023, §3.2) shifts inside each block's residual branch, out = x + (block(shift(x)) − shift(x)),
  on the image tokens. A post-block hook cannot change what its block read, so each hook hands the next
  block shift(h) and keeps (h, shift(h)); after that block it restores the residual stream,
  h′ = h + (out − shift(h)), and shifts again for the block after, the last one returning h′ itself.
  Caption and padding tokens take the blocks' outputs unchanged; one frame is the identity.
"""
from __future__ import annotations

import torch

from .dit_cross_frame import DIT_BLOCKS, DiTCrossFramePatch
from .dit_temporal_shift import ShiftCallGuard, shift_tokens
from ..core.errors import NodeInputError
from ..core.frames import chunk_count

LAYOUT_KEY = "vidlift_zimage_tokens"   # transformer_options: (joint length, image start, image end)
SHIFT_KEY = "vidlift_zimage_shift"     # transformer_options: (h, shift(h)) handed from hook to hook


def padded(n: int, multiple: int | None) -> int:
    return n + (-n) % multiple if multiple else n


def token_layout(x_shape, caption_len: int, patch: int, pad_multiple: int | None) -> tuple[int, int, int]:
    """(joint length, image start, image end) of NextDiT's main layers for latents x_shape [B, C, H, W]."""
    image = -(-x_shape[-2] // patch) * -(-x_shape[-1] // patch)
    start = padded(caption_len, pad_multiple)
    return start + padded(image, pad_multiple), start, start + image


class ZImageTokenLayout:
    """DIFFUSION_MODEL wrapper: this call's token layout into a copy of its transformer_options."""

    def __init__(self, node: str = "VidLift"):
        self.node = node

    def __call__(self, executor, x, timesteps, context, num_tokens, attention_mask=None, **kwargs):
        if kwargs.get("ref_latents"):
            # Last resort: the adapter's ConditioningCheck refuses a conditioning's reference latents before the
            # first step; latents handed to the model by another path (a custom sampler calling apply_model) only here.
            raise NodeInputError(self.node, "model", "Z-Image Omni reference latents are not supported yet by "
                                                     "cross-frame attention or temporal shift; remove the reference image.")
        opts = kwargs.get("transformer_options") or {}
        if context is not None and LAYOUT_KEY not in opts:
            dm = executor.class_obj
            layout = token_layout(x.shape, context.shape[1], dm.patch_size, dm.pad_tokens_multiple)
            kwargs["transformer_options"] = {**opts, LAYOUT_KEY: layout}
        return executor(x, timesteps, context, num_tokens, attention_mask, **kwargs)

    def __deepcopy__(self, memo):
        return self


class ZImageCrossFrameAttention:
    """`optimized_attention_override(func, q, k, v, heads, mask, **kw)`; DiTCrossFramePatch on the main layers."""

    def __init__(self, anchor: str = "first", strength: float = 1.0, blocks=DIT_BLOCKS, previous=None,
                 node: str = "Cross-Frame Attention Patcher"):
        self.patch, self.previous = DiTCrossFramePatch(anchor, strength, blocks, node), previous

    def __call__(self, func, q, k, v, *args, **kwargs):
        opts = kwargs.get("transformer_options") or {}
        layout = opts.get(LAYOUT_KEY)
        if layout is not None and q.shape[2] == layout[0]:
            mask = args[1] if len(args) > 1 else kwargs.get("mask")
            extra = {**opts, "img_slice": list(layout[1:]), "block_type": "double", "reference_image_num_tokens": None}
            out = self.patch(q, k, v, None, mask, extra)
            k, v = out.get("k", k), out.get("v", v)
        if self.previous is not None:
            return self.previous(func, q, k, v, *args, **kwargs)
        return func(q, k, v, *args, **kwargs)

    def __deepcopy__(self, memo):
        return self


class ZImageShift:
    """`patches["noise_refiner"]` (stage "enter", acting after the last refiner) and `patches["double_block"]`
    (stage "layer"): the residual-branch shift carried from block to block (module docstring)."""

    def __init__(self, stage: str, last: int, fraction: float = 0.125, boundary: str = "zero", strength: float = 1.0):
        self.stage, self.last = stage, last
        self.fraction, self.boundary, self.strength = float(fraction), boundary, float(strength)

    def __call__(self, args):
        ShiftCallGuard.called()
        opts, out, i = args["transformer_options"], args["img"], args["block_index"]
        layout, chunks = opts.get(LAYOUT_KEY), chunk_count(opts)
        frames = out.shape[0] // chunks if out.shape[0] % chunks == 0 else 1
        if layout is None or frames <= 1 or self.strength == 0.0 or int(out.shape[2] * self.fraction) == 0:
            return {}
        if self.stage == "enter" and i != self.last:
            return {}
        n = layout[2] - layout[1]                      # image tokens; the padding tokens follow them
        prev = opts.pop(SHIFT_KEY, None) if self.stage == "layer" else None
        if prev is None:
            h = out.clone()                            # the hook writes back into the tensor `out` views
        else:
            h = torch.cat([prev[0][:, :n] + (out[:, :n] - prev[1][:, :n]), out[:, n:]], dim=1)
        if self.stage == "layer" and i == self.last:
            return {"img": h}
        s = shift_tokens(h, 0, n, frames, self.fraction, self.boundary, self.strength)
        opts[SHIFT_KEY] = (h, s)
        return {"img": s}

    def __deepcopy__(self, memo):
        return self
