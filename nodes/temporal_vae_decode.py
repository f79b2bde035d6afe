"""Temporal VAE Decode node (LATENT + VAE → IMAGE): a temporal decoder (Video LDM, Blattmann et al. 2023)
in windows."""
from __future__ import annotations

import logging

import torch
from comfy_api.latest import io

import comfy.model_management as mm
import comfy.utils

from .glue.comfy_glue import decode_frames_together, has_temporal_decoder
from .core.errors import answer, check, check_schema, fail, first, schema_problem
from .core.temporal_decode import decode_tiled, decode_windows, window_plan

NODE = "Temporal VAE Decode"


def window_problem(window, overlap) -> tuple[str, str] | None:
    if window < 2:
        return "window", f"must be at least 2 frames (a temporal decoder needs neighbours), got {window}."
    if not 0 <= overlap < window:
        return "overlap", f"must be between 0 and window−1 = {window - 1}, got {overlap}."
    return None


def check_latent(vae, samples: torch.Tensor) -> None:
    latent_dim = getattr(vae, "latent_dim", 2)
    if latent_dim == 2:
        check(samples.ndim == 4, NODE, "samples",
              f"is a {samples.ndim}-D latent {list(samples.shape)}, but this VAE decodes image latents "
              f"[frames, channels, h, w]: a native video model's latent needs that model's own VAE.")
    check(samples.shape[1] == vae.latent_channels, NODE, "samples",
          f"has {samples.shape[1]} channels but this VAE decodes {vae.latent_channels}-channel latents; "
          f"use the VAE that belongs to the model that made the latent.")


def temporal_decode(vae, samples: torch.Tensor, window: int, overlap: int, tile_px: int, tile_overlap_px: int,
                    pbar=None) -> torch.Tensor:
    """IMAGE [T, H, W, 3] from a temporal decoder, in fixed windows (and spatial tiles inside them)."""
    scale = vae.upscale_ratio if isinstance(vae.upscale_ratio, int) else 8
    w = min(window, samples.shape[0])
    mm.load_models_gpu([vae.patcher], memory_required=vae.memory_used_decode((w,) + tuple(samples.shape[1:]),
                                                                              vae.vae_dtype))
    tile, tile_ov = tile_px // scale, tile_overlap_px // scale

    def decode(z):
        nonlocal tile, tile_ov
        try:
            return decode_tiled(lambda frames: decode_frames_together(vae, frames), z, tile, tile_ov, scale)
        except mm.OOM_EXCEPTION:
            if 0 < tile <= 16:
                raise
        tile = max(16, (tile or max(z.shape[-2:])) // 2)
        tile_ov = tile // 4
        logging.warning(f"{NODE}: out of memory for a window of {z.shape[0]} frames; tiling inside the window "
                        f"({tile * scale} px tiles, never across frames).")
        mm.soft_empty_cache()
        return decode(z)

    with torch.no_grad():
        out = decode_windows(decode, samples, window, overlap,
                             on_window=(lambda: pbar.update(1)) if pbar is not None else None)
    return out.movedim(1, -1)


class TemporalVAEDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_TemporalVAEDecode", display_name=NODE, category="VidLift/Decode",
            description="Decodes a video latent (frames in the batch). With a temporal decoder (Stable Video "
                        "Diffusion's VAE, which reads SD1.x/2.x latents) the frames are decoded together in fixed "
                        "windows of `window` frames overlapping by `overlap`, cross-faded so there are no seams, "
                        "with memory bounded by the window whatever the video length. With an image-only VAE it "
                        "decodes frame by frame exactly as VAE Decode and says so in the log.",
            inputs=[
                io.Latent.Input("samples", tooltip="The video latent: frames in the batch."),
                io.Vae.Input("vae", tooltip="A temporal decoder (SVD VAE) for temporal decoding; an image-only VAE "
                                            "(SD1.x/2.x/SDXL) decodes frame by frame, with no temporal smoothing."),
                io.Int.Input("window", default=14, min=2, max=4096,
                             tooltip="Frames decoded together (temporal window). SVD's decoder was trained on 14."),
                io.Int.Input("overlap", default=4, min=0, max=4095,
                             tooltip="Frames shared by consecutive windows, cross-faded linearly. Less than window."),
                io.Int.Input("tile_size", default=0, min=0, max=8192, step=32,
                             tooltip="Spatial tile size in pixels inside a window (0 = whole frame; tiles are used "
                                     "automatically if a window does not fit in memory). Tiles never cut across frames."),
                io.Int.Input("tile_overlap", default=64, min=0, max=4096, step=32,
                             tooltip="Overlap of spatial tiles in pixels, feathered."),
            ],
            outputs=[io.Image.Output(tooltip="The decoded frames as an IMAGE batch (for Create Video / Video Combine).")],
        )

    @classmethod
    def validate_inputs(cls, window, overlap):
        return answer(NODE, first(schema_problem(cls, dict(window=window, overlap=overlap)),
                                  lambda: None if None in (window, overlap) else window_problem(window, overlap)))

    @classmethod
    def execute(cls, samples, vae, window, overlap, tile_size, tile_overlap):
        check_schema(cls, NODE, dict(window=window, overlap=overlap, tile_size=tile_size, tile_overlap=tile_overlap))
        fail(NODE, window_problem(window, overlap))
        z = samples["samples"]
        check_latent(vae, z)
        if not has_temporal_decoder(vae):
            logging.info(f"{NODE}: this VAE has no temporal decoder (image-only): decoding frame by frame in "
                         f"memory-sized batches, as VAE Decode does; window/overlap are not used.")
            images = vae.decode(z)
            return io.NodeOutput(images.reshape(-1, *images.shape[-3:]))
        pbar = comfy.utils.ProgressBar(len(window_plan(z.shape[0], window, overlap)))
        return io.NodeOutput(temporal_decode(vae, z, window, overlap, tile_size, tile_overlap, pbar))


NODES = [TemporalVAEDecode]
