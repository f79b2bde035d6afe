"""Reuse-Diffuse Sampler and Extender nodes (VidRD, Gu et al. 2023: FNR, PNS, DSG): a video as clips,
each reusing the previous clip's noise and latents; the VIDLIFT_REUSE_CLIP socket hands the last clip on, so
extenders chain (e.g. with another prompt). Native video models (5-D latents of a family in
model_families.VIDEO_ADAPTERS: Wan 2.1, Wan 2.2 5B, LTX-Video, HunyuanVideo 1.5) take the video_extension path (held
context, causal anchor) through `sample_video_clips`."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from .glue.comfy_glue import (Progress, require_family, require_image_latent, run_sampler, sample_held,
                         sampling_schedule)
from .core.errors import NodeInputError, answer, check, check_schema, fail, first, schema_problem
from .core.reuse_diffuse import DEFAULTS, clip_noise, output_frames, sample_reuse_diffuse
from .glue.model_families import video_adapter_for, video_families
from .core.video_extension import VideoClip, extend_video

NODE, SAMPLER = "Reuse-Diffuse Extender", "Reuse-Diffuse Sampler"
CATEGORY = "VidLift/Long video"
DIRECTIONS = ("reverse (reference)", "forward")
REUSE_CLIP = io.Custom("VIDLIFT_REUSE_CLIP")   # carries a reuse_diffuse.ReuseClip


def settings_problem(overlap, recycle, guidance):
    if not 0.0 <= recycle <= 100.0:   # also NaN
        return "noise_recycle", f"noise_recycle r must be ≥ 0 and ≤ 100, got {recycle}."
    if not 0.0 <= guidance <= 1.0:
        return "staged_guidance", f"staged_guidance g must be in [0, 1], got {guidance}."
    if overlap < 1:
        return "overlap", f"overlap M must be at least 1, got {overlap}."
    return None


def previous_problem(previous, frames: int, shape, sigmas: torch.Tensor):
    """Why clips of this latent and schedule cannot continue `previous` (a ReuseClip), or None."""
    if previous.frames != frames:
        return (f"is a clip of {previous.frames} frames but this latent has {frames} (its batch size); use a latent "
                f"of batch size {previous.frames}.")
    if tuple(previous.init.shape[1:]) != tuple(shape):
        return (f"holds latents of shape {list(previous.init.shape[1:])} but this latent has {list(shape)}; use the "
                f"previous clip's width and height.")
    if previous.steps != len(sigmas) - 1:
        return f"was sampled with {previous.steps} steps but steps = {len(sigmas) - 1}; set steps to {previous.steps}."
    if not torch.allclose(previous.sigmas.double(), sigmas.double(), rtol=1e-5):
        return "was sampled on another noise schedule (σ levels differ); use a model of the same family."
    return None


def clip_inputs():
    """model … cfg, shared by both nodes (the Sampler samples as the Extender's clip 0)."""
    return [
        io.Model.Input("model", tooltip="A video-capable model with frames in the batch (e.g. patched with "
                                        "Cross-Frame Attention or Temporal Shift, or AnimateDiff)."),
        io.Conditioning.Input("positive", tooltip="The prompt."),
        io.Conditioning.Input("negative", tooltip="The negative prompt (the reference uses \"watermark\")."),
        io.Latent.Input("latent", tooltip="Empty latent of one clip: batch size = frames per clip N."),
        io.Int.Input("seed", default=42, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                     tooltip="Clip k's fresh noise comes from a generator seeded by (seed, k), k counted from the "
                             "chain's first clip: Sampler → Extender (clips = 2) with one seed gives the frames of "
                             "one Extender with clips = 3."),
        io.Int.Input("steps", default=DEFAULTS["steps"], min=1, max=1000, tooltip="DDIM steps S per clip."),
        io.Float.Input("cfg", default=DEFAULTS["cfg"], min=0.0, max=100.0, step=0.1, round=0.01,
                       tooltip="Classifier-free guidance (10 in the reference)."),
    ]


def last_clip_output():
    return REUSE_CLIP.Output(display_name="last_clip", tooltip="The last clip's initial noise and per-step latents "
                                                               "(CPU): connect to an Extender's `previous`.")


def checked_latent(node, model, latent) -> torch.Tensor:
    family = video_adapter_for(model)
    if family is not None:
        return video_latent(node, model, latent, family)
    fmt = model.get_model_object("latent_format")
    try:
        require_family(model, node)
    except NodeInputError as e:
        if getattr(fmt, "latent_dimensions", 2) != 3:
            raise
        raise NodeInputError(node, "model", f"is a {type(model.model).__name__} video model ({type(fmt).__name__} "
                                            f"latents), a family VidLift does not support; native video models "
                                            f"supported: {video_families()}.") from e
    return require_image_latent(latent, model, node)


def video_latent(node, model, latent, family) -> torch.Tensor:
    """A native video model's latent [B, C, T, h, w] with the model's channels."""
    x, fmt = latent["samples"], model.get_model_object("latent_format")
    check(x.ndim == 5, node, "latent", f"needs a video latent [batch, channels, frames, height, width] for this video "
                                      f"model; got shape {list(x.shape)} (make it with an empty video latent node).")
    check(x.shape[1] == fmt.latent_channels, node, "latent",
          f"has {x.shape[1]} channels but the model works on {fmt.latent_channels}-channel latents; make the latent "
          f"for {family.name} (an empty latent of its family).")
    return x


def video_problem(family, x, overlap: int, extending: bool, previous):
    """Why clips of latent x cannot extend (or continue `previous`), or None; lengths are offered as c·n + 1 (c the
    family's causal factor), sizes in pixels (the family's VAE factor)."""
    c, s = family.temporal, family.spatial
    frames = x.shape[2]
    if previous is not None and not isinstance(previous, VideoClip):
        return "previous", "is a clip of an image model (frames in the batch); a video model cannot continue it."
    if extending and frames < overlap + 2:
        need = c * (overlap + 1) + 1
        return "latent", (f"has {frames} latent frames (length {c * (frames - 1) + 1}); an extension with overlap "
                          f"{overlap} needs at least {overlap + 2} (the causal first frame, {overlap} held, one new): "
                          f"set the video length to {need} or more ({c}·n + 1 frames), or lower overlap.")
    if previous is not None and tuple(previous.latent.shape) != tuple(x.shape):
        b, ch, t, h, w = previous.latent.shape
        return "previous", (f"holds {t} latent frames of {w}×{h} (batch {b}, {ch} channels) but this latent has "
                            f"{x.shape[2]} of {x.shape[4]}×{x.shape[3]} (batch {x.shape[0]}); use the previous clip's "
                            f"length {c * (t - 1) + 1}, width {w * s} and height {h * s} ({family.name}: "
                            f"{c}·n + 1 frames, ×{s} VAE).")
    return None


def sample_video_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous=None, overlap=1,
                       recycle=0.0, keep_overlap=False, **_image_only):
    """Samples `clips` clips of a native video model (video_extension); staged guidance and direction are the
    frames-in-batch path's (here the context is held at every step, in the forward direction)."""
    fail(node, video_problem(video_adapter_for(model), x, overlap, clips > 1 or previous is not None, previous))
    sigmas = sampling_schedule(model, steps).sigmas
    if previous is not None and not torch.allclose(previous.sigmas.double(), sigmas.double(), rtol=1e-5):
        fail(node, ("previous", f"was sampled on other σ levels ({len(previous.sigmas) - 1} steps); set steps to "
                                f"{len(previous.sigmas) - 1} and use a model of the same family and shift."))
    progress = Progress(model, clips * steps)
    if video_adapter_for(model).concat_mask:     # nothing marked as a given frame: the concat input of a T2V run
        positive, negative = (with_concat_mask(c, torch.ones(x[:, :1].shape)) for c in (positive, negative))

    def sample(noise, start, mask, k):
        done = (k - (0 if previous is None else previous.clip + 1)) * steps
        return sample_held(model, positive, negative, cfg, noise, start, mask, sigmas, seed,
                           lambda i, x0, xi, total: progress(done + i, x0, xi, clips * steps))

    return extend_video(sample, tuple(x.shape), clips, lambda k: clip_noise(seed, k, x.shape), sigmas, overlap,
                        recycle, keep_overlap, previous)


