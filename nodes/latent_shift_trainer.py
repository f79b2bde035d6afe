"""Train Temporal Shift LoRA (Latent-Shift, An et al. 2023): video clips → a LoRA for the U-Net
with the temporal shift on."""
from __future__ import annotations

import os
import tempfile

import torch
from comfy_api.latest import io, ui

import comfy.sd
import comfy.utils
import folder_paths

from .glue import shift_lora_data as data
from .core import shift_lora_state as state
from .glue import shift_lora_training as training
from .glue.comfy_glue import is_sd_schedule, require_family
from .core.errors import answer, check, check_schema, fail, first, schema_problem
from .glue.model_patches import POSITIONS
from .core.temporal_shift import BOUNDARIES

NODE = "Train Temporal Shift LoRA"
BAD_CHARS = '<>:"|?*'
NO_RESUME = "none"


def lora_files():
    try:
        return [n for n in folder_paths.get_filename_list("loras") if n.endswith(".safetensors")]
    except Exception:                                                       # noqa: BLE001 (no loras folder)
        return []


def lora_name_problem(name):
    stem = name[:-len(".safetensors")] if name.endswith(".safetensors") else name
    if not stem.strip():
        return "lora_name", "lora_name is empty: give a file name such as 'temporal_shift_lora'."
    if "/" in name or "\\" in name or ".." in name or name.startswith("."):
        return "lora_name", (f"lora_name must be a plain file name without folders or '..' (it is written into "
                             f"ComfyUI's loras folder); got {name!r}.")
    if any(c in BAD_CHARS or ord(c) < 32 for c in name):
        return "lora_name", f"lora_name may not contain control characters or any of {BAD_CHARS}; got {name!r}."
    return None


def settings_problem(shift_fraction, frames_per_clip, steps, learning_rate, rank, clips_per_step, width, height,
                     max_frames_per_video):
    checks = [("shift_fraction", 0.0 < shift_fraction <= 0.5, f"shift_fraction must be in (0, 0.5] (two portions of at most half the "
                                            f"channels; 0 would train without the shift), got {shift_fraction}."),
              ("frames_per_clip", frames_per_clip >= 2, f"frames_per_clip must be at least 2 (the shift needs neighbouring frames), "
                                     f"got {frames_per_clip}."),
              ("steps", steps >= 1, f"steps must be at least 1, got {steps}."),
              ("learning_rate", 0.0 < learning_rate <= 1.0, f"learning_rate must be in (0, 1], got {learning_rate}."),
              ("rank", rank >= 1, f"rank must be at least 1, got {rank}."),
              ("clips_per_step", clips_per_step >= 1, f"clips_per_step must be at least 1, got {clips_per_step}."),
              ("width", width >= 8 and height >= 8 and width % 8 == 0 and height % 8 == 0,
               f"width and height must be multiples of 8 (the VAE's factor), got {width}×{height}."),
              ("max_frames_per_video", max_frames_per_video >= 2, f"max_frames_per_video must be at least 2, got {max_frames_per_video}.")]
    return next(((param, msg) for param, ok, msg in checks if not ok), None)


def folder_problem(video_folder):
    if video_folder and (os.path.isabs(video_folder) or ".." in video_folder.replace("\\", "/").split("/")):
        return "video_folder", (f"video_folder must be a folder inside ComfyUI's input directory, relative to it; "
                                f"{video_folder!r} is absolute or climbs out with '..'.")
    return None


def lora_path(lora_name):
    """Full path in ComfyUI's first loras folder; NodeInputError if that folder cannot be written."""
    name = lora_name if lora_name.endswith(".safetensors") else lora_name + ".safetensors"
    folder = folder_paths.get_folder_paths("loras")[0]
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        check(False, NODE, "lora_name", f"cannot write into ComfyUI's loras folder {folder}: {e}")
    return name, os.path.join(folder, name)


