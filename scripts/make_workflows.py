"""Regenerate workflows/*.json (the UI format the canvas saves) from compact descriptions.

One function per workflow (the DiT families' and the video partners' in make_workflows_dit.py): the models (an
SD1.5 checkpoint, or a DiT family's loaders from the Family table in workflow_builders.py), VidLift's patches and
samplers, decode and save, and a note that explains it. Widget values are laid out in the order /object_info gives,
so the files stay in step with the nodes' schemas.
Run: .venv/bin/python scripts/make_workflows.py  (starts ComfyUI briefly).
"""
from __future__ import annotations

import os

from comfy_env import ROOT
from workflow_builders import (DECODE, PATCH, PROMPT, ROLLOUT, SD15, T2VZ, Graph, cond,
                               decode_and_save, elevator, loader_and_prompts, one_chain,
                               patch_and_latent, patched_sampler, temporal_decode_and_save)

SECOND_PROMPT = ("a horse galloping on a beach at sunset, high quality, HD, 8K, trending on artstation, high focus, "
                 "dramatic lighting")
SHIFT_LORA = "temporal_shift_lora.safetensors"
SHIFT_NOTE = ("Use the same shift_fraction, position and boundary as when the LoRA was trained "
              "(the trainer stores them in the file's metadata).")


def text2video_zero(info):
    one_chain(info, "text2video_zero", SD15, T2VZ, {},
              "**Text2Video-Zero** (Khachatryan et al. 2023), training-free.\n\n"
              "- *Cross-Frame Attention Patcher*: every frame attends to frame 1, so appearance stays fixed.\n"
              "- *Sampler*: frame 1 is denoised alone to T′, warped by the motion (λ·δ, 512-px canvas units) "
              "for every other frame, re-noised to T, then all frames are denoised together.\n"
              "- Defaults are the reference's: 8 frames, 50 DDIM steps, motion 12/12, t0 44, t1 47, cfg 7.5.\n"
              "- More frames: raise the batch size; chunk_size keeps memory bounded.", (330, 330))


def text2video_zero_advanced(info):
    g = Graph(info, "text2video_zero_advanced")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cfa, one = patch_and_latent(g, SD15, (ckpt, "MODEL"), 1, "First frame")
    common = {"steps": 50, "cfg": 7.5, "sampler_name": "ddim", "scheduler": "ddim_uniform", "noise_seed": 42}
    to_t = g.node("KSamplerAdvanced", (740, 0), {**common, "add_noise": "enable", "start_at_step": 0, "end_at_step": 2,
                                                  "return_with_leftover_noise": "enable"},
                  {"model": (ckpt, "MODEL"), **cond(pos, neg), "latent_image": (one, "LATENT")},
                  title="Frame 1 → T (step 2)")
    to_t0 = g.node("KSamplerAdvanced", (740, 520), {**common, "add_noise": "disable", "start_at_step": 2,
                                                     "end_at_step": 5, "return_with_leftover_noise": "enable"},
                   {"model": (ckpt, "MODEL"), **cond(pos, neg), "latent_image": (to_t, "LATENT")},
                   title="Frame 1 → T′ (step 5)")
    warp = g.node("VidLift_MotionLatentWarp", (1100, 0), {"seed": 42}, {
        "model": (ckpt, "MODEL"), "first_frame_at_T": (to_t, "LATENT"), "first_frame_at_T0": (to_t0, "LATENT")})
    joint = g.node("KSamplerAdvanced", (1460, 0), {**common, "add_noise": "disable", "start_at_step": 2,
                                                    "end_at_step": 50, "return_with_leftover_noise": "disable"},
                   {"model": (cfa, "MODEL"), **cond(pos, neg), "latent_image": (warp, "LATENT")},
                   title="All frames from T")
    g.group("Text2Video-Zero, step by step", [cfa, one, to_t, to_t0, warp, joint], color=PATCH)
    decode_and_save(g, 1820, ckpt, (joint, "LATENT"), 4.0, "video/text2video_zero_advanced")
    g.note((1100, 560), "**The three phases with stock samplers.** Use sampler *ddim* with scheduler *ddim_uniform* "
           "so step k is the reference's timestep. Frame 1 goes to T (step N−t1−1 = 2) and T′ (step N−t0−1 = 5); "
           "*Motion-Latent Warp* makes every other frame from T′ and re-noises it to T; the last sampler "
           "continues all frames from step 2 without adding noise, with cross-frame attention.", size=(330, 260))
    g.save()


