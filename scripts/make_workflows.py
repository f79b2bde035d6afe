"""Regenerate workflows/*.json (the UI format the canvas saves) from compact descriptions.

One function per workflow: the models (an SD1.5 checkpoint, or a DiT family's loaders from the Family table in
workflow_builders.py), VidLift's patches and samplers, decode and save, and a note that explains it. Widget values
are laid out in the order /object_info gives, so the files stay in step with the nodes' schemas.
Run: .venv/bin/python scripts/make_workflows.py  (starts ComfyUI briefly).
"""
from __future__ import annotations

import os

from comfy_env import ROOT
from workflow_builders import (DECODE, FLUX, HUNYUAN15, KREA2, LTXV_CKPT, PATCH, PROMPT, QWEN, SD15, WAN, WAN22,
                               ZIMAGE, Graph, cond,
                               decode_and_save, dit_loaders, elevator, loader_and_prompts, one_chain,
                               patch_and_latent, patched_sampler, temporal_decode_and_save)

T2VZ = ("VidLift_Text2VideoZeroSampler", 8, "Text2Video-Zero", 4.0)                # sampler, frames, group, fps
ROLLOUT = ("VidLift_ContextGuidedSampler", 1, "Video LDM rollout with context guidance", 8.0)
SECOND_PROMPT = ("a horse galloping on a beach at sunset, high quality, HD, 8K, trending on artstation, high focus, "
                 "dramatic lighting")
SHIFT_LORA = "temporal_shift_lora.safetensors"
SHIFT_NOTE = ("Use the same shift_fraction, position and boundary as when the LoRA was trained "
              "(the trainer stores them in the file's metadata).")
LTXV_NEGATIVE = "low quality, worst quality, deformed, distorted, disfigured, motion smear, motion artifacts"
WAN_NEGATIVE = ("static, still, blurry, low quality, worst quality, jpeg artifacts, deformed, extra fingers, "
                "messy background, overexposed, subtitles, text, watermark")


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


FLOW_T0_T1 = ("- *t0 / t1* are steps of the model's own schedule (ComfyUI's simple scheduler): frame 1 is denoised "
              "to T = step N−t1−1 = 1 and T′ = step N−t0−1 = 3, warped at T′, re-noised to T, then all frames are "
              "denoised together. A flow model's step 0 is pure noise, which would erase the motion: t1 ≤ steps−2.")


def dit_t2vz_note(intro, where, tokens, outro=""):
    """A DiT Text2Video-Zero note: the family's settings, then cross-frame attention and t0 / t1 on a flow model."""
    return (intro + "- *Cross-Frame Attention*: every frame's image tokens attend to frame 1's keys and values in "
            f"{where}; the {tokens} tokens are untouched.\n" + FLOW_T0_T1 + outro)


def text2video_zero_flux(info):
    one_chain(info, "text2video_zero_flux", FLUX, T2VZ, {"cfg": 1.0, "steps": 20, "t0": 16, "t1": 18}, dit_t2vz_note(
        "**Text2Video-Zero on Flux.1-dev** (needs ComfyUI 0.33 or later: its Flux blocks take attention patches).\n\n"
        "- *cfg 1*: Flux.1-dev is guidance-distilled; *FluxGuidance* (3.5) sets its guidance, so the negative prompt "
        "is not used.\n", "the double and single blocks", "text",
        "\n- Motion is in pixels of a 512-px canvas per frame; 768×512, 8 frames. More frames: raise the batch size; "
        "chunk_size bounds the memory."), (330, 420))


def text2video_zero_zimage(info):
    one_chain(info, "text2video_zero_zimage", ZIMAGE, T2VZ, {"cfg": 1.0, "steps": 8, "t0": 4, "t1": 6}, dit_t2vz_note(
        "**Text2Video-Zero on Z-Image Turbo.**\n\n"
        "- *cfg 1*, 8 steps: Z-Image Turbo is distilled for few steps without guidance, so the negative prompt is not "
        "used; *ModelSamplingAuraFlow* shift 3 as in Z-Image's own workflow.\n", "each transformer layer", "caption"),
              (330, 380))


def text2video_zero_qwen(info):
    one_chain(info, "text2video_zero_qwen", QWEN, T2VZ, {"cfg": 2.5, "steps": 20, "t0": 16, "t1": 18}, dit_t2vz_note(
        "**Text2Video-Zero on Qwen-Image** (needs ComfyUI 0.33 or later: its attention takes attention patches).\n\n"
        "- *cfg 2.5*, 20 steps, *ModelSamplingAuraFlow* shift 3.1, as in Qwen-Image's own workflow; cfg above 1 runs "
        "the negative prompt too.\n", "each transformer block", "text",
        "\n- The Wan VAE decodes each frame as an image."), (330, 400))


