"""Cross-frame attention for DiTs (Text2Video-Zero, Khachatryan et al. 2023, Sect. 3.3.2, Eq. 6).

The U-Net version (cross_frame_attention.py) swaps the key/value *source* of every self-attention.
A DiT (Flux.1/.2, Chroma, Qwen-Image) runs one joint attention over [text | image | reference]
tokens and hands q, k, v to `attn1_patch` as [B, heads, L, D] before RoPE. Here only the image
range of k and v (`img_slice`, less the Kontext/Flux.2 reference tail `reference_image_num_tokens`)
takes the anchor frame's rows; text and reference tokens stay the frame's own:
    K′ = [K_txt | K_img^anchor | K_ref],  V′ likewise (Eq. 6 on the image tokens).
"first+previous" (sparse-causal, Tune-A-Video) appends the previous frame's image keys/values at
the end and extends the key side of the rotary table `pe` with the image positions, so appended
keys rotate like image tokens (ComfyUI applies `pe[:, :, :Lq]` to q and all of `pe` to k).
"""
from __future__ import annotations

import torch

from ..core.cross_frame_attention import ANCHORS, cross_frame_source
from ..core.frames import anchor_frames, chunk_count, window_frame_ids

DIT_BLOCKS = ("double", "single")


def image_token_range(extra_options: dict, length: int) -> tuple[int, int]:
    """[start, end) of the generated image's tokens in a joint sequence of `length` tokens."""
    start, end = extra_options.get("img_slice") or (0, length)
    refs = sum(extra_options.get("reference_image_num_tokens") or [])
    return int(start), int(end) - int(refs)


def cross_frame_kv(k: torch.Tensor, v: torch.Tensor, pe: torch.Tensor | None, start: int, end: int,
                   chunks: int, anchor: str = "first", strength: float = 1.0, anchor_frame: int = 0):
    """k, v: [chunks·frames, H, L, D]; returns (k′, v′, pe′), the image range [start, end) taken from
    the anchor row of each chunk (strength blends with the frame's own, as in cross_frame_source)."""
    n = end - start
    if anchor == "first" and strength == 1.0:      # the common case: one gather of the anchor rows, one copy
        frames = k.shape[0] // chunks
        rows = (torch.arange(chunks)[:, None] * frames + anchor_frames(frames, anchor_frame)[None]).flatten()
        rows = rows.to(k.device)
        out = []
        for t in (k, v):
            t2 = t.clone()
            t2[:, :, start:end] = t[rows, :, start:end]
            out.append(t2)
        return out[0], out[1], pe

    def image_source(t):
        b, h, _, d = t.shape
        img = t[:, :, start:end].permute(0, 2, 1, 3).reshape(b, n, h * d)
        src = cross_frame_source(img, chunks, anchor, strength, anchor_frame)
        return src.view(b, -1, h, d).permute(0, 2, 1, 3)

    out = []
    for t in (k, v):
        src = image_source(t)
        parts = [t[:, :, :start], src[:, :, :n], t[:, :, end:]]
        if anchor == "first+previous":
            parts.append(src[:, :, n:])
        out.append(torch.cat(parts, dim=2))
    if anchor == "first+previous" and pe is not None:
        pe = torch.cat([pe, pe[:, :, start:end]], dim=2)
    return out[0], out[1], pe


class DiTCrossFramePatch:
    """`attn1_patch` for Flux-family and Qwen-Image blocks: (q, k, v, pe, attn_mask, extra_options) -> dict."""

    def __init__(self, anchor: str = "first", strength: float = 1.0, blocks=DIT_BLOCKS,
                 node: str = "Cross-Frame Attention Patcher"):
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        self.anchor, self.strength, self.blocks, self.node = anchor, float(strength), tuple(blocks), node
        self.anchor_frame = 0

    def __call__(self, q, k, v, pe=None, attn_mask=None, extra_options=None):
        opts = extra_options or {}
        block_type = opts.get("block_type")
        if self.strength == 0.0 or (block_type is not None and block_type not in self.blocks):
            return {}
        chunks = chunk_count(opts)
        if k.shape[0] % chunks or k.shape[0] == chunks:   # one frame per chunk: nothing to share
            return {}
        if self.anchor == "first+previous" and attn_mask is not None:
            raise ValueError("Cross-frame attention: anchor 'first+previous' on a DiT needs an attention "
                             "without mask (this conditioning has a text attention mask); use 'first'")
        start, end = image_token_range(opts, k.shape[2])
        k2, v2, pe2 = cross_frame_kv(k, v, pe, start, end, chunks, self.anchor, self.strength,
                                     self.anchor_row(opts, k.shape[0] // chunks))
        out = {"k": k2, "v": v2}
        if pe2 is not pe:
            out["pe"] = pe2
        return out

    def anchor_row(self, opts, frames):
        """The row of the video's frame 0 when the window holds it, else the window's first row."""
        window = window_frame_ids(opts, frames)
        if window is not None and self.anchor_frame in window[1]:
            return window[1].index(self.anchor_frame)
        return 0

    def __deepcopy__(self, memo):  # ComfyUI 0.3.75 deep-copies model_options on clone; stay cheap
        return self
