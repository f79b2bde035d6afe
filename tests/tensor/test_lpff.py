import math

import pytest
import torch

from vidlift.nodes.core.lpff import low_pass_filter, lpff, lpff_frames_in_batch


def reference_filter(shape, T, H, W, d_s, d_t, n=4):
    """VideoElevator utils/filter_utils.py (FreeInit), its loops as written."""
    mask = torch.zeros(T, H, W)
    if shape == "box":
        threshold_s, threshold_t = round(int(H // 2) * d_s), round(T // 2 * d_t)
        cf, cr, cc = T // 2, H // 2, W // 2
        mask[cf - threshold_t:cf + threshold_t, cr - threshold_s:cr + threshold_s, cc - threshold_s:cc + threshold_s] = 1
        return mask
    for t in range(T):
        for h in range(H):
            for w in range(W):
                d_square = (((d_s / d_t) * (2 * t / T - 1)) ** 2 + (2 * h / H - 1) ** 2 + (2 * w / W - 1) ** 2)
                if shape == "gaussian":
                    mask[t, h, w] = math.exp(-1 / (2 * d_s ** 2) * d_square)
                elif shape == "butterworth":
                    mask[t, h, w] = 1 / (1 + (d_square / d_s ** 2) ** n)
                else:
                    mask[t, h, w] = 1 if d_square <= d_s * 2 else 0
    return mask


def reference_freq_mix_3d(x, noise, LPF):
    x_freq = torch.fft.fftshift(torch.fft.fftn(x, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    noise_freq = torch.fft.fftshift(torch.fft.fftn(noise, dim=(-3, -2, -1)), dim=(-3, -2, -1))
    mixed = x_freq * LPF + noise_freq * (1 - LPF)
    return torch.fft.ifftn(torch.fft.ifftshift(mixed, dim=(-3, -2, -1)), dim=(-3, -2, -1)).real


@pytest.mark.parametrize("shape", ["gaussian", "butterworth", "ideal", "box"])
@pytest.mark.parametrize("T,H,W,d_s,d_t", [(16, 8, 8, 1.0, 0.5), (6, 4, 10, 0.4, 0.6), (24, 4, 4, 1.0, 0.4)])
def test_vectorised_filters_equal_the_reference_loops(shape, T, H, W, d_s, d_t):
    assert torch.allclose(low_pass_filter(T, H, W, shape, d_s, d_t), reference_filter(shape, T, H, W, d_s, d_t),
                          atol=1e-6)


@pytest.mark.parametrize("shape", ["gaussian", "butterworth", "ideal", "box"])
@pytest.mark.parametrize("T,H,W", [(5, 4, 4), (7, 5, 9), (21, 6, 8)])
def test_odd_sizes_are_centred_on_the_dc(shape, T, H, W):
    """The reference's 2t/T − 1 is −1/T at the DC index T//2 of an odd size (gain < 1 on a still video); ours is 0
    there: gain 1 at the DC, and the filter symmetric about it (box: the reference's half-open slice, as on even)."""
    lpf = low_pass_filter(T, H, W, shape, 1.0, 0.5)
    assert lpf[T // 2, H // 2, W // 2] == 1.0
    if shape != "box" and T % 2 and H % 2 and W % 2:
        assert torch.equal(lpf, lpf.flip(0, 1, 2))
    assert reference_filter("gaussian", 5, 4, 4, 1.0, 0.5)[2, 2, 2] == pytest.approx(math.exp(-0.08))  # the quirk


def test_gaussian_values_measured_in_the_spec():
    lpf = low_pass_filter(16, 16, 16, "gaussian", 1.0, 0.5)
    profile = lpf[:9, 8, 8].tolist()                   # temporal, at spatial DC, from Nyquist to DC
    assert profile == pytest.approx([0.135, 0.216, 0.325, 0.458, 0.607, 0.755, 0.882, 0.969, 1.0], abs=1e-3)
    assert lpf[8, 0, 8].item() == pytest.approx(0.607, abs=1e-3) and lpf[8, 0, 0].item() == pytest.approx(0.368, abs=1e-3)
    temporal = low_pass_filter(16, 16, 16, "gaussian", 1.0, 0.5, temporal_only=True)
    assert torch.allclose(temporal[:, 0, 0], lpf[:, 8, 8]) and (temporal[8] == 1).all()


def test_lpff_is_the_reference_freq_mix_with_zero_noise():
    x = torch.randn(1, 4, 16, 8, 8)
    lpf = low_pass_filter(16, 8, 8)
    assert torch.allclose(lpff(x, lpf), reference_freq_mix_3d(x, torch.zeros_like(x), lpf), atol=1e-5)


def test_invariants():
    still = torch.randn(1, 4, 1, 8, 8).repeat(1, 1, 12, 1, 1)        # no temporal change: only temporal DC
    assert torch.allclose(lpff(still, low_pass_filter(12, 8, 8, temporal_only=True)), still, atol=1e-5)
    flicker = still + torch.tensor([1.0, -1.0] * 6).view(1, 1, 12, 1, 1)   # Nyquist flicker is damped
    out = lpff(flicker, low_pass_filter(12, 8, 8, temporal_only=True))
    assert (out - still).abs().max() < 0.2 * (flicker - still).abs().max()


def test_videos_in_one_batch_are_filtered_separately():
    a, b = torch.randn(8, 4, 6, 6), torch.randn(8, 4, 6, 6)
    both = lpff_frames_in_batch(torch.cat([a, b]), 8)
    assert torch.allclose(both[:8], lpff_frames_in_batch(a, 8), atol=1e-6)
    assert torch.allclose(both[8:], lpff_frames_in_batch(b, 8), atol=1e-6)
    assert not torch.allclose(lpff_frames_in_batch(torch.cat([a, b]), 16)[:8], both[:8], atol=1e-3)


@pytest.mark.parametrize("shape", ["gaussian", "box"])
def test_every_caller_gets_its_own_filter(shape):
    """The filter is cached per shape: a caller that changes its tensor in place changes nobody else's."""
    first = low_pass_filter(6, 8, 8, shape)
    expected = first.clone()
    first.mul_(0.0).add_(7.0)
    again = low_pass_filter(6, 8, 8, shape)
    assert again is not first and torch.equal(again, expected)
