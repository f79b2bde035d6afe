"""Test-only ComfyUI nodes (loaded by the server tests, never shipped as pack nodes)."""
import torch
from comfy_api.latest import ComfyExtension, io

from . import tiny, tiny_dit

_CACHE = {}


class TinyCheckpointLoader(io.ComfyNode):
    """Stands in for CheckpointLoaderSimple: same input name, same outputs, tiny random weights."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyCheckpointLoader", display_name="Tiny Checkpoint (tests)",
                         category="VidLiftTest", description="Tiny random-weight SD1.x-architecture model (LTX-Video for an "
                                                             "ltx file name).",
                         inputs=[io.String.Input("ckpt_name", default="tiny", tooltip="ignored")],
                         outputs=[io.Model.Output(), io.Clip.Output(), io.Vae.Output()])

    @classmethod
    def execute(cls, ckpt_name):
        if "ltx" in ckpt_name.lower():         # LTX-Video ships as a checkpoint: its DiT and its video VAE
            if "ltxv" not in _CACHE:
                _CACHE.update(ltxv=tiny_dit.ltxv(), ltxv_vae=tiny.ltxv_vae_model())
            return io.NodeOutput(_CACHE["ltxv"], TinyCLIPLoader.execute(type="ltxv").args[0], _CACHE["ltxv_vae"])
        if "model" not in _CACHE:
            _CACHE.update(model=tiny.unet_model(), clip=tiny.clip_model(), vae=tiny.vae_model())
        return io.NodeOutput(_CACHE["model"], _CACHE["clip"], _CACHE["vae"])


class TinyDiTLoader(io.ComfyNode):
    """A tiny random Flux DiT: a MODEL that is not an SD U-Net."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyDiTLoader", display_name="Tiny DiT (tests)", category="VidLiftTest",
                         description="Tiny random-weight Flux DiT.", inputs=[], outputs=[io.Model.Output()])

    @classmethod
    def execute(cls):
        if "dit" not in _CACHE:
            _CACHE["dit"] = tiny.dit_model()
        return io.NodeOutput(_CACHE["dit"])


class TinyUnsupportedLoader(io.ComfyNode):
    """A tiny random SD3 MMDiT: a MODEL of a family VidLift does not serve."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyUnsupportedLoader", display_name="Tiny SD3 (tests)",
                         category="VidLiftTest", description="Tiny random-weight SD3 MMDiT.", inputs=[],
                         outputs=[io.Model.Output()])

    @classmethod
    def execute(cls):
        if "sd3" not in _CACHE:
            _CACHE["sd3"] = tiny.unsupported_model()
        return io.NodeOutput(_CACHE["sd3"])


class TinySVDLoader(io.ComfyNode):
    """Stands in for ImageOnlyCheckpointLoader: only its VAE (a tiny SVD VideoDecoder) is real."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinySVDLoader", display_name="Tiny SVD VAE (tests)",
                         category="VidLiftTest", description="Tiny random-weight SVD temporal VAE decoder.",
                         inputs=[io.String.Input("ckpt_name", default="tiny", tooltip="ignored")],
                         outputs=[io.Model.Output(), io.ClipVision.Output(), io.Vae.Output()])

    @classmethod
    def execute(cls, ckpt_name):
        if "svd_vae" not in _CACHE:
            _CACHE["svd_vae"] = tiny.temporal_vae_model()
        return io.NodeOutput(None, None, _CACHE["svd_vae"])


# UNETLoader's file name -> the tiny DiT of that family (every tiny DiT reads the tiny CLIP's 32-wide conditioning)
TINY_DIFFUSION_MODELS = {"flux": lambda: tiny_dit.flux(guidance_embed=True),   # Flux.1-dev: guidance-distilled
                         "z_image": tiny_dit.zimage, "qwen_image": tiny_dit.qwen_image, "wan2.1": tiny_dit.wan21,
                         "wan2.2_ti2v": tiny_dit.wan22, "hunyuanvideo1.5": tiny_dit.hunyuan_video15,
                         "krea2": tiny_dit.krea2}


def tiny_family(name):
    family = next((k for k in TINY_DIFFUSION_MODELS if k in name.lower()), None)
    if family is None:
        raise ValueError(f"no tiny test model for {name!r} (known: {', '.join(TINY_DIFFUSION_MODELS)})")
    return family


