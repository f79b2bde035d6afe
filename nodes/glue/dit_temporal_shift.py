"""Latent-Shift's temporal shift (An et al. 2023) on DiT image tokens.

The U-Net version shifts ResBlock channels (temporal_shift.py). A DiT block instead gets its
image tokens shifted along the hidden dimension (the same TSM operator, frames on the batch per
conditioning chunk) and keeps its residual stream unshifted, as the paper's residual shift does:
    out = x + (block(shift(x)) − shift(x))      on the image tokens;
text and reference tokens take the block's output unchanged. One frame is the identity: the
block runs as if unpatched.
"""
from __future__ import annotations

import torch

from .dit_cross_frame import image_token_range
from ..core.errors import NodeInputError
from ..core.frames import chunk_count
from ..core.temporal_shift import temporal_shift


def shift_tokens(x: torch.Tensor, start: int, end: int, frames: int, fraction: float = 0.125,
                 boundary: str = "zero", strength: float = 1.0) -> torch.Tensor:
    """x: [chunks·frames, L, C]; tokens [start, end) shifted along C between neighbouring frames."""
    img = temporal_shift(x[:, start:end].transpose(1, 2), frames, fraction, boundary, strength)
    return torch.cat([x[:, :start], img.transpose(1, 2), x[:, end:]], dim=1)


class ShiftCallGuard:
    """DIFFUSION_MODEL wrapper, the runtime half of finding the whole-model hooks by behaviour: the first forward of
    the patched model must run at least one shift patch (the patches count their calls only while a guard waits, so
    a compiled model sees a constant afterwards). None ran: this ComfyUI's forward does not call the hook, or a node
    applied later replaced the patches; the patcher node's error, never a silently unshifted video. Later forwards
    are not checked: a step cache (EasyCache, TeaCache) may skip every block of a step."""
    calls = 0           # shift patch calls while a guard waits on its first forward
    waiting = 0         # guards whose first forward is running

    def __init__(self, node: str, family: str, hook: str):
        self.node, self.family, self.hook, self.confirmed = node, family, hook, False

    @classmethod
    def called(cls) -> None:
        if cls.waiting:
            cls.calls += 1

    def __call__(self, executor, *args, **kwargs):
        if self.confirmed:
            return executor(*args, **kwargs)
        before = ShiftCallGuard.calls
        ShiftCallGuard.waiting += 1
        try:
            out = executor(*args, **kwargs)
        finally:
            ShiftCallGuard.waiting -= 1
        if ShiftCallGuard.calls == before:
            raise NodeInputError(self.node, "model", f"temporal shift on {self.family}: this ComfyUI's {self.family} "
                                 f"forward never called the {self.hook} hook the shift is patched into (or a node "
                                 f"applied after this one replaced the patch); update ComfyUI, or apply the Temporal "
                                 f"Shift Patcher last.")
        self.confirmed = True
        return out

    def __deepcopy__(self, memo):
        return self


class DiTShiftBlockPatch:
    """`patches_replace["dit"][("double_block"|"single_block", i)]`: (args, {"original_block"}) -> dict."""

    def __init__(self, kind: str, fraction: float = 0.125, boundary: str = "zero", strength: float = 1.0):
        self.kind, self.fraction, self.boundary, self.strength = kind, float(fraction), boundary, float(strength)

    def image_range(self, x, opts):
        if self.kind == "single":
            return image_token_range(opts, x.shape[1])
        refs = sum(opts.get("reference_image_num_tokens") or [])
        return 0, x.shape[1] - int(refs)

    def __call__(self, args, extra):
        ShiftCallGuard.called()
        block = extra["original_block"]
        x, opts = args["img"], args.get("transformer_options") or {}
        chunks = chunk_count(opts)
        frames = x.shape[0] // chunks if x.shape[0] % chunks == 0 else 1
        if frames <= 1 or self.strength == 0.0 or int(x.shape[2] * self.fraction) == 0:
            return block(args)
        start, end = self.image_range(x, opts)
        xs = shift_tokens(x, start, end, frames, self.fraction, self.boundary, self.strength)
        out = block({**args, "img": xs.clone()})         # blocks add their residual in place
        y = out["img"].clone()
        y[:, start:end] = x[:, start:end] + (out["img"][:, start:end] - xs[:, start:end])
        return {**out, "img": y}

    def __deepcopy__(self, memo):
        return self


class DiTShiftAttentionOutputPatch:
    """`attn1_output_patch(out [B, L, heads·D], extra_options)` for DiTs without a block replace (Krea 2): the
    shift on the image tokens of the attention output, still inside the residual branch (the block adds
    gate · W_o(shift(attn)) to its unshifted stream), one step later in the branch than the block patch."""

    def __init__(self, fraction: float = 0.125, boundary: str = "zero", strength: float = 1.0, blocks=("single",)):
        self.fraction, self.boundary, self.strength = float(fraction), boundary, float(strength)
        self.blocks = tuple(blocks)

    def __call__(self, out, extra_options):
        opts = extra_options or {}
        chunks = chunk_count(opts)
        frames = out.shape[0] // chunks if out.shape[0] % chunks == 0 else 1
        if frames <= 1 or self.strength == 0.0 or opts.get("block_type") not in self.blocks:
            return out
        start, end = image_token_range(opts, out.shape[1])
        return shift_tokens(out, start, end, frames, self.fraction, self.boundary, self.strength)

    def __deepcopy__(self, memo):
        return self
