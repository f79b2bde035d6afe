"""The DiT families' and the video partners' workflows for scripts/make_workflows.py (Flux, Z-Image, Qwen-Image,
Krea 2; Wan, Wan 2.2, LTX-Video, HunyuanVideo 1.5): each family's loaders from the Family table in
workflow_builders.py, VidLift's nodes, decode and save, and a note.
"""
from __future__ import annotations

from workflow_builders import (DECODE, FLUX, HUNYUAN15, KREA2, LTXV_CKPT, PATCH, PROMPT, QWEN, WAN, WAN22, ZIMAGE,
                               ROLLOUT, T2VZ, Graph, cond, decode_and_save, dit_loaders, elevator, loader_and_prompts,
                               one_chain)

LTXV_NEGATIVE = "low quality, worst quality, deformed, distorted, disfigured, motion smear, motion artifacts"
WAN_NEGATIVE = ("static, still, blurry, low quality, worst quality, jpeg artifacts, deformed, extra fingers, "
                "messy background, overexposed, subtitles, text, watermark")


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
