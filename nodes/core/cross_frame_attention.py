"""Cross-frame attention (Text2Video-Zero, Khachatryan et al. 2023, Sect. 3.3.2, Eq. 6).

Every self-attention of the U-Net takes its keys and values from an anchor frame of the same
conditioning chunk: CF-Attn(Q^k, K, V) = softmax(Q^k (K^1)ᵀ/√d)·V^1. As an `attn1_patch` this
replaces the key/value *source* (the normalised hidden states) before `to_k`/`to_v`, which is the
same as indexing keys after the projection (diffusers' `CrossFrameAttnProcessor`), and leaves the
attention implementation and any other pack's replace patch in place.

Anchors: "first" (the paper) or "first+previous" (sparse-causal, Tune-A-Video): keys of the first
and the previous frame, concatenated along tokens. `strength` s interpolates the key/value source
between the frame itself (s = 0, plain self-attention) and the anchor (s = 1, the paper).

Windows (long videos): the anchor is the video's frame 0, not each window's first row. The rows'
global frame ids come from frames.window_frame_ids (our samplers, ComfyUI's context windows,
AnimateDiff-Evolved). A window that holds frame 0 uses that row. One that does not:
  - our samplers (Context-Guided Sampler) put frame 0 into every window as a held context frame,
    so a window without it is meant to be anchorless (the guidance pass without context) and
    anchors on its own first row;
  - ComfyUI's / AnimateDiff's windows all run within each sampling step, the one holding frame 0
    first: its anchor hidden states are kept per layer and chunk for the step (AnchorCache) and
    serve the later windows. If none was seen this step, the window's first row is the anchor.

State: the patch object holds only its settings (ComfyUI 0.33 shares it between clones, 0.3.75 deep-copies
it). The AnchorCache belongs to one sampling run: `state_per_run` (an OUTER_SAMPLE wrapper) puts a fresh
one into the run's own copy of transformer_options, so clones and nested or concurrent runs never see each
other's anchors, and it is gone when the run ends. It takes a lock, since ComfyUI 0.33 may run the cond
chunks of one step in threads (one per GPU). Outside a sampling run there is no cache (no window reuse).
"""
from __future__ import annotations

import threading
import uuid

import torch

from .frames import anchor_frames, chunk_count, previous_frames, window_frame_ids

ANCHORS = ("first", "first+previous")
BLOCKS = ("input", "middle", "output")
RUN_STATE_KEY = "vidlift_cross_frame_anchors"   # transformer_options key: {patch key: AnchorCache} of one run


def cross_frame_source(h: torch.Tensor, chunks: int, anchor: str = "first", strength: float = 1.0,
                       anchor_frame: int = 0, anchor_states: torch.Tensor | None = None) -> torch.Tensor:
    """Key/value source for every frame: h is [chunks·frames, tokens, C]; returns [chunks·frames, tokens′, C].

    The anchor is row `anchor_frame` of each chunk, or `anchor_states` [chunks, 1, tokens, C] when
    given (the anchor's hidden states from another window of the same step)."""
    x = h.view(chunks, h.shape[0] // chunks, *h.shape[1:])
    frames = x.shape[1]
    if anchor_states is None:
        first = x[:, anchor_frames(frames, anchor_frame).to(h.device)]
    else:
        first = anchor_states.to(x).expand_as(x)
    if strength != 1.0:
        first = torch.lerp(x, first, strength)
    if anchor == "first":
        src = first
    else:
        prev = x[:, previous_frames(frames).to(h.device)]
        if strength != 1.0:
            prev = torch.lerp(x, prev, strength)
        src = torch.cat([first, prev], dim=2)
    return src.reshape(h.shape[0], src.shape[2], h.shape[2])


class AnchorCache:
    """The anchor frame's key/value sources of the current sampling step, per layer and chunk."""

    def __init__(self):
        self.step, self.rows = None, {}
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):  # a copy of the run's options within the run must see the same anchors
        return self

    @staticmethod
    def _step(options):
        sigmas = options.get("sigmas")
        return float(sigmas.flatten()[0]) if isinstance(sigmas, torch.Tensor) and sigmas.numel() else None

    @staticmethod
    def _keys(options, chunks):
        layer = (tuple(options.get("block") or ()), options.get("block_index"), options.get("transformer_index"))
        ids = options.get("uuids") or options.get("cond_or_uncond") or [0]
        ids = list(ids) if len(ids) == chunks else list(range(chunks))
        return [(layer, str(i)) for i in ids]

    def store(self, options, chunks, context, value):
        """context/value: [chunks, 1, tokens, C] rows of the anchor frame."""
        step = self._step(options)
        rows = {key: (context[k].detach().clone(), None if value is None else value[k].detach().clone())
                for k, key in enumerate(self._keys(options, chunks))}
        with self.lock:
            if step != self.step:
                self.step, self.rows = step, {}
            self.rows.update(rows)

    def lookup(self, options, chunks, like: torch.Tensor):
        """The anchor rows for the window whose states are `like`, on its device (ComfyUI 0.33 may run
        the chunks of one step on several GPUs, one thread each), or None."""
        tokens = like.shape[1]
        with self.lock:
            if self._step(options) != self.step or self.step is None:
                return None
            hits = [self.rows.get(key) for key in self._keys(options, chunks)]
        if any(h is None or h[0].shape[-2] != tokens for h in hits):
            return None
        context = torch.stack([h[0] for h in hits]).to(like.device)
        value = None if hits[0][1] is None else torch.stack([h[1] for h in hits]).to(like.device)
        return context, value

    def clear(self):
        with self.lock:
            self.step, self.rows = None, {}


