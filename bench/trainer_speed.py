"""Trainer speed: one step of Train Temporal Shift LoRA's loop against a bare forward + backward + AdamW step of the
same LoRA'd, shifted U-Net on the same clip, timestep draw and dtype (`make bench BENCH_ARGS="--only trainer"`).
Goal ≤ 1.15×: what the node adds per step (guider, conds, progress, checkpoint bookkeeping) is small next to the
U-Net. Pairs alternate trainer / bare so a drifting machine moves both; the ratio is the median of pair ratios.
"""
from __future__ import annotations

import statistics
import time

import torch


def bench_trainer(*args, **kwargs):
    with torch.inference_mode(False):        # the bench runs nodes under inference mode, as ComfyUI does
        return paired_steps(*args, **kwargs)


def paired_steps(nodes_pkg, model, positive, steps=12, pairs=5, frames=8, size=8, log=print):
    import comfy.model_management as mm
    import comfy.samplers
    training = nodes_pkg("nodes.glue.shift_lora_training")
    shift = nodes_pkg("nodes.latent_shift").TemporalShiftPatcher
    shifted = shift.execute(model, 0.125, "before conv1", "zero", 1.0, True, True, True).args[0]
    g = torch.Generator().manual_seed(0)
    clip = torch.randn(frames, 4, size, size, generator=g)

    def trainer_run():
        t = time.perf_counter()
        training.train(shifted, positive, [clip], steps, 1, 1e-4, 8, training.TARGETS[0], 0, "fp32", False)
        return time.perf_counter() - t

    def bare_run():
        mp = shifted.clone()
        adapters = training.add_lora(mp, 8, training.TARGETS[0], 0)
        params = [p for a, _ in adapters.values() for p in a.parameters() if p.requires_grad]
        frozen = [p for p in mp.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4)
        training.set_requires_grad(frozen, False)
        try:
            mm.load_models_gpu([mp], memory_required=1e20, force_full_load=True)
            ms = mp.get_model_object("model_sampling")
            context = positive[0][0].clone().expand(frames, -1, -1)
            options = mp.model_options.get("transformer_options", {})
            gen = torch.Generator().manual_seed(0)
            t = time.perf_counter()
            with torch.enable_grad():
                for _ in range(steps):
                    i = int(torch.randint(0, len(ms.sigmas), (1,), generator=gen))
                    sigma = ms.sigmas[i].expand(frames)
                    x = ms.noise_scaling(sigma, torch.randn(clip.shape, generator=gen), clip)
                    x0 = ms.calculate_denoised(sigma, mp.model.apply_model(x, sigma, c_crossattn=context,
                                                                           transformer_options=options), x)
                    loss = training.loss_weight(ms, sigma[0]) * torch.mean((x0 - clip) ** 2)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    opt.step()
                    opt.zero_grad(set_to_none=True)
            return time.perf_counter() - t
        finally:
            training.set_requires_grad(frozen, True)

    assert comfy.samplers is not None
    trainer_run(), bare_run()                                   # warm-up
    ratios = []
    for k in range(pairs):
        a, b = trainer_run(), bare_run()
        ratios.append(a / b)
        log(f"  trainer pair {k + 1}: trainer {a / steps * 1000:.0f} ms/step, bare {b / steps * 1000:.0f} ms/step, "
            f"ratio {a / b:.3f}", flush=True)
    median = statistics.median(ratios)
    log(f"trainer step / bare forward+backward: {median:.3f}× (pairs {min(ratios):.3f}–{max(ratios):.3f}; goal ≤ 1.15×)")
    return {"ratio": median, "min": min(ratios), "max": max(ratios), "pairs": pairs, "steps": steps}