class TrainTemporalShiftLoRA(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_TrainTemporalShiftLoRA", display_name=NODE, category="VidLift/Latent-Shift",
            description="Latent-Shift fine-tuning: trains a LoRA on the U-Net with the temporal shift on, on video "
                        "clips (the paper's ε-prediction MSE, or the model's own target such as v). The frames of "
                        "each clip are VAE-encoded and denoised together in one batch at one timestep. Writes a "
                        "LoRA file into ComfyUI's loras folder that the stock LoRA loaders read; use it with the "
                        "Temporal Shift Patcher at the same settings. Interrupting leaves no file.",
            is_output_node=True,
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL model, or a Flux-family DiT (Flux.1 / Flux.2 / "
                                                "Chroma; LoRA keys its LoRA loader reads), to adapt to video "
                                                "(unpatched: the node applies the shift itself)."),
                io.Vae.Input("vae", tooltip="The model's VAE; it encodes every frame separately and stays frozen."),
                io.Conditioning.Input("positive", tooltip="A caption describing the clips (used for all of them)."),
                io.String.Input("lora_name", default="temporal_shift_lora",
                                tooltip="File name of the LoRA in ComfyUI's loras folder (.safetensors is added); "
                                        "an existing file of that name is replaced."),
                io.Int.Input("frames_per_clip", default=16, min=2, max=512,
                             tooltip="Frames denoised together in one batch: videos and the image batch are cut "
                                     "into clips of this many consecutive frames. Bounds memory."),
                io.Int.Input("steps", default=1000, min=1, max=1000000, tooltip="Optimizer steps."),
                io.Float.Input("learning_rate", default=1e-4, min=1e-7, max=1.0, step=1e-6, round=1e-7,
                               tooltip="AdamW learning rate of the LoRA weights."),
                io.Int.Input("rank", default=16, min=1, max=256, tooltip="LoRA rank (alpha = rank)."),
                io.Int.Input("clips_per_step", default=1, min=1, max=256,
                             tooltip="Clips per optimizer step (batch size). Clips run one after another with "
                                     "accumulated gradients, so memory holds one clip."),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF,
                             tooltip="Seed of the LoRA initialisation, clip order, timesteps and noise: the same "
                                     "seed and inputs train the same LoRA."),
                io.Float.Input("shift_fraction", default=0.125, min=0.005, max=0.5, step=0.005,
                               tooltip="Fraction of channels shifted each way while training (1/8 + 1/8, TSM)."),
                io.Combo.Input("position", options=list(POSITIONS), default="before conv1",
                               tooltip="Where the shift sits in each ResBlock (as in the Temporal Shift Patcher)."),
                io.Combo.Input("boundary", options=list(BOUNDARIES), default="zero",
                               tooltip="What enters at the first/last frame (as in the Temporal Shift Patcher)."),
                io.Combo.Input("targets", options=list(training.TARGETS), default=training.TARGETS[0],
                               tooltip="Weights that get a LoRA: every convolution and linear layer of the U-Net "
                                       "(the paper fine-tunes all; on a DiT every linear layer), or only those inside "
                                       "ResBlocks (U-Nets only, smaller file)."),
                io.Combo.Input("training_dtype", options=list(training.DTYPES), default="auto",
                               tooltip="auto: bf16 autocast on GPUs that support it, else fp32 (CPU). LoRA weights "
                                       "and the optimizer stay fp32."),
                io.Boolean.Input("gradient_checkpointing", default=True,
                                 tooltip="Recompute each U-Net layer (each DiT block) in the backward pass: much less "
                                         "memory, about 30% more time."),
                io.String.Input("video_folder", default="",
                                tooltip="Optional: a folder inside ComfyUI's input directory (relative to it) whose "
                                        "videos (mp4, webm, mov, mkv, avi, gif) are read with PyAV."),
                io.Int.Input("max_frames_per_video", default=64, min=2, max=100000,
                             tooltip="Frames read from the start of each video in video_folder."),
                io.Int.Input("width", default=512, min=8, max=4096, step=8,
                             tooltip="Videos are centre-cropped and resized to this width (ignored when images are "
                                     "connected: videos then take the images' size)."),
                io.Int.Input("height", default=512, min=8, max=4096, step=8, tooltip="Height, as width."),
                io.Image.Input("images", optional=True,
                               tooltip="Optional: frames of one video in order (the batch), or several videos one "
                                       "after another in clips of frames_per_clip frames."),
                io.Clip.Input("clip", optional=True,
                              tooltip="Optional: the text encoder that encodes per-clip captions (the `captions` lines "
                                      "and the .txt file beside each video of video_folder). Needed when any caption "
                                      "is given."),
                io.String.Input("captions", multiline=True, default="", optional=True,
                                tooltip="Optional: one caption per clip of the image batch, one line each, in order "
                                        "(a blank line uses `positive`). Videos of video_folder take their caption "
                                        "from a text file of the same name (walk.mp4 + walk.txt)."),
                io.Combo.Input("resume_lora", options=[NO_RESUME] + lora_files(), default=NO_RESUME, optional=True,
                               tooltip="Optional: continue training a LoRA this node wrote (same rank, targets and "
                                       "model family): its weights, optimizer state and step count continue from "
                                       "the .vidlift_state file beside it. `steps` more steps are trained."),
                io.Int.Input("save_every", default=0, min=0, max=1000000, optional=True,
                             tooltip="Write a checkpoint <lora_name>_step<n>.safetensors (with its .vidlift_state) "
                                     "every this many steps; 0: only the final file. An interrupted run keeps the "
                                     "checkpoints it wrote."),
            ],
            outputs=[io.Model.Output(display_name="model",
                                     tooltip="The model with the temporal shift and the trained LoRA (what LoraLoader "
                                             "+ Temporal Shift Patcher give)."),
                     io.Image.Output(display_name="loss_curve", tooltip="Loss per step (grey) and running mean (blue)."),
                     io.String.Output(display_name="lora_name", tooltip="The LoRA's file name in the loras folder.")],
        )

    @classmethod
    def validate_inputs(cls, lora_name, shift_fraction, frames_per_clip, steps, learning_rate, rank, clips_per_step,
                        width, height, max_frames_per_video, video_folder):
        numbers = (shift_fraction, frames_per_clip, steps, learning_rate, rank, clips_per_step, width, height,
                   max_frames_per_video)
        values = dict(zip(("shift_fraction", "frames_per_clip", "steps", "learning_rate", "rank", "clips_per_step",
                           "width", "height", "max_frames_per_video"), numbers))
        return answer(NODE, first(schema_problem(cls, values),
                                  lambda: None if lora_name is None else lora_name_problem(lora_name),
                                  lambda: None if video_folder is None else folder_problem(video_folder),
                                  lambda: None if None in numbers else settings_problem(*numbers)))

    @classmethod
    def execute(cls, model, vae, positive, lora_name, frames_per_clip, steps, learning_rate, rank, clips_per_step, seed,
                shift_fraction, position, boundary, targets, training_dtype, gradient_checkpointing, video_folder,
                max_frames_per_video, width, height, images=None, clip=None, captions="", resume_lora=NO_RESUME,
                save_every=0):
        check_schema(cls, NODE, dict(frames_per_clip=frames_per_clip, steps=steps, learning_rate=learning_rate,
                                     rank=rank, clips_per_step=clips_per_step, seed=seed, shift_fraction=shift_fraction,
                                     position=position, boundary=boundary, targets=targets,
                                     training_dtype=training_dtype, max_frames_per_video=max_frames_per_video,
                                     width=width, height=height, save_every=save_every))
        fail(NODE, first(lora_name_problem(lora_name),
                         settings_problem(shift_fraction, frames_per_clip, steps, learning_rate, rank, clips_per_step,
                                          width, height, max_frames_per_video),
                         folder_problem(video_folder)))
        adapter = require_family(model, NODE, "temporal shift")
        check(is_sd_schedule(model) or adapter.name == "Flux", NODE, "model",
              f"trains LoRAs for SD-family U-Nets (SD1.x, SD2.x, SDXL) and the Flux family; {adapter.name} is not "
              f"supported yet (its Temporal Shift Patcher works without training).")
        check(adapter.name == "U-Net" or targets == training.TARGETS[0], NODE, "targets",
              f"'{targets}' selects U-Net ResBlocks; a {adapter.name} model has none: use '{training.TARGETS[0]}'.")
        filename, path = lora_path(lora_name)
        settings = {"shift_fraction": shift_fraction, "position": position, "boundary": boundary}
        with torch.inference_mode(False):
            clips, texts = data.gather_clips(NODE, images, captions, video_folder, folder_paths.get_input_directory(),
                                             frames_per_clip, max_frames_per_video, width, height)
            conds, cond_sets = caption_conditioning(positive, texts, clip)
            latent_format = model.get_model_object("latent_format")
            with torch.no_grad():
                latents = [latent_format.process_in(vae.encode(c)).float().cpu().clone() for c in clips]
            shift_model = adapter.install_temporal_shift(model, shift_fraction, boundary, 1.0,
                                                         adapter.block_kinds, NODE, position)
            resume = resume_from(resume_lora, shift_model, rank, targets, adapter.name)
            writer = LoRAWriter(shift_model, path, settings, rank, targets, adapter.name, save_every)
            progress = TrainingProgress(steps, writer)
            try:
                adapters, trainer = training.train(shift_model, conds, latents, steps, clips_per_step, learning_rate,
                                                   rank, targets, seed, training_dtype, gradient_checkpointing,
                                                   progress, cond_sets, resume)
            finally:
                progress.close()
            writer.write(trainer, adapters, path)
        lora = comfy.utils.load_torch_file(path, safe_load=True)
        trained, _ = comfy.sd.load_lora_for_models(shift_model, None, lora, 1.0, 0.0)
        curve = training.image_tensor(training.loss_curve(trainer.losses))
        return io.NodeOutput(trained, curve, filename, ui=ui.PreviewImage(curve, cls=cls))


