import pytest
import torch

from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.core.lpff import low_pass_filter, lpff, lpff_frames_in_batch
from vidlift.nodes.lpff import LPFFFilter, LPFFImages
from tolerance import fp32_close


def run(samples, filter="gaussian", mode="spatio-temporal (reference)", d_s=1.0, d_t=0.5, order=4, per=0):
    return LPFFFilter.execute({"samples": samples, "batch_index": [0]}, filter, mode, d_s, d_t, order, per).args[0]


def test_frames_in_batch_and_5d_latents():
    x = torch.randn(16, 4, 8, 8)
    out = run(x, per=8)
    assert out["batch_index"] == [0] and out["samples"].shape == x.shape      # other latent keys are kept
    assert fp32_close(out["samples"], lpff_frames_in_batch(x, 8))
    assert fp32_close(run(x)["samples"], lpff_frames_in_batch(x, 16))
    v = torch.randn(1, 16, 5, 8, 8)                                            # [B, C, T, h, w]
    assert fp32_close(run(v, mode="temporal only")["samples"],
                          lpff(v, low_pass_filter(5, 8, 8, temporal_only=True)))


def test_input_latent_is_not_modified():
    x = torch.randn(8, 4, 8, 8)
    before = x.clone()
    run(x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("kwargs,match", [(dict(per=5), "'frames_per_video'.*not a whole number of 5-frame"),
                                          (dict(filter="sinc"), "'filter'.*one of")])
def test_bad_input(kwargs, match):
    with pytest.raises(NodeInputError, match="LPFF Filter: input " + match):
        run(torch.randn(16, 4, 8, 8), **kwargs)


def numpy_lpff(x, lpf, axes):
    """A plain FFT reference in float64 numpy: shift, multiply by the filter (broadcast on `axes`), unshift, invert."""
    import numpy as np
    spectrum = np.fft.fftshift(np.fft.fftn(x.double().numpy(), axes=axes), axes=axes)
    shape = [1] * x.ndim
    for axis, n in zip(axes, lpf.shape):
        shape[axis] = n
    out = np.fft.ifftn(np.fft.ifftshift(spectrum * lpf.double().numpy().reshape(shape), axes=axes), axes=axes).real
    return torch.from_numpy(out)


@pytest.mark.parametrize("mode", ["spatio-temporal (reference)", "temporal only"])
def test_wan_video_latent_is_filtered_along_latent_frames(mode):
    """[B, 16, T, h, w] (Wan 2.1, T = (F−1)//4 + 1 = 5 for 17 frames): every video on its own, FFT over dims 2, 3, 4."""
    torch.manual_seed(0)
    v = torch.randn(2, 16, 5, 6, 4)
    got = run(v, mode=mode, d_t=0.6)["samples"]
    lpf = low_pass_filter(5, 6, 4, d_t=0.6, temporal_only=mode == "temporal only")
    want = numpy_lpff(v, lpf, axes=(2, 3, 4))
    assert fp32_close(got, want)        # float32 FFT of 120 points vs float64: ≈ log2(120)·u, far below the bound
    assert fp32_close(got[1:], run(v[1:], mode=mode, d_t=0.6)["samples"])       # videos do not mix
    # filtering along another axis (the batch) would differ at the values' scale
    wrong = numpy_lpff(v.transpose(0, 2), low_pass_filter(2, 6, 4, d_t=0.6), axes=(2, 3, 4)).transpose(0, 2)
    assert (got.double() - wrong).abs().max() > 0.1


def test_a_still_wan_latent_passes_temporal_filtering_unchanged():
    still = torch.randn(1, 16, 1, 4, 4).repeat(1, 1, 5, 1, 1)      # no change along T: only the temporal DC
    assert fp32_close(run(still, mode="temporal only")["samples"], still)


def run_images(images, filter="gaussian", mode="spatio-temporal (reference)", d_s=1.0, d_t=0.5, order=4, per=0):
    return LPFFImages.execute(images, filter, mode, d_s, d_t, order, per).args[0]


def test_images_are_filtered_along_frames_and_pixels_per_colour():
    torch.manual_seed(1)
    frames = 0.3 + 0.4 * torch.rand(9, 6, 8, 3)       # in [0.3, 0.7]: a gaussian filter's output stays inside [0, 1]
    got = run_images(frames, d_t=0.4)
    want = numpy_lpff(frames.permute(3, 0, 1, 2), low_pass_filter(9, 6, 8, d_t=0.4), axes=(1, 2, 3)).permute(1, 2, 3, 0)
    assert fp32_close(got, want)
    two = run_images(torch.cat([frames, frames.flip(0)]), d_t=0.4, per=9)        # two videos of 9 frames
    assert fp32_close(two[:9], got) and fp32_close(two[9:], run_images(frames.flip(0), d_t=0.4))
    ideal = run_images(torch.rand(8, 6, 6, 3), filter="ideal", d_s=0.3, d_t=0.3)   # sharp filters ring: clamped
    assert ideal.min() >= 0.0 and ideal.max() <= 1.0


@pytest.mark.parametrize("images,per,match", [(torch.rand(10, 4, 4, 3), 4, "'frames_per_video'.*not a whole number"),
                                              (torch.rand(4, 4, 3), 0, "'images'.*needs frames")])
def test_images_bad_input(images, per, match):
    with pytest.raises(NodeInputError, match="LPFF Filter \\(Images\\): input " + match):
        run_images(images, per=per)
