"""Window-aware anchors of the cross-frame attention patch: every window anchors on the video's frame 0."""
import torch

import types

from vidlift.nodes.core.cross_frame_attention import RUN_STATE_KEY, CrossFrameAttentionPatch
from vidlift.nodes.core.frames import WINDOW_KEY


def rows(ids, chunks=2, tokens=3, dim=2):
    """Hidden states whose value tells chunk, global frame and token: 1000·chunk + 10·frame + token."""
    c = torch.arange(chunks).view(chunks, 1, 1, 1) * 1000.0
    f = torch.tensor(ids, dtype=torch.float32).view(1, len(ids), 1, 1) * 10
    t = torch.arange(tokens, dtype=torch.float32).view(1, 1, tokens, 1)
    return (c + f + t).expand(chunks, len(ids), tokens, dim).reshape(chunks * len(ids), tokens, dim).clone()


def frame_seen(src, chunks=2):
    """Global frame whose keys each row attends to (the token-0 value tells it)."""
    x = src.view(chunks, -1, *src.shape[1:])[..., 0, 0]
    return (x % 1000 // 10).long().tolist()


class CoreWindow:
    def __init__(self, index_list):
        self.index_list = index_list


def options(sigma=2.0, order=(1, 0), run=None, **window):
    """transformer_options of one attention call; `run`: the sampling run's state (patch.run_state())."""
    return {"cond_or_uncond": list(order), "uuids": [f"u{k}" for k in order], "block": ("input", 1),
            "block_index": 0, "transformer_index": 0, "sigmas": torch.full((4,), sigma), **(run or {}), **window}


def test_our_windows_anchor_on_global_frame0_wherever_it_sits():
    patch = CrossFrameAttentionPatch()
    run = patch.run_state()
    h = rows([5, 0, 6, 7])                                   # frame 0 is the second row of this window
    _, k, v = patch(h, h, h, options(run=run, **{WINDOW_KEY: [5, 0, 6, 7]}))
    assert k is v and frame_seen(k) == [[0] * 4, [0] * 4]
    h = rows([6, 7, 8])              # a window without frame 0 (the guidance pass without context): its first row
    _, k, _ = patch(h, h, h, options(run=run, **{WINDOW_KEY: [6, 7, 8]}))
    assert frame_seen(k) == [[6] * 3, [6] * 3] and run[RUN_STATE_KEY][patch.key].rows == {}
    _, k, _ = patch(h, h, h, {"cond_or_uncond": [1, 0]})                 # no windows: row 0 as always
    assert frame_seen(k) == [[6] * 3, [6] * 3]


def test_core_windows_take_frame0_from_the_window_that_held_it_this_step():
    patch = CrossFrameAttentionPatch()
    run = patch.run_state()
    first, later = rows([0, 1, 2, 3]), rows([2, 3, 4, 5])
    patch(first, first, first, options(run=run, context_window=CoreWindow([0, 1, 2, 3])))
    _, k, _ = patch(later, later, later, options(run=run, context_window=CoreWindow([2, 3, 4, 5])))
    assert frame_seen(k) == [[0] * 4, [0] * 4]
    assert torch.equal(k.view(2, 4, 3, 2)[1, 2], first.view(2, 4, 3, 2)[1, 0])   # exactly frame 0's states
    # chunks in another order: matched by conditioning uuid, not by position
    _, k, _ = patch(later, later, later, options(order=(0, 1), run=run, context_window=CoreWindow([2, 3, 4, 5])))
    assert torch.equal(k.view(2, 4, 3, 2)[0, 1], first.view(2, 4, 3, 2)[1, 0])
    # the next step (another σ): nothing cached yet, the window's own first row
    _, k, _ = patch(later, later, later, options(sigma=1.0, run=run, context_window=CoreWindow([2, 3, 4, 5])))
    assert frame_seen(k) == [[2] * 4, [2] * 4]


def test_animatediff_windows_and_separate_values_use_the_cache():
    patch = CrossFrameAttentionPatch(anchor="first+previous")
    run = patch.run_state()
    first, later = rows([0, 1, 2]), rows([3, 4, 5])
    value_first = first + 0.5                                  # another pack made value differ from context
    patch(first, first, value_first, options(run=run, ad_params={"sub_idxs": [0, 1, 2], "full_length": 6}))
    _, k, v = patch(later, later, later + 0.5, options(run=run, ad_params={"sub_idxs": [3, 4, 5], "full_length": 6}))
    k, v = k.view(2, 3, 6, 2), v.view(2, 3, 6, 2)
    assert torch.equal(k[:, :, :3], first.view(2, 3, 3, 2)[:, :1].expand(2, 3, 3, 2))   # first: frame 0
    assert torch.equal(v[:, :, :3], value_first.view(2, 3, 3, 2)[:, :1].expand(2, 3, 3, 2))
    assert frame_seen(k[:, :, 3:].reshape(6, 3, 2)) == [[3, 3, 4], [3, 3, 4]]           # previous: in-window


def sampling_run(patch, body):
    """Run body(transformer_options) as ComfyUI runs a sampler: inside the OUTER_SAMPLE wrapper, on the
    guider's own copy of model_options (executor.class_obj is the guider)."""
    guider = types.SimpleNamespace(model_options={"transformer_options": {}})
    return patch.state_per_run(Executor(guider, lambda: body(guider.model_options["transformer_options"])))


class Executor:
    """ComfyUI's WrapperExecutor as a wrapper sees it: callable, with the wrapped method's object."""

    def __init__(self, class_obj, fn):
        self.class_obj, self.fn = class_obj, fn

    def __call__(self, *args, **kwargs):
        return self.fn()


def test_every_sampling_run_has_its_own_anchors():
    """A run nested in another (or a clone's run alongside) neither sees nor clears the other's anchor."""
    patch = CrossFrameAttentionPatch()
    first, later = rows([0, 1]), rows([2, 3])
    window = lambda ids: {"context_window": CoreWindow(ids)}  # noqa: E731

    def outer(opts):
        patch(first, first, first, {**options(), **opts, **window([0, 1])})
        inner = sampling_run(patch, lambda o: patch(later, later, later, {**options(), **o, **window([2, 3])})[1])
        assert frame_seen(inner) == [[2, 2], [2, 2]]            # the nested run has no anchor of its own yet
        return patch(later, later, later, {**options(), **opts, **window([2, 3])})[1]

    assert frame_seen(sampling_run(patch, outer)) == [[0, 0], [0, 0]]   # the outer run's anchor survived
    # outside any sampling run there is no state at all: a core window anchors on its own first row
    patch(first, first, first, options(**window([0, 1])))
    assert frame_seen(patch(later, later, later, options(**window([2, 3])))[1]) == [[2, 2], [2, 2]]