def caption_conditioning(positive, texts, clip):
    """(conditioning entries, per-clip entry indices or None): `positive` first, then each distinct caption's
    encoding (as CLIPTextEncode encodes it); clips without a caption use `positive`."""
    if all(t is None for t in texts):
        return positive, None
    check(clip is not None, NODE, "clip", "is not connected, but captions are given (the `captions` lines or .txt "
                                          "files beside the videos): connect the model's CLIP to encode them.")
    entries, index = list(positive), {None: list(range(len(positive)))}
    for text in dict.fromkeys(t for t in texts if t is not None):
        encoded = clip.encode_from_tokens_scheduled(clip.tokenize(text))
        index[text] = list(range(len(entries), len(entries) + len(encoded)))
        entries += encoded
    return entries, [index[t] for t in texts]


def resume_from(resume_lora, shift_model, rank, targets, family):
    """A loader of the resume file into the fresh trainer (None without one); refuses a file of another rank,
    targets or family before any training."""
    if not resume_lora or resume_lora == NO_RESUME:
        return None
    path = folder_paths.get_full_path("loras", resume_lora)
    check(path is not None and os.path.isfile(path), NODE, "resume_lora",
          f"{resume_lora!r} is not a file in ComfyUI's loras folder.")
    try:
        meta, lora, saved = state.read(path)
    except Exception as e:                                                  # noqa: BLE001 (any unreadable file)
        check(False, NODE, "resume_lora", f"{resume_lora} cannot be read as safetensors: {e}")

    def load(trainer, adapters):
        names = training.lora_key_names(shift_model, adapters)
        expected = [names[m] + s for m in adapters for s in (".lora_up.weight", ".lora_down.weight", ".alpha")]
        fail(NODE, state.resume_problem(meta, lora, expected, rank, targets, family, resume_lora))
        state.restore(trainer, adapters, lora, saved, names, resume_lora)
        if saved is None:
            trainer.start_step = int(meta.get("ss_steps", 0))
    return load


