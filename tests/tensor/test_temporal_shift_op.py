import pytest
import torch

from vidlift.nodes.core.temporal_shift import temporal_shift


def tsm_reference(x, n_segment, fold_div=8):
    """mit-han-lab/temporal-shift-module ops/temporal_shift.py TemporalShift.shift (TSM, Lin et al. 2019, as Latent-Shift uses it)."""
    nt, c, h, w = x.size()
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold: 2 * fold] = x[:, :-1, fold: 2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


@pytest.mark.parametrize("chunks,frames,channels", [(1, 5, 16), (2, 4, 32), (3, 3, 8)])
def test_equals_tsm_reference(chunks, frames, channels):
    x = torch.randn(chunks * frames, channels, 3, 2)
    assert torch.equal(temporal_shift(x, frames), tsm_reference(x, frames))


def test_hand_computed_case_and_chunks_stay_apart():
    # 2 chunks × 3 frames, 4 channels, fraction 1/4: channel 0 from the next frame, channel 1 from the previous
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(6, 4, 1, 1)   # value = 4·row + channel
    out = temporal_shift(x, 3, fraction=0.25)[:, :, 0, 0]
    assert out[:, 0].tolist() == [4, 8, 0, 16, 20, 0]      # next frame's channel 0, zero after each chunk's end
    assert out[:, 1].tolist() == [0, 1, 5, 0, 13, 17]      # previous frame's channel 1, zero at each chunk's start
    assert torch.equal(out[:, 2:], x[:, 2:, 0, 0])


def test_boundaries():
    x = torch.arange(3.0).view(3, 1, 1, 1).repeat(1, 4, 1, 1)            # frame index in every channel
    rep = temporal_shift(x, 3, 0.25, "replicate")[:, :2, 0, 0].tolist()
    loop = temporal_shift(x, 3, 0.25, "loop")[:, :2, 0, 0].tolist()
    assert rep == [[1, 0], [2, 0], [2, 1]] and loop == [[1, 2], [2, 0], [0, 1]]


def test_one_frame_is_identity_and_strength_blends():
    x = torch.randn(2, 16, 3, 3)
    assert temporal_shift(x, 1) is x
    y = torch.randn(8, 16, 2, 2, generator=torch.Generator().manual_seed(0))
    # lerp rounds differently from 0.5·a + 0.5·b: compare at fp32 resolution, not bit-exactly
    assert torch.allclose(temporal_shift(y, 4, strength=0.5), 0.5 * y + 0.5 * temporal_shift(y, 4), rtol=0, atol=1e-6)
    assert torch.equal(temporal_shift(y, 4, strength=0.0), y)
