"""Regenerate workflows/*.json (the UI format the canvas saves) from compact descriptions.

Widget values are laid out in the order /object_info gives, so the files stay in step with the
nodes' schemas. Run: .venv/bin/python scripts/make_workflows.py  (starts ComfyUI briefly).
"""
from __future__ import annotations

import json
import os
import uuid

from comfy_env import ROOT
from workflow_api import has_control_widget, widget_inputs

CKPT = "v1-5-pruned-emaonly.safetensors"
FRONTEND = "1.32.9"


class Graph:
    def __init__(self, info: dict, name: str):
        self.info, self.name, self.nodes, self.links, self.groups = info, name, [], [], []

    def node(self, kind, pos, widgets=None, inputs=None, title=None, size=None):
        info = self.info[kind]
        widgets, values = widgets or {}, []
        for name, spec in widget_inputs(info):
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            choices = spec[0] if isinstance(spec[0], list) else opts.get("options", [])
            default = opts.get("default", choices[0] if choices else None)
            values.append(widgets.get(name, default))
            if has_control_widget(name, spec):
                values.append("fixed")
        names = info.get("output_name") or info["output"]
        n = {"id": len(self.nodes) + 1, "type": kind, "pos": list(pos), "flags": {}, "order": len(self.nodes),
             "mode": 0, "inputs": [], "outputs": [{"name": nm, "type": t, "links": [], "slot_index": i}
                                                  for i, (nm, t) in enumerate(zip(names, info["output"]))],
             "properties": {"Node name for S&R": kind}, "widgets_values": values}
        if title:
            n["title"] = title
        sockets = [(nm, sp[0]) for sec in ("required", "optional") for nm, sp in (info["input"].get(sec) or {}).items()
                   if not (isinstance(sp[0], list) or sp[0] in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"))]
        for slot, (nm, t) in enumerate(sockets):
            n["inputs"].append({"name": nm, "type": t, "link": None})
        n["size"] = list(size or [320, 46 + 24 * (max(len(sockets), len(n["outputs"])) + len(values))])
        self.nodes.append(n)
        for nm, (src, out_name) in (inputs or {}).items():
            self.connect(src, out_name, n, nm)
        return n

    def connect(self, src, out_name, dst, in_name):
        slot = next(i for i, o in enumerate(src["outputs"]) if o["name"] == out_name)
        dslot = next(i for i, d in enumerate(dst["inputs"]) if d["name"] == in_name)
        link_id = len(self.links) + 1
        t = src["outputs"][slot]["type"]
        self.links.append([link_id, src["id"], slot, dst["id"], dslot, t])
        src["outputs"][slot]["links"].append(link_id)
        dst["inputs"][dslot]["link"] = link_id

    def note(self, pos, text, size=(360, 200)):
        n = {"id": len(self.nodes) + 1, "type": "MarkdownNote", "pos": list(pos), "size": list(size), "flags": {},
             "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [], "properties": {},
             "widgets_values": [text], "color": "#432", "bgcolor": "#653"}
        self.nodes.append(n)

    def group(self, title, nodes, color="#3f789e"):
        xs = [n["pos"][0] for n in nodes] + [n["pos"][0] + n["size"][0] for n in nodes]
        ys = [n["pos"][1] for n in nodes] + [n["pos"][1] + n["size"][1] for n in nodes]
        self.groups.append({"id": len(self.groups) + 1, "title": title, "color": color, "font_size": 24, "flags": {},
                            "bounding": [min(xs) - 20, min(ys) - 60, max(xs) - min(xs) + 40, max(ys) - min(ys) + 80]})

    def save(self):
        wf = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "vidlift/" + self.name)), "revision": 0,
              "last_node_id": len(self.nodes), "last_link_id": len(self.links), "nodes": self.nodes,
              "links": self.links, "groups": self.groups, "config": {},
              "extra": {"ds": {"scale": 0.75, "offset": [40, 80]}, "frontendVersion": FRONTEND}, "version": 0.4}
        with open(os.path.join(ROOT, "workflows", self.name + ".json"), "w") as f:
            json.dump(wf, f, indent=1, ensure_ascii=False)
            f.write("\n")