class LoRAWriter:
    """Writes the LoRA (fp16) and its training state atomically; checkpoints <stem>_step<n> every save_every."""

    def __init__(self, model, path, settings, rank, targets, family, save_every):
        self.model, self.path, self.settings, self.save_every = model, path, settings, save_every
        self.rank, self.targets, self.family = rank, targets, family

    def write(self, trainer, adapters, path):
        sd = training.lora_state_dict(self.model, adapters)
        meta = state.metadata(self.settings, self.rank, self.targets, self.family,
                              trainer.start_step + len(trainer.losses), NODE)
        try:
            training.save_atomic(state.trainer_state(trainer, adapters), state.state_path(path), {})
            training.save_atomic(sd, path, meta)
        except OSError as e:
            check(False, NODE, "lora_name", f"could not write {path}: {e}")

    def step_done(self, trainer, adapters, step, last):
        if self.save_every and step % self.save_every == 0 and not last:
            stem = os.path.splitext(self.path)[0]
            self.write(trainer, adapters, f"{stem}_step{step}.safetensors")


class TrainingProgress:
    """ComfyUI progress bar with the loss curve as its preview, a console bar with the running loss, and the
    checkpoints of the writer after each step."""

    def __init__(self, steps, writer):
        from tqdm.auto import tqdm
        self.steps, self.every, self.done, self.writer = steps, max(1, steps // 25), 0, writer
        self.pbar = comfy.utils.ProgressBar(steps)
        self.console = tqdm(total=steps, desc=NODE, disable=not comfy.utils.PROGRESS_BAR_ENABLED)

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


NODES = [TrainTemporalShiftLoRA]
