import pytest
import torch

from vidlift.nodes.errors import NodeInputError
from vidlift.nodes.lpff import low_pass_filter, lpff, lpff_frames_in_batch
from vidlift.nodes.node_lpff import LPFFFilter
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
