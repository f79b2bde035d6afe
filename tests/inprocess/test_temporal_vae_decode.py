"""Temporal VAE Decode with ComfyUI's real SVD VideoDecoder class at a tiny width."""
import pytest
import torch

import nodes as comfy_nodes
from comfy_test_nodes import tiny
from comfy_test_nodes.memory_peak import run_probe
from vidlift.nodes.glue.comfy_glue import has_temporal_decoder
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.temporal_vae_decode import TemporalVAEDecode
from vidlift.nodes.core.temporal_decode import blend_weights, decode_tiled, edge_frames, window_plan
from tolerance import fp32_close


@pytest.fixture(scope="module")
def temporal_vae():
    return tiny.temporal_vae_model()


@pytest.fixture(scope="module")
def latent():
    return torch.randn(20, 4, 4, 6, generator=torch.Generator().manual_seed(0))


def decode(vae, z, window=14, overlap=4, tile=0, tile_overlap=64):
    return TemporalVAEDecode.execute({"samples": z}, vae, window, overlap, tile, tile_overlap).args[0]


def one_call(vae, z):
    with torch.no_grad():
        return vae.process_output(vae.first_stage_model.decode(z).float()).movedim(1, -1)


def test_plan_and_weights():
    assert window_plan(10, 14, 4) == [(0, 10)]
    assert window_plan(30, 14, 4) == [(0, 14), (10, 24), (16, 30)]
    for frames, w, o in [(30, 14, 4), (100, 14, 4), (17, 5, 3), (9, 2, 1), (40, 8, 0), (20, 6, 5), (15, 14, 4),
                         (64, 16, 8)]:
        plan = window_plan(frames, w, o)
        total = torch.zeros(frames)
        weights = blend_weights(plan, frames)
        for i, ((s, e), wt) in enumerate(zip(plan, weights)):
            assert e - s == w and (wt >= 0).all()
            total[s:e] += wt
            edge = edge_frames(plan[i - 1][1] - s) if i else 0
            assert (wt[:edge] == 0).all(), (frames, w, o, i)        # a window's own edge frames are never used
        assert fp32_close(total, torch.ones(frames)), (frames, w, o)
        assert plan[0][0] == 0 and plan[-1][1] == frames
    assert [edge_frames(o) for o in (0, 1, 2, 3, 4, 7, 8, 12)] == [0, 0, 0, 1, 1, 1, 2, 3]


def test_window_covering_all_frames_equals_one_decode_call(temporal_vae, latent):
    assert has_temporal_decoder(temporal_vae)
    assert fp32_close(decode(temporal_vae, latent, window=20, overlap=0), one_call(temporal_vae, latent))


def test_frames_really_mix_inside_a_window(temporal_vae, latent):
    whole = one_call(temporal_vae, latent[:6])
    moved = latent[:6].clone()
    moved[5] += 1.0                                  # change the last frame only
    assert not torch.allclose(one_call(temporal_vae, moved)[4], whole[4], atol=1e-4)   # its neighbour changes


def test_no_step_at_window_boundaries_when_frames_decode_alike(latent):
    per_frame = tiny.temporal_vae_model(per_frame=True)
    reference = one_call(per_frame, latent)
    for w, o in [(14, 4), (5, 2), (3, 0), (6, 5)]:
        assert fp32_close(decode(per_frame, latent, w, o), reference), (w, o)


def test_windowed_decode_stays_close_to_the_full_temporal_decode(temporal_vae, latent):
    full, windowed = one_call(temporal_vae, latent), decode(temporal_vae, latent, 8, 4)
    assert windowed.shape == full.shape == (20, 32, 48, 3)
    assert (windowed - full).abs().mean() < 0.1 * (full - full.mean()).abs().mean()


def test_spatial_tiles_never_cut_frames_and_blend_smoothly(temporal_vae):
    calls = []

    def run(z):
        calls.append(z.shape)
        return one_call(temporal_vae, z).movedim(-1, 1)

    z = torch.randn(6, 4, 12, 12, generator=torch.Generator().manual_seed(5))
    whole = run(z)
    calls.clear()
    tiled = decode_tiled(run, z, tile=8, overlap=4, scale=8)
    assert [s[0] for s in calls] == [6, 6, 6, 6]                     # every tile call holds all frames
    assert tiled.shape == whole.shape == (6, 3, 96, 96) and torch.isfinite(tiled).all()
    # (a real decoder sees less context in a tile, as in any tiled VAE decode; the blend itself is exact:)
    exact = lambda zz: zz[:, :3].repeat_interleave(8, -1).repeat_interleave(8, -2)   # a pointwise "decoder"
    assert fp32_close(decode_tiled(exact, z, tile=8, overlap=4, scale=8), exact(z))


def test_image_only_vae_equals_stock_vae_decode(latent):
    vae = tiny.vae_model()
    assert not has_temporal_decoder(vae)
    stock = comfy_nodes.VAEDecode().decode(vae, {"samples": latent})[0]
    assert torch.equal(decode(vae, latent), stock)


@pytest.mark.parametrize("samples,window,overlap,match", [
    (torch.zeros(4, 4, 4, 4), 1, 0, "'window'.*between 2 and 4096"),
    (torch.zeros(4, 4, 4, 4), 4, 4, "'overlap'.*between 0 and window−1 = 3"),
    (torch.zeros(4, 16, 4, 4), 14, 4, "'samples'.*16 channels.*4-channel"),
    (torch.zeros(1, 4, 4, 4, 4), 14, 4, "'samples'.*5-D latent"),
])
def test_bad_input_names_node_and_parameter(temporal_vae, samples, window, overlap, match):
    with pytest.raises(NodeInputError, match="Temporal VAE Decode: input " + match):
        decode(temporal_vae, samples, window, overlap)


def measure_peaks(*counts, window=14):
    return run_probe("vae_memory_probe.py", "cpu", *counts, timeout=600, PROBE_WINDOW=window)


def test_peak_memory_does_not_grow_with_frames():
    peak = measure_peaks(16, 128)                      # working memory: peak minus the output tensor
    assert peak[16] > 20e6, peak                       # the window really costs memory ...
    assert peak[128] <= 1.1 * peak[16], peak           # ... and 8× the frames do not (only the 6 MB output grows)
    unbounded = measure_peaks(16, 128, window=4096)    # one window over all frames: the measurement sees growth
    assert unbounded[128] > 3 * unbounded[16], unbounded