def loader_and_prompts(g, prompt, negative=""):
    ckpt = g.node("CheckpointLoaderSimple", (0, 0), {"ckpt_name": CKPT}, title="Load Checkpoint (SD1.5)")
    pos = g.node("CLIPTextEncode", (0, 200), {"text": prompt}, {"clip": (ckpt, "CLIP")}, title="Prompt", size=(320, 150))
    neg = g.node("CLIPTextEncode", (0, 390), {"text": negative}, {"clip": (ckpt, "CLIP")}, title="Negative prompt",
                 size=(320, 120))
    g.group("Model and prompts", [ckpt, pos, neg])
    return ckpt, pos, neg


def decode_and_save(g, x, model_src, latent, fps, prefix):
    dec = g.node("VAEDecode", (x, 0), inputs={"samples": latent, "vae": (model_src, "VAE")})
    vid = g.node("CreateVideo", (x, 130), {"fps": fps}, {"images": (dec, "IMAGE")})
    save = g.node("SaveVideo", (x, 290), {"filename_prefix": prefix}, {"video": (vid, "VIDEO")}, size=(320, 360))
    g.group("Decode and save", [dec, vid, save], color="#3f8e5e")


def text2video_zero_block(g, ckpt, pos, neg, frames, title, **sampler_widgets):
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    lat = g.node("EmptyLatentImage", (380, 290), {"width": 512, "height": 512, "batch_size": frames},
                 title="Video size (batch size = frames)")
    smp = g.node("VidLift_Text2VideoZeroSampler", (740, 0), {"seed": 42, **sampler_widgets}, {
        "model": (cfa, "MODEL"), "positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING"),
        "latent": (lat, "LATENT")})
    g.group(title, [cfa, lat, smp], color="#8e3f78")
    return smp


PROMPT = ("a horse galloping on a street, high quality, HD, 8K, trending on artstation, high focus, "
          "dramatic lighting")


def text2video_zero(info):
    g = Graph(info, "text2video_zero")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    smp = text2video_zero_block(g, ckpt, pos, neg, 8, "Text2Video-Zero")
    decode_and_save(g, 1100, ckpt, (smp, "LATENT"), 4.0, "video/text2video_zero")
    g.note((380, 480), "**Text2Video-Zero** (Khachatryan et al. 2023), training-free.\n\n"
           "- *Cross-Frame Attention Patcher*: every frame attends to frame 1, so appearance stays fixed.\n"
           "- *Sampler*: frame 1 is denoised alone to T′, warped by the motion (λ·δ, 512-px canvas units) "
           "for every other frame, re-noised to T, then all frames are denoised together.\n"
           "- Defaults are the reference's: 8 frames, 50 DDIM steps, motion 12/12, t0 44, t1 47, cfg 7.5.\n"
           "- More frames: raise the batch size; chunk_size keeps memory bounded.", size=(330, 330))
    g.save()