def long_video_flux(info):
    one_chain(info, "long_video_flux", FLUX, ROLLOUT, {"steps": 20, "cfg": 1.0, "frames": 32, "window": 12},
              "**Long video on Flux.1-dev** (needs ComfyUI 0.33 or later). Frame 1 is made by the model "
              "alone; then windows of 12 frames each hold the 2 latest frames as context (noised to every step's "
              "level) and generate 10 new ones, with context guidance s = 1.5. *cfg 1*: Flux.1-dev is "
              "guidance-distilled (FluxGuidance sets its guidance), so text guidance costs no extra pass. Cross-frame "
              "attention anchors every window on frame 1, which the sampler adds to each window. One window is in "
              "the model at a time: raise `frames` freely, lower `window` if memory is short.", (330, 330))


def wan_video_model(g, prompt):
    """Wan 2.1 as the second (T2V) model, in the column at x = 380, with its own prompts."""
    return dit_loaders(g, WAN, prompt, WAN_NEGATIVE, x=380, titles=("Video prompt", "Video negative prompt"),
                       group="T2V: Wan 2.1 and its prompts", color=DECODE, name_vae=True)


def videoelevator_wan(info):
    g = Graph(info, "videoelevator_wan")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT, negative="blurry, low quality, watermark, text")
    ckpt["title"] = "Load Checkpoint (T2I: your SD1.5 style model)"
    video, wan_vae, vpos, vneg = wan_video_model(g, PROMPT)
    lat = g.node("EmptyLatentImage", (760, 740), {**WAN.size, "batch_size": 17},
                 title="Video size (batch size = frames: 4n+1)")
    smp = elevator(g, 760, ckpt, pos, neg, video, vpos, vneg, (lat, "LATENT"),
                   {"video_cfg": 6.0, "video_steps": 8, "d_t": 0.4}, (340, 680), image_vae=ckpt, video_vae=wan_vae)
    g.group("VideoElevator: SD1.5 + Wan 2.1", [lat, smp], color=PATCH)
    decode_and_save(g, 1140, ckpt, (smp, "LATENT"), 16.0, "video/videoelevator_wan")
    g.note((1140, 700), "**VideoElevator with Wan 2.1 as the video model.** Every step is an SD1.5 DDIM step (your "
           "checkpoint and LoRAs give the look, with cross-frame attention); at the refining steps (ZeroScope preset: "
           "N−i = 45, 35, 25, 15) the SD1.5 estimate is decoded with its VAE, encoded as one video by the Wan VAE, "
           "re-noised on Wan's own flow schedule (shift 8), denoised 8 steps by Wan 2.1, decoded, encoded back frame "
           "by frame by the SD VAE and DDIM-inverted by SD1.5.\n\n"
           "- Frames must be 4n+1 (17 here, 16 fps), sizes multiples of 16 (832×480, Wan's own).\n"
           "- Cost per refining: 2 VAE decodes + 2 encodes of all frames besides the model steps; ComfyUI loads each "
           "model when its phase runs, so the two need not fit together.\n"
           "- video_cfg 6 as in Wan's template; each model has its own prompts.", size=(360, 400))
    g.save()


def videoelevator_qwen_wan(info):
    g = Graph(info, "videoelevator_qwen_wan")
    image, vae, pos, neg = dit_loaders(g, QWEN, PROMPT, group="T2I: Qwen-Image and prompts", name_vae=True)
    video, wan_vae, vpos, vneg = wan_video_model(g, PROMPT)
    lat = g.node("EmptySD3LatentImage", (760, 740), {**WAN.size, "batch_size": 17},
                 title="Video size (batch size = frames: 4n+1)")
    smp = elevator(g, 760, image, pos, neg, video, vpos, vneg, (lat, "LATENT"),
                   {"steps": 20, "image_cfg": 2.5, "video_cfg": 6.0, "video_steps": 4}, (340, 680),
                   image_vae=vae, video_vae=wan_vae)
    g.group("VideoElevator: Qwen + Wan", [lat, smp], color=PATCH)
    decode_and_save(g, 1140, vae, (smp, "LATENT"), 16.0, "video/videoelevator_qwen_wan")
    g.note((1140, 700), "**VideoElevator: Qwen-Image with Wan 2.1** (one latent space, Wan 2.1's; cross-frame "
           "attention on Qwen-Image needs ComfyUI 0.33 or later). Qwen-Image makes each frame (20 steps, cfg 2.5), "
           "Wan 2.1 refines the motion 4 steps at N−i = 18, 14, 10, 6.\n\n"
           "- One latent space, two layouts: Qwen-Image keeps one latent per frame, Wan compresses 4 frames into one. "
           "Frame 0 crosses directly (a causal Wan latent's frame 0 is frame 0's image latent); the other frames "
           "still go through pixels: Qwen VAE decode → Wan VAE encode as a video → Wan → decode → encode frame by "
           "frame.\n"
           "- The Wan VAE is connected as video_vae (Qwen's VAE shares its encoder, and could serve alone).\n"
           "- Frames 4n+1 (17), size multiples of 16.", size=(360, 420))
    g.save()


