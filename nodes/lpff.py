"""LPFF Filter nodes (VideoElevator, Zhang et al. 2024, temporal motion refining): LATENT → LATENT, and IMAGE → IMAGE
for filtering decoded frames (e.g. between a video model's VAE decode and an image model's encode)."""
from __future__ import annotations

from comfy_api.latest import io

from .core.errors import check, check_schema
from .core.lpff import SHAPES, low_pass_filter, lpff, lpff_frames_in_batch, lpff_images

NODE, IMAGES_NODE = "LPFF Filter", "LPFF Filter (Images)"
MODES = ("spatio-temporal (reference)", "temporal only")


def filter_inputs():
    """filter … order, shared by the latent and the image node."""
    return [
        io.Combo.Input("filter", options=list(SHAPES), default="gaussian",
                       tooltip="Filter shape: gaussian (the reference), butterworth (order n), ideal, box."),
        io.Combo.Input("mode", options=list(MODES), default=MODES[0],
                       tooltip="spatio-temporal is the reference code's filter (it also softens space a "
                               "little); temporal only filters along frames and leaves each frame's detail."),
        io.Float.Input("d_s", default=1.0, min=0.0, max=4.0, step=0.05,
                       tooltip="Spatial cut-off (normalised; the reference uses 1.0)."),
        io.Float.Input("d_t", default=0.5, min=0.0, max=4.0, step=0.05,
                       tooltip="Temporal cut-off (normalised): LaVie 0.5, ZeroScope 0.4, AnimateLCM 0.6."),
        io.Int.Input("order", default=4, min=1, max=32, tooltip="Butterworth order n (other shapes ignore it)."),
    ]


def filter_args(filter, mode, d_s, d_t, order) -> dict:
    return dict(shape=filter, d_s=float(d_s), d_t=float(d_t), order=int(order), temporal_only=mode == MODES[1])


class LPFFFilter(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_LPFF", display_name=NODE, category="VidLift/VideoElevator",
            description="VideoElevator's low-pass frequency filter: removes flicker (high temporal frequencies) "
                        "from a video latent by FFT over frames and space, in float32. Use it between sampler "
                        "nodes on an x0-like latent; the T2V/T2I Alternating KSampler applies it internally.",
            inputs=[
                io.Latent.Input("samples", tooltip="A video latent: frames in the batch, or a native video model's "
                                                   "[B, C, T, h, w] latent (Wan, LTX, Hunyuan), filtered along its "
                                                   "latent frames T (dim 2)."),
                *filter_inputs(),
                io.Int.Input("frames_per_video", default=0, min=0, max=4096,
                             tooltip="Frames of one video when the batch holds several; 0 = the whole batch is one video."),
            ],
            outputs=[io.Latent.Output(tooltip="The filtered latent, same shape.")],
        )

    @classmethod
    def execute(cls, samples, filter, mode, d_s, d_t, order, frames_per_video):
        x = samples["samples"]
        check_schema(cls, NODE, dict(filter=filter, mode=mode, d_s=d_s, d_t=d_t, order=order,
                                     frames_per_video=frames_per_video))
        args = filter_args(filter, mode, d_s, d_t, order)
        out = dict(samples)
        if x.ndim == 5 and not (x.shape[2] == 1 and x.shape[0] > 1):  # native video latent [B, C, T, h, w]
            out["samples"] = lpff(x, low_pass_filter(*x.shape[-3:], **args))
            return io.NodeOutput(out)
        # else frames in the batch: [frames, C, h, w], or [frames, C, 1, h, w] of Qwen-Image / Krea 2 (T = 1 each)
        check(x.ndim in (4, 5), NODE, "samples", f"needs frames in the batch [frames, C, h, w]; got shape {list(x.shape)}.")
        per = frames_per_video or x.shape[0]
        check(x.shape[0] % per == 0, NODE, "frames_per_video",
              f"{x.shape[0]} frames are not a whole number of {per}-frame videos; use a divisor of {x.shape[0]} or 0.")
        out["samples"] = lpff_frames_in_batch(x, per, **args)
        return io.NodeOutput(out)


class LPFFImages(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_LPFFImages", display_name=IMAGES_NODE, category="VidLift/VideoElevator",
            description="LPFF on decoded frames: the same low-pass filter as LPFF Filter, by FFT over frames and "
                        "pixels of an IMAGE batch (each colour channel on its own), clamped to [0, 1]. Use it where "
                        "frames pass through pixels anyway, e.g. between two models with different VAEs.",
            inputs=[
                io.Image.Input("images", tooltip="Video frames in the batch [frames, height, width, channels]."),
                *filter_inputs(),
                io.Int.Input("frames_per_video", default=0, min=0, max=4096,
                             tooltip="Frames of one video when the batch holds several; 0 = the whole batch is one video."),
            ],
            outputs=[io.Image.Output(tooltip="The filtered frames, same shape.")],
        )

    @classmethod
    def execute(cls, images, filter, mode, d_s, d_t, order, frames_per_video):
        check_schema(cls, IMAGES_NODE, dict(filter=filter, mode=mode, d_s=d_s, d_t=d_t, order=order,
                                            frames_per_video=frames_per_video))
        check(images.ndim == 4, IMAGES_NODE, "images", f"needs frames [frames, height, width, channels]; got shape "
                                                         f"{list(images.shape)}.")
        per = frames_per_video or images.shape[0]
        check(images.shape[0] % per == 0, IMAGES_NODE, "frames_per_video",
              f"{images.shape[0]} frames are not a whole number of {per}-frame videos; use a divisor of "
              f"{images.shape[0]} or 0.")
        return io.NodeOutput(lpff_images(images, per, **filter_args(filter, mode, d_s, d_t, order)))


NODES = [LPFFFilter, LPFFImages]
