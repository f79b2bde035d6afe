"""Train Temporal Shift LoRA's run: the family check, clips and captions to latents and conditioning, resume, the
training loop with progress and checkpoints, and the files it writes (the node in nodes/latent_shift_trainer.py)."""
from __future__ import annotations

import os

import torch

import comfy.sd
import comfy.utils
import folder_paths

from ..core import shift_lora_state as state
from ..core.errors import check, fail
from . import shift_lora_data as data
from . import shift_lora_training as training
from .comfy_glue import is_sd_schedule, require_family

NO_RESUME = "none"


def trainable_family(model, targets, node):
    """The model's adapter, when the trainer supports its family and the targets fit it."""
    adapter = require_family(model, node, "temporal shift")
    check(is_sd_schedule(model) or adapter.name == "Flux", node, "model",
          f"trains LoRAs for SD-family U-Nets (SD1.x, SD2.x, SDXL) and the Flux family; {adapter.name} is not "
          f"supported yet (its Temporal Shift Patcher works without training).")
    check(adapter.name == "U-Net" or targets == training.TARGETS[0], node, "targets",
          f"'{targets}' selects U-Net ResBlocks; a {adapter.name} model has none: use '{training.TARGETS[0]}'.")
    return adapter


def train_to_file(node, adapter, path, model, vae, positive, frames_per_clip, steps, learning_rate, rank,
                  clips_per_step, seed, shift_fraction, position, boundary, targets, training_dtype,
                  gradient_checkpointing, video_folder, max_frames_per_video, width, height, images=None, clip=None,
                  captions="", resume_lora=NO_RESUME, save_every=0, **_):
    """Train and write the LoRA at `path` (with its .vidlift_state); returns (model with shift + LoRA, losses)."""
    settings = {"shift_fraction": shift_fraction, "position": position, "boundary": boundary}
    with torch.inference_mode(False):
        clips, texts = data.gather_clips(node, images, captions, video_folder, folder_paths.get_input_directory(),
                                         frames_per_clip, max_frames_per_video, width, height)
        conds, cond_sets = caption_conditioning(node, positive, texts, clip)
        latent_format = model.get_model_object("latent_format")
        with torch.no_grad():
            latents = [latent_format.process_in(vae.encode(c)).float().cpu().clone() for c in clips]
        shift_model = adapter.install_temporal_shift(model, shift_fraction, boundary, 1.0, adapter.block_kinds, node,
                                                     position)
        resume = resume_from(node, resume_lora, shift_model, rank, targets, adapter.name)
        writer = LoRAWriter(node, shift_model, path, settings, rank, targets, adapter.name, save_every)
        progress = TrainingProgress(node, steps, writer)
        try:
            adapters, trainer = training.train(shift_model, conds, latents, steps, clips_per_step, learning_rate,
                                               rank, targets, seed, training_dtype, gradient_checkpointing,
                                               progress, cond_sets, resume)
        finally:
            progress.close()
        writer.write(trainer, adapters, path)
    lora = comfy.utils.load_torch_file(path, safe_load=True)
    trained, _ = comfy.sd.load_lora_for_models(shift_model, None, lora, 1.0, 0.0)
    return trained, trainer.losses


def caption_conditioning(node, positive, texts, clip):
    """(conditioning entries, per-clip entry indices or None): `positive` first, then each distinct caption's
    encoding (as CLIPTextEncode encodes it); clips without a caption use `positive`."""
    if all(t is None for t in texts):
        return positive, None
    check(clip is not None, node, "clip", "is not connected, but captions are given (the `captions` lines or .txt "
                                          "files beside the videos): connect the model's CLIP to encode them.")
    entries, index = list(positive), {None: list(range(len(positive)))}
    for text in dict.fromkeys(t for t in texts if t is not None):
        encoded = clip.encode_from_tokens_scheduled(clip.tokenize(text))
        index[text] = list(range(len(entries), len(entries) + len(encoded)))
        entries += encoded
    return entries, [index[t] for t in texts]


def resume_from(node, resume_lora, shift_model, rank, targets, family):
    """A loader of the resume file into the fresh trainer (None without one); refuses a file of another rank,
    targets or family before any training."""
    if not resume_lora or resume_lora == NO_RESUME:
        return None
    path = folder_paths.get_full_path("loras", resume_lora)
    check(path is not None and os.path.isfile(path), node, "resume_lora",
          f"{resume_lora!r} is not a file in ComfyUI's loras folder.")
    try:
        meta, lora, saved = state.read(path)
    except Exception as e:                                                  # noqa: BLE001 (any unreadable file)
        check(False, node, "resume_lora", f"{resume_lora} cannot be read as safetensors: {e}")

    def load(trainer, adapters):
        names = training.lora_key_names(shift_model, adapters)
        expected = [names[m] + s for m in adapters for s in (".lora_up.weight", ".lora_down.weight", ".alpha")]
        fail(node, state.resume_problem(meta, lora, expected, rank, targets, family, resume_lora))
        state.restore(trainer, adapters, lora, saved, names, resume_lora)
        if saved is None or "start_step" not in saved:     # no state, or one written before it kept start_step
            trainer.start_step = max(0, int(meta.get("ss_steps", 0)) - len(trainer.losses))
    return load


class LoRAWriter:
    """Writes the LoRA (fp16) and its training state atomically; checkpoints <stem>_step<n> every save_every."""

    def __init__(self, node, model, path, settings, rank, targets, family, save_every):
        self.node, self.model, self.path, self.settings, self.save_every = node, model, path, settings, save_every
        self.rank, self.targets, self.family = rank, targets, family

    def write(self, trainer, adapters, path):
        sd = training.lora_state_dict(self.model, adapters)
        meta = state.metadata(self.settings, self.rank, self.targets, self.family,
                              trainer.start_step + len(trainer.losses), self.node)
        try:
            training.save_atomic(state.trainer_state(trainer, adapters), state.state_path(path), {})
            training.save_atomic(sd, path, meta)
        except OSError as e:
            check(False, self.node, "lora_name", f"could not write {path}: {e}")

    def step_done(self, trainer, adapters, step, last):
        if self.save_every and step % self.save_every == 0 and not last:
            stem = os.path.splitext(self.path)[0]
            self.write(trainer, adapters, f"{stem}_step{step}.safetensors")


class TrainingProgress:
    """ComfyUI progress bar with the loss curve as its preview, a console bar with the running loss, and the
    checkpoints of the writer after each step."""

    def __init__(self, node, steps, writer):
        from tqdm.auto import tqdm
        self.steps, self.every, self.done, self.writer = steps, max(1, steps // 25), 0, writer
        self.pbar = comfy.utils.ProgressBar(steps)
        self.console = tqdm(total=steps, desc=node, disable=not comfy.utils.PROGRESS_BAR_ENABLED)

    def __call__(self, trainer, loss):
        self.done += 1
        recent = trainer.losses[-self.every:]
        self.console.set_postfix(loss=f"{sum(recent) / len(recent):.4f}", refresh=False)
        self.console.update(1)
        preview = None
        if self.done % self.every == 0 or self.done == self.steps:
            preview = ("JPEG", training.loss_curve(trainer.losses), 512)
        self.pbar.update_absolute(self.done, self.steps, preview)
        self.writer.step_done(trainer, trainer.adapters, trainer.start_step + len(trainer.losses),
                              self.done == self.steps)

    def close(self):
        self.console.close()