def conds(pos, neg):
    return (pos, "CONDITIONING"), (neg, "CONDITIONING")


def extend_video(info, name, loaded, latent, fps, note, overlap=2, steps=20, cfg=5.0, note_size=(330, 400)):
    """Clip 0 by the Reuse-Diffuse Sampler, two Extenders continuing it in latent space, LatentConcat (t), one decode:
    the VidRD chain on a native video model. loaded = (graph, (model, vae, positive, negative)), each a (node, output
    name) pair but the VAE (a node with a VAE output); latent: its empty latent node."""
    g, (model, vae, pos, neg) = loaded
    args = {"model": model, "positive": pos, "negative": neg, "latent": (latent, "LATENT")}
    smp = g.node("VidLift_ReuseDiffuseSampler", (740, 0), {"seed": 42, "steps": steps, "cfg": cfg}, args,
                 title="Clip 0")
    exts, joins, last, video = [], [], (smp, "last_clip"), (smp, "LATENT")
    for k in (1, 2):
        ext = g.node("VidLift_ReuseDiffuseExtender", (740 + 360 * k, 0),
                     {"seed": 42, "steps": steps, "cfg": cfg, "clips": 1, "overlap": overlap, "noise_recycle": 1.0,
                      "keep_overlap": False}, {**args, "previous": last}, title=f"Extension {k}")
        join = g.node("LatentConcat", (1820, 130 * (k - 1)), {"dim": "t"},
                      {"samples1": video, "samples2": (ext, "LATENT")}, title=f"Clip 0 + extensions 1–{k}")
        exts.append(ext)
        joins.append(join)
        last, video = (ext, "last_clip"), (join, "LATENT")
    g.group("Reuse and Diffuse: extend in latent space", [latent, smp, *exts], color=PATCH)
    g.group("Join along time (dim t)", joins, color=DECODE)
    decode_and_save(g, 2180, vae, video, fps, "video/" + name)
    g.note((380, 560), note, size=note_size)
    g.save()


CLIP_33 = "One clip: 33 frames (4n + 1) = 9 latent frames"


def extend_family(info, name, fam, negative, latent_kind, fps, note, cfg=5.0, latent_needs_vae=False):
    """extend_video on a DiT video family's own loaders, with a 33-frame clip of its empty video latent."""
    g = Graph(info, name)
    shift, vae, pos, neg = dit_loaders(g, fam, PROMPT, negative)
    lat = g.node(latent_kind, (380, 360), {**fam.size, "length": 33, "batch_size": 1},
                 {"vae": (vae, "VAE")} if latent_needs_vae else None, title=CLIP_33)
    extend_video(info, name, (g, ((shift, "MODEL"), vae, *conds(pos, neg))), lat, fps, note, cfg=cfg)


def extend_wan(info):
    extend_family(info, "extend_wan", WAN, "static, blurry, watermark", "EmptyHunyuanLatentVideo", 16.0,
                  ("**Extend a Wan 2.1 clip in latent space** (VidRD on a native video model). Each Extender "
                  "continues the clip on `previous` without leaving latent space, so no colour drift from VAE round "
                  "trips: its first latent frame is the one-pixel-frame slot of Wan's causal VAE (filled from the "
                  "previous clip, then dropped), the next 2 hold the previous clip's last 2 latent frames (8 pixel "
                  "frames) as context, and 6 new latent frames (24 pixel frames) follow. Context is held by ComfyUI's "
                  "inpaint mask: Wan 2.1 sees it re-noised to each step's level; Wan 2.2 5B and LTX see it clean at "
                  "t = 0 (per-frame timesteps). *LatentConcat* (t) joins the new frames, and the whole video (33 + 24 + "
                  "24 = 81 frames) decodes at once."))