def text2video_zero_advanced(info):
    g = Graph(info, "text2video_zero_advanced")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cond = {"positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING")}
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    one = g.node("EmptyLatentImage", (380, 290), {"width": 512, "height": 512, "batch_size": 1}, title="First frame")
    common = {"steps": 50, "cfg": 7.5, "sampler_name": "ddim", "scheduler": "ddim_uniform", "noise_seed": 42}
    to_t = g.node("KSamplerAdvanced", (740, 0), {**common, "add_noise": "enable", "start_at_step": 0, "end_at_step": 2,
                                                  "return_with_leftover_noise": "enable"},
                  {"model": (ckpt, "MODEL"), **cond, "latent_image": (one, "LATENT")}, title="Frame 1 → T (step 2)")
    to_t0 = g.node("KSamplerAdvanced", (740, 520), {**common, "add_noise": "disable", "start_at_step": 2,
                                                     "end_at_step": 5, "return_with_leftover_noise": "enable"},
                   {"model": (ckpt, "MODEL"), **cond, "latent_image": (to_t, "LATENT")}, title="Frame 1 → T′ (step 5)")
    warp = g.node("VidLift_MotionLatentWarp", (1100, 0), {"seed": 42}, {
        "model": (ckpt, "MODEL"), "first_frame_at_T": (to_t, "LATENT"), "first_frame_at_T0": (to_t0, "LATENT")})
    joint = g.node("KSamplerAdvanced", (1460, 0), {**common, "add_noise": "disable", "start_at_step": 2,
                                                    "end_at_step": 50, "return_with_leftover_noise": "disable"},
                   {"model": (cfa, "MODEL"), **cond, "latent_image": (warp, "LATENT")}, title="All frames from T")
    g.group("Text2Video-Zero, step by step", [cfa, one, to_t, to_t0, warp, joint], color="#8e3f78")
    decode_and_save(g, 1820, ckpt, (joint, "LATENT"), 4.0, "video/text2video_zero_advanced")
    g.note((1100, 560), "**The three phases with stock samplers.** Use sampler *ddim* with scheduler *ddim_uniform* "
           "so step k is the reference's timestep. Frame 1 goes to T (step N−t1−1 = 2) and T′ (step N−t0−1 = 5); "
           "*Motion-Latent Warp* makes every other frame from T′ and re-noises it to T; the last sampler "
           "continues all frames from step 2 without adding noise, with cross-frame attention.", size=(330, 260))
    g.save()


def temporal_vae_decode(info):
    g = Graph(info, "temporal_vae_decode")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    smp = text2video_zero_block(g, ckpt, pos, neg, 16, "Generate 16 frames (Text2Video-Zero)", motion_x=8.0,
                                motion_y=0.0)
    svd = g.node("ImageOnlyCheckpointLoader", (1100, 0), {"ckpt_name": "svd_xt.safetensors"},
                 title="SVD checkpoint (for its temporal VAE decoder)")
    dec = g.node("VidLift_TemporalVAEDecode", (1100, 200), inputs={"samples": (smp, "LATENT"), "vae": (svd, "VAE")})
    g.group("Temporal VAE Decode", [svd, dec], color="#3f5e8e")
    vid = g.node("CreateVideo", (1460, 0), {"fps": 8.0}, {"images": (dec, "IMAGE")})
    save = g.node("SaveVideo", (1460, 160), {"filename_prefix": "video/temporal_vae_decode"}, {"video": (vid, "VIDEO")},
                  size=(320, 360))
    g.group("Save", [vid, save], color="#3f8e5e")
    g.note((1100, 470), "**Temporal VAE Decode.** Stable Video Diffusion's VAE decoder has temporal layers and reads "
           "SD1.x/2.x latents. Frames are decoded together in windows of 14 (what SVD was trained on) "
           "overlapping by 4 and cross-faded, so memory does not grow with the video length and window edges "
           "leave no seams. With an ordinary SD VAE the node decodes frame by frame, like VAE Decode.",
           size=(330, 250))
    g.save()


