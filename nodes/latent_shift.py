"""Temporal Shift Patcher (Latent-Shift, An et al. 2023): MODEL → MODEL, TSM shift inside every selected ResBlock."""
from __future__ import annotations

from comfy_api.latest import io

from .glue.comfy_glue import require_family
from .core.errors import check_schema
from .glue.model_families import DIT_BLOCK_CHOICES
from .glue.model_patches import POSITIONS
from .core.temporal_shift import BOUNDARIES

NODE = "Temporal Shift Patcher"


class TemporalShiftPatcher(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_TemporalShift", display_name=NODE, category="VidLift/Latent-Shift",
            description="Latent-Shift: inside every selected U-Net ResBlock, one portion of the channels is shifted "
                        "one frame backward in time and another one frame forward (parameter-free TSM), so frames "
                        "(the latent batch) see their neighbours. The paper fine-tunes the U-Net with the shift on: "
                        "on an unmodified SD model expect degraded frames unless you fine-tune (or lower strength). "
                        "With one frame the model is unchanged. On DiTs (Flux family, Qwen-Image) the image tokens "
                        "are shifted inside each transformer block's residual branch (text tokens never). Returns a "
                        "patched copy; LoRAs still apply.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL U-Net or a DiT (Flux.1 / Flux.2 / Chroma, "
                                                "Qwen-Image), ideally fine-tuned with the shift."),
                io.Float.Input("shift_fraction", default=0.125, min=0.0, max=0.5, step=0.005,
                               tooltip="Fraction of channels shifted in each direction: 1/8 backward + 1/8 forward "
                                       "(TSM's default) leaves 3/4 in place."),
                io.Combo.Input("position", options=list(POSITIONS), default="before conv1",
                               tooltip="before conv1: on the residual branch just before the first convolution (TSM "
                                       "'blockres', the default); before first norm: also shifts the GroupNorm input; "
                                       "block output: shifts what the ResBlock returns; before conv1 and conv2: "
                                       "both convolutions' inputs, twice the frames a frame sees (for U-Nets with "
                                       "few ResBlocks; train with it). U-Nets only."),
                io.Combo.Input("boundary", options=list(BOUNDARIES), default="zero",
                               tooltip="What enters at the first/last frame: zero (TSM), replicate the edge frame, or "
                                       "loop (the last frame's neighbour is the first: seamless loops)."),
                io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="Blend between the unshifted (0) and shifted (1) channels."),
                io.Boolean.Input("input_blocks", default=True, tooltip="Shift in the U-Net's input (down) ResBlocks."),
                io.Boolean.Input("middle_block", default=True, tooltip="Shift in the middle block's ResBlocks."),
                io.Boolean.Input("output_blocks", default=True, tooltip="Shift in the output (up) ResBlocks."),
                io.Combo.Input("dit_blocks", options=list(DIT_BLOCK_CHOICES), default="double+single", optional=True,
                               tooltip="DiTs: which transformer blocks shift their image tokens (Flux: double-stream "
                                       "and single-stream; Qwen-Image has double-stream blocks only). U-Nets ignore it."),
            ],
            outputs=[io.Model.Output(tooltip="The model with the temporal shift.")],
        )

    @classmethod
    def execute(cls, model, shift_fraction, position, boundary, strength, input_blocks, middle_block, output_blocks,
                dit_blocks="double+single"):
        check_schema(cls, NODE, dict(shift_fraction=shift_fraction, position=position, boundary=boundary,
                                     strength=strength, dit_blocks=dit_blocks))
        adapter = require_family(model, NODE, "temporal shift")
        chosen = [b for b, on in zip(("input", "middle", "output"), (input_blocks, middle_block, output_blocks)) if on]
        return io.NodeOutput(adapter.install_temporal_shift(model, shift_fraction, boundary, strength,
                                                            chosen + DIT_BLOCK_CHOICES[dit_blocks], NODE, position))


NODES = [TemporalShiftPatcher]
