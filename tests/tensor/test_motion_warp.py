import pytest
import torch
from diffusers.pipelines.deprecated.text_to_video_synthesis import pipeline_text_to_video_zero as ref

from vidlift.nodes.core.motion_warp import max_offset_fraction, motion_offsets, warp_latents


def column_ramp(size):
    return torch.arange(float(size)).view(1, 1, 1, size).expand(1, 1, size, size).contiguous()


@pytest.mark.parametrize("size,expected", [(64, [0, 1, 3, 4, 6, 7, 9, 10]), (96, [0, 2, 4, 7, 9, 11, 13, 16])])
def test_offsets_equal_the_reference_table(size, expected):
    """Text2Video-Zero §3.3.1 as diffusers' warp_single_latent: latent-pixel shifts at λ = 12 for frames 0..7 (out(x) = in(x + d_k))."""
    out = warp_latents(column_ramp(size), motion_offsets(range(8), 12, 12))
    assert (out[:, 0, size // 3, size // 3] - size // 3).tolist() == expected


def test_vertical_motion_and_sign():
    rows = column_ramp(64).transpose(-1, -2)
    down = warp_latents(rows, motion_offsets([3], 0, 12))[0, 0, 20, 20] - 20
    up = warp_latents(rows, motion_offsets([3], 0, -12))[0, 0, 20, 20] - 20
    assert down == 4 and up == -5  # round(λk − 0.5): positive and negative are not symmetric
    assert torch.equal(warp_latents(rows, motion_offsets([3], 12, 0)), rows)  # x motion leaves rows alone


def test_reflection_padding_repeats_the_edge():
    out = warp_latents(column_ramp(64), motion_offsets([7], 12, 0))[0, 0, 0]
    assert out[-13:].tolist() == [61.0, 62.0, 63.0, 63.0, 62.0, 61.0, 60.0, 59.0, 58.0, 57.0, 56.0, 55.0, 54.0][:13]


@pytest.mark.parametrize("shape,sx,sy,ids", [((4, 64, 64), 12, 12, range(1, 8)), ((4, 40, 72), -7.5, 20, [1, 5, 9]),
                                             ((4, 16, 16), 33, -3, range(1, 4))])
def test_bit_identical_to_diffusers_warp(shape, sx, sy, ids):
    g = torch.Generator().manual_seed(0)
    latent = torch.randn((1, *shape), generator=g)
    ids = list(ids)
    expected = ref.create_motion_field_and_warp_latents(sx, sy, ids, latent.repeat(len(ids), 1, 1, 1))
    assert torch.equal(warp_latents(latent, motion_offsets(ids, sx, sy)), expected)


def test_frame_zero_is_not_moved_and_fraction():
    lat = torch.randn(1, 4, 32, 32)
    assert torch.equal(warp_latents(lat, motion_offsets([0], 12, 12)), lat)
    assert max_offset_fraction(range(8), 12, -64) == pytest.approx(7 * 64 / 512)
