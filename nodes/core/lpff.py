"""LPFF, the low-pass frequency filter of VideoElevator (Zhang et al. 2024, temporal motion refining).

The video latent is low-passed by FFT over (frames, h, w) in float32: X̂ = IFFT(FFTshift(FFT(x))·LPF),
the reference's `freq_mix_3d` with zero noise. The filters are those of the reference
`utils/filter_utils.py` (from FreeInit), with d² = ((d_s/d_t)(2t/T−1))² + (2h/H−1)² + (2w/W−1)² centred
on the shifted spectrum's DC. On an odd size the reference's 2t/T − 1 is not 0 at the DC (index T//2): its filter
dims a still video (by 8% at T = 5, d_t = 0.5), and odd T is the rule for native video latents (Wan: 81 frames →
21); we use 2(t − T//2)/T, the reference's value on every even size and 0 at the DC on odd ones: gaussian exp(−d²/(2d_s²)), butterworth 1/(1+(d²/d_s²)ⁿ), ideal
d² ≤ 2·d_s (the reference's threshold, kept as is), box (a centred cube; where the reference's
slice would start below 0 — wide latents at d_s = 1 — we clamp instead of wrapping). The reference's filter also
attenuates spatially; "temporal only" drops the spatial terms (the paper's "Temporal LPFF" label).
Filters are built vectorised and cached per shape; every caller gets its own copy of the cached tensor
(a caller that scales or moves its filter in place must not change the next caller's).
"""
from __future__ import annotations

import functools

import torch

SHAPES = ("gaussian", "butterworth", "ideal", "box")


def low_pass_filter(T: int, H: int, W: int, shape: str = "gaussian", d_s: float = 1.0, d_t: float = 0.5,
                    order: int = 4, temporal_only: bool = False) -> torch.Tensor:
    """The [T, H, W] float32 filter on the fftshifted spectrum (index T//2 is the temporal DC); a fresh tensor."""
    return cached_filter(T, H, W, shape, d_s, d_t, order, temporal_only).clone()


@functools.lru_cache(maxsize=32)
def cached_filter(T: int, H: int, W: int, shape: str, d_s: float, d_t: float, order: int,
                  temporal_only: bool) -> torch.Tensor:
    """low_pass_filter's tensor, shared by every caller: never hand it out."""
    if d_s == 0 or d_t == 0:
        return torch.zeros(T, H, W)
    if shape == "box":
        mask = torch.zeros(T, H, W)
        ts, ss = round(T // 2 * d_t), round(int(H // 2) * d_s)
        cf, cr, cc = T // 2, H // 2, W // 2
        t_lo, r_lo, c_lo = max(cf - ts, 0), max(cr - ss, 0), max(cc - ss, 0)  # (cut-offs ≤ 1 never clamp)
        if temporal_only:
            mask[t_lo:cf + ts] = 1.0
        else:
            mask[t_lo:cf + ts, r_lo:cr + ss, c_lo:cc + ss] = 1.0
        return mask
    axis = lambda n: 2 * (torch.arange(n, dtype=torch.float64) - n // 2) / n  # noqa: E731
    d2 = ((d_s / d_t) * axis(T))[:, None, None] ** 2
    if not temporal_only:
        d2 = d2 + axis(H)[None, :, None] ** 2 + axis(W)[None, None, :] ** 2
    d2 = d2.expand(T, H, W)
    if shape == "gaussian":
        mask = torch.exp(-d2 / (2 * d_s ** 2))
    elif shape == "butterworth":
        mask = 1 / (1 + (d2 / d_s ** 2) ** order)
    elif shape == "ideal":
        mask = (d2 <= d_s * 2).double()
    else:
        raise ValueError(f"unknown filter shape {shape!r}; expected one of {SHAPES}")
    return mask.float().contiguous()


def lpff(video: torch.Tensor, lpf: torch.Tensor) -> torch.Tensor:
    """Low-pass video [..., T, H, W] by FFT over the last three dims (float32), returning the input dtype."""
    dims = (-3, -2, -1)
    spectrum = torch.fft.fftshift(torch.fft.fftn(video.float(), dim=dims), dim=dims)
    spectrum = spectrum * lpf.to(video.device)
    return torch.fft.ifftn(torch.fft.ifftshift(spectrum, dim=dims), dim=dims).real.to(video.dtype)


def lpff_frames_in_batch(latent: torch.Tensor, frames_per_video: int, **filter_args) -> torch.Tensor:
    """latent [videos·F, C, h, w] (frames in the batch): each video of F frames is filtered on its own.
    [videos·F, C, 1, h, w] (Wan-latent image models: one latent frame per image) is filtered the same way."""
    n, h, w = latent.shape[0], latent.shape[-2], latent.shape[-1]
    c = latent[0].numel() // (h * w)
    video = latent.reshape(n // frames_per_video, frames_per_video, c, h, w).transpose(1, 2)   # [V, C, F, h, w]
    out = lpff(video, low_pass_filter(frames_per_video, h, w, **filter_args))
    return out.transpose(1, 2).reshape(latent.shape)


def lpff_images(images: torch.Tensor, frames_per_video: int, **filter_args) -> torch.Tensor:
    """IMAGE frames [videos·F, H, W, channels] in [0, 1], filtered along frames and pixels as latents are (each
    colour channel on its own), clamped back to [0, 1] (sharp filters ring slightly past the range)."""
    out = lpff_frames_in_batch(images.movedim(-1, 1), frames_per_video, **filter_args).movedim(1, -1)
    return out.clamp(0.0, 1.0)
