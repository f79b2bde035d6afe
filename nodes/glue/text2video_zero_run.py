"""Text2Video-Zero's Motion-Latent Warp and Sampler run through ComfyUI: latents checked, schedules read off the
model, the LATENT's leftover-noise scaling undone and redone (model_sampling), the sampler through a CFGGuider."""
from __future__ import annotations

import torch

from ..core.errors import check, fail, first
from ..core.noise import seeded_noise
from ..core.text2video_zero import (indices_problem, model_calls, motion_problem, phase_indices,
                                    sample_text2video_zero, signal_problem, warped_frames)
from .comfy_glue import require_family, require_image_latent, run_sampler, sampling_schedule, video_device
from .model_patches import has_cross_frame_attention


def warp_first_frame(node, model, first_frame_at_T, first_frame_at_T0, frames, motion_x, motion_y, steps, t0, t1,
                     seed) -> torch.Tensor:
    """The video's LATENT at T: frame 1 at T as given, frames 2… its latent at T′ warped and re-noised to T."""
    fail(node, first(indices_problem(steps, t0, t1), motion_problem(frames, motion_x, motion_y)))
    require_family(model, node)
    x_t1 = require_image_latent(first_frame_at_T, model, node, "first_frame_at_T")[:1]
    x_t0 = require_image_latent(first_frame_at_T0, model, node, "first_frame_at_T0")[:1]
    check(x_t1.shape == x_t0.shape, node, "first_frame_at_T0",
          f"has shape {list(x_t0.shape[1:])} but first_frame_at_T has {list(x_t1.shape[1:])}.")
    if frames == 1:
        return x_t1.float()
    sched = sampling_schedule(model, steps)
    i1, i0 = phase_indices(steps, t0, t1)
    s1, s0 = sched.sigmas[i1], sched.sigmas[i0]
    fail(node, signal_problem(sched.sigmas, sched.co, i1))
    lf, ms = model.get_model_object("latent_format"), model.get_model_object("model_sampling")
    # a LATENT with leftover noise is the sampler state mapped out by inverse_noise_scaling (flow: x/(1−σ))
    x = ms.noise_scaling(s0, torch.zeros_like(x_t0, dtype=torch.float32), lf.process_in(x_t0.float()))
    renoised = warped_frames(x, range(1, frames), motion_x, motion_y, seeded_noise(seed, x_t0.shape[1:], frames - 1),
                             s0, s1, sched.table, sched.co)
    return torch.cat([x_t1.float(), lf.process_out(ms.inverse_noise_scaling(s1, renoised))])


def sample_video(node, model, positive, negative, latent, seed, cfg, motion_x, motion_y, steps, t0, t1, chunk_size,
                 sigmas=None) -> torch.Tensor:
    """The whole procedure on the latent's frames (cross-frame attention added when the model has none)."""
    adapter = require_family(model, node, "cross-frame attention")
    x = require_image_latent(latent, model, node)
    frames, shape = x.shape[0], x.shape[1:]
    if sigmas is not None:
        check(sigmas.ndim == 1 and len(sigmas) >= 3, node, "sigmas", "needs a schedule of at least 2 steps.")
        steps = len(sigmas) - 1
    # frame ids are absolute, also across chunks
    fail(node, first(indices_problem(steps, t0, t1), motion_problem(frames, motion_x, motion_y)))
    sched = sampling_schedule(model, steps, sigmas)
    fail(node, signal_problem(sched.sigmas, sched.co, phase_indices(steps, t0, t1)[0]))
    m = model if has_cross_frame_attention(model) else adapter.install_cross_frame(model, node=node)
    options = dict(t0=t0, t1=t1, motion_x=motion_x, motion_y=motion_y, chunk_size=chunk_size,
                   first_frame_noise=seeded_noise(seed, shape, 0), sigma_table=sched.table, co=sched.co,
                   renoise=lambda n: seeded_noise(seed, shape, n), out_device=video_device())
    return run_sampler(m, positive, negative, cfg, (frames, *shape), sample_text2video_zero, options, sched.sigmas,
                       model_calls(steps, t0, t1, frames, chunk_size), seed)
