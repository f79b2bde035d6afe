"""Building blocks for scripts/make_workflows.py: a UI-format graph, the model families' loader chains and the
pieces every workflow shares (patch + latent + sampler, decode, save).

Positions are canvas pixels; nodes get their ids, and links theirs, in the order they are made.
"""
from __future__ import annotations

import json
import os
import uuid
from typing import NamedTuple

from comfy_env import ROOT
from workflow_api import WIDGET_TYPES, has_control_widget, widget_inputs

CKPT = "v1-5-pruned-emaonly.safetensors"
FRONTEND = "1.32.9"
PROMPT = ("a horse galloping on a street, high quality, HD, 8K, trending on artstation, high focus, "
          "dramatic lighting")
PATCH, SAVE, DECODE = "#8e3f78", "#3f8e5e", "#3f5e8e"  # group colours: the method, saving, decoding / 2nd model


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
                   if not (isinstance(sp[0], list) or sp[0] in WIDGET_TYPES)]
        n["inputs"] = [{"name": nm, "type": t, "link": None} for nm, t in sockets]
        n["size"] = list(size or [320, 46 + 24 * (max(len(sockets), len(n["outputs"])) + len(values))])
        self.nodes.append(n)
        for nm, (src, out_name) in (inputs or {}).items():
            self.connect(src, out_name, n, nm)
        return n

    def connect(self, src, out_name, dst, in_name):
        slot = next(i for i, o in enumerate(src["outputs"]) if o["name"] == out_name)
        dslot = next(i for i, d in enumerate(dst["inputs"]) if d["name"] == in_name)
        link_id = len(self.links) + 1
        self.links.append([link_id, src["id"], slot, dst["id"], dslot, src["outputs"][slot]["type"]])
        src["outputs"][slot]["links"].append(link_id)
        dst["inputs"][dslot]["link"] = link_id

    def note(self, pos, text, size=(360, 200)):
        self.nodes.append({"id": len(self.nodes) + 1, "type": "MarkdownNote", "pos": list(pos), "size": list(size),
                           "flags": {}, "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [],
                           "properties": {}, "widgets_values": [text], "color": "#432", "bgcolor": "#653"})

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


def cond(pos, neg):
    return {"positive": (pos, "CONDITIONING"), "negative": (neg, "CONDITIONING")}


class Family(NamedTuple):
    """What differs between the image/video models, as their own ComfyUI templates load them."""
    label: str                   # loader group and VAE title: "Flux.1-dev and prompt", "Load VAE (Wan 2.1)"
    unet: str = ""               # diffusion model file; "" = an SD1.5 checkpoint (CKPT) holding model, CLIP, VAE
    clip: dict = {}              # CLIPLoader widgets, or DualCLIPLoader's (clip_name1, clip_name2, type)
    vae: str = ""
    shift: tuple = ()            # (ModelSampling node, shift) on the diffusion model
    guidance: float = 0.0        # FluxGuidance on the prompt (guidance-distilled models)
    negative: bool = True        # False: the negative is the prompt zeroed out (cfg 1 never uses it)
    model_name: str = ""         # the diffusion model loader's title, when not label
    latent: str = "EmptySD3LatentImage"
    size: dict = {"width": 768, "height": 512}
    latent_y: int = 360          # below the patch node (a DiT's has the dit_blocks widget)
    note_y: int = 560            # a one-chain workflow's note, below the latent
    patch: dict = {"dit_blocks": "double+single"}  # Cross-Frame Attention widgets


SD15 = Family("SD1.5", latent="EmptyLatentImage", size={"width": 512, "height": 512}, latent_y=290, note_y=480,
              patch={})
FLUX = Family("Flux.1-dev", "flux1-dev.safetensors", {"clip_name1": "clip_l.safetensors",
              "clip_name2": "t5xxl_fp16.safetensors", "type": "flux"}, "ae.safetensors", guidance=3.5, negative=False)
ZIMAGE = Family("Z-Image Turbo", "z_image_turbo_bf16.safetensors", {"clip_name": "qwen_3_4b.safetensors",
                "type": "lumina2"}, "ae.safetensors", ("ModelSamplingAuraFlow", 3.0), negative=False)
QWEN = Family("Qwen-Image", "qwen_image_fp8_e4m3fn.safetensors", {"clip_name": "qwen_2.5_vl_7b_fp8_scaled.safetensors",
              "type": "qwen_image"}, "qwen_image_vae.safetensors", ("ModelSamplingAuraFlow", 3.1))
