"""Installing our mechanisms on a ComfyUI MODEL: one place the nodes and the LoRA trainer share.

Each installer clones the model, registers the mechanism through public ModelPatcher calls and returns
the clone (the input MODEL is never changed), in the shape of ComfyUI's FreeU node:
- cross-frame attention, Text2Video-Zero (Khachatryan et al. 2023) §3.3.2, Eq. 6: an `attn1_patch`
  plus an OUTER_SAMPLE wrapper that gives every sampling run its own anchor state;
- the temporal shift, Latent-Shift (An et al. 2023) §3.2 (the TSM operator): `forward` object patches of
  the selected ResBlocks plus a DIFFUSION_MODEL wrapper that records how many cond/uncond chunks the
  U-Net call in progress holds (the chunk bookkeeping: batch = chunks × frames, see frames.py).
"""
from __future__ import annotations

import contextlib
import contextvars
import itertools

import comfy.patcher_extension as pe
from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock

from ..core.cross_frame_attention import BLOCKS, CrossFrameAttentionPatch
from .dit_cross_frame import DiTCrossFramePatch
from .dit_zimage import ZImageCrossFrameAttention
from ..core.frames import chunk_count
from ..core.temporal_shift import temporal_shift

# ---- cross-frame attention ---------------------------------------------------------------------------------


def add_cross_frame_attention(model, anchor="first", strength=1.0, blocks=BLOCKS):
    m = model.clone()
    patch = CrossFrameAttentionPatch(anchor, strength, blocks)
    m.set_model_attn1_patch(patch)
    m.add_wrapper_with_key(pe.WrappersMP.OUTER_SAMPLE, "vidlift_cross_frame_anchor", patch.state_per_run)
    return m


def cross_frame_patches(model) -> list:
    """Our cross-frame patches on the model: U-Net and DiT attn1_patches, and Z-Image's attention override."""
    options = model.model_options.get("transformer_options", {})
    patches = list(options.get("patches", {}).get("attn1_patch", []))
    override = options.get("optimized_attention_override")
    while override is not None:                      # ours chain to earlier overrides
        patches.append(override)
        override = getattr(override, "previous", None)
    return [p for p in patches if isinstance(p, (CrossFrameAttentionPatch, DiTCrossFramePatch,
                                                 ZImageCrossFrameAttention))]


def has_cross_frame_attention(model) -> bool:
    return bool(cross_frame_patches(model))


# ---- temporal shift and the chunk bookkeeping ----------------------------------------------------------------

# where in a ResBlock the shift goes: the layers whose input is shifted ("" = the block's output). Each shifted
# layer carries a frame one frame farther, so "before conv1 and conv2" doubles a U-Net's temporal reach.
POSITIONS = {"before conv1": ("in_layers.2",), "before first norm": ("in_layers.0",), "block output": ("",),
             "before conv1 and conv2": ("in_layers.2", "out_layers.3")}
SHIFT_WRAPPER_KEY = "vidlift_temporal_shift"
# chunks of the U-Net call in progress, set by a DIFFUSION_MODEL wrapper. A ResBlock's forward has no
# transformer_options, so the count travels in a ContextVar (per thread: safe when chunks run in threads).
CHUNKS = contextvars.ContextVar("vidlift_chunks", default=None)


def remember_chunks(executor, x, timesteps=None, context=None, y=None, control=None, transformer_options=None,
                    **kwargs):
    """DIFFUSION_MODEL wrapper; ComfyUI calls it as UNetModel.forward calls `_forward`:
    executor(x, timesteps, context, y, control, transformer_options, **kwargs) (0.3.75 and 0.33 alike)."""
    token = CHUNKS.set(chunk_count(transformer_options or {}))
    try:
        return executor(x, timesteps, context, y, control, transformer_options, **kwargs)
    finally:
        CHUNKS.reset(token)


@contextlib.contextmanager
def chunks_context(chunks):
    """Run code as inside a U-Net call of `chunks` chunks (gradient checkpointing recomputes a layer after
    the call has returned, possibly on another thread: it must shift exactly as the forward did)."""
    token = CHUNKS.set(chunks)
    try:
        yield
    finally:
        CHUNKS.reset(token)


def shifted(x, settings):
    chunks = CHUNKS.get()
    if chunks is None or x.shape[0] % chunks:  # not inside a U-Net call we know: never guess frames
        return x
    return temporal_shift(x, x.shape[0] // chunks, *settings)


def resblock_paths(unet, parts):
    for part in parts:
        blocks = [unet.middle_block] if part == "middle_block" else getattr(unet, part)
        for i, block in enumerate(blocks):
            for j, layer in enumerate(block):
                if isinstance(layer, ResBlock):
                    yield f"{part}.{i}.{j}" if part != "middle_block" else f"middle_block.{j}"


def add_temporal_shift(model, fraction=0.125, position="before conv1", boundary="zero", strength=1.0,
                       parts=("input_blocks", "middle_block", "output_blocks")):
    m = model.clone()
    settings = (fraction, boundary, strength)
    unet = m.get_model_object("diffusion_model")
    for path, layer in itertools.product(resblock_paths(unet, parts), POSITIONS[position]):
        target = "diffusion_model." + ".".join(p for p in (path, layer) if p)
        previous = m.get_model_object(target + ".forward")   # another pack's patch, or the module's own forward
        if not layer:                                        # the block's output
            def forward(x, emb, *a, _prev=previous, **kw):
                return shifted(_prev(x, emb, *a, **kw), settings)
        else:
            def forward(x, *a, _prev=previous, **kw):
                return _prev(shifted(x, settings), *a, **kw)
        m.add_object_patch(target + ".forward", forward)
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, SHIFT_WRAPPER_KEY, remember_chunks)
    return m
