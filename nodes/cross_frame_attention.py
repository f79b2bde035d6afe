"""Cross-frame attention (Text2Video-Zero, Khachatryan et al. 2023, Sect. 3.3.2, Eq. 6).

Every self-attention of the U-Net takes its keys and values from an anchor frame of the same
conditioning chunk: CF-Attn(Q^k, K, V) = softmax(Q^k (K^1)ᵀ/√d)·V^1. As an `attn1_patch` this
replaces the key/value *source* (the normalised hidden states) before `to_k`/`to_v`, which is the
same as indexing keys after the projection (diffusers' `CrossFrameAttnProcessor`), and leaves the
attention implementation and any other pack's replace patch in place.

Anchors: "first" (the paper) or "first+previous" (sparse-causal, Tune-A-Video): keys of the first
and the previous frame, concatenated along tokens. `strength` s interpolates the key/value source
between the frame itself (s = 0, plain self-attention) and the anchor (s = 1, the paper).
"""
from __future__ import annotations

import torch

from .frames import anchor_frames, chunk_count, previous_frames

ANCHORS = ("first", "first+previous")
BLOCKS = ("input", "middle", "output")


def cross_frame_source(h: torch.Tensor, chunks: int, anchor: str = "first", strength: float = 1.0,
                       anchor_frame: int = 0) -> torch.Tensor:
    """Key/value source for every frame: h is [chunks·frames, tokens, C]; returns [chunks·frames, tokens′, C]."""
    x = h.view(chunks, h.shape[0] // chunks, *h.shape[1:])
    frames = x.shape[1]
    first = x[:, anchor_frames(frames, anchor_frame).to(h.device)]
    if strength != 1.0:
        first = torch.lerp(x, first, strength)
    if anchor == "first":
        src = first
    else:
        prev = x[:, previous_frames(frames).to(h.device)]
        if strength != 1.0:
            prev = torch.lerp(x, prev, strength)
        src = torch.cat([first, prev], dim=2)
    return src.reshape(h.shape[0], src.shape[2], h.shape[2])


class CrossFrameAttentionPatch:
    """`attn1_patch`: (n, context, value, extra_options) -> (n, context′, value′)."""

    def __init__(self, anchor: str = "first", strength: float = 1.0, blocks=BLOCKS):
        self.anchor, self.strength, self.blocks = anchor, float(strength), tuple(blocks)

    def __call__(self, n, context, value, extra_options):
        block = extra_options.get("block")
        if self.strength == 0.0 or (block is not None and block[0] not in self.blocks):
            return n, context, value
        chunks = chunk_count(extra_options)
        if context.shape[0] % chunks or context.shape[0] == chunks:  # one frame per chunk: nothing to share
            return n, context, value
        same = value is context
        context = cross_frame_source(context, chunks, self.anchor, self.strength)
        value = context if same else cross_frame_source(value, chunks, self.anchor, self.strength)
        return n, context, value

    def __deepcopy__(self, memo):  # ComfyUI 0.3.75 deep-copies model_options on clone; stay cheap
        return self
