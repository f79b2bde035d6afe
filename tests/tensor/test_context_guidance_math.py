"""Video LDM windows, context guidance and window frame ids on plain tensors (toy analytic models)."""
import itertools

import pytest
import torch

from vidlift.nodes.core.context_guidance import (VideoPass, Window, causal_rollout_plan, context_guidance, frame_noise,
                                            in_window, interpolated_frames, interpolation_plan, make_window,
                                            rollout_plan, sample_context_guided, video_pass)
from vidlift.nodes.core.frames import WINDOW_KEY, window_frame_ids


def W(held, new):
    return make_window(held, new)


# ---------------------------------------------------------------- window plans, hand-computed

def test_rollout_plan_paper_case_frame0_alone_then_one_then_two_context_frames():
    assert rollout_plan(20, 8, 2) == [W([], [0]), W([0], range(1, 8)), W([6, 7], range(8, 14)),
                                      W([12, 13], range(14, 20))]


def test_rollout_plan_with_anchor_adds_frame0_to_windows_lacking_it():
    plan = rollout_plan(20, 8, 2, anchor=0)
    assert plan == [W([], [0]), W([0], range(1, 8)), W([0, 6, 7], range(8, 14)), W([0, 12, 13], range(14, 20))]
    assert plan[2] == Window((0, 6, 7, 8, 9, 10, 11, 12, 13), (True, True, True) + (False,) * 6)


def test_rollout_plan_short_last_window_independent_windows_and_given_start():
    assert rollout_plan(10, 4, 1) == [W([], [0]), W([0], [1, 2, 3]), W([3], [4, 5, 6]), W([6], [7, 8, 9])]
    assert rollout_plan(9, 4, 1) == [W([], [0]), W([0], [1, 2, 3]), W([3], [4, 5, 6]), W([6], [7, 8])]
    assert rollout_plan(10, 4, 0) == [W([], range(4)), W([], range(4, 8)), W([], [8, 9])]
    assert rollout_plan(7, 4, 2, known=3) == [W([1, 2], [3, 4]), W([3, 4], [5, 6])]
    assert rollout_plan(7, 4, 3, known=1, anchor=0) == [W([0], [1, 2, 3]), W([0, 1, 2, 3], [4]),
                                                        W([0, 2, 3, 4], [5]), W([0, 3, 4, 5], [6])]
    assert rollout_plan(1, 8, 2) == [W([], [0])]


def test_causal_rollout_plan_on_latent_frames_hand_computed():
    """Wan, 33 pixel frames = 9 latent frames, window 17 pixel frames = 5 positions, S = 2: frame 0 alone (the
    one-pixel-frame slot is its own), then [0 | 1 2 3 4] from position 0, then windows of 4 frames after a slot."""
    assert causal_rollout_plan(9, 5, 2) == [W([], [0]), W([0], [1, 2, 3, 4]), W([3, 4], [5, 6]), W([5, 6], [7, 8])]
    assert causal_rollout_plan(9, 5, 0) == [W([], range(5)), W([], range(5, 9))]     # 5 positions, then slot + 4
    assert causal_rollout_plan(10, 5, 0) == [W([], range(5)), W([], range(5, 9)), W([], [9])]
    assert causal_rollout_plan(6, 3, 1, known=2) == [W([1], [2]), W([2], [3]), W([3], [4]), W([4], [5])]
    assert causal_rollout_plan(9, 9, 0) == [W([], range(9))]
    # the passes the model sees: the slot before a window with context is its held frame frames[0] − 1 ...
    assert video_pass((3, 4, 5, 6), True) == VideoPass((3, 4, 5, 6), "before")
    assert video_pass((5, 6), False) == VideoPass((5, 6), "copy")    # ... without context, its own first frame
    assert video_pass((0, 1, 2), True) == VideoPass((0, 1, 2), None)  # ... and none for the video's frame 0


@pytest.mark.parametrize("frames,window,context,known", itertools.product([1, 2, 7, 33], [2, 3, 8], [0, 1, 2],
                                                                           [0, 1, 3]))
def test_causal_rollout_plan_fills_every_position_once_and_never_more_than_the_window(frames, window, context, known):
    if context > window - 2 or known >= frames:
        return
    done = set(range(known))
    for w in causal_rollout_plan(frames, window, context, known):
        assert set(w.context) <= done and not set(w.new) & done and list(w.frames) == list(range(w.frames[0],
                                                                                                  w.frames[-1] + 1))
        assert len(w.frames) + (w.frames[0] > 0) <= window and w.new    # the slot counts as a position
        assert len(w.context) == min(context, len(done))
        done |= set(w.new)
    assert done == set(range(frames))


