"""Train Temporal Shift LoRA as a trainer users run: per-clip captions, resume, checkpoints, bad data (tiny U-Net)."""
import logging
import os

import pytest
import safetensors.torch
import torch
from safetensors import safe_open

import comfy.model_management
import comfy.utils
from comfy_test_nodes import tiny
from inprocess import test_shift_lora_train as base
from inprocess.test_shift_lora_train import moving_squares, train, write_video
from vidlift.nodes.glue import shift_lora_training as training
from vidlift.nodes.core.errors import NodeInputError

STATE = ".vidlift_state"
# the trainer tests' fixtures: tiny U-Net parts, a temporary loras folder, an input folder of two videos
parts, loras, input_dir, temp_directory = base.parts, base.loras, base.input_dir, base.temp_directory


def state_of(folder, name):
    return safetensors.torch.load_file(os.path.join(folder, os.path.splitext(name)[0] + STATE))


def steps_of(folder, name):
    with safe_open(os.path.join(folder, name), "pt") as f:
        return int(f.metadata()["ss_steps"])


@pytest.fixture
def seen_captions(monkeypatch):
    """(clip index, cross-attention context) of every clip the trainer runs, as the guider hands it to the model."""
    seen, original = [], training.CaptionSelector.select

    def select(self, index):
        original(self, index)
        seen.append((index, self.guider.conds["positive"][0]["model_conds"]["c_crossattn"].cond))
    monkeypatch.setattr(training.CaptionSelector, "select", select)
    return seen


def encoded(clip, text):
    return clip.encode_from_tokens_scheduled(clip.tokenize(text))[0][0]


def test_each_clip_trains_with_its_own_caption(parts, loras, seen_captions):
    captions = "a square moving right\n\na square moving left\n"
    images = moving_squares(clips=3)
    train(parts, images=images, clip=parts["clip"], captions=captions, steps=3, lora_name="captioned")
    want = {0: encoded(parts["clip"], "a square moving right"), 1: parts["positive"][0][0],
            2: encoded(parts["clip"], "a square moving left")}
    assert sorted(i for i, _ in seen_captions) == [0, 1, 2]                     # one epoch: every clip once
    for index, context in seen_captions:
        assert torch.equal(context.cpu(), want[index].cpu()), index


@pytest.mark.parametrize("change,param,words", [
    (dict(captions="one\ntwo\nthree"), "captions", "3 line(s) but the image batch makes 2 clip(s)"),
    (dict(captions="one\ntwo", clip=None), "clip", "is not connected"),
    (dict(images=None, captions="one", video_folder="clips"), "captions", "no images are connected"),
])
def test_caption_mistakes_name_the_parameter(parts, loras, input_dir, change, param, words):
    args = dict(dict(clip=parts["clip"]), **change)
    with pytest.raises(NodeInputError) as e:
        train(parts, **args)
    assert e.value.param == param and words in str(e.value)
    assert not os.path.exists(os.path.join(loras, "shift_test.safetensors"))


def test_a_caption_file_beside_a_video_is_its_caption(parts, loras, input_dir, seen_captions):
    (input_dir / "clips" / "a.txt").write_text("  a yellow square\nmoving right \n")
    train(parts, images=None, video_folder="clips", clip=parts["clip"], steps=4, frames_per_clip=5,
          lora_name="video_captions")
    a, b = encoded(parts["clip"], "a yellow square moving right"), parts["positive"][0][0]
    by_clip = dict(seen_captions)                       # clips 0, 1 from a.mp4 (10 frames, 5 a clip); 2, 3 from b.mp4
    assert set(by_clip) == {0, 1, 2, 3}
    assert all(torch.equal(by_clip[i].cpu(), a.cpu()) for i in (0, 1))
    assert all(torch.equal(by_clip[i].cpu(), b.cpu()) for i in (2, 3))


def test_an_empty_caption_file_is_refused(parts, loras, input_dir):
    (input_dir / "clips" / "b.txt").write_text(" \n")
    with pytest.raises(NodeInputError, match="input 'video_folder': the caption file b.txt is empty"):
        train(parts, images=None, video_folder="clips", clip=parts["clip"], steps=1)