def temporal_vae_decode(info):
    g = Graph(info, "temporal_vae_decode")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    smp = patched_sampler(g, SD15, (ckpt, "MODEL"), pos, neg, T2VZ[0], 16, "Generate 16 frames (Text2Video-Zero)",
                          motion_x=8.0, motion_y=0.0)
    temporal_decode_and_save(g, (1100, 0), (1100, 200), 1460, (smp, "LATENT"), "video/temporal_vae_decode",
                             "Temporal VAE Decode")
    g.note((1100, 470), "**Temporal VAE Decode.** Stable Video Diffusion's VAE decoder has temporal layers and reads "
           "SD1.x/2.x latents. Frames are decoded together in windows of 14 (what SVD was trained on) "
           "overlapping by 4 and cross-faded, so memory does not grow with the video length and window edges "
           "leave no seams. With an ordinary SD VAE the node decodes frame by frame, like VAE Decode.",
           size=(330, 250))
    g.save()


def extend_clip(info):
    g = Graph(info, "extend_clip")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT, negative="watermark")
    pos2 = g.node("CLIPTextEncode", (0, 620), {"text": SECOND_PROMPT}, {"clip": (ckpt, "CLIP")},
                  title="Prompt of the last clip", size=(320, 150))
    g.group("Second prompt", [pos2])
    cfa, lat = patch_and_latent(g, SD15, (ckpt, "MODEL"), 8, "One clip (batch size = frames per clip)")
    rest = {"negative": (neg, "CONDITIONING"), "latent": (lat, "LATENT")}
    smp = g.node("VidLift_ReuseDiffuseSampler", (740, 0), {"seed": 42},
                 {"model": (cfa, "MODEL"), "positive": (pos, "CONDITIONING"), **rest}, title="Clip 0")
    ext = g.node("VidLift_ReuseDiffuseExtender", (1100, 0), {"seed": 42, "clips": 1},
                 {"model": (cfa, "MODEL"), "positive": (pos, "CONDITIONING"), **rest,
                  "previous": (smp, "last_clip")}, title="Clip 1 continues clip 0")
    ext2 = g.node("VidLift_ReuseDiffuseExtender", (1460, 0), {"seed": 42, "clips": 1},
                  {"model": (cfa, "MODEL"), "positive": (pos2, "CONDITIONING"), **rest,
                   "previous": (ext, "last_clip")}, title="Clip 2 continues clip 1, second prompt")
    g.group("Reuse and Diffuse (VidRD): a chain of clips", [cfa, lat, smp, ext, ext2], color=PATCH)
    join = g.node("LatentBatch", (1820, 0), inputs={"samples1": (smp, "LATENT"), "samples2": (ext, "LATENT")},
                  title="Clips 0 + 1")
    join2 = g.node("LatentBatch", (1820, 130), inputs={"samples1": (join, "LATENT"), "samples2": (ext2, "LATENT")},
                   title="Clips 0 + 1 + 2")
    g.group("Join the clips", [join, join2], color=DECODE)
    decode_and_save(g, 2180, ckpt, (join2, "LATENT"), 8.0, "video/extend_clip")
    g.note((380, 480), "**Reuse and Diffuse** (VidRD). Three clips of 8 frames: the *Sampler* makes clip 0; each "
           "*Extender* continues the clip on its `previous` input: it reuses that clip's noise time-reversed for its "
           "first 4 frames (FNR), mixes it into the others (PNS, r = 4) and holds its overlap frames at that clip's "
           "latents during the first steps (DSG, g = 0.4). An Extender returns only its new clips, so *Latent "
           "Batch* joins them; the reference keeps the overlap frames (24 frames here). Chaining lets each clip "
           "have its own prompt; with one seed, Sampler → Extender (clips = 2) equals one Extender with clips = 3. "
           "Any model with frames in the batch works; cross-frame attention keeps the appearance.", size=(330, 380))
    g.save()