def extend_wan22(info):
    extend_family(info, "extend_wan22", WAN22, "static, blurry, watermark", "Wan22ImageToVideoLatent", 24.0,
                  "**Extend a Wan 2.2 TI2V 5B clip in latent space** (VidRD). The empty latent comes from Wan 2.2's "
                  "own *Wan22ImageToVideoLatent* (connect a start image there for image-to-video; the clip keeps "
                  "it). Each Extender holds the previous clip's last 2 latent frames as context, which Wan 2.2 5B "
                  "sees clean at t = 0 (its per-frame timesteps), and adds 6 new latent frames (24 pixel frames). "
                  "33 + 24 + 24 = 81 frames at 24 fps; sizes multiples of 32 (1280×704 is Wan 2.2's own).",
                  latent_needs_vae=True)


def extend_ltxv(info):
    g = Graph(info, "extend_ltxv")
    ckpt = g.node("CheckpointLoaderSimple", (0, 0), {"ckpt_name": LTXV_CKPT}, title="Load Checkpoint (LTX-Video)")
    clip = g.node("CLIPLoader", (0, 130), {"clip_name": "t5xxl_fp16.safetensors", "type": "ltxv"})
    pos = g.node("CLIPTextEncode", (0, 280), {"text": PROMPT}, {"clip": (clip, "CLIP")}, title="Prompt",
                 size=(320, 150))
    neg = g.node("CLIPTextEncode", (0, 470), {"text": LTXV_NEGATIVE}, {"clip": (clip, "CLIP")},
                 title="Negative prompt", size=(320, 120))
    rate = g.node("LTXVConditioning", (0, 630), {"frame_rate": 25.0}, cond(pos, neg))
    g.group("LTX-Video and prompts", [ckpt, clip, pos, neg, rate])
    lat = g.node("EmptyLTXVLatentVideo", (380, 360), {"width": 768, "height": 512, "length": 49, "batch_size": 1},
                 title="One clip: 49 frames (8n + 1) = 7 latent frames")
    extend_video(info, "extend_ltxv", (g, ((ckpt, "MODEL"), ckpt, (rate, "positive"), (rate, "negative"))), lat, 25.0,
                 "**Extend an LTX-Video clip in latent space** (VidRD). LTX's causal VAE puts 8 pixel frames in each "
                 "latent frame after the first, so lengths are 8n + 1. Each Extender holds the previous clip's last 2 "
                 "latent frames (16 pixel frames) as context, which LTX sees clean at t = 0 (per-token timesteps "
                 "from the inpaint mask), and adds 4 new latent frames (32 pixel frames): 49 + 32 + 32 = 113 frames "
                 "at 25 fps. *LTXVConditioning* sets the frame rate on both prompts, as LTX's own template.",
                 cfg=3.0)


def extend_hunyuan15(info):
    extend_family(info, "extend_hunyuan15", HUNYUAN15, "low quality, blurry, watermark", "EmptyHunyuanVideo15Latent",
                  24.0, "**Extend a HunyuanVideo 1.5 clip in latent space** (VidRD). Each Extender holds the previous "
                  "clip's last 2 latent frames as context: HunyuanVideo 1.5 sees their clean latent at each step's "
                  "one t, with its concat mask channel set on them; 6 new latent frames (24 pixel frames) follow. "
                  "33 + 24 + 24 = 81 frames at 24 fps; sizes multiples of 16.", cfg=6.0)


def text2video_zero_krea2(info):
    one_chain(info, "text2video_zero_krea2", KREA2, T2VZ, {"steps": 8, "cfg": 1.0, "t0": 4, "t1": 5},
              dit_t2vz_note("**Text2Video-Zero on Krea 2 Turbo** (needs a ComfyUI with Krea 2 and its attention "
                            "patches: 0.33 or later).\n\n- *cfg 1*, 8 steps: Krea 2 Turbo is distilled for few steps "
                            "without guidance, so the negative prompt is not used.\n", "each single-stream block",
                            "text"),
              (330, 330))


if __name__ == "__main__":
    from comfy_server import ComfyServer
    with ComfyServer(port=8197) as server:
        object_info = server.get("/object_info")
    for build in (text2video_zero, text2video_zero_advanced, temporal_vae_decode, extend_clip, latent_shift,
                  latent_shift_train, videoelevator, long_video, keyframe_interpolation, showcase,
                  text2video_zero_flux, text2video_zero_zimage, text2video_zero_qwen, long_video_flux, extend_wan,
                  videoelevator_wan, videoelevator_qwen_wan, extend_wan22, extend_ltxv, extend_hunyuan15,
                  text2video_zero_krea2):
        build(object_info)
    print("wrote", sorted(os.listdir(os.path.join(ROOT, "workflows"))))