def extend_clip(info):
    g = Graph(info, "extend_clip")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT, negative="watermark")
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    lat = g.node("EmptyLatentImage", (380, 290), {"width": 512, "height": 512, "batch_size": 8},
                 title="One clip (batch size = frames per clip)")
    ext = g.node("VidLift_ReuseDiffuseExtender", (740, 0), {"seed": 42, "clips": 3}, {
        "model": (cfa, "MODEL"), "positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING"),
        "latent": (lat, "LATENT")})
    g.group("Reuse and Diffuse (VidRD)", [cfa, lat, ext], color="#8e3f78")
    decode_and_save(g, 1100, ckpt, (ext, "LATENT"), 8.0, "video/extend_clip")
    g.note((380, 480), "**Reuse and Diffuse** (VidRD). Three clips of 8 frames: each new clip reuses the previous "
           "clip's noise time-reversed for its first 4 frames (FNR), mixes it into the others (PNS, r = 4) and "
           "holds its overlap frames at the previous clip's latents during the first steps (DSG, g = 0.4). "
           "The reference keeps the overlap frames (24 frames here). Any model with frames in the batch works; "
           "cross-frame attention keeps the appearance.", size=(330, 300))
    g.save()


def long_video(info):
    g = Graph(info, "long_video")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    lat = g.node("EmptyLatentImage", (380, 290), {"width": 512, "height": 512, "batch_size": 1},
                 title="Video size (frames are set on the sampler)")
    smp = g.node("VidLift_ContextGuidedSampler", (740, 0), {"seed": 42, "steps": 20, "frames": 32, "window": 16}, {
        "model": (cfa, "MODEL"), "positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING"),
        "latent": (lat, "LATENT")})
    g.group("Video LDM rollout with context guidance", [cfa, lat, smp], color="#8e3f78")
    decode_and_save(g, 1100, ckpt, (smp, "LATENT"), 8.0, "video/long_video")
    g.note((380, 480), "**Context-Guided Sampler** (Video LDM rollout). Frame 1 is made by the image model alone; "
           "then windows of 16 frames each hold the 2 latest frames as context (noised to every step's level) "
           "and generate 14 new ones, with context guidance s = 1.5 on top of cfg. Cross-frame attention "
           "anchors every window on frame 1, which the sampler adds to each window. Raise `frames` as far as "
           "you like: one window is in the model at a time.", size=(330, 300))
    g.save()


def keyframe_interpolation(info):
    g = Graph(info, "keyframe_interpolation")
    ckpt, pos, neg = loader_and_prompts(g, PROMPT)
    cond = {"positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING")}
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), inputs={"model": (ckpt, "MODEL")})
    lat = g.node("EmptyLatentImage", (380, 290), {"width": 512, "height": 512, "batch_size": 3},
                 title="Keyframes (batch size = keyframes)")
    keys = g.node("VidLift_Text2VideoZeroSampler", (740, 0), {"seed": 42, "motion_x": 24.0, "motion_y": 0.0},
                  {"model": (cfa, "MODEL"), **cond, "latent": (lat, "LATENT")}, title="Keyframes (Text2Video-Zero)")
    itp = g.node("VidLift_ContextGuidedInterpolation", (1100, 0), {"seed": 42, "steps": 20, "passes": 2}, {
        "model": (cfa, "MODEL"), **cond, "keyframes": (keys, "LATENT")})
    g.group("Keyframes, then Video LDM interpolation ×16", [cfa, lat, keys, itp], color="#8e3f78")
    decode_and_save(g, 1460, ckpt, (itp, "LATENT"), 8.0, "video/keyframe_interpolation")
    g.note((1100, 330), "**Context-Guided Interpolation** (Video LDM). Three new frames between each pair of "
           "keyframes, the keyframes held as context: 3 keyframes → 9 frames; passes = 2 interpolates again "
           "→ 33 frames (16(n−1)+1). Keyframes can come from any sampler (here Text2Video-Zero, whose frames "
           "share the first frame's appearance); windows of 9 frames keep memory bounded.", size=(330, 250))
    g.save()


if __name__ == "__main__":
    from comfy_server import ComfyServer
    with ComfyServer(port=8197) as server:
        object_info = server.get("/object_info")
    for build in (text2video_zero, text2video_zero_advanced, temporal_vae_decode, extend_clip, long_video,
                  keyframe_interpolation):
        build(object_info)
    print("wrote", sorted(os.listdir(os.path.join(ROOT, "workflows"))))
