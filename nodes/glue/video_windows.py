"""ComfyUI's context windows (comfy.context_windows) evaluating the Context-Guided Sampler's passes on a native video
latent [B, C, F, h, w] (Wan): the rollout stays ours (Video LDM samples window after window, each on finished frames,
which ComfyUI's per-step fusion of all windows is not), the per-call work is ComfyUI's.

Each model call of `context_guidance.sample_context_guided` (dim=2) carries the whole latent and names its frames in
model_options[PASS_KEY]; `RolloutPassHandler`, an IndexListContextHandler, evaluates that one window through
`evaluate_context_windows` — the latent and every frame-sized cond (an I2V concat image, a mask) sliced on dim 2
by ComfyUI's own `get_resized_cond`, the causal slot by `causal_window_fix` (or a copy of the first frame through
the same `causal_anchor_index`), `transformer_options["context_window"]` set, the EXECUTE_START,
EVALUATE_CONTEXT_WINDOWS, COMBINE_CONTEXT_WINDOW_RESULTS and EXECUTE_CLEANUP callbacks called — and returns the
window's x̂₀ in place (frames outside it zero: the sampler never reads them).

Feature-detected: the causal slot and dim-2 cond slicing came with ComfyUI's rewrite of the module (0.33 has them,
0.3.75 neither); without them the node says so.
"""
from __future__ import annotations

import copy
import inspect

import torch

import comfy.context_windows as cw
import comfy.patcher_extension as pe

from ..core.context_guidance import PASS_KEY
from ..core.errors import NodeInputError
from .compat import window_state


def missing_causal_windows() -> str | None:
    """None when this ComfyUI's context windows have the causal slot, else what is missing."""
    if "causal_window_fix" in inspect.signature(cw.IndexListContextHandler.__init__).parameters:
        return None
    return ("this ComfyUI's context windows (comfy.context_windows) have no causal_window_fix, which keeps a Wan "
            "window's frames off the one-pixel-frame slot")


def require_causal_windows(node: str, param: str = "model") -> None:
    problem = missing_causal_windows()
    if problem:
        raise NodeInputError(node, param, f"is a native video model (5-D latent); the long-video rollout on it needs "
                                          f"ComfyUI's context windows with the causal first-frame fix, and {problem}; "
                                          f"update ComfyUI.")


class FramesWindow(cw.IndexListContextWindow):
    """A window of frames on dim 2 that keeps dim 0 (the batch) whole. ComfyUI 0.33's evaluate_context_windows
    slices the timestep with `get_tensor(timestep, dim=0)`, i.e. by the window's frame ids — right when frames are
    the batch, wrong rows (or an IndexError) for a video latent with batch > 1."""

    def get_tensor(self, full, device=None, dim=None, retain_index_list=()):
        if dim == 0 and self.dim != 0:
            return full.to(device)
        return super().get_tensor(full, device, dim, retain_index_list)


class RolloutPassHandler(cw.IndexListContextHandler):
    """Evaluates the frames of the pass named in model_options[PASS_KEY] (calls without one run unwindowed).
    The handler is shared by every clone of the model: a call sets its causal slot on a copy of its own."""

    def __init__(self, window: int, node: str):
        super().__init__(cw.get_matching_context_schedule(cw.ContextSchedules.STATIC_STANDARD),
                         cw.get_matching_fuse_method(cw.ContextFuseMethods.FLAT), context_length=window, dim=2)
        self.node = node

    def should_use_context(self, model, conds, x_in, timestep, model_options) -> bool:
        return PASS_KEY in model_options

    def execute(self, calc_cond_batch, model, conds, x_in, timestep, model_options):
        p = model_options[PASS_KEY]
        window = FramesWindow(list(p.frames), dim=self.dim, total_frames=x_in.size(self.dim))
        call = copy.copy(self)
        call.causal_window_fix = p.slot == "before"     # ComfyUI prepends frame frames[0] − 1 and strips its output
        if p.slot == "copy":
            window.causal_anchor_index = p.frames[0]     # the same slot, filled with the first frame; stripped below
        state = window_state(call, x_in, conds, model)
        refuse_unsupported(self.node, state)
        out = [torch.zeros_like(x_in) for _ in conds]
        counts = [torch.zeros(cw.get_shape_for_dim(x_in, self.dim), device=x_in.device) for _ in conds]
        biases = [[0.0] * x_in.size(self.dim) for _ in conds]
        for callback in pe.get_all_callbacks(cw.IndexListCallbacks.EXECUTE_START, self.callbacks):
            callback(self, model, x_in, conds, timestep, model_options)
        try:
            [result] = call.evaluate_context_windows(calc_cond_batch, model, x_in, conds, timestep, [(0, window)],
                                                     model_options, window_state=state, total_windows=1)
            sub_out = [per_modality[0] for per_modality in result.sub_conds_out]     # one modality (checked)
            if p.slot == "copy":
                sub_out = [o.narrow(self.dim, 1, o.size(self.dim) - 1) for o in sub_out]
            call.combine_context_window_results(x_in, sub_out, result.sub_conds, result.window, 0, 1, timestep,
                                                out, counts, biases)
            return [o / c.clamp_min(1.0) for o, c in zip(out, counts)]     # flat weights: x̂₀ · 1 / 1, exact
        finally:
            for callback in pe.get_all_callbacks(cw.IndexListCallbacks.EXECUTE_CLEANUP, self.callbacks):
                callback(self, model, x_in, conds, timestep, model_options)


def refuse_unsupported(node: str, state) -> None:
    """The rollout evaluates one video latent: no second modality (e.g. audio), no guide frames (LTX-Video's
    keyframe guides appended to the latent), which a pass would otherwise drop without a word."""
    latents = getattr(state, "latents", [None])
    if len(latents) > 1:
        raise NodeInputError(node, "model", f"samples a latent of {len(latents)} modalities (e.g. video with audio); "
                                            f"the long-video rollout evaluates a single video latent only.")
    if any(g is not None for g in getattr(state, "guide_latents", ())):
        raise NodeInputError(node, "positive", "carries guide frames (e.g. LTX-Video keyframe guides appended to the "
                                               "latent); the long-video rollout does not place them in its windows: "
                                               "give the frames as start_frames instead.")


def with_rollout_windows(model, window: int, node: str):
    """A clone whose calls with a named pass are evaluated on that pass's frames; memory budgeted for one window.
    A model with a context handler of its own (e.g. ComfyUI's Context Windows node) is refused, never overwritten."""
    if model.model_options.get("context_handler") is not None:
        raise NodeInputError(node, "model", f"already has a context handler "
                                            f"({type(model.model_options['context_handler']).__name__}, e.g. from a "
                                            f"Context Windows node); the rollout runs its own windows, so connect the "
                                            f"model without it.")
    m = model.clone()
    m.model_options["context_handler"] = RolloutPassHandler(window, node)
    cw.create_prepare_sampling_wrapper(m)
    return m