def showcase(info):
    """Several mechanisms in one graph: two patches, Text2Video-Zero sampling, LPFF, temporal decoding."""
    g = Graph(info, "showcase")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    tsm = g.node("VidLift_TemporalShift", (380, 290), {"strength": 0.25}, {"model": (cfa, "MODEL")},
                 title="Temporal Shift (low strength without a Latent-Shift LoRA)")
    lat = g.node("EmptyLatentImage", (380, 620), {**SD15.size, "batch_size": 8},
                 title="Video size (batch size = frames)")
    smp = g.node("VidLift_Text2VideoZeroSampler", (740, 0), {"seed": 42, "motion_x": 8.0, "motion_y": 0.0},
                 {"model": (tsm, "MODEL"), **cond(pos, neg), "latent": (lat, "LATENT")})
    g.group("Make a video model and sample (Text2Video-Zero + Latent-Shift)", [cfa, tsm, lat, smp], color=PATCH)
    lpf = g.node("VidLift_LPFF", (1100, 0), {"mode": "temporal only", "d_t": 0.6}, {"samples": (smp, "LATENT")},
                 title="LPFF: remove flicker along time")
    temporal_decode_and_save(g, (1100, 420), (1460, 0), 1820, (lpf, "LATENT"), "video/showcase",
                             "Smooth and decode (VideoElevator's LPFF, a temporal decoder)", before=[lpf])
    g.note((740, 520), "**Showcase.** Cross-frame attention keeps the appearance of frame 1; the temporal shift "
           "lets each frame see its neighbours (use strength 1 with a LoRA trained by *Train Temporal Shift LoRA*); "
           "Text2Video-Zero adds global motion; LPFF (temporal only) removes flicker from the final latent; "
           "SVD's temporal decoder decodes in overlapping windows.", size=(330, 260))
    g.save()


def sample_frames(g, x, model, pos, neg, frames, title):
    lat = g.node("EmptyLatentImage", (x, 290), {**SD15.size, "batch_size": frames},
                 title="Video size (batch size = frames)")
    smp = g.node("KSampler", (x + 360, 0), {"seed": 42, "steps": 25, "cfg": 7.5, "sampler_name": "ddim",
                                             "scheduler": "ddim_uniform"},
                 {"model": model, **cond(pos, neg), "latent_image": (lat, "LATENT")}, size=(320, 300))
    g.group(title, [lat, smp], color=PATCH)
    return smp


def latent_shift(info):
    g = Graph(info, "latent_shift")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    lora = g.node("LoraLoaderModelOnly", (380, 0), {"lora_name": SHIFT_LORA, "strength_model": 1.0},
                  {"model": (ckpt, "MODEL")}, title="Temporal Shift LoRA (enable after training)")
    lora["mode"] = 4                                                     # bypassed until a LoRA is trained
    shift = g.node("VidLift_TemporalShift", (380, 150), inputs={"model": (lora, "MODEL")})
    cfa = g.node("VidLift_CrossFrameAttention", (380, 520), inputs={"model": (shift, "MODEL")})
    g.group("Latent-Shift", [lora, shift, cfa], color=PATCH)
    smp = sample_frames(g, 740, (cfa, "MODEL"), pos, neg, 8, "Sample all frames together")
    decode_and_save(g, 1460, ckpt, (smp, "LATENT"), 8.0, "video/latent_shift")
    g.note((740, 640), "**Latent-Shift** (An et al. 2023). The *Temporal Shift Patcher* moves 1/8 of the channels "
           "of every ResBlock one frame back and 1/8 one frame forward, so the frames of the batch see their "
           "neighbours; the KSampler denoises all 8 frames together. The paper fine-tunes the U-Net with the shift "
           "on: train a LoRA with *latent_shift_train.json*, then enable the LoRA loader (Ctrl+B). On a model not "
           "fine-tuned with the shift expect degraded frames (lower the patcher's strength); cross-frame attention "
           "keeps the frames' appearance consistent. " + SHIFT_NOTE,
           size=(330, 330))
    g.save()


