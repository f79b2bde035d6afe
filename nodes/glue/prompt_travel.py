"""Prompt travel in ComfyUI terms: a Prompt Schedule is a CONDITIONING whose entries carry their start frame
(SCHEDULE_KEY), so it goes through any CONDITIONING socket; the pack's long-video samplers read it and give each
window or clip the blend core/prompt_schedule.span_weights says. A CONDITIONING without start frames, or with one
prompt, is sampled exactly as before."""
from __future__ import annotations

import logging

import torch

from ..core.errors import NodeInputError, check
from ..core.prompt_schedule import schedule_problem, span_weights

SCHEDULE_KEY = "vidlift_schedule_frame"


def encode_schedule(clip, entries) -> list:
    """The CONDITIONING of a schedule [(frame, prompt)]: each prompt encoded as CLIP Text Encode does, its entries
    marked with their start frame."""
    out = []
    for frame, prompt in entries:
        for t, extra in clip.encode_from_tokens_scheduled(clip.tokenize(prompt)):
            out.append([t, {**extra, SCHEDULE_KEY: frame}])
    return out


class Schedule:
    """A CONDITIONING's prompts by start frame: starts [s_0 = 0 < s_1 < …], conds[j] prompt j's CONDITIONING."""

    def __init__(self, cond):
        by_frame = {}
        for t, extra in cond:
            by_frame.setdefault(extra[SCHEDULE_KEY], []).append([t, extra])
        self.starts = sorted(by_frame)
        self.conds = [by_frame[s] for s in self.starts]

    def at(self, frames) -> list:
        """The CONDITIONING of a window or clip over `frames`: one prompt's own, or the weighted blend of the text
        embeddings (and pooled outputs) of the prompts it spans, zero-padded to the longest token sequence."""
        weights = span_weights(self.starts, frames)
        used = [(w, c) for w, c in zip(weights, self.conds) if w > 0]
        if len(used) == 1:
            return used[0][1]
        firsts = [(w, c[0]) for w, c in used]
        tokens = max(t.shape[1] for _, (t, _) in firsts)
        pad = lambda t: torch.nn.functional.pad(t, (0, 0, 0, tokens - t.shape[1]))   # noqa: E731
        blend = sum(w * pad(t.float()) for w, (t, _) in firsts).to(firsts[0][1][0].dtype)
        extra = dict(max(firsts, key=lambda p: p[0])[1][1])
        pooled = [e.get("pooled_output") for _, (_, e) in firsts]
        if all(p is not None for p in pooled):
            extra["pooled_output"] = sum(w * p.float() for (w, _), p in zip(firsts, pooled)).to(pooled[0].dtype)
        return [[blend, extra]]


def schedule_of(node, positive, negative, length: int, chained: bool = False) -> Schedule | None:
    """The positive's schedule when it holds two or more prompts (else None: sampled as before), checked against
    the video's `length` frames (chained, a Reuse-Diffuse node whose chain may go on: a log line, as a later
    Extender may take those prompts) and the negative's text embedding width."""
    if not positive or not all(SCHEDULE_KEY in extra for _, extra in positive):
        return None
    schedule = Schedule(positive)
    if len(schedule.starts) < 2:
        return None
    problem = schedule_problem(schedule.starts, length)
    if problem and chained:
        logging.info("%s: the Prompt Schedule %s (for an Extender that continues this chain)", node, problem)
    check(problem is None or chained, node, "positive", f"(a Prompt Schedule) {problem}")
    width, other = schedule.conds[0][0][0].shape[-1], negative[0][0].shape[-1] if negative else None
    if other is not None and width != other:
        raise NodeInputError(node, "positive", f"(a Prompt Schedule) holds {width}-wide text embeddings but the "
                             f"negative holds {other}-wide ones: encode the schedule with the CLIP of this model's "
                             f"family (the one the negative prompt used).")
    return schedule
