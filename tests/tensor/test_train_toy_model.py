"""Toy-model trainer skeleton (issue 18 §2): fixed latent, deterministic batches, exact resume."""
import math

import torch

import train_toy_model as t
from toy_world import world


def test_fixed_latent_is_the_pooled_image():
    images, _ = world.make_clip(3, frames=2, resolution=32)
    z = t.encode(images)
    assert z.shape == (2, 4, 4, 4)
    # A block wholly inside the uniform or graded background has near-zero luminance spread and the block's colour.
    x = images.permute(0, 3, 1, 2).double() * 2 - 1
    assert torch.allclose(z[:, :3].double(), x.reshape(2, 3, 4, 8, 4, 8).mean(dim=(3, 5)), atol=1e-6)
    flat = torch.ones(1, 16, 16, 3) * 0.25
    assert torch.allclose(t.encode(flat), torch.tensor([-0.5, -0.5, -0.5, 0.0]).view(1, 4, 1, 1).expand(1, 4, 2, 2),
                          atol=1e-3)  # sqrt of a float32 rounding residue of ~1e-8 is ~1e-4


def test_two_steps_then_two_more_equal_four_straight(tmp_path):
    kw = dict(resolution=16, batch_size=2, seed=5, quiet=True)
    t.train(str(tmp_path / "a"), 2, **kw)
    assert torch.load(tmp_path / "a" / "vae_decoder.pt", weights_only=True)["step"] == 2
    resumed, _ = t.train(str(tmp_path / "a"), 4, **kw)
    straight, loss = t.train(str(tmp_path / "b"), 4, **kw)
    assert math.isfinite(loss)
    for (name, p), q in zip(resumed.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(p, q), name
    other, _ = t.train(str(tmp_path / "c"), 4, **{**kw, "seed": 6})
    assert not torch.equal(other.state_dict()["net.0.weight"], straight.state_dict()["net.0.weight"])
