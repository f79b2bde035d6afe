"""Every node at the minimum and at the maximum of every numeric input (generated from the live schemas, on tiny
models): the result is a run or the pack's clear error (NodeInputError naming the node and the parameter), never
a raw exception. A patcher's MODEL is sampled one step, so an error its patch would raise mid-sampling counts too.

The schemas' maxima are realistic (4,096 frames, 256 clips, 100,000 training steps, 500 sampling steps); an extreme
that is realistic for a user but minutes of work on a 2-core test machine is listed in EXPENSIVE with the reason,
and the smaller value run instead."""
from __future__ import annotations

import importlib

import pytest
import torch

import comfy.sample
import folder_paths
from comfy_api.latest import io
from comfy_test_nodes import tiny
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.video_elevator import CUSTOM

FRAMES, SIZE = 3, 8
FILES = ("text2video_zero", "video_ldm", "vidrd", "video_elevator", "lpff", "latent_shift", "latent_shift_trainer",
         "temporal_vae_decode")


def node_classes():
    return [cls for f in FILES for cls in importlib.import_module(f"vidlift.nodes.{f}").NODES]


def numeric_inputs(cls):
    return [i for i in cls.define_schema().inputs if isinstance(i, (io.Int.Input, io.Float.Input))
            and (i.min is not None or i.max is not None)]


@pytest.fixture(scope="module")
def parts():
    return dict(unet=tiny.unet_model(seed=0), video=tiny.unet_model(seed=1), vae=tiny.vae_model(),
                temporal_vae=tiny.temporal_vae_model(), pos=tiny.conditioning(10), neg=tiny.conditioning(11))


def z(frames=FRAMES):
    return {"samples": torch.randn(frames, 4, SIZE, SIZE, generator=torch.Generator().manual_seed(frames))}


def squares(frames=4, size=16):
    return torch.rand(frames, size, size, 3, generator=torch.Generator().manual_seed(2))


# the valid inputs each node runs from (small work: 3 frames of 8×8 latents, few steps)
def base_inputs(p) -> dict:
    conds = dict(positive=p["pos"], negative=p["neg"])
    return {
        "CrossFrameAttentionPatcher": dict(model=p["unet"], anchor="first", strength=1.0, input_blocks=True,
                                           middle_block=True, output_blocks=True),
        "MotionLatentWarp": dict(model=p["unet"], first_frame_at_T=z(1), first_frame_at_T0=z(1), frames=FRAMES,
                                 motion_x=12.0, motion_y=12.0, steps=5, t0=1, t1=3, seed=0),
        "Text2VideoZeroSampler": dict(model=p["unet"], **conds, latent=z(), seed=0, cfg=5.0, motion_x=12.0,
                                      motion_y=12.0, steps=5, t0=1, t1=3, chunk_size=0),
        "ContextGuidedSampler": dict(model=p["unet"], **conds, latent=z(), seed=0, steps=2, cfg=5.0, window=2,
                                     frames=4, context_frames=1, context_guidance=1.5),
        "ContextGuidedInterpolation": dict(model=p["unet"], **conds, keyframes=z(2), seed=0, steps=2, cfg=5.0,
                                           window=5, passes=1, context_guidance=1.5),
        "ReuseDiffuseSampler": dict(model=p["unet"], **conds, latent=z(), seed=0, steps=2, cfg=5.0),
        "ReuseDiffuseExtender": dict(model=p["unet"], **conds, latent=z(), seed=0, steps=2, cfg=5.0, clips=2,
                                     overlap=1, noise_recycle=4.0, staged_guidance=0.4,
                                     direction="reverse (reference)", keep_overlap=True),
        "AlternatingKSampler": dict(image_model=p["unet"], image_positive=p["pos"], image_negative=p["neg"],
                                    video_model=p["video"], video_positive=p["pos"], video_negative=p["neg"],
                                    latent=z(), seed=0, steps=4, image_cfg=5.0, video_cfg=3.0, preset=CUSTOM,
                                    refine_steps="2", video_steps=1, video_sampler="ddim", lpff_filter="gaussian",
                                    d_s=1.0, d_t=0.4, inversion="DDIM + PnP correction (reference)",
                                    mixed_noise_alpha=1.5, cross_frame_attention=True),
        "LPFFFilter": dict(samples=z(), filter="gaussian", mode="temporal only", d_s=1.0, d_t=0.5, order=4,
                           frames_per_video=0),
        "LPFFImages": dict(images=squares(), filter="gaussian", mode="temporal only", d_s=1.0, d_t=0.5, order=4,
                           frames_per_video=0),
        "TemporalShiftPatcher": dict(model=p["unet"], shift_fraction=0.125, position="before conv1", boundary="zero",
                                     strength=1.0, input_blocks=True, middle_block=True, output_blocks=True),
        "TrainTemporalShiftLoRA": dict(model=p["unet"], vae=p["vae"], positive=p["pos"], lora_name="extremes",
                                       frames_per_clip=2, steps=1, learning_rate=1e-3, rank=2, clips_per_step=1,
                                       seed=0, shift_fraction=0.125, position="before conv1", boundary="zero",
                                       targets="all U-Net layers", training_dtype="auto",
                                       gradient_checkpointing=False, video_folder="", max_frames_per_video=4,
                                       width=16, height=16, images=squares()),
        "TemporalVAEDecode": dict(samples=z(4), vae=p["temporal_vae"], window=3, overlap=1, tile_size=0,
                                  tile_overlap=64),
    }


