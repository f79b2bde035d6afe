"""The official VideoElevator loop re-implemented for the tests, independently of nodes/video_elevator.py.

Transcribed from YBYBZhang/VideoElevator `pipelines/videoelevator_pipeline.py` (`__call__`, `invert`)
in the diffusers (VP) form: integer timesteps, ε-predicting models, diffusers' own DDIMScheduler,
DDIMInverseScheduler and `add_noise`. Only our documented deviations are applied (module docstring of
nodes/video_elevator.py): the last T2I step ends at ᾱ = 1 (`set_alpha_to_one=True` for the T2I
DDIM, not for its inverse), LCM-type T2V steps run on the T2I grid, and their noise comes from a
separate stream.

Models: eps_image(z, t, prompt) with prompt "cfg" | "pos" | "neg" and eps_video(v, t) (CFG applied),
ε at integer timestep t for a VP latent z [F, C, h, w].
"""
from __future__ import annotations

import torch
from diffusers import DDIMInverseScheduler, DDIMScheduler


def betas_of(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    ac = alphas_cumprod.double()
    return 1 - ac / torch.cat([torch.ones(1, dtype=ac.dtype), ac[:-1]])


def schedulers(ac_image: torch.Tensor, ac_video: torch.Tensor, steps: int):
    common = dict(num_train_timesteps=len(ac_image), steps_offset=1, timestep_spacing="leading", clip_sample=False)
    image = DDIMScheduler(trained_betas=betas_of(ac_image).numpy(), set_alpha_to_one=True, **common)
    inverse = DDIMInverseScheduler(trained_betas=betas_of(ac_image).numpy(), set_alpha_to_one=False, **common)
    video = DDIMScheduler(trained_betas=betas_of(ac_video).numpy(), set_alpha_to_one=False, **common)
    for s in (image, inverse, video):
        s.set_timesteps(steps)
    return image, inverse, video


def reference_loop(eps_image, eps_video, latents, ac_image, ac_video, steps, stable_steps, stable_num, lpf=None,
                   noises=None, step_noises=None, pnp=True, lcm=False):
    """`VideoElevatorPipeline.__call__` from the initial latents (z_T, VP). Returns the final latent."""
    scheduler, inverse_scheduler, video_scheduler = schedulers(ac_image, ac_video, steps)
    num_steps = steps
    latent_list = []
    for i, t in enumerate(scheduler.timesteps):
        noise_pred = eps_image(latents, int(t), "cfg")
        out = scheduler.step(noise_pred, t, latents)
        pred_orig, latents = out.pred_original_sample, out.prev_sample
        if pnp and len(latent_list) > 1:
            orig_latents = latent_list.pop()
            orig_noise_pred = eps_image(orig_latents, int(t), "pos")     # guidance 1.0 on [neg, pos]
            orig_latents_prev = scheduler.step(orig_noise_pred, t, orig_latents).prev_sample
            latents = latents + (latent_list[-1] - orig_latents_prev)
        if (num_steps - i) in stable_steps:
            if (num_steps - i) > stable_steps[-1] and lpf is not None:
                pred_orig = lpf(pred_orig)
            noise = next(noises)
            video_latents = video_scheduler.add_noise(pred_orig, noise, t.unsqueeze(0))
            for v_i in range(i, i + stable_num):
                v_t = video_scheduler.timesteps[v_i]
                video_noise_pred = eps_video(video_latents, int(v_t))
                if lcm:   # x̂₀, then fresh noise to the next T2I-grid timestep (no noise after the last step)
                    a = video_scheduler.alphas_cumprod[v_t].double()
                    video_pred_orig = (video_latents - (1 - a).sqrt() * video_noise_pred) / a.sqrt()
                    if v_i + 1 < i + stable_num:
                        a_prev = video_scheduler.alphas_cumprod[video_scheduler.timesteps[v_i + 1]].double()
                        video_latents = a_prev.sqrt() * video_pred_orig + (1 - a_prev).sqrt() * next(step_noises)
                else:
                    out = video_scheduler.step(video_noise_pred, v_t, video_latents)
                    video_latents, video_pred_orig = out.prev_sample, out.pred_original_sample
            # invert(latents=video_pred_orig, num_inference_steps=N, guidance_scale=0, t_end=N−i−1): negative prompt
            latents, latent_list = video_pred_orig, []
            for t_inv in inverse_scheduler.timesteps[:num_steps - i - 1]:
                latents = inverse_scheduler.step(eps_image(latents, int(t_inv), "neg"), t_inv, latents).prev_sample
                latent_list.append(latents)
    return latents