WAN = Family("Wan 2.1", "wan2.1_t2v_1.3B_fp16.safetensors", {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
             "type": "wan"}, "wan_2.1_vae.safetensors", ("ModelSamplingSD3", 8.0), model_name="Wan 2.1 T2V 1.3B",
             size={"width": 832, "height": 480})
WAN22 = Family("Wan 2.2 TI2V 5B", "wan2.2_ti2v_5B_fp16.safetensors", {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
               "type": "wan"}, "wan2.2_vae.safetensors", ("ModelSamplingSD3", 8.0), size={"width": 1280, "height": 704})
HUNYUAN15 = Family("HunyuanVideo 1.5", "hunyuanvideo1.5_720p_t2v_fp16.safetensors",
                   {"clip_name1": "qwen_2.5_vl_7b_fp8_scaled.safetensors",
                    "clip_name2": "byt5_small_glyphxl_fp16.safetensors", "type": "hunyuan_video_15"},
                   "hunyuanvideo15_vae_fp16.safetensors", ("ModelSamplingSD3", 7.0), size={"width": 1280, "height": 720})
KREA2 = Family("Krea 2 Turbo", "krea2_turbo_fp8_scaled.safetensors", {"clip_name": "qwen3vl_4b_fp8_scaled.safetensors",
               "type": "krea2"}, "qwen_image_vae.safetensors", negative=False, size={"width": 1024, "height": 1024})
LTXV_CKPT = "ltx-video-2b-v0.9.5.safetensors"
ROW = {"UNETLoader": 130, "ModelSamplingAuraFlow": 110, "ModelSamplingSD3": 110, "CLIPLoader": 150,
       "DualCLIPLoader": 180, "VAELoader": 110, "CLIPTextEncode": 190, "FluxGuidance": 120}  # loader column rows


def loader_and_prompts(g, prompt, negative=""):
    ckpt = g.node("CheckpointLoaderSimple", (0, 0), {"ckpt_name": CKPT}, title="Load Checkpoint (SD1.5)")
    pos = g.node("CLIPTextEncode", (0, 200), {"text": prompt}, {"clip": (ckpt, "CLIP")}, title="Prompt",
                 size=(320, 150))
    neg = g.node("CLIPTextEncode", (0, 390), {"text": negative}, {"clip": (ckpt, "CLIP")}, title="Negative prompt",
                 size=(320, 120))
    g.group("Model and prompts", [ckpt, pos, neg])
    return ckpt, pos, neg


def dit_loaders(g, fam, prompt, negative="", x=0, titles=("Prompt", "Negative prompt"), group=None, color="#3f789e",
                name_vae=False):
    """One column at x: diffusion model (+ ModelSampling shift), text encoder, VAE, prompt (+ FluxGuidance) and
    negative. Returns the nodes giving MODEL, VAE, positive and negative."""
    column, y = [], 0

    def add(kind, widgets=None, inputs=None, **kw):
        nonlocal y
        column.append(g.node(kind, (x, y), widgets, inputs, **kw))
        y += ROW.get(kind, 0)
        return column[-1]

    model = add("UNETLoader", {"unet_name": fam.unet}, title=f"Load Diffusion Model ({fam.model_name or fam.label})")
    if fam.shift:
        model = add(fam.shift[0], {"shift": fam.shift[1]}, {"model": (model, "MODEL")})
    clip = add("DualCLIPLoader" if "clip_name2" in fam.clip else "CLIPLoader", fam.clip)
    vae = add("VAELoader", {"vae_name": fam.vae}, title=f"Load VAE ({fam.label})" if name_vae else None)
    text = pos = add("CLIPTextEncode", {"text": prompt}, {"clip": (clip, "CLIP")}, title=titles[0], size=(320, 150))
    if fam.guidance:
        pos = add("FluxGuidance", {"guidance": fam.guidance}, {"conditioning": (text, "CONDITIONING")})
    if fam.negative:
        neg = add("CLIPTextEncode", {"text": negative}, {"clip": (clip, "CLIP")}, title=titles[1], size=(320, 120))
    else:
        neg = add("ConditioningZeroOut", inputs={"conditioning": (text, "CONDITIONING")},
                  title="Negative (unused at cfg 1)")
    g.group(group or f"{fam.label} and prompt{'s' if fam.negative else ''}", column, color)
    return model, vae, pos, neg


