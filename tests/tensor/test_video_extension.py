"""Reuse-Diffuse on 5-D video latents: the causal frame layout and the noise, by hand."""
import pytest
import torch

from vidlift.nodes.core.video_extension import (VideoClip, context_sources, extend_video, extension_noise, extension_start,
                                           long_index, mirrored_sources, pixel_frames)


def test_layout_by_hand_wan_17_frames_overlap_2():
    """T = 5 latent frames (17 pixel frames), M = 2: anchor ← 2, context ← 3, 4; new positions 3, 4."""
    assert context_sources(5, 2).tolist() == [2, 3, 4]
    assert mirrored_sources(5, 2).tolist() == [4, 3]          # position 3 (next to the join) recycles frame 4's noise
    assert [long_index(1, 5, 2, p) for p in range(5)] == [2, 3, 4, 5, 6]
    assert [long_index(2, 5, 2, p) for p in (3, 4)] == [7, 8]
    # pixel frames: 1 + 4 per later latent frame; clip 1's new frames are pixel frames 17–24, right after clip 0's
    assert [list(pixel_frames(L, 4)) for L in (0, 1, 4, 5, 6)] == [[0], [1, 2, 3, 4], [13, 14, 15, 16],
                                                                   [17, 18, 19, 20], [21, 22, 23, 24]]
    # context positions hold exactly the previous clip's pixel frames 9–16 (its frames 3, 4)
    assert [list(pixel_frames(long_index(1, 5, 2, p), 4)) for p in (1, 2)] == [[9, 10, 11, 12], [13, 14, 15, 16]]


@pytest.mark.parametrize("T,M,c", [(5, 2, 4), (3, 1, 4), (9, 3, 8), (21, 4, 4)])
def test_extensions_tile_the_long_video(T, M, c):
    """Clip 0, then each clip's new positions, cover the long latent's frames 0, 1, 2, … once each, and every pixel
    frame once: with the anchor the causal offset does not shift clip boundaries."""
    frames = list(range(T)) + [long_index(k, T, M, p) for k in range(1, 5) for p in range(M + 1, T)]
    assert frames == list(range(T + 4 * (T - 1 - M)))
    pixels = [f for L in frames for f in pixel_frames(L, c)]
    assert pixels == list(range(1 + c * (T - 1 + 4 * (T - 1 - M))))
    # without the anchor the first context latent would sit in the one-frame slot: the clip decoded alone would
    # hold c − 1 fewer pixel frames than the latent frames it reuses and makes
    naive = len(pixel_frames(0, c)) + (T - 1) * c
    assert c * T - naive == c - 1


def test_noise_reuse_fnr_for_held_frames_and_pns_for_new():
    g = torch.Generator().manual_seed(0)
    prev, fresh = torch.randn(1, 3, 5, 2, 2, generator=g), torch.randn(1, 3, 5, 2, 2, generator=g)
    r = 2.0
    eps = extension_noise(prev, 2, r, fresh)
    assert torch.equal(eps[:, :, :3], prev[:, :, 2:5])
    for p, src in ((3, 4), (4, 3)):
        assert torch.allclose(eps[:, :, p], (r * prev[:, :, src] + fresh[:, :, p]) / 5 ** 0.5, atol=1e-7)
    assert torch.equal(extension_noise(prev, 2, 0.0, fresh)[:, :, 3:], fresh[:, :, 3:])     # r = 0: fresh noise


def test_start_latent_and_mask_hold_anchor_and_context():
    latent = torch.arange(5.0).view(1, 1, 5, 1, 1).expand(2, 3, 5, 2, 2)
    start, mask = extension_start(VideoClip(torch.zeros_like(latent), latent, torch.ones(2), 0), 2)
    assert start[0, 0, :, 0, 0].tolist() == [2.0, 3.0, 4.0, 0.0, 0.0]
    assert mask.shape == (2, 1, 5, 2, 2) and mask[0, 0, :, 0, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_extend_video_chains_and_returns_only_new_frames():
    calls = []

    def sample(noise, start, mask, k):            # a "model" that keeps held frames and writes k + 1 elsewhere
        calls.append((k, None if mask is None else mask[0, 0, :, 0, 0].tolist()))
        return start if mask is None else start * (1 - mask) + (k + 1) * mask

    noise = lambda k: torch.full((1, 1, 5, 1, 1), float(k))   # noqa: E731
    out, last = extend_video(sample, (1, 1, 5, 1, 1), 3, noise, torch.ones(2), overlap=2)
    assert out.shape[2] == 5 + 2 * 2 and out[0, 0, 5:, 0, 0].tolist() == [2.0, 2.0, 3.0, 3.0]
    assert [c[0] for c in calls] == [0, 1, 2] and calls[1][1] == [0.0, 0.0, 0.0, 1.0, 1.0]
    more, _ = extend_video(sample, (1, 1, 5, 1, 1), 1, noise, torch.ones(2), overlap=2, keep_overlap=True,
                           previous=last)
    assert last.clip == 2 and more.shape[2] == 4 and more[0, 0, :, 0, 0].tolist() == [3.0, 3.0, 4.0, 4.0]
