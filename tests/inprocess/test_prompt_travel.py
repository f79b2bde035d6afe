"""Prompt travel on ComfyUI's real classes (tiny U-Net and CLIP): the Prompt Schedule node encodes as CLIP Text
Encode; one prompt samples bit for bit as a plain conditioning; with two, every window or clip runs with the
prompts of its own frames (recorded at the model's input), blended across a switch; bad schedules are refused by
name."""
import pytest
import torch

import comfy.patcher_extension as pe
import nodes as comfy_nodes
from comfy_test_nodes import tiny
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.prompt_travel import PromptSchedule
from vidlift.nodes.video_ldm import ContextGuidedSampler
from vidlift.nodes.vidrd import ReuseDiffuseExtender, ReuseDiffuseSampler

A, B = "a red disk moving right", "a green square moving left"


@pytest.fixture(scope="module")
def clip():
    return tiny.clip_model()


def schedule(clip, text):
    return PromptSchedule.execute(clip, text).args[0]


def encode(clip, text):
    return comfy_nodes.CLIPTextEncode().encode(clip, text)[0]


def recording(model):
    """A clone whose U-Net calls record their text context (cond and uncond chunks, in batch order)."""
    seen = []
    m = model.clone()

    def wrapper(executor, x, *args, **kwargs):
        seen.append(kwargs.get("context", args[1] if len(args) > 1 else None).clone())
        return executor(x, *args, **kwargs)
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "test_record", wrapper)
    return m, seen


def call_conds(seen, negative):
    """Per recorded call, its prompt's context (the rows that are not the negative's; every frame's the same)."""
    out = []
    for call in seen:
        rows = [r for r in call if not torch.equal(r, negative[0][0][0])]
        assert rows and all(torch.equal(r, rows[0]) for r in rows)
        out.append(rows[0])
    return out


def rollout(model, positive, negative, frames=12, window=6, steps=2):
    return ContextGuidedSampler.execute(model, positive, negative, {"samples": torch.zeros(1, 4, 8, 8)}, 3, steps,
                                        5.0, window, frames, 2, 1.0).args[0]["samples"]


def extend(model, positive, negative, clips=3, frames=6, overlap=2, steps=2):
    return ReuseDiffuseExtender.execute(model, positive, negative, {"samples": torch.zeros(frames, 4, 8, 8)}, 3, steps,
                                        5.0, clips, overlap, 4.0, 0.4, "reverse (reference)", False).args[0]["samples"]


def test_one_line_is_clip_text_encode_bit_for_bit(unet, clip):
    one, plain = schedule(clip, f"0: {A}"), encode(clip, A)
    assert torch.equal(one[0][0], plain[0][0])
    neg = encode(clip, "")
    assert torch.equal(rollout(unet, one, neg), rollout(unet, plain, neg))
    assert torch.equal(extend(unet, one, neg), extend(unet, plain, neg))


def test_context_guided_windows_take_the_prompts_of_their_frames(unet, clip):
    model, seen = recording(unet)
    a, b = encode(clip, A)[0][0], encode(clip, B)[0][0]
    rollout(model, schedule(clip, f"0: {A}\n8: {B}"), encode(clip, ""), frames=12, window=6)
    # plan for 12 frames, window 6, context 2: [0] | [0..5] | [4..9] | [8..11]: A, A, ⅔A + ⅓B (4 of 6 frames before
    # the switch at 8), B; 2 steps per window
    conds = call_conds(seen, encode(clip, ""))
    want = [a, a, a, a, (2 * a.float() + b.float()) / 3, (2 * a.float() + b.float()) / 3, b, b]
    assert len(conds) == len(want)
    for got, w in zip(conds, want):
        assert torch.allclose(got.float(), w.float()[0], rtol=0, atol=1e-6 * float(w.abs().max())), (got, w)


def test_reuse_diffuse_clips_take_the_prompts_of_their_frames(unet, clip):
    model, seen = recording(unet)
    a, b = encode(clip, A)[0][0], encode(clip, B)[0][0]
    extend(model, schedule(clip, f"0: {A}\n6: {B}"), encode(clip, ""), clips=3, frames=6, overlap=2)
    # clips span frames 0–5, 4–9, 8–13: A, ⅓A + ⅔B (frames 4, 5 before the switch at 6), B; 2 steps each
    conds = call_conds(seen, encode(clip, ""))
    want = [a, a, (a.float() + 2 * b.float()) / 3, (a.float() + 2 * b.float()) / 3, b, b]
    assert len(conds) == len(want)
    for got, w in zip(conds, want):
        assert torch.allclose(got.float(), w.float()[0], rtol=0, atol=1e-6 * float(w.abs().max()))


def test_a_sampler_then_an_extender_count_frames_from_the_chains_start(unet, clip):
    model, seen = recording(unet)
    a, b, neg = encode(clip, A)[0][0], encode(clip, B)[0][0], encode(clip, "")
    sched = schedule(clip, f"0: {A}\n8: {B}")       # frame 8 lies past the Sampler's clip: the Extender takes it
    empty = {"samples": torch.zeros(6, 4, 8, 8)}
    _, handoff = ReuseDiffuseSampler.execute(model, sched, neg, empty, 3, 2, 5.0).args
    ReuseDiffuseExtender.execute(model, sched, neg, empty, 3, 2, 5.0, 1, 2, 4.0, 0.4, "reverse (reference)", False,
                                 handoff)
    conds = call_conds(seen, neg)
    want = [a, a, (2 * a.float() + b.float()) / 3, (2 * a.float() + b.float()) / 3]   # clip 1: frames 4–9
    assert len(conds) == len(want)
    for got, w in zip(conds, want):
        assert torch.allclose(got.float(), w.float()[0], rtol=0, atol=1e-6 * float(w.abs().max()))


@pytest.mark.parametrize("text,match", [
    ("", "input 'schedule': is empty"), ("0: a\n8: b\n4: c", "frame 4 after frame 8"), ("2: a", "starts at frame 2"),
])
def test_bad_schedules_name_the_node_and_input(clip, text, match):
    assert match in PromptSchedule.validate_inputs(text)
    with pytest.raises(NodeInputError, match="Prompt Schedule: input 'schedule'"):
        PromptSchedule.execute(clip, text)


def test_a_prompt_past_the_video_and_another_clip_are_refused(unet, clip):
    with pytest.raises(NodeInputError, match="Context-Guided Sampler: input 'positive'.*frame 40, past the video's "
                                             "last frame 11"):
        rollout(unet, schedule(clip, f"0: {A}\n40: {B}"), encode(clip, ""), frames=12)
    wide = [[torch.zeros(1, 77, 64), {}]]                     # a negative from another family's text encoder
    with pytest.raises(NodeInputError, match="input 'positive'.*32-wide text embeddings but the negative holds 64"):
        rollout(unet, schedule(clip, f"0: {A}\n8: {B}"), wide)
