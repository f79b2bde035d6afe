"""The one step loop (core/ddim_loop.py), the noise module's second seed, and where the rollout keeps its video."""
import torch

from vidlift.nodes.core import sampling_math as sm
from vidlift.nodes.core.context_guidance import rollout_plan, sample_context_guided
from vidlift.nodes.core.ddim_loop import Reporter, sample_ddim
from vidlift.nodes.core.noise import frame_noise, second_seed

SIGMAS = torch.tensor([14.6, 6.0, 2.0, 0.5, 0.0], dtype=torch.float64)


def toy(x, s_in, **_):
    return torch.tanh(x) * (1 + s_in.view(-1, *[1] * (x.ndim - 1))).reciprocal()


def test_sample_ddim_is_the_hand_loop_with_hooks_in_order():
    x0 = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    seen = []
    hold = lambda i, x: x * 0.5 if i == 1 else x                                          # noqa: E731
    correct = lambda i, x, d, x_next: x_next + 1.0 if i == 2 else x_next                  # noqa: E731
    out = sample_ddim(toy, x0, SIGMAS, callback=lambda d: seen.append(d["i"]), hold=hold, correct=correct)
    x = x0
    for i in range(4):
        x = hold(i, x)
        d = toy(x, SIGMAS[i] * x.new_ones([3]))
        x = correct(i, x, d, sm.ddim_step(sm.VE, x, d, SIGMAS[i], SIGMAS[i + 1]))
    assert torch.equal(out, x) and seen == [0, 1, 2, 3]


def test_lcm_steps_draw_fresh_noise_and_end_on_the_estimate():
    draws = []

    def fresh(like):
        draws.append(torch.randn_like(like))
        return draws[-1]
    x0 = torch.randn(2, 3, dtype=torch.float64)
    out = sample_ddim(toy, x0, SIGMAS, lcm_noise=fresh)
    assert len(draws) == 3                                  # none for the step to σ = 0
    x = x0
    for i in range(4):
        d = toy(x, SIGMAS[i] * x.new_ones([2]))
        x = sm.noised(sm.VE, d, draws[i], SIGMAS[i + 1]) if i < 3 else d
    assert torch.equal(out, x)


def test_reporter_numbers_calls_across_loops():
    seen = []
    report = Reporter(lambda d: seen.append((d["i"], float(d["sigma"]))))
    x = torch.zeros(1, 2)
    sample_ddim(toy, x, SIGMAS[:3], callback=report)
    report.report(x, x, SIGMAS[3])
    sample_ddim(toy, x, SIGMAS[2:], callback=report)
    assert [i for i, _ in seen] == list(range(5)) and seen[2][1] == float(SIGMAS[3])


def test_second_seed_is_seed_plus_one_and_fits_torch_at_the_largest_seed():
    assert second_seed(0) == 1 and second_seed(41) == 42
    top = 0xFFFFFFFFFFFFFFFF
    assert second_seed(top) == 0
    torch.Generator().manual_seed(top)
    torch.Generator().manual_seed(second_seed(top))        # seed + 1 = 2⁶⁴ would raise here


def test_the_rollout_writes_finished_windows_into_the_given_video_and_the_model_holds_one_window():
    frames, window = 9, 4
    plan = rollout_plan(frames, window, 1)
    video = torch.zeros(frames, 2, 3, 3, dtype=torch.float64)
    calls = []

    def probe(x, s_in, **_):
        calls.append((x.shape[0], x.device))
        return toy(x, s_in)
    out = sample_context_guided(probe, video[:1], SIGMAS, {}, None, True, plan=plan, video=video,
                                noise=lambda ids: frame_noise(3, ids, (2, 3, 3)).double(), guidance=2.0)
    assert out is video and video[1:].abs().sum() > 0       # in place: the long video exists once
    assert max(n for n, _ in calls) <= window and {d for _, d in calls} == {video.device}
