"""Colour anchoring (nodes/core/colour_anchor.py): after anchoring, the new frames' per-channel statistics are the
first clip's up to the fp32 rounding of the output; strength 0 is the input itself; the long-video samplers anchor
every clip after the first and leave the first (and, at strength 0, everything) bit for bit as before."""
import pytest
import torch

from vidlift.nodes.core.colour_anchor import anchored, statistics
from vidlift.nodes.core.context_guidance import rollout_plan, sample_context_guided
from vidlift.nodes.core.reuse_diffuse import clip_noise, sample_reuse_diffuse
from vidlift.nodes.core.noise import frame_noise
from vidlift.nodes.core.video_extension import extend_video

U = 2.0 ** -24      # fp32 unit roundoff: the anchored output is a float64 result rounded once to fp32


def bound(x: torch.Tensor) -> float:
    """Rounding every element by ≤ u·max|x| moves a mean by at most that and a population std by at most that (std
    is 1-Lipschitz in the max norm); 4× for the float64 statistics of the check itself."""
    return 4 * U * float(x.abs().max())


def clip(seed, shape=(6, 4, 5, 7), scale=1.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale + shift


@pytest.mark.parametrize("strength", [1.0, 0.5, 0.25])
def test_statistics_move_by_the_strength_toward_the_first_clip(strength):
    first, new = clip(0), clip(1, scale=torch.tensor([1.5, 0.6, 1.0, 2.0]).view(1, 4, 1, 1), shift=0.3)
    ref, before = statistics(first), statistics(new)
    out = anchored(new, ref, strength)
    after = statistics(out)
    want_mean = before.mean + strength * (ref.mean - before.mean)
    want_std = before.std + strength * (ref.std - before.std)
    assert (after.mean - want_mean).abs().max() <= bound(out)
    assert (after.std - want_std).abs().max() <= bound(out)
    assert out.dtype == new.dtype and out.shape == new.shape
    assert (before.mean - ref.mean).abs().max() > 0.1          # the case is not already matched


def test_strength_zero_is_the_input_itself():
    x = clip(2)
    assert anchored(x, statistics(clip(3)), 0.0) is x


def test_statistics_of_the_new_frames_only_map_the_whole_clip():
    first, new = clip(0), clip(4, shift=1.0)
    new[:3] = 50.0                                              # overlap frames far off: they must not count
    out = anchored(new, statistics(first), 1.0, new=slice(3, None))
    after = statistics(out[3:])
    assert (after.mean - statistics(first).mean).abs().max() <= bound(out)
    assert (after.std - statistics(first).std).abs().max() <= bound(out)


def test_video_latents_keep_each_videos_own_colours():
    first = clip(5, (2, 4, 3, 4, 4))
    first[1] += 2.0                                             # the second video is brighter
    new = clip(6, (2, 4, 5, 4, 4), shift=-1.0)
    out = anchored(new, statistics(first, dim=2), 1.0, dim=2)
    for b in range(2):
        got, want = statistics(out[b:b + 1], dim=2), statistics(first[b:b + 1], dim=2)
        assert (got.mean - want.mean).abs().max() <= bound(out) and (got.std - want.std).abs().max() <= bound(out)


def test_a_flat_channel_is_shifted_not_blown_up():
    new = clip(7)
    new[:, 2] = 0.5
    out = anchored(new, statistics(clip(8)), 1.0)
    assert torch.isfinite(out).all()
    assert abs(float(out[:, 2].mean()) - float(statistics(clip(8)).mean[0, 2])) <= bound(out)


# ---- in the samplers ----
SIGMAS = torch.tensor([14.6, 6.0, 2.5, 1.0, 0.4, 0.0])


def drifting_model(x, sigma, **_):
    """x̂₀ whose colours drift with every clip it continues: a per-channel offset grows with the input's mean."""
    c = 1 / (1 + sigma[:, None, None, None] ** 2)
    return c * (0.8 * x + 0.2 * x.roll(1, 0)) + 0.3 + 0.2 * x.mean(dim=(0, 2, 3), keepdim=True)


def reuse(strength, clips=4, previous=None):
    last = []
    out = sample_reuse_diffuse(drifting_model, torch.zeros(6, 4, 3, 3), SIGMAS, clip_frames=6, clips=clips,
                               overlap=2, keep_overlap=False, noise=lambda k: clip_noise(3, k, (6, 4, 3, 3)),
                               previous=previous, report=last.append, colour_anchor=strength)
    return out, last[0]


def test_reuse_diffuse_anchors_every_clip_after_the_first():
    off, _ = reuse(0.0)
    on, last = reuse(1.0)
    assert torch.equal(on[:6], off[:6])                         # the first clip is the reference, unchanged
    ref = statistics(on[:6])
    assert torch.equal(last.anchor.mean, ref.mean)
    for k in range(3):
        part = on[6 + 4 * k:10 + 4 * k]                         # clip k+1's new frames
        assert (statistics(part).mean - ref.mean).abs().max() <= bound(part)
    drift = lambda v: float((statistics(v[-4:]).mean - statistics(v[:6]).mean).abs().max())  # noqa: E731
    assert drift(off) > 0.1                                     # the model does drift without anchoring


def test_reuse_diffuse_strength_zero_is_bit_identical_and_chains_carry_the_anchor():
    off, _ = reuse(0.0)
    default = sample_reuse_diffuse(drifting_model, torch.zeros(6, 4, 3, 3), SIGMAS, clip_frames=6, clips=4,
                                   overlap=2, keep_overlap=False, noise=lambda k: clip_noise(3, k, (6, 4, 3, 3)))
    assert torch.equal(off, default)
    whole, _ = reuse(1.0)
    first, handoff = reuse(0.0, clips=1)                       # a Sampler (no anchoring) then an anchored Extender
    rest, _ = reuse(1.0, clips=3, previous=handoff)
    assert torch.equal(torch.cat([first, rest]), whole)


def test_context_guided_windows_after_the_first_clip_are_anchored():
    def sample(strength):
        video = torch.zeros(20, 4, 3, 3)
        return sample_context_guided(drifting_model, torch.zeros(8, 4, 3, 3), SIGMAS, plan=rollout_plan(20, 8, 2),
                                     video=video, noise=lambda ids: frame_noise(5, ids, (4, 3, 3)),
                                     colour_anchor=strength, anchor_frames=8)
    off, on = sample(0.0), sample(1.0)
    default = sample_context_guided(drifting_model, torch.zeros(8, 4, 3, 3), SIGMAS, plan=rollout_plan(20, 8, 2),
                                    video=torch.zeros(20, 4, 3, 3), noise=lambda ids: frame_noise(5, ids, (4, 3, 3)))
    assert torch.equal(off, default) and torch.equal(on[:8], off[:8])
    ref = statistics(on[:8])
    for w in rollout_plan(20, 8, 2):
        if min(w.new) >= 8:
            part = on[w.new]
            assert (statistics(part).mean - ref.mean).abs().max() <= bound(part)
            assert (statistics(part).std - ref.std).abs().max() <= bound(part)
    assert not torch.equal(on[8:], off[8:])


def test_video_extension_anchors_new_frames_and_holds_the_context_exactly():
    def sample(noise, start, mask, k):
        return start + (0.5 + 0.3 * k) * noise if mask is None else start * (1 - mask) + mask * (1.0 + k + noise)

    shape, sig = (1, 4, 6, 2, 2), torch.tensor([1.0, 0.0])
    def noise(k):
        return clip_noise(9, k, shape)
    off, _ = extend_video(sample, shape, 3, noise, sig, overlap=2)
    on, last = extend_video(sample, shape, 3, noise, sig, overlap=2, colour_anchor=1.0)
    assert torch.equal(on[:, :, :6], off[:, :, :6])
    ref = statistics(on[:, :, :6], dim=2)
    for k in range(2):
        part = on[:, :, 6 + 3 * k:9 + 3 * k]
        assert (statistics(part, dim=2).mean - ref.mean).abs().max() <= bound(part)
    assert torch.equal(last.latent[:, :, 1:3], on[:, :, -5:-3])  # the last clip held the anchored frames before it