def test_interpolation_plan_hand_computed():
    assert interpolated_frames(3) == 9 and interpolated_frames(3, 2) == 33 and interpolated_frames(8, 2) == 113
    assert interpolation_plan(3, 5) == [W([0, 4], [1, 2, 3]), W([4, 8], [5, 6, 7])]
    assert interpolation_plan(4, 9) == [W([0, 4, 8], [1, 2, 3, 5, 6, 7]), W([8, 12], [9, 10, 11])]
    assert interpolation_plan(3, 5, anchor=0)[1] == W([0, 4, 8], [5, 6, 7])
    two = interpolation_plan(3, 5, passes=2)
    assert two[:2] == [W([0, 16], [4, 8, 12]), W([16, 32], [20, 24, 28])]
    assert two[2:4] == [W([0, 4], [1, 2, 3]), W([4, 8], [5, 6, 7])] and len(two) == 2 + 8


@pytest.mark.parametrize("frames,window,context,known", itertools.product([1, 2, 7, 33], [2, 3, 8], [0, 1, 2],
                                                                           [0, 1, 3]))
def test_rollout_plan_generates_every_frame_once_after_its_context(frames, window, context, known):
    if context >= window or known >= frames:
        return
    done = set(range(known))
    for w in rollout_plan(frames, window, context, known, anchor=0 if context else None):
        assert set(w.context) <= done and not set(w.new) & done and list(w.frames) == sorted(w.frames)
        assert len(w.frames) <= window + 1 and w.new
        done |= set(w.new)
    assert done == set(range(frames))


@pytest.mark.parametrize("keys,window,passes", itertools.product([2, 3, 6], [5, 9, 17], [1, 2]))
def test_interpolation_plan_fills_every_frame_once_holding_known_ones(keys, window, passes):
    total = interpolated_frames(keys, passes)
    done = set(range(0, total, 4 ** passes))
    for w in interpolation_plan(keys, window, passes, anchor=0):
        assert set(w.context) <= done and not set(w.new) & done and 0 in w.frames
        done |= set(w.new)
    assert done == set(range(total))


# ---------------------------------------------------------------- the sampler with toy analytic models

class Toy:
    """x̂₀ = a·x + b·(mean of x over the window's frames): frames see each other, linearly."""

    def __init__(self, a=0.5, b=0.3):
        self.a, self.b, self.calls = a, b, []

    def __call__(self, x, sigma, model_options=None, **_):
        self.calls.append((x.clone(), float(sigma[0]), list(model_options["transformer_options"][WINDOW_KEY])))
        return self.a * x + self.b * x.mean(0, keepdim=True)


def run(model, plan, video, noise, sigmas, guidance):
    return sample_context_guided(model, video[:1], torch.tensor(sigmas), {"model_options": {}}, None, True,
                                 plan=plan, video=video.clone(), noise=lambda ids: noise[list(ids)], guidance=guidance)


def test_guidance_equals_hand_computation_one_frame_each():
    # held frame: x₀ = 2, ε = 0; new frame: ε = 1; one step from σ = 1 to 0, so the output is x̂₀.
    video, noise = torch.tensor([2.0, 0.0]).view(2, 1, 1, 1), torch.tensor([0.0, 1.0]).view(2, 1, 1, 1)
    model = Toy(a=0.0, b=1.0)                          # x̂₀ = mean over the window's frames
    out = run(model, [W([0], [1])], video, noise, [1.0, 0.0], guidance=2.0)
    # f(z; c_S) = mean(2, 1) = 1.5, f(z) = mean(1) = 1, f′ = 1 + 2·(1.5 − 1) = 2
    assert out[1].item() == pytest.approx(2.0) and out[0].item() == 2.0
    assert [c[2] for c in model.calls] == [[0, 1], [1]]


def test_guidance_formula_and_two_steps_against_an_independent_loop():
    g = torch.Generator().manual_seed(0)
    video, noise = torch.randn(6, 2, 3, 3, generator=g), torch.randn(6, 2, 3, 3, generator=g)
    sigmas, s = [3.0, 1.2, 0.0], 2.5
    plan = [W([0, 1], [2, 3, 4, 5])]
    out = run(Toy(), plan, video, noise, sigmas, s)
    f = Toy()
    held, new = [0, 1], [2, 3, 4, 5]
    z = noise * sigmas[0]
    for i in range(2):                                  # the paper's formula, written out
        z[held] = video[held] + sigmas[i] * noise[held]
        f_c = f(z, torch.tensor([sigmas[i]]), {"transformer_options": {WINDOW_KEY: [0]}})
        f_u = f(z[new], torch.tensor([sigmas[i]]), {"transformer_options": {WINDOW_KEY: [0]}})
        x0 = f_u + s * (f_c[new] - f_u)
        z[new] = x0 + (z[new] - x0) * sigmas[i + 1] / sigmas[i]
    assert torch.allclose(out[new], z[new], atol=1e-6)
    assert torch.equal(out[held], video[held])            # context frames come back untouched
    assert torch.equal(context_guidance(torch.tensor(3.0), torch.tensor(1.0), 2.5), torch.tensor(6.0))