def test_broken_videos_are_skipped_with_a_warning_naming_them(parts, loras, input_dir, caplog):
    (input_dir / "clips" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    write_video(input_dir / "clips" / "short.mp4", moving_squares(clips=1, frames=1))
    with caplog.at_level(logging.WARNING):
        train(parts, images=None, video_folder="clips", steps=1, frames_per_clip=5, lora_name="skipping")
    text = caplog.text
    assert "broken.mp4" in text and "cannot be decoded" in text and "short.mp4" in text
    assert os.path.isfile(os.path.join(loras, "skipping.safetensors"))
    for name in ("a.mp4", "b.mp4", "short.mp4"):
        os.remove(input_dir / "clips" / name)
    with pytest.raises(NodeInputError, match="input 'video_folder': no video in it can be read"):
        train(parts, images=None, video_folder="clips", steps=1)


def test_k_steps_plus_resume_is_one_run_of_n_steps(parts, loras):
    """Resume restores the fp32 LoRA weights, AdamW's moments, the generator and the epoch order: the same
    arithmetic in the same order, so the weights agree to fp32 rounding (≤ 1e-6 of their scale per step, far
    below the 1e-2 learning rate's step size)."""
    settings = dict(learning_rate=1e-2, seed=3)
    train(parts, steps=6, lora_name="whole", **settings)
    train(parts, steps=4, lora_name="half", **settings)
    train(parts, steps=2, lora_name="half", resume_lora="half.safetensors", **settings)
    whole, resumed = state_of(loras, "whole.safetensors"), state_of(loras, "half.safetensors")
    assert steps_of(loras, "whole.safetensors") == steps_of(loras, "half.safetensors") == 6
    masters = [k for k in whole if k.startswith("master.")]
    assert masters and whole.keys() == resumed.keys()
    for k in masters:
        scale = whole[k].abs().amax().clamp_min(1e-3)
        assert (whole[k] - resumed[k]).abs().amax() <= 6 * 1e-6 * scale, k
    assert torch.equal(whole["losses"][:4], resumed["losses"][:4]) and len(resumed["losses"]) == 6
    moved = [k for k in masters if ".down" in k and whole[k].abs().amax() > 0]   # trained: down starts at zero
    assert len(moved) > 0.9 * len([k for k in masters if ".down" in k])
    # a LoRA without its state resumes from its fp16 weights (the warning says so), and the step count goes on
    os.remove(os.path.join(loras, "whole" + STATE))
    train(parts, steps=1, lora_name="whole_more", resume_lora="whole.safetensors", **settings)
    assert steps_of(loras, "whole_more.safetensors") == 7
    # and a run resumed from that one (now with its state) counts on from 7, not from its own losses alone
    train(parts, steps=2, lora_name="whole_more", resume_lora="whole_more.safetensors", **settings)
    assert steps_of(loras, "whole_more.safetensors") == 9
    # a state file from before it kept start_step: derived from the LoRA's count minus the saved losses
    saved = state_of(loras, "whole_more.safetensors")
    del saved["start_step"]
    safetensors.torch.save_file(saved, os.path.join(loras, "whole_more" + STATE))
    train(parts, steps=1, lora_name="whole_more", resume_lora="whole_more.safetensors", **settings)
    assert steps_of(loras, "whole_more.safetensors") == 10


def test_resume_from_another_rank_or_a_foreign_file_is_refused(parts, loras):
    train(parts, steps=1, lora_name="rank8")
    with pytest.raises(NodeInputError, match="input 'rank': is 4, but rank8.safetensors was trained with rank 8"):
        train(parts, steps=1, rank=4, lora_name="rank4", resume_lora="rank8.safetensors")
    safetensors.torch.save_file({"x": torch.zeros(1)}, str(loras / "foreign.safetensors"))
    with pytest.raises(NodeInputError, match="input 'resume_lora': foreign.safetensors was not written by"):
        train(parts, steps=1, lora_name="rank8b", resume_lora="foreign.safetensors")
    with pytest.raises(NodeInputError, match="input 'resume_lora': .*other layers"):
        train(parts, steps=1, targets="ResBlocks only", lora_name="rank8c", resume_lora="rank8.safetensors")
    assert not any(f.startswith(("rank4", "rank8b", "rank8c")) for f in os.listdir(loras))


def test_checkpoints_every_n_steps_and_an_interrupted_run_keeps_them(parts, loras, monkeypatch):
    train(parts, steps=5, save_every=2, lora_name="ckpt")
    names = sorted(f for f in os.listdir(loras) if f.startswith("ckpt"))
    assert names == ["ckpt.safetensors", "ckpt.vidlift_state", "ckpt_step2.safetensors", "ckpt_step2.vidlift_state",
                     "ckpt_step4.safetensors", "ckpt_step4.vidlift_state"]
    assert [steps_of(loras, n) for n in ("ckpt_step2.safetensors", "ckpt_step4.safetensors")] == [2, 4]

    def hook(value, total, preview, node_id=None):
        if value == 3:
            comfy.model_management.interrupt_current_processing(True)
    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", hook)
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        train(parts, steps=6, save_every=2, lora_name="stopped")
    left = sorted(f for f in os.listdir(loras) if f.startswith(("stopped", ".stopped")))
    assert left == ["stopped_step2.safetensors", "stopped_step2.vidlift_state"]       # no final file, no .tmp
    comfy.model_management.interrupt_current_processing(False)
    train(parts, steps=1, lora_name="stopped", resume_lora="stopped_step2.safetensors")
    assert steps_of(loras, "stopped.safetensors") == 3


def test_bf16_mixed_precision_on_cpu_keeps_fp32_masters(parts, loras):
    train(parts, steps=3, training_dtype="bf16", lora_name="bf16")
    state = state_of(loras, "bf16.safetensors")
    assert all(v.dtype == torch.float32 for k, v in state.items() if k.startswith("master."))
    assert torch.isfinite(state["losses"]).all() and len(state["losses"]) == 3


def test_comfys_training_switch_is_restored_on_error(parts, loras, monkeypatch):
    if not hasattr(comfy.model_management, "in_training"):
        pytest.skip("this ComfyUI has no in_training switch")
    monkeypatch.setattr(comfy.model_management, "in_training", False)

    def broken(self, *a, **k):
        assert comfy.model_management.in_training is True
        raise RuntimeError("out of memory (test)")
    monkeypatch.setattr(training.ClipTrainer, "clip_loss", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        train(parts, steps=1, lora_name="oom")
    assert comfy.model_management.in_training is False
    assert not any(f.startswith("oom") for f in os.listdir(loras))
    assert tiny is not None