def latent_shift_train(info):
    g = Graph(info, "latent_shift_train")
    ckpt, pos, neg = loader_and_prompts(g, "a video")
    train = g.node("VidLift_TrainTemporalShiftLoRA", (380, 0), {"video_folder": "training_clips", "steps": 1000},
                   {"model": (ckpt, "MODEL"), "vae": (ckpt, "VAE"), "positive": (pos, "CONDITIONING")},
                   size=(360, 620))
    curve = g.node("SaveImage", (380, 680), {"filename_prefix": "latent_shift/loss_curve"},
                   {"images": (train, "loss_curve")}, title="Loss curve", size=(360, 300))
    g.group("Train a Temporal Shift LoRA", [train, curve], color=PATCH)
    smp = sample_frames(g, 800, (train, "model"), pos, neg, 8, "Try it: 8 frames with the trained LoRA")
    decode_and_save(g, 1520, ckpt, (smp, "LATENT"), 8.0, "video/latent_shift_trained")
    g.note((800, 640), "**Fine-tune for Latent-Shift.** Put short videos (mp4, webm, mov, ...) of what you want "
           "to generate into `ComfyUI/input/training_clips/`. The trainer cuts them into clips of 16 frames, "
           "encodes every frame with the VAE and trains a LoRA on the U-Net with the temporal shift on (ε-prediction "
           "MSE, each clip's frames denoised together). The LoRA lands in `models/loras/` as "
           "temporal_shift_lora.safetensors; the loss curve is saved. Memory grows with frames_per_clip and the "
           "size; gradient checkpointing (on) trades time for memory. Then sample with *latent_shift.json*.",
           size=(330, 330))
    g.save()


def videoelevator(info):
    g = Graph(info, "videoelevator")
    negative = ("text, watermark, copyright, blurry, nsfw, noise, quick motion, bad quality, flicker, dirty, ugly, "
                "fast motion, quick cuts, fast editing, cuts")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT, negative=negative)
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")}, title="T2V: cross-frame")
    shift = g.node("VidLift_TemporalShift", (380, 290), {"strength": 0.5}, {"model": (cfa, "MODEL")},
                   title="T2V: temporal shift")
    lat = g.node("EmptyLatentImage", (380, 620), {**SD15.size, "batch_size": 8},
                 title="Video size (batch size = frames)")
    smp = elevator(g, 740, ckpt, pos, neg, shift, pos, neg, (lat, "LATENT"), {}, (340, 620))
    g.group("VideoElevator: T2I quality, T2V motion", [cfa, shift, lat, smp], color=PATCH)
    decode_and_save(g, 1120, ckpt, (smp, "LATENT"), 8.0, "video/videoelevator")
    g.note((1120, 700), "**VideoElevator** (Zhang et al. 2024), training-free. Each of the 50 DDIM steps is a step of "
           "the image model (T2I, with cross-frame attention); at the refining steps (preset ZeroScope: N−i = "
           "45, 35, 25, 15) the T2I's clean estimate is low-passed over time (LPFF), re-noised and denoised 8 steps "
           "by the video model (T2V), then DDIM-inverted back by the T2I.\n\n"
           "- **T2V**: here the same checkpoint with Cross-Frame Attention and a half-strength Temporal Shift, so the "
           "workflow runs with core nodes only. For real motion connect an SD1.5 video model instead (e.g. "
           "AnimateDiff-Evolved's *Apply AnimateDiff Model*, or a second checkpoint); both models must share the "
           "latent space, and each may have its own prompts.\n"
           "- Reference settings: ZeroScope K 8, d_t 0.4, α 1.5; LaVie K 8, d_t 0.5, α 1.0; AnimateLCM N 30, K 6, "
           "d_t 0.6, α 0.5, video cfg 2, video_sampler lcm.", size=(360, 420))
    g.save()


