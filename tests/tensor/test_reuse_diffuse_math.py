import pytest
import torch

from vidlift.nodes.core.reuse_diffuse import (ReuseClip, clip_noise, output_frames, reuse_noise, sample_reuse_diffuse,
                                         source_frames, staged_guidance_steps)
from vidlift.nodes.core.schedule import vp_to_ve

SIGMAS = torch.tensor([14.6, 6.0, 2.5, 1.0, 0.4, 0.0])      # 5 steps, a descending VE schedule


def toy_model(x, sigma, **_):
    """An analytic x̂₀ in which frames interact (a frame held by DSG changes its neighbours' next steps)."""
    c = 1 / (1 + sigma[:, None, None, None] ** 2)
    return c * (0.7 * x + 0.3 * x.roll(1, 0)) + 0.05 * torch.tanh(x.mean(0, keepdim=True))


def run(clips, previous=None, **options):
    """The pure sampler with controlled noise: clip k's draw is seeded by k; returns (frames, last ReuseClip)."""
    last = []
    out = sample_reuse_diffuse(toy_model, torch.zeros(6, 4, 3, 3), SIGMAS, clip_frames=6, clips=clips, overlap=3,
                               noise=lambda k: clip_noise(11, k, (6, 4, 3, 3)), previous=previous,
                               report=last.append, **options)
    return out, last[0]


def test_dsg_schedule_of_the_reference():
    stages = staged_guidance_steps(overlap=4, steps=50, guidance=0.4)
    replaced = [sum(1 for i in range(50) if i < s) for s in stages]
    assert replaced == [20, 15, 10, 5]
    assert staged_guidance_steps(4, 50, 0.0) == [0, 0, 0, 0]


def test_fnr_copies_exactly_the_reversed_frames():
    prev = torch.randn(8, 4, 3, 3)
    out = reuse_noise(prev, source_frames(8, 4), 4, 4.0, torch.randn(8, 4, 3, 3))
    for j in range(4):
        assert torch.equal(out[j], prev[7 - j])


def test_pns_keeps_unit_variance_and_the_reference_correlation():
    g = torch.Generator().manual_seed(0)
    prev, fresh = torch.randn(8, 4, 64, 64, generator=g), torch.randn(8, 4, 64, 64, generator=g)
    out = reuse_noise(prev, source_frames(8, 4), 4, 4.0, fresh)[4:]
    reused = prev.flip(0)[4:]
    corr = torch.corrcoef(torch.stack([out.flatten(), reused.flatten()]))[0, 1].item()
    assert abs(out.var().item() - 1.0) < 0.02
    assert abs(corr - 4 / 17 ** 0.5) < 0.01                     # r/√(1+r²) = 0.970 for r = 4
    assert torch.equal(reuse_noise(prev, source_frames(8, 4), 4, 0.0, fresh)[4:], fresh[4:])


def test_forward_direction_and_output_length():
    assert source_frames(8, 4).tolist() == [7, 6, 5, 4, 3, 2, 1, 0]
    assert source_frames(8, 4, forward=True).tolist() == [4, 5, 6, 7, 0, 1, 2, 3]
    assert output_frames(3, 8, 4, True) == 24 and output_frames(3, 8, 4, False) == 16
    assert output_frames(2, 8, 4, True, continued=True) == 16 and output_frames(2, 8, 4, False, continued=True) == 8


@pytest.mark.parametrize("options", [dict(), dict(keep_overlap=False, forward=True, guidance=0.8, recycle=1.5)],
                         ids=["reference", "forward-dropped"])
def test_continuing_a_reported_clip_is_the_same_run(options):
    whole, whole_last = run(3, **options)
    first, handoff = run(1, **options)
    keep = handoff.history.clone(), handoff.init.clone()
    rest, rest_last = run(2, previous=handoff, **options)
    assert torch.equal(torch.cat([first, rest]), whole)                       # bit for bit
    assert rest.shape[0] == output_frames(2, 6, 3, options.get("keep_overlap", True), continued=True)
    assert torch.equal(rest_last.init, whole_last.init) and torch.equal(rest_last.history, whole_last.history)
    assert (handoff.clip, rest_last.clip, whole_last.clip) == (0, 2, 2)
    assert torch.equal(handoff.history, keep[0]) and torch.equal(handoff.init, keep[1])   # previous not changed


def test_the_reported_clip_holds_its_noise_and_per_step_states():
    _, clip = run(1)
    assert isinstance(clip, ReuseClip) and (clip.frames, clip.steps) == (6, 5)
    assert clip.history.shape == (5, 6, 4, 3, 3) and clip.init.device.type == "cpu"
    assert torch.equal(clip.init, clip_noise(11, 0, (6, 4, 3, 3)))
    assert torch.equal(clip.history[0], vp_to_ve(clip.init, SIGMAS[0])) and torch.equal(clip.sigmas, SIGMAS)


def test_a_wrong_handoff_changes_the_continuation():
    """The handoff is read: another clip's history (DSG) or noise (FNR/PNS), or another clip index, change it."""
    whole, _ = run(3)
    _, handoff = run(1)
    wrong = [ReuseClip(handoff.init, handoff.history.flip(0), handoff.sigmas, 0),
             ReuseClip(handoff.init.flip(0), handoff.history, handoff.sigmas, 0),
             ReuseClip(handoff.init, handoff.history, handoff.sigmas, 1)]
    for previous in wrong:
        assert not torch.equal(run(2, previous=previous)[0], whole[6:])


def test_clip_noise_is_seeded_by_seed_and_clip():
    a = clip_noise(3, 1, (6, 4, 3, 3))
    assert torch.equal(a, clip_noise(3, 1, (6, 4, 3, 3)))
    assert not torch.equal(a, clip_noise(3, 2, (6, 4, 3, 3))) and not torch.equal(a, clip_noise(4, 1, (6, 4, 3, 3)))
