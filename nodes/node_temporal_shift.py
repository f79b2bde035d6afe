"""Temporal Shift Patcher (Latent-Shift): MODEL → MODEL, TSM shift inside every selected ResBlock."""
from __future__ import annotations

import contextlib
import contextvars

from comfy_api.latest import io

import comfy.patcher_extension as pe
from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock

from .comfy_glue import require_sd_unet
from .errors import check_schema
from .frames import chunk_count
from .temporal_shift import BOUNDARIES, temporal_shift

NODE = "Temporal Shift Patcher"
POSITIONS = {"before conv1": "in_layers.2", "before first norm": "in_layers.0", "block output": ""}
WRAPPER_KEY = "vidlift_temporal_shift"
# chunks of the U-Net call in progress (set by a DIFFUSION_MODEL wrapper; a ContextVar is safe with threads)
CHUNKS = contextvars.ContextVar("vidlift_chunks", default=None)


def remember_chunks(executor, x, *args, **kwargs):
    options = args[4] if len(args) > 4 else kwargs.get("transformer_options", {})
    token = CHUNKS.set(chunk_count(options))
    try:
        return executor(x, *args, **kwargs)
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
    for path in resblock_paths(unet, parts):
        target = "diffusion_model." + ".".join(p for p in (path, POSITIONS[position]) if p)
        previous = m.get_model_object(target + ".forward")   # another pack's patch, or the module's own forward
        if position == "block output":
            def forward(x, emb, *a, _prev=previous, **kw):
                return shifted(_prev(x, emb, *a, **kw), settings)
        else:
            def forward(x, *a, _prev=previous, **kw):
                return _prev(shifted(x, settings), *a, **kw)
        m.add_object_patch(target + ".forward", forward)
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, WRAPPER_KEY, remember_chunks)
    return m


class TemporalShiftPatcher(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_TemporalShift", display_name=NODE, category="VidLift/Latent-Shift",
            description="Latent-Shift: inside every selected U-Net ResBlock, one portion of the channels is shifted "
                        "one frame backward in time and another one frame forward (parameter-free TSM), so frames "
                        "(the latent batch) see their neighbours. The paper fine-tunes the U-Net with the shift on: "
                        "on an unmodified SD model expect degraded frames unless you fine-tune (or lower strength). "
                        "With one frame the model is unchanged. Returns a patched copy; LoRAs still apply.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL model (ideally fine-tuned with the shift)."),
                io.Float.Input("shift_fraction", default=0.125, min=0.0, max=0.5, step=0.005,
                               tooltip="Fraction of channels shifted in each direction: 1/8 backward + 1/8 forward "
                                       "(TSM's default) leaves 3/4 in place."),
                io.Combo.Input("position", options=list(POSITIONS), default="before conv1",
                               tooltip="before conv1: on the residual branch just before the first convolution (TSM "
                                       "'blockres', the default); before first norm: also shifts the GroupNorm input; "
                                       "block output: shifts what the ResBlock returns."),
                io.Combo.Input("boundary", options=list(BOUNDARIES), default="zero",
                               tooltip="What enters at the first/last frame: zero (TSM), replicate the edge frame, or "
                                       "loop (the last frame's neighbour is the first: seamless loops)."),
                io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="Blend between the unshifted (0) and shifted (1) channels."),
                io.Boolean.Input("input_blocks", default=True, tooltip="Shift in the U-Net's input (down) ResBlocks."),
                io.Boolean.Input("middle_block", default=True, tooltip="Shift in the middle block's ResBlocks."),
                io.Boolean.Input("output_blocks", default=True, tooltip="Shift in the output (up) ResBlocks."),
            ],
            outputs=[io.Model.Output(tooltip="The model with the temporal shift.")],
        )

    @classmethod
    def execute(cls, model, shift_fraction, position, boundary, strength, input_blocks, middle_block, output_blocks):
        check_schema(cls, NODE, dict(shift_fraction=shift_fraction, position=position, boundary=boundary,
                                     strength=strength))
        require_sd_unet(model, NODE)
        parts = [p for p, on in zip(("input_blocks", "middle_block", "output_blocks"),
                                    (input_blocks, middle_block, output_blocks)) if on]
        return io.NodeOutput(add_temporal_shift(model, shift_fraction, position, boundary, strength, parts))


NODES = [TemporalShiftPatcher]