# (node class, input, end): (the value run instead, why the schema's extreme is not run). Lower these maxima.
EXPENSIVE = {
    ("ContextGuidedSampler", "frames", "max"): (8, "4,096 output frames: a 256-window rollout (64 frames: 5 s here)"),
    ("ReuseDiffuseExtender", "clips", "max"): (4, "256 clips: 256 sampling runs (1,024 took 48 s here on 3-frame clips)"),
    ("TrainTemporalShiftLoRA", "clips_per_step", "max"): (4, "64 clips per optimizer step (256 took 14 s here at 16²)"),
    ("TrainTemporalShiftLoRA", "steps", "max"): (2, "100,000 training steps"),
    ("TrainTemporalShiftLoRA", "save_every", "max"): (2, "only a checkpoint period; 100,000 means never here"),
}
# (node class, input, end): known bugs, each with its reason (none today)
KNOWN: dict = {}


def cases():
    out = []
    for cls in node_classes():
        for inp in numeric_inputs(cls):
            for end in ("min", "max"):
                key = (cls.__name__, inp.id, end)
                marks = [pytest.mark.xfail(reason=KNOWN[key], strict=False)] if key in KNOWN else []
                out.append(pytest.param(cls, inp.id, end, id=f"{cls.__name__}.{inp.id}={end}", marks=marks))
    return out


def sample_once(model, p):
    """One euler step of a MODEL a patcher returned: an error its patches raise mid-sampling shows here."""
    lat = torch.zeros(FRAMES, 4, SIZE, SIZE)
    return comfy.sample.sample(model, comfy.sample.prepare_noise(lat, 0), 1, 5.0, "euler", "normal", p["pos"],
                               p["neg"], lat, seed=0, disable_pbar=True)


@pytest.fixture(scope="module", autouse=True)
def comfy_folders(tmp_path_factory):
    """The trainer writes a LoRA and a loss preview: into temporary folders, never the ComfyUI install."""
    saved_temp, saved_loras = folder_paths.get_temp_directory(), folder_paths.folder_names_and_paths["loras"]
    folder_paths.set_temp_directory(str(tmp_path_factory.mktemp("comfy_temp")))
    folder_paths.folder_names_and_paths["loras"] = ([str(tmp_path_factory.mktemp("loras"))], saved_loras[1])
    yield
    folder_paths.set_temp_directory(saved_temp)
    folder_paths.folder_names_and_paths["loras"] = saved_loras


def test_every_node_has_base_inputs(parts):
    missing = [cls.__name__ for cls in node_classes() if cls.__name__ not in base_inputs(parts)]
    assert not missing, f"nodes without base inputs in this test: {missing}"


@pytest.mark.parametrize("cls", node_classes(), ids=lambda c: c.__name__)
def test_every_node_runs_from_its_base_inputs(parts, cls):
    """The extremes start from inputs that run: a base the node refuses would make every row below vacuous."""
    with torch.inference_mode():
        out = cls.execute(**base_inputs(parts)[cls.__name__])
        for result in out.args:
            if hasattr(result, "model_options") and hasattr(result, "clone"):
                sample_once(result, parts)


@pytest.mark.parametrize("cls, name, end", cases())
def test_numeric_extreme_runs_or_is_refused_by_name(parts, cls, name, end):
    inp = next(i for i in numeric_inputs(cls) if i.id == name)
    value = inp.min if end == "min" else inp.max
    if value is None:
        pytest.skip(f"{name} has no {end}")
    value = EXPENSIVE.get((cls.__name__, name, end), (value,))[0]
    kwargs = dict(base_inputs(parts)[cls.__name__], **{name: value})
    title = cls.define_schema().display_name
    try:
        with torch.inference_mode():
            out = cls.execute(**kwargs)
            for result in out.args:
                if hasattr(result, "model_options") and hasattr(result, "clone"):   # a patched MODEL: sample it
                    sample_once(result, parts)
    except NodeInputError as e:      # the pack's clear error: this node, a named input (maybe another one the
        assert e.node == title and e.param and str(e).startswith(f"{title}: input '{e.param}': "), str(e)  # value
        return                       # makes invalid, e.g. t0 beyond a minimal steps)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{title} ({cls.__name__}) with {name} = {value!r} ({end}): raw {type(e).__name__}: {e}")
    assert out.args, f"{title} with {name} = {value!r} returned nothing"