def with_concat_mask(cond, mask):
    """cond with a one-channel `concat_mask` (1 = generate) where it carries none (an I2V conditioning keeps its own):
    for families whose model would read the held-context inpaint mask as its concat input (VideoAdapter.concat_mask)."""
    return [[t, {"concat_mask": mask, **extra}] for t, extra in cond]


def sample_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous=None, **settings):
    """Samples `clips` clips of x's shape, continuing `previous` if given; returns (latent, last ReuseClip)."""
    if video_adapter_for(model) is not None:
        return sample_video_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous, **settings)
    check(not isinstance(previous, VideoClip), node, "previous",
          "is a clip of a video model (5-D latent); an image model cannot continue it.")
    frames, shape = x.shape[0], tuple(x.shape[1:])
    overlap = settings.get("overlap", 0)                     # the Sampler's one clip has none
    check(overlap < frames, node, "overlap",
          f"M = {overlap} must be smaller than the clip's {frames} frames (the latent's batch size).")
    sched = sampling_schedule(model, steps)
    sigmas = sched.sigmas
    if previous is not None:
        problem = previous_problem(previous, frames, shape, sigmas)
        check(problem is None, node, "previous", problem or "")
    last = []
    options = dict(clip_frames=frames, clips=clips, noise=lambda k: clip_noise(seed, k, (frames, *shape)),
                   previous=previous, report=last.append, co=sched.co,
                   **settings)
    out = run_sampler(model, positive, negative, cfg, (frames, *shape), sample_reuse_diffuse, options, sigmas,
                      clips * steps, seed)
    assert out.shape[0] == output_frames(clips, frames, overlap, settings.get("keep_overlap", True),
                                         previous is not None)
    return out, last[0]


class ReuseDiffuseSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ReuseDiffuseSampler", display_name=SAMPLER, category=CATEGORY,
            description="VidRD's first clip: samples N frames (the latent's batch size) exactly as the Reuse-Diffuse "
                        "Extender samples its clip 0 (DDIM with CFG) and hands the clip's initial noise and per-step "
                        "latents on through `last_clip`, so an Extender (e.g. with another prompt) continues it.",
            inputs=clip_inputs(),
            outputs=[io.Latent.Output(tooltip="The clip's frames in the batch."), last_clip_output()],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg):
        check_schema(cls, SAMPLER, dict(seed=seed, steps=steps, cfg=cfg))
        x = checked_latent(SAMPLER, model, latent)
        out, last = sample_clips(SAMPLER, model, positive, negative, x, seed, steps, cfg, 1)
        return io.NodeOutput({"samples": out}, last)


class ReuseDiffuseExtender(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ReuseDiffuseExtender", display_name=NODE, category=CATEGORY,
            description="VidRD (Reuse and Diffuse): generates `clips` clips of N frames (the latent's batch size). "
                        "Each new clip reuses the previous clip's initial noise time-reversed for its first M frames "
                        "(FNR), mixes it with fresh noise for the rest (PNS), and copies the previous clip's latents "
                        "into the overlap frames during the first steps (DSG), so clips join smoothly. With "
                        "`previous` connected (a Reuse-Diffuse Sampler or another Extender) all `clips` clips "
                        "continue that clip and only the new frames are returned. Memory holds one clip; the video "
                        "and the previous clip's per-step latents stay on the CPU.",
            inputs=[
                *clip_inputs(),
                io.Int.Input("clips", default=3, min=1, max=1024,
                             tooltip="Number of clips: 1 is a plain clip. With `previous`: new clips after it."),
                io.Int.Input("overlap", default=DEFAULTS["overlap"], min=1, max=1023,
                             tooltip="M: frames at the start of each new clip that reuse the previous clip (FNR, DSG)."),
                io.Float.Input("noise_recycle", default=DEFAULTS["recycle"], min=0.0, max=100.0, step=0.1,
                               tooltip="r (PNS): the other frames' noise is r/√(1+r²)·reversed old noise + fresh "
                                       "noise of variance 1/(1+r²); 0 = fresh noise."),
                io.Float.Input("staged_guidance", default=DEFAULTS["guidance"], min=0.0, max=1.0, step=0.05,
                               tooltip="g (DSG): overlap frame j copies the previous clip for steps i < (M−j)·(S/M)·g."),
                io.Combo.Input("direction", options=list(DIRECTIONS), default=DIRECTIONS[0],
                               tooltip="reverse: as the reference, a clip starts as the previous one played backwards; "
                                       "forward: reuse the previous clip's last M frames in order (a deviation)."),
                io.Boolean.Input("keep_overlap", default=True,
                                 tooltip="Keep each new clip's M overlap frames in the output (the reference does)."),
                REUSE_CLIP.Input("previous", optional=True,
                                 tooltip="Optional: the last clip of a Reuse-Diffuse Sampler or another Extender. "
                                         "Then no clip 0 is made here: every clip continues it and the output holds "
                                         "only the new frames (join them after the previous latent with Latent "
                                         "Batch). Its frames, size and steps must match this node's."),
            ],
            outputs=[io.Latent.Output(tooltip="All clips' frames in the batch (with `previous`: the new clips only)."),
                     last_clip_output()],
        )

    @classmethod
    def validate_inputs(cls, overlap, noise_recycle, staged_guidance):
        values = dict(overlap=overlap, noise_recycle=noise_recycle, staged_guidance=staged_guidance)
        return answer(NODE, first(schema_problem(cls, values), lambda: None if None in values.values() else
                                  settings_problem(overlap, noise_recycle, staged_guidance)))

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, clips, overlap, noise_recycle,
                staged_guidance, direction, keep_overlap, previous=None):
        check_schema(cls, NODE, dict(seed=seed, steps=steps, cfg=cfg, clips=clips, overlap=overlap,
                                     noise_recycle=noise_recycle, staged_guidance=staged_guidance, direction=direction))
        fail(NODE, settings_problem(overlap, noise_recycle, staged_guidance))
        x = checked_latent(NODE, model, latent)
        out, last = sample_clips(NODE, model, positive, negative, x, seed, steps, cfg, clips, previous,
                                 overlap=overlap, recycle=noise_recycle, guidance=staged_guidance,
                                 forward=direction == DIRECTIONS[1], keep_overlap=keep_overlap)
        return io.NodeOutput({"samples": out}, last)


NODES = [ReuseDiffuseSampler, ReuseDiffuseExtender]
