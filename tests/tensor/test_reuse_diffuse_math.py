import torch

from vidlift.nodes.reuse_diffuse import output_frames, reuse_noise, source_frames, staged_guidance_steps


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