class CrossFrameAttentionPatch:
    """`attn1_patch`: (n, context, value, extra_options) -> (n, context′, value′)."""

    def __init__(self, anchor: str = "first", strength: float = 1.0, blocks=BLOCKS):
        self.anchor, self.strength, self.blocks = anchor, float(strength), tuple(blocks)
        self.anchor_frame = 0            # the video's frame 0 is the anchor (the paper's first frame)
        self.key = uuid.uuid4().hex      # names this patch's AnchorCache in a run's transformer_options

    def run_state(self) -> dict:
        """transformer_options entries of a fresh sampling run: this patch's empty AnchorCache."""
        return {RUN_STATE_KEY: {self.key: AnchorCache()}}

    def cache(self, extra_options) -> AnchorCache | None:
        return (extra_options.get(RUN_STATE_KEY) or {}).get(self.key)

    def __call__(self, n, context, value, extra_options):
        block = extra_options.get("block")
        if self.strength == 0.0 or (block is not None and block[0] not in self.blocks):
            return n, context, value
        chunks = chunk_count(extra_options)
        if context.shape[0] % chunks or context.shape[0] == chunks:  # one frame per chunk: nothing to share
            return n, context, value
        same = value is context
        local, states = self.window_anchor(context, None if same else value, chunks, extra_options)
        context_src = cross_frame_source(context, chunks, self.anchor, self.strength, local,
                                         None if states is None else states[0])
        if same:
            return n, context_src, context_src
        value_states = None if states is None else (states[1] if states[1] is not None else states[0])
        return n, context_src, cross_frame_source(value, chunks, self.anchor, self.strength, local, value_states)

    def window_anchor(self, context, value, chunks, extra_options):
        """(row of the anchor within each chunk, cached anchor states or None); see the module docstring."""
        frames = context.shape[0] // chunks
        window = window_frame_ids(extra_options, frames)
        if window is None:
            return 0, None
        scheme, ids = window
        if self.anchor_frame in ids:
            local = ids.index(self.anchor_frame)
            cache = self.cache(extra_options)
            if scheme != "vidlift" and cache is not None:
                anchor_rows = [None if h is None else h.view(chunks, frames, *h.shape[1:])[:, local]
                               for h in (context, value)]
                cache.store(extra_options, chunks, *anchor_rows)
            return local, None
        cache = self.cache(extra_options)
        if scheme == "vidlift" or cache is None:
            return 0, None
        hit = cache.lookup(extra_options, chunks, context)
        return 0, None if hit is None else (hit[0].unsqueeze(1), None if hit[1] is None else hit[1].unsqueeze(1))

    def state_per_run(self, executor, *args, **kwargs):
        """OUTER_SAMPLE wrapper: a fresh AnchorCache in this run's transformer_options. The guider
        (executor.class_obj, ComfyUI's documented way for a wrapper to reach it) holds the run's own copy
        of model_options here, dropped when the run ends, so the cache never outlives the run."""
        options = executor.class_obj.model_options.setdefault("transformer_options", {})
        options[RUN_STATE_KEY] = {**options.get(RUN_STATE_KEY, {}), **self.run_state()[RUN_STATE_KEY]}
        return executor(*args, **kwargs)
