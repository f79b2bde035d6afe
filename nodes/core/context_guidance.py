"""Long videos as windows with context frames (Video LDM, Blattmann et al. 2023, Sect. 3.2–3.3, Eq. 3).

Video LDM's prediction model generates T frames given S context frames, c_S = (m_S ∘ z, m_S).
Without its trained mask conditioning, a training-free model (frames in the batch, coupled by
cross-frame attention, a temporal shift or a motion module) is conditioned by *replacement*: at
every step the context frames are held at their known latents noised to the current level,
x_ctx = x₀_ctx + σ_i·ε_ctx (ε_ctx the frame's own initial noise, so a context frame looks the same
to every window), and only the other frames are denoised, so temporal layers and cross-frame
attention see the context.

Context guidance [PAPER]: f′(z; c_S) = f(z) + s·(f(z; c_S) − f(z)), s ≥ 1, where the paper's
unconditional branch is the same network with the 0-context mask. Here f(z; c_S) is the window
with its context frames and f(z) the window's new frames *alone* (the context frames dropped from
the batch). We drop them rather than fill them with noise: noise at σ_i is itself a latent (a grey
frame, x₀ = 0) that cross-frame attention and temporal layers would treat as content, whereas a
batch without the context frames is exactly the model that never saw them — and it is cheaper
(T − S frames). Both passes are text-CFG'd x̂₀ predictions; the combination is affine with weights
summing to one, so it is the same in x̂₀ and ε space and composes with CFG. s = 1 runs one pass.

Rollout [PAPER; mask positions INF]: frame 0 from the image model (the model on one frame, or a
given start latent), the first window conditioned on it (S = 1), then S context frames (the
latest ones, 2 in the paper) per window. Interpolation [PAPER]: three frames between each pair of
keyframes (n keyframes → 4(n − 1) + 1 frames), keyframes held as context; applied twice
(→ 16(n − 1) + 1). Written as a k-diffusion sampler with DDIM (η = 0) steps; the video
stays on the CPU and one window at a time goes to the model's device.

Native video models (Wan: latents [B, C, F, h, w], frames on dim 2) run the same rollout on latent frames with a
causal VAE's first slot: latent frame 0 holds one pixel frame and every later one c (4 for Wan), so a model reads
position 0 of its input as a lone still frame. A window that starts at the video's frame 0 uses that slot for it;
any later window gives it to one extra frame that is stripped after the forward (ComfyUI's `causal_window_fix`):
the held frame just before the window when it has context, else a copy of its own first frame, so the window's
frames sit at positions 1, 2, … as the c-frame latents they are, and a pass without context sees nothing outside
its own frames. Each model call names its frames (`VideoPass`) for a context handler that evaluates only them.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from .colour_anchor import anchored, statistics
from .ddim_loop import Reporter, sample_ddim
from .frames import WINDOW_KEY
from .noise import frame_noise
from . import sampling_math as sm

__all__ = ["frame_noise", "sample_context_guided"]     # frame_noise: the rollout's draw (noise.py)


class Window(NamedTuple):
    """One sampling pass: global frame ids in time (batch) order, and which of them are held context."""
    frames: tuple[int, ...]
    held: tuple[bool, ...]

    @property
    def context(self) -> list[int]:
        return [f for f, h in zip(self.frames, self.held) if h]

    @property
    def new(self) -> list[int]:
        return [f for f, h in zip(self.frames, self.held) if not h]


def make_window(context, new) -> Window:
    ids = sorted(set(context) | set(new))
    return Window(tuple(ids), tuple(i in set(context) for i in ids))


def rollout_plan(frames: int, window: int, context: int, known: int = 0, anchor: int | None = None,
                 causal: bool = False) -> list[Window]:
    """Video LDM rollout over `frames` frames, `known` of them given at the start.

    Without given frames and with context > 0, frame 0 is generated alone (the image model). Each
    window then holds the last min(S, available) frames as context and generates up to T − that
    many new ones (the first window after frame 0 has S = 1). `anchor` (frame 0, for cross-frame
    attention) is added as an extra held frame to every window that has context and lacks it.
    causal: the frames are a causal video VAE's latent frames and a window that does not start at frame 0
    gives its first position to the one-pixel-frame slot, so it holds `window` − 1 frames.
    """
    plan = []
    if known == 0 and context > 0 and frames > 0:
        plan.append(make_window([], [0]))
        known = 1
    while known < frames:
        held = list(range(known - min(context, known), known))
        start = held[0] if held else known
        new = list(range(known, min(start + window - (causal and start > 0), frames)))
        if anchor is not None and held and anchor < known and anchor not in held:
            held = [anchor] + held
        plan.append(make_window(held, new))
        known = new[-1] + 1
    return plan


def causal_rollout_plan(frames: int, window: int, context: int, known: int = 0) -> list[Window]:
    """rollout_plan over the latent frames of a causal video VAE, windows of `window` positions: a window that
    starts at frame 0 holds up to `window` frames, a later one `window` − 1 (its first position is the slot)."""
    return rollout_plan(frames, window, context, known, causal=True)


def guidance_problem(guidance):
    if not guidance >= 1.0:       # also NaN
        return "context_guidance", f"context_guidance s must be ≥ 1 (1 = no guidance pass), got {guidance}."
    return None


def rollout_problem(frames, window, context_frames, guidance):
    """(parameter, problem) for widget values the rollout cannot use, or None."""
    if window < 2:
        return "window", f"window T must be at least 2 frames, got {window}."
    if not 0 <= context_frames < window:
        return "context_frames", (f"S must be between 0 and window−1 = {window - 1} (a window needs a new frame), "
                                  f"got {context_frames}.")
    if frames < 1:
        return "frames", f"must be at least 1, got {frames}."
    return guidance_problem(guidance)


def interpolation_problem(window, passes, guidance):
    if window < 5 or (window - 1) % 4:
        return "window", (f"interpolation windows are 4m+1 frames (m keyframe gaps with 3 new frames each: "
                          f"5, 9, 13, 17, …), got {window}.")
    if passes not in (1, 2):
        return "passes", f"must be 1 (×4 frames) or 2 (×16), got {passes}."
    return guidance_problem(guidance)


def video_problem(frames, window, context_frames, per_latent):
    """(parameter, problem) for a native video model's pixel-frame counts (c·n + 1, c pixel frames per latent frame
    after the first), or None."""
    for name, value in (("frames", frames), ("window", window)):
        if (value - 1) % per_latent:
            low = value - (value - 1) % per_latent
            return name, (f"is {value} pixel frames, but this video model's videos have {per_latent}n+1 (the causal "
                          f"VAE's first latent frame holds 1 pixel frame, every later one {per_latent}); use {low} or "
                          f"{low + per_latent}.")
    positions = (window - 1) // per_latent + 1
    if context_frames > positions - 2:
        return "context_frames", (f"S = {context_frames} latent frames leaves no new frame in a window of {window} "
                                  f"pixel frames ({positions} latent frames: the causal first slot, S held, at least "
                                  f"one new); use S ≤ {positions - 2} or a longer window.")
    return None


def interpolated_frames(keyframes: int, passes: int = 1) -> int:
    """n keyframes → 4(n − 1) + 1 frames per pass (three new frames between each pair)."""
    return 4 ** passes * (keyframes - 1) + 1


def interpolation_plan(keyframes: int, window: int, passes: int = 1, anchor: int | None = None) -> list[Window]:
    """Windows over the final 4^passes·(n − 1) + 1 frames, keyframe k at frame 4^passes·k.

    Pass q works on the frames at stride 4^(passes − q), holding those at 4× that stride (the
    previous pass's output) and filling three between each pair; a window spans (T − 1)/4
    keyframe gaps, i.e. T = 4m + 1 frames, neighbours sharing their boundary keyframe.
    """
    gaps = (window - 1) // 4
    total = interpolated_frames(keyframes, passes)
    plan = []
    for q in range(1, passes + 1):
        stride = 4 ** (passes - q)
        ids = list(range(0, total, stride))
        for start in range(0, len(ids) - 1, 4 * gaps):
            span = ids[start:start + 4 * gaps + 1]
            held = [i for i in span if i % (4 * stride) == 0]
            if anchor is not None and anchor not in span:
                held = [anchor] + held
            plan.append(make_window(held, [i for i in span if i % (4 * stride)]))
    return plan


def context_guidance(with_context: torch.Tensor, without_context: torch.Tensor, scale: float) -> torch.Tensor:
    """f′ = f(z) + s·(f(z; c_S) − f(z)) (Video LDM, context guidance)."""
    return without_context + scale * (with_context - without_context)


def in_window(extra_args: dict, frames) -> dict:
    """extra_args whose transformer_options name the window's global frame ids (frames.WINDOW_KEY)."""
    options = dict(extra_args.get("model_options", {}))
    options["transformer_options"] = {**options.get("transformer_options", {}), WINDOW_KEY: list(frames)}
    return {**extra_args, "model_options": options}


PASS_KEY = "vidlift_video_pass"     # model_options key of the frames a video model call evaluates


class VideoPass(NamedTuple):
    """The latent frames (dim 2) one model call denoises, in order, and what fills the causal slot before them:
    None (frames[0] is the video's frame 0 itself), "before" (the held frame frames[0] − 1, as ComfyUI's
    causal_window_fix) or "copy" (a copy of frames[0]); the slot's output is dropped."""
    frames: tuple[int, ...]
    slot: str | None


def video_pass(frames, has_context: bool) -> VideoPass:
    first = frames[0]
    return VideoPass(tuple(frames), None if first == 0 else "before" if has_context else "copy")


def with_pass(extra_args: dict, p: VideoPass) -> dict:
    return {**extra_args, "model_options": {**extra_args.get("model_options", {}), PASS_KEY: p}}


def window_rows(w: Window, dim: int) -> tuple[list[int], list[int]]:
    """(the frame ids a window's state holds, in order; the rows among them it generates). Video latents (dim 2): a
    window with context and not at frame 0 also holds the frame before it, which fills the causal slot."""
    before = [w.frames[0] - 1] if dim and video_pass(w.frames, bool(w.context)).slot == "before" else []
    held = (True,) * len(before) + w.held
    return before + list(w.frames), [k for k, h in enumerate(held) if not h]


def window_denoiser(model, extra_args: dict, w: Window, new: list[int], dim: int, canvas, guidance: float):
    """The window's k-diffusion denoiser: the model on its frames with their context, context-guided
    (f(z) + s·(f(z; c_S) − f(z))) by a pass of its new frames alone when s ≠ 1 and it holds context.
    Frames in the batch (dim 0): the model sees the window's rows, its frames named (in_window). Video latents
    (dim 2): the model sees `canvas` (the whole latent's shape) with the rows filled, its pass named (with_pass)."""
    guided, rows = guidance != 1.0 and bool(w.context), torch.tensor(new)
    if dim == 0:
        full, alone = in_window(extra_args, w.frames), in_window(extra_args, w.new)

        def with_context(z, s):
            return model(z, s, **full)

        def without_context(z, s):
            zn = z[rows.to(z.device)]
            return model(zn, s[0] * zn.new_ones([zn.shape[0]]), **alone)
    else:
        ids = window_rows(w, dim)[0]
        full, alone = (with_pass(extra_args, video_pass(f, c)) for f, c in ((w.frames, bool(w.context)), (w.new, False)))

        def with_context(z, s):
            canvas[:, :, ids] = z
            return model(canvas, s, **full)[:, :, ids]

        def without_context(z, s):               # the canvas holds z: with_context ran first
            return model(canvas, s, **alone)[:, :, list(w.new)]

    def denoise(z, s):
        denoised = with_context(z, s)
        if guided:
            r = rows.to(denoised.device)
            denoised.index_copy_(dim, r, context_guidance(denoised.index_select(dim, r), without_context(z, s), guidance))
        return denoised
    return denoise


@torch.no_grad()
def sample_context_guided(model, x, sigmas, extra_args=None, callback=None, disable=None, plan=(), video=None,
                          noise=None, guidance=1.0, co=sm.VE, dim=0, colour_anchor=0.0, anchor_frames=0,
                          window_args=None):
    """Windows of `plan` in order, DDIM with context frames held (replacement) and context guidance.

    dim: the frame axis, 0 (frames in the batch: video [F, C, h, w], noise(frames) → [n, C, h, w]) or 2 (a native
    video latent: video [B, C, F, h, w], noise(frames) → [B, C, n, h, w]; every model call gets x's shape with only
    its pass's frames and causal slot filled, the pass named in model_options[PASS_KEY], for a context handler that
    evaluates just those frames, video_windows.py). video: scaled latent units, given frames filled in, kept off the
    model's device (ComfyUI's intermediate device); generated frames are written into it as windows finish (in
    place: the long video exists once). Frames in the batch return it as it is, video latents on x's device (the
    KSAMPLER's output). co: the model's sampling coefficients (sampling_math; default ComfyUI's x = x₀ + σ·ε).
    colour_anchor: the strength with which each window whose new frames all lie past the video's first
    `anchor_frames` frames (the first clip) has them matched to that clip's colour statistics before they are
    written (colour_anchor.py), so later windows take anchored context; 0 = off. window_args(w): extra arguments
    of window w's model calls (e.g. the prompt of a prompt schedule at its frames).
    """
    extra_args = {} if extra_args is None else extra_args
    report = Reporter(callback)
    canvas = torch.zeros_like(x) if dim else None
    colours = None
    for w in tqdm(plan, disable=disable or len(plan) < 2, desc="windows"):
        ids, new = window_rows(w, dim)
        held = torch.ones(len(ids), dtype=torch.bool, device=x.device)
        held[new] = False
        hold = held.view([-1 if d == dim else 1 for d in range(x.ndim)])
        index = torch.tensor(ids)
        eps, known = noise(ids).to(x), video.index_select(dim, index.to(video.device)).to(x)

        def replace(i, z, hold=hold, known=known, eps=eps):    # the context, noised to this level
            return torch.where(hold, sm.noised(co, known, eps, sigmas[i]), z)

        z = co.b(sigmas[0]) * eps                               # x = a·x₀ + b·ε from a zero latent, as ComfyUI
        args = extra_args if window_args is None else {**extra_args, **window_args(w)}
        z = sample_ddim(window_denoiser(model, args, w, new, dim, canvas, guidance), z, sigmas, None, report,
                        disable, co, hold=replace)
        finished = z.index_select(dim, torch.tensor(new, device=z.device)).to(video)
        if colour_anchor and min(w.new) >= anchor_frames:
            if colours is None:                                 # the first clip, finished by now
                colours = statistics(video.index_select(dim, torch.arange(anchor_frames, device=video.device)), dim)
            finished = anchored(finished, colours, colour_anchor, dim)
        video.index_copy_(dim, index[new].to(video.device), finished)
    return video.to(x.device) if dim else video