def long_video(info):
    one_chain(info, "long_video", SD15, ROLLOUT, {"steps": 20, "frames": 32, "window": 16},
              "**Context-Guided Sampler** (Video LDM rollout). Frame 1 is made by the image model alone; "
              "then windows of 16 frames each hold the 2 latest frames as context (noised to every step's level) "
              "and generate 14 new ones, with context guidance s = 1.5 on top of cfg. Cross-frame attention "
              "anchors every window on frame 1, which the sampler adds to each window. Raise `frames` as far as "
              "you like: one window is in the model at a time.", (330, 300))


def keyframe_interpolation(info):
    g = Graph(info, "keyframe_interpolation")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cfa, lat = patch_and_latent(g, SD15, (ckpt, "MODEL"), 3, "Keyframes (batch size = keyframes)")
    keys = g.node("VidLift_Text2VideoZeroSampler", (740, 0), {"seed": 42, "motion_x": 24.0, "motion_y": 0.0},
                  {"model": (cfa, "MODEL"), **cond(pos, neg), "latent": (lat, "LATENT")},
                  title="Keyframes (Text2Video-Zero)")
    itp = g.node("VidLift_ContextGuidedInterpolation", (1100, 0), {"seed": 42, "steps": 20, "passes": 2}, {
        "model": (cfa, "MODEL"), **cond(pos, neg), "keyframes": (keys, "LATENT")})
    g.group("Keyframes, then Video LDM interpolation ×16", [cfa, lat, keys, itp], color=PATCH)
    decode_and_save(g, 1460, ckpt, (itp, "LATENT"), 8.0, "video/keyframe_interpolation")
    g.note((1100, 330), "**Context-Guided Interpolation** (Video LDM). Three new frames between each pair of "
           "keyframes, the keyframes held as context: 3 keyframes → 9 frames; passes = 2 interpolates again "
           "→ 33 frames (16(n−1)+1). Keyframes can come from any sampler (here Text2Video-Zero, whose frames "
           "share the first frame's appearance); windows of 9 frames keep memory bounded.", size=(330, 250))
    g.save()


if __name__ == "__main__":
    from comfy_server import ComfyServer
    from make_workflows_dit import (extend_hunyuan15, extend_ltxv, extend_wan, extend_wan22, long_video_flux,
                                    text2video_zero_flux, text2video_zero_krea2, text2video_zero_qwen,
                                    text2video_zero_zimage, videoelevator_qwen_wan, videoelevator_wan)
    with ComfyServer(port=8197) as server:
        object_info = server.get("/object_info")
    for build in (text2video_zero, text2video_zero_advanced, temporal_vae_decode, extend_clip, latent_shift,
                  latent_shift_train, videoelevator, long_video, keyframe_interpolation, showcase,
                  text2video_zero_flux, text2video_zero_zimage, text2video_zero_qwen, long_video_flux, extend_wan,
                  videoelevator_wan, videoelevator_qwen_wan, extend_wan22, extend_ltxv, extend_hunyuan15,
                  text2video_zero_krea2):
        build(object_info)
    print("wrote", sorted(os.listdir(os.path.join(ROOT, "workflows"))))