class TinyUNETLoader(io.ComfyNode):
    """Stands in for UNETLoader: a tiny random DiT of the family the file name names."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyUNETLoader", display_name="Tiny diffusion model (tests)",
                         category="VidLiftTest", description="Tiny random-weight DiT: Flux, Z-Image, Qwen-Image or Wan 2.1 "
                                                             "after the file name.",
                         inputs=[io.String.Input("unet_name", default="flux1-dev.safetensors"),
                                 io.String.Input("weight_dtype", default="default", tooltip="ignored")],
                         outputs=[io.Model.Output()])

    @classmethod
    def execute(cls, unet_name, weight_dtype):
        key = "dit:" + tiny_family(unet_name)
        if key not in _CACHE:
            _CACHE[key] = TINY_DIFFUSION_MODELS[key[4:]]()
        if _CACHE[key] is None:
            raise ValueError(f"this ComfyUI has no {key[4:]} model class (tiny test model for {unet_name!r})")
        return io.NodeOutput(_CACHE[key])


class TinyCLIPLoader(io.ComfyNode):
    """Stands in for CLIPLoader and DualCLIPLoader: the tiny SD CLIP (32-wide tokens and pooled output)."""

    @classmethod
    def define_schema(cls):
        names = ("clip_name", "clip_name1", "clip_name2", "type", "device")
        return io.Schema(node_id="VidLiftTest_TinyCLIPLoader", display_name="Tiny text encoder (tests)",
                         category="VidLiftTest", description="Tiny random-weight CLIP for every text-encoder loader.",
                         inputs=[io.String.Input(n, default="", optional=True, tooltip="ignored") for n in names],
                         outputs=[io.Clip.Output()])

    @classmethod
    def execute(cls, type="", **ignored):
        if "clip" not in _CACHE:
            _CACHE["clip"] = tiny.clip_model()
        if type == "ltxv":          # LTX-Video's T5 conditioning carries its attention mask, which LTX's model reads
            return io.NodeOutput(with_attention_mask(_CACHE["clip"]))
        return io.NodeOutput(_CACHE["clip"])


def with_attention_mask(clip):
    """A clone of the tiny CLIP whose encodings carry an all-ones `attention_mask`, as a T5 text encoder's do."""
    c = clip.clone()
    encode = c.encode_from_tokens_scheduled

    def encode_with_mask(tokens, *args, **kwargs):
        return [[t, {**extra, "attention_mask": torch.ones(t.shape[:2], dtype=torch.long)}]
                for t, extra in encode(tokens, *args, **kwargs)]
    c.encode_from_tokens_scheduled = encode_with_mask
    return c


class TinyVAELoader(io.ComfyNode):
    """Stands in for VAELoader: a tiny 16-channel VAE, the Wan 2.1 VAE for a qwen_image or wan file, else a TAESD
    (the Flux / Z-Image latent space)."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="VidLiftTest_TinyVAELoader", display_name="Tiny VAE (tests)",
                         category="VidLiftTest", description="Tiny random-weight VAE of the file name's latent space: Wan 2.2, "
                                                             "HunyuanVideo 1.5, Wan 2.1 or a 16-channel TAESD.",
                         inputs=[io.String.Input("vae_name", default="ae.safetensors", tooltip="ignored")],
                         outputs=[io.Vae.Output()])

    @classmethod
    def execute(cls, vae_name):
        name = vae_name.lower()
        key = next((k for k, marks in TINY_VAES.items() if any(m in name for m in marks)), "vae16")
        if key not in _CACHE:
            _CACHE[key] = TINY_VAE_BUILDERS[key]()
        return io.NodeOutput(_CACHE[key])


# VAELoader file name -> the tiny VAE of its latent space (first match; else a 16-channel TAESD, Flux / Z-Image)
TINY_VAES = {"wan22_vae": ("wan2.2",), "hunyuan15_vae": ("hunyuanvideo15",), "wan21_vae": ("qwen", "wan")}
TINY_VAE_BUILDERS = {"wan22_vae": tiny.wan22_vae_model, "hunyuan15_vae": tiny.hunyuan_video15_vae_model,
                     "wan21_vae": tiny.wan21_vae_model, "vae16": tiny.flux_vae_model}


class TestExtension(ComfyExtension):
    async def get_node_list(self):
        return [TinyCheckpointLoader, TinyDiTLoader, TinyUnsupportedLoader, TinySVDLoader, TinyUNETLoader,
                TinyCLIPLoader, TinyVAELoader]


async def comfy_entrypoint():
    return TestExtension()