def test_scale_one_is_one_pass_without_the_guidance_branch():
    g = torch.Generator().manual_seed(1)
    video, noise = torch.randn(9, 2, 2, 2, generator=g), torch.randn(9, 2, 2, 2, generator=g)
    plan, sigmas = rollout_plan(9, 4, 2, known=1), [4.0, 2.0, 0.5, 0.0]
    one, guided = Toy(), Toy()
    out = run(one, plan, video, noise, sigmas, 1.0)
    run(guided, plan, video, noise, sigmas, 1.5)
    assert len(one.calls) == len(plan) * 3                                    # one model pass per step
    assert len(guided.calls) == len(plan) * 3 * 2                             # every window has context
    # the same as a loop with no guidance branch at all
    ref = video.clone()
    for w in plan:
        ids, held = list(w.frames), torch.tensor(w.held).view(-1, 1, 1, 1)
        z = noise[ids] * sigmas[0]
        for i in range(3):
            z = torch.where(held, ref[ids] + sigmas[i] * noise[ids], z)
            d = Toy()(z, torch.tensor([sigmas[i]]), {"transformer_options": {WINDOW_KEY: ids}})
            z = d + (z - d) * sigmas[i + 1] / sigmas[i]
        ref[w.new] = z[~held.flatten()]
    assert torch.equal(out, ref)


def test_context_frames_are_held_at_their_latents_noised_to_each_level():
    g = torch.Generator().manual_seed(2)
    video, noise = torch.randn(5, 1, 2, 2, generator=g), torch.randn(5, 1, 2, 2, generator=g)
    model, sigmas = Toy(), [5.0, 2.0, 1.0, 0.0]
    out = run(model, [W([0, 2], [1, 3, 4])], video, noise, sigmas, 1.0)
    for (x, sigma, ids), level in zip(model.calls, sigmas):
        assert ids == [0, 1, 2, 3, 4] and sigma == level
        assert torch.allclose(x[[0, 2]], video[[0, 2]] + level * noise[[0, 2]], atol=1e-6)
    assert torch.equal(out[[0, 2]], video[[0, 2]]) and not torch.allclose(out[1], video[1])


def test_frame_noise_is_per_frame_seeded_and_standard_normal():
    a = frame_noise(7, [0, 1, 2, 3], (4, 8, 8))
    assert torch.equal(frame_noise(7, [2, 0], (4, 8, 8)), a[[2, 0]])          # independent of the window
    assert not torch.equal(frame_noise(8, [0], (4, 8, 8))[0], a[0])            # seed matters
    assert not torch.equal(frame_noise(7, [1], (4, 8, 8))[0], frame_noise(6, [2], (4, 8, 8))[0])  # no aliasing
    many = frame_noise(0, range(200), (4, 8, 8))
    assert abs(many.mean()) < 0.02 and abs(many.std() - 1) < 0.02
    off = (torch.corrcoef(many.flatten(1)[:50]) - torch.eye(50)).abs()     # 256 values a frame: σ(r) = 1/16
    assert off.max() < 0.3 and off.mean() < 0.07                             # frames are independent draws


def test_in_window_names_the_frames_and_leaves_extra_args_alone():
    extra = {"model_options": {"transformer_options": {"a": 1}}, "seed": 3}
    got = in_window(extra, (4, 5))
    assert got["model_options"]["transformer_options"] == {"a": 1, WINDOW_KEY: [4, 5]} and got["seed"] == 3
    assert extra == {"model_options": {"transformer_options": {"a": 1}}, "seed": 3}


# ---------------------------------------------------------------- global frame ids of a window

class CoreWindow:
    def __init__(self, index_list, causal_anchor_index=None):
        self.index_list = index_list
        if causal_anchor_index is not None:
            self.causal_anchor_index = causal_anchor_index


def test_window_frame_ids_from_every_scheme():
    assert window_frame_ids({}, 4) is None
    assert window_frame_ids({WINDOW_KEY: [0, 7, 8]}, 3) == ("vidlift", [0, 7, 8])
    assert window_frame_ids({"context_window": CoreWindow([4, 5, 6])}, 3) == ("core", [4, 5, 6])
    # causal_window_fix (newer ComfyUI): one extra leading row, frame index_list[0] − 1
    assert window_frame_ids({"context_window": CoreWindow([4, 5, 6], 3)}, 4) == ("core", [3, 4, 5, 6])
    assert window_frame_ids({"context_window": CoreWindow([4, 5, 6])}, 4) == ("core", [3, 4, 5, 6])
    assert window_frame_ids({"ad_params": {"sub_idxs": [8, 9], "full_length": 16}}, 2) == ("animatediff", [8, 9])
    assert window_frame_ids({"ad_params": {"sub_idxs": None, "full_length": 16}}, 16) is None
    assert window_frame_ids({WINDOW_KEY: [0, 7, 8]}, 2) is None                # rows that do not fit: no guess
