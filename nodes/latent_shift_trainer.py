"""Train Temporal Shift LoRA (Latent-Shift, An et al. 2023): video clips → a LoRA for the U-Net
with the temporal shift on."""
from __future__ import annotations

import os
import tempfile

from comfy_api.latest import io, ui

import folder_paths

from .glue import shift_lora_run as run
from .glue import shift_lora_training as training
from .core.errors import answer, check, check_schema, fail, first, schema_problem
from .glue.model_patches import POSITIONS
from .core.temporal_shift import BOUNDARIES

NODE = "Train Temporal Shift LoRA"
BAD_CHARS = '<>:"|?*'
NO_RESUME = run.NO_RESUME


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
                io.Int.Input("steps", default=1000, min=1, max=100000, tooltip="Optimizer steps."),
                io.Float.Input("learning_rate", default=1e-4, min=1e-7, max=1.0, step=1e-6, round=1e-7,
                               tooltip="AdamW learning rate of the LoRA weights."),
                io.Int.Input("rank", default=16, min=1, max=256, tooltip="LoRA rank (alpha = rank)."),
                io.Int.Input("clips_per_step", default=1, min=1, max=64,
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
                io.Int.Input("max_frames_per_video", default=64, min=2, max=4096,
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
                io.Int.Input("save_every", default=0, min=0, max=100000, optional=True,
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
        inputs = {k: v for k, v in locals().items() if k != "cls"}
        check_schema(cls, NODE, inputs)
        fail(NODE, first(lora_name_problem(lora_name),
                         settings_problem(shift_fraction, frames_per_clip, steps, learning_rate, rank, clips_per_step,
                                          width, height, max_frames_per_video),
                         folder_problem(video_folder)))
        adapter = run.trainable_family(model, targets, NODE)
        filename, path = lora_path(lora_name)
        trained, losses = run.train_to_file(NODE, adapter, path, **inputs)
        curve = training.image_tensor(training.loss_curve(losses))
        return io.NodeOutput(trained, curve, filename, ui=ui.PreviewImage(curve, cls=cls))


NODES = [TrainTemporalShiftLoRA]