def load(g, fam, prompt, negative=""):
    """(model, vae, positive, negative) of any family; an SD1.5 checkpoint is both model and VAE."""
    if not fam.unet:
        ckpt, pos, neg = loader_and_prompts(g, prompt, negative)
        return ckpt, ckpt, pos, neg
    return dit_loaders(g, fam, prompt, negative)


def patch_and_latent(g, fam, model, frames, title="Video size (batch size = frames)"):
    cfa = g.node("VidLift_CrossFrameAttention", (380, 0), fam.patch, {"model": model})
    lat = g.node(fam.latent, (380, fam.latent_y), {**fam.size, "batch_size": frames}, title=title)
    return cfa, lat


def patched_sampler(g, fam, model, pos, neg, sampler, batch, group, latent_title=None, **widgets):
    """Cross-Frame Attention on the model, an empty latent of `batch` frames, a VidLift sampler on both, grouped."""
    cfa, lat = patch_and_latent(g, fam, model, batch, *([latent_title] if latent_title else []))
    smp = g.node(sampler, (740, 0), {"seed": 42, **widgets},
                 {"model": (cfa, "MODEL"), **cond(pos, neg), "latent": (lat, "LATENT")})
    g.group(group, [cfa, lat, smp], color=PATCH)
    return smp


def save_video(g, x, y, images, fps, prefix):
    vid = g.node("CreateVideo", (x, y), {"fps": fps}, {"images": images})
    save = g.node("SaveVideo", (x, y + 160), {"filename_prefix": prefix}, {"video": (vid, "VIDEO")}, size=(320, 360))
    return [vid, save]


def elevator(g, x, image, ipos, ineg, video, vpos, vneg, latent, widgets, size, **vaes):
    """VideoElevator's Alternating KSampler: image (T2I) and video (T2V) models, each with its prompts."""
    inputs = {"image_model": (image, "MODEL"), "image_positive": (ipos, "CONDITIONING"),
              "image_negative": (ineg, "CONDITIONING"), "video_model": (video, "MODEL"),
              "video_positive": (vpos, "CONDITIONING"), "video_negative": (vneg, "CONDITIONING"), "latent": latent,
              **{name: (vae, "VAE") for name, vae in vaes.items()}}
    return g.node("VidLift_AlternatingKSampler", (x, 0), {"seed": 42, **widgets}, inputs, size=size)


def decode_and_save(g, x, vae, latent, fps, prefix):
    dec = g.node("VAEDecode", (x, 0), inputs={"samples": latent, "vae": (vae, "VAE")})
    g.group("Decode and save", [dec, *save_video(g, x, 130, (dec, "IMAGE"), fps, prefix)], color=SAVE)


def temporal_decode_and_save(g, svd_pos, dec_pos, x, latent, prefix, group, before=()):
    """SVD's temporal VAE decoder on `latent` (grouped with the `before` nodes), then an 8 fps video."""
    svd = g.node("ImageOnlyCheckpointLoader", svd_pos, {"ckpt_name": "svd_xt.safetensors"},
                 title="SVD checkpoint (for its temporal VAE decoder)")
    dec = g.node("VidLift_TemporalVAEDecode", dec_pos, inputs={"samples": latent, "vae": (svd, "VAE")})
    g.group(group, [*before, svd, dec], color=DECODE)
    g.group("Save", save_video(g, x, 0, (dec, "IMAGE"), 8.0, prefix), color=SAVE)


def one_chain(info, name, fam, method, widgets, note, note_size):
    """The simplest workflow: load, patch + sample by method = (sampler, frames, group, fps), decode, save
    video/<name>, a note under the latent. frames 1: the sampler's own `frames` widget sets the length."""
    sampler, batch, group, fps = method
    g = Graph(info, name)
    model, vae, pos, neg = load(g, fam, PROMPT)
    latent_title = None if batch > 1 else "Video size (frames are set on the sampler)"
    smp = patched_sampler(g, fam, (model, "MODEL"), pos, neg, sampler, batch, group, latent_title, **widgets)
    decode_and_save(g, 1100, vae, (smp, "LATENT"), fps, "video/" + name)
    g.note((380, fam.note_y), note, size=note_size)
    g.save()


T2VZ = ("VidLift_Text2VideoZeroSampler", 8, "Text2Video-Zero", 4.0)                # sampler, frames, group, fps
ROLLOUT = ("VidLift_ContextGuidedSampler", 1, "Video LDM rollout with context guidance", 8.0)
