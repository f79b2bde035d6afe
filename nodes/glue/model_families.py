"""Model-family adapters: where a family keeps its frames and how VidLift's
mechanisms hook into it. Keyed on the class of `model.get_model_object("diffusion_model")`;
ComfyUI classes are imported lazily and defensively so a ComfyUI lacking one still imports, and
hooks are feature-detected by behaviour, never version-compared: a tiny block or model of ComfyUI's class runs once
with a probe patch (hook_probes.PROBES), and the temporal shift's whole-model hooks are also checked on the first
forward (ShiftCallGuard).

Nodes call `adapter_for(model, node)` and then `adapter.install_cross_frame(...)` /
`adapter.install_temporal_shift(...)`, which return a patched clone (the input MODEL untouched).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .compat import comfy_class, processed_model_conds
from .dit_cross_frame import DIT_BLOCKS, DiTCrossFramePatch
from .dit_temporal_shift import DiTShiftAttentionOutputPatch, DiTShiftBlockPatch, ShiftCallGuard
from .dit_zimage import ZImageCrossFrameAttention, ZImageShift, ZImageTokenLayout
from .hook_probes import FLUX, FLUX_LAYERS, KREA2, LUMINA, OVERRIDE, QWEN, WHOLE_MODEL, probe_hook
from ..core.errors import NodeInputError


def has_hook(path: str, attr: str | None, word: str) -> bool:
    """Does this ComfyUI's `path` call the hook `word`? Found by the probe (hook_probes). A block's probe that
    cannot run answers no: the node refuses clearly rather than patch a hook nobody calls. A whole model's probe
    that cannot run answers yes: its patches then carry ShiftCallGuard, which refuses after a first forward that
    never called them."""
    found = probe_hook(comfy_class(path), path, word)
    return (path, word) in WHOLE_MODEL if found is None else found


# the DiT block choice of the patcher nodes; U-Nets choose input/middle/output blocks instead
DIT_BLOCK_CHOICES = {"double+single": ["double", "single"], "double": ["double"], "single": ["single"]}


@dataclass(frozen=True)
class Adapter:
    name: str
    classes: tuple[str, ...]          # 'module:Class' of the diffusion model (subclasses match too)
    frames: str                       # "batch" [F,C,H,W] or "batch5d" [F,C,1,H,W] (Wan-latent image models)
    latent: dict = field(default_factory=dict)   # "multiple": the spatial multiple (VAE ×8, patch ×2 → 16)
    hooks: tuple[tuple[str, str, str, str], ...] = ()   # (capability, 'module:Class', attr, constant)
    block_kinds: tuple[str, ...] = DIT_BLOCKS           # the block names a node may select on this family
    block_param: str = "dit_blocks"                     # the node input that selects them

    def matches(self, diffusion_model) -> bool:
        return any(c is not None and isinstance(diffusion_model, c) for c in map(comfy_class, self.classes))

    def missing(self, capability: str) -> str | None:
        """None when the running ComfyUI has the hook `capability` needs, else why not."""
        for cap, path, attr, word in self.hooks:
            if cap == capability and not has_hook(path, attr, word):
                return f"needs a ComfyUI with the {self.name} {word} hook ({path.split(':')[1]}.{attr})"
        return None

    def require(self, capability: str, node: str, param: str = "model"):
        problem = self.missing(capability)
        if problem:
            raise NodeInputError(node, param, f"{capability} on {self.name} {problem}; update ComfyUI.")

    def block_counts(self, diffusion_model) -> dict[str, int]:
        if self.name == "Qwen-Image":
            return {"double": len(diffusion_model.transformer_blocks)}
        return {"double": len(diffusion_model.double_blocks), "single": len(diffusion_model.single_blocks)}

    def selected(self, blocks, node: str) -> list[str]:
        """The names in `blocks` that are this family's blocks (nodes offer U-Net and DiT choices side by side)."""
        mine = [b for b in blocks if b in self.block_kinds]
        if not mine:
            raise NodeInputError(node, self.block_param, f"selects none of the {self.name} model's blocks "
                                                 f"({', '.join(self.block_kinds)}); select at least one.")
        return mine

    def install_cross_frame(self, model, anchor="first", strength=1.0, blocks=DIT_BLOCKS, node="VidLift"):
        self.require("cross-frame attention", node)
        m = model.clone()
        m.set_model_attn1_patch(DiTCrossFramePatch(anchor, strength, self.selected(blocks, node), node))
        if anchor == "first+previous":
            add_conditioning_check(m, "vidlift_cross_frame_mask",
                                   ConditioningCheck("attention_mask", node, "anchor", MASKED_FIRST_PREVIOUS))
        return m

    def install_temporal_shift(self, model, fraction=0.125, boundary="zero", strength=1.0, blocks=DIT_BLOCKS,
                               node="VidLift", position=None):
        self.require("temporal shift", node)
        m = model.clone()
        counts = self.block_counts(m.get_model_object("diffusion_model"))
        for kind in self.selected(blocks, node):
            for i in range(counts.get(kind, 0)):
                m.set_model_patch_replace(DiTShiftBlockPatch(kind, fraction, boundary, strength),
                                          "dit", f"{kind}_block", i)
        if any(counts.get(kind, 0) for kind in self.selected(blocks, node)):
            add_shift_guard(m, ShiftCallGuard(node, self.name, "patches_replace['dit'] block"))
        return m


class ConditioningCheck:
    """SAMPLER_SAMPLE wrapper: the check of a conditioning the installed patch cannot use, made once the sampler's
    conds are processed and before the first step, as the patcher node's error (node, parameter). The patcher node
    sees the MODEL only; what the conditioning carries is known when sampling starts, not at patch time."""

    def __init__(self, model_cond: str, node: str, param: str, problem: str):
        self.model_cond, self.node, self.param, self.problem = model_cond, node, param, problem

    def __call__(self, executor, guider, *args, **kwargs):
        if any(c.get(self.model_cond) is not None for c in processed_model_conds(guider)):
            raise NodeInputError(self.node, self.param, self.problem)
        return executor(guider, *args, **kwargs)

    def __deepcopy__(self, memo):
        return self


def add_shift_guard(model, guard: ShiftCallGuard) -> None:
    import comfy.patcher_extension
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "vidlift_shift_guard", guard)


def add_conditioning_check(model, key: str, check: ConditioningCheck) -> None:
    import comfy.patcher_extension
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE, key, check)


MASKED_FIRST_PREVIOUS = ("anchor 'first+previous' on a DiT needs an attention without mask (this conditioning "
                         "has a text attention mask); use 'first'.")
ZIMAGE_REFERENCES = ("Z-Image Omni reference latents are not supported yet by cross-frame attention or temporal "
                     "shift; remove the reference image.")


UNET_BLOCKS = ("input", "middle", "output")


class UNetAdapter(Adapter):
    """SD1.x/SDXL U-Nets: delegates to today's node code paths unchanged."""

    def missing(self, capability):
        return None

    def selected(self, blocks, node):
        """No block selected is allowed here, as before the adapters: the patch is then the identity."""
        return [b for b in blocks if b in self.block_kinds]

    def install_cross_frame(self, model, anchor="first", strength=1.0, blocks=UNET_BLOCKS, node="VidLift"):
        from .model_patches import add_cross_frame_attention
        return add_cross_frame_attention(model, anchor, strength, self.selected(blocks, node))

    def install_temporal_shift(self, model, fraction=0.125, boundary="zero", strength=1.0, blocks=UNET_BLOCKS,
                               node="VidLift", position="before conv1"):
        from .model_patches import add_temporal_shift
        parts = [{"middle": "middle_block"}.get(b, f"{b}_blocks") for b in self.selected(blocks, node)]
        return add_temporal_shift(model, fraction, position or "before conv1", boundary, strength, parts)


class ZImageAdapter(Adapter):
    """Z-Image / Lumina 2 (NextDiT): no attn1_patch, so the attention override plus a DIFFUSION_MODEL
    wrapper for cross-frame attention, the refiner and block hooks for the shift (dit_zimage.py)."""

    def missing(self, capability):
        if capability == "cross-frame attention" and not has_hook(f"{LUMINA}:optimized_attention_masked", None,
                                                                  OVERRIDE):
            return f"needs a ComfyUI whose attention honours transformer_options['{OVERRIDE}']"
        return super().missing(capability)

    def block_counts(self, diffusion_model):
        return {"double": len(diffusion_model.layers)}

    def with_token_layout(self, model, node="VidLift"):
        import comfy.patcher_extension
        m = model.clone()
        m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "vidlift_zimage_tokens",
                               ZImageTokenLayout(node))
        add_conditioning_check(m, "vidlift_zimage_references",
                               ConditioningCheck("ref_latents", node, "model", ZIMAGE_REFERENCES))
        return m

    def install_cross_frame(self, model, anchor="first", strength=1.0, blocks=DIT_BLOCKS, node="VidLift"):
        self.require("cross-frame attention", node)
        m = self.with_token_layout(model, node)
        opts = m.model_options["transformer_options"]      # the clone's own copy
        opts[OVERRIDE] = ZImageCrossFrameAttention(anchor, strength, self.selected(blocks, node),
                                                   previous=opts.get(OVERRIDE), node=node)
        return m

    def install_temporal_shift(self, model, fraction=0.125, boundary="zero", strength=1.0, blocks=DIT_BLOCKS,
                               node="VidLift", position=None):
        self.require("temporal shift", node)
        m = self.with_token_layout(model, node)
        dm = m.get_model_object("diffusion_model")
        if "double" in self.selected(blocks, node):
            m.set_model_patch(ZImageShift("enter", len(dm.noise_refiner) - 1, fraction, boundary, strength),
                              "noise_refiner")
            m.set_model_patch(ZImageShift("layer", len(dm.layers) - 1, fraction, boundary, strength),
                              "double_block")
            add_shift_guard(m, ShiftCallGuard(node, self.name, "patches['double_block'] / ['noise_refiner']"))
        return m


class Krea2Adapter(Adapter):
    """Krea 2 (SingleStreamDiT): Flux-style attn1_patch with GQA (k, v carry fewer heads; cross_frame_kv keeps
    each tensor's own), no block replace, so the shift goes through attn1_output_patch."""

    def block_counts(self, diffusion_model):
        return {"single": len(diffusion_model.blocks)}

    def install_temporal_shift(self, model, fraction=0.125, boundary="zero", strength=1.0, blocks=DIT_BLOCKS,
                               node="VidLift", position=None):
        self.require("temporal shift", node)
        m = model.clone()
        m.set_model_attn1_output_patch(DiTShiftAttentionOutputPatch(fraction, boundary, strength,
                                                                    self.selected(blocks, node)))
        return m


ADAPTERS = (
    UNetAdapter("U-Net", ("comfy.ldm.modules.diffusionmodules.openaimodel:UNetModel",), "batch",
                {"multiple": 8}, block_kinds=UNET_BLOCKS,
                block_param="input_blocks/middle_block/output_blocks"),
    Adapter("Flux", ("comfy.ldm.flux.model:Flux", "comfy.ldm.chroma.model:Chroma"), "batch",
            {"multiple": 16},
            (("cross-frame attention", f"{FLUX_LAYERS}:DoubleStreamBlock", "forward", "attn1_patch"),
             ("cross-frame attention", f"{FLUX_LAYERS}:SingleStreamBlock", "forward", "attn1_patch"),
             ("temporal shift", FLUX, "forward_orig", "double_block"))),
    Adapter("Qwen-Image", (f"{QWEN}:QwenImageTransformer2DModel",), "batch5d",
            {"multiple": 16},
            (("cross-frame attention", f"{QWEN}:Attention", "forward", "attn1_patch"),
             ("temporal shift", f"{QWEN}:QwenImageTransformer2DModel", "_forward", "double_block")),
            block_kinds=("double",)),
    ZImageAdapter("Z-Image", (f"{LUMINA}:NextDiT",), "batch", {"multiple": 16},
                  (("temporal shift", f"{LUMINA}:NextDiT", "_forward", "double_block"),
                   ("temporal shift", f"{LUMINA}:NextDiT", "patchify_and_embed", "noise_refiner")),
                  block_kinds=("double",)),
    Krea2Adapter("Krea 2", (f"{KREA2}:SingleStreamDiT",), "batch5d", {"multiple": 16},
                 (("cross-frame attention", f"{KREA2}:Attention", "forward", "attn1_patch"),
                  ("temporal shift", f"{KREA2}:Attention", "forward", "attn1_output_patch")),
                 block_kinds=("single",)),
)


def adapter_for(model, node: str = "VidLift", param: str = "model") -> Adapter:
    """The adapter of a ModelPatcher's diffusion model; a clear error for an unknown family."""
    dm = model.get_model_object("diffusion_model")
    for adapter in ADAPTERS:
        if adapter.matches(dm):
            return adapter
    names = ", ".join(a.name for a in ADAPTERS)
    raise NodeInputError(node, param, f"model family {type(dm).__module__}.{type(dm).__name__} is not supported "
                                      f"(supported: {names}).")


@dataclass(frozen=True)
class VideoAdapter:
    """A native video model family (frames on dim 2 of a 5-D latent made by a causal video VAE), as VideoElevator's T2V
    and the Reuse-Diffuse extension take it. Keyed on the model_base class, which carries the latent format and the
    timestep handling: diffusion-model classes are shared across families (WAN21 and WAN22 both run WanModel; LTXAV's
    model subclasses LTXV's, with packed audio-video latents this entry does not describe)."""
    name: str
    classes: tuple[str, ...]          # 'module:Class' of the model_base (subclasses match too; first entry wins)
    temporal: int                     # the VAE's causal factor c: c·n + 1 pixel frames ↔ n + 1 latent frames
    spatial: int                      # the VAE's pixels per latent pixel
    patch: int                        # the DiT's spatial patch on top of the VAE's compression
    # its model_base reads an inpaint's denoise_mask as a ONE-channel concat input when the conds carry no
    # concat_mask (HunyuanVideo15.concat_cond), but the sampler hands it the mask expanded to the latent's channels
    concat_mask: bool = False

    def matches(self, base_model) -> bool:
        return any(c is not None and isinstance(base_model, c) for c in map(comfy_class, self.classes))


BASE = "comfy.model_base"
# One entry per family. WAN22 subclasses WAN21, so it comes first. A family whose model_base
# class this ComfyUI lacks matches nothing (comfy_class → None). Per-frame timesteps (WAN22, LTXV) are
# feature-detected on the model (comfy_glue.holds_frames_clean), not listed here.
VIDEO_ADAPTERS = (
    VideoAdapter("Wan 2.2 5B", (f"{BASE}:WAN22",), temporal=4, spatial=16, patch=2),
    VideoAdapter("Wan 2.1", (f"{BASE}:WAN21",), temporal=4, spatial=8, patch=2),
    VideoAdapter("LTX-Video", (f"{BASE}:LTXV",), temporal=8, spatial=32, patch=1),
    VideoAdapter("HunyuanVideo 1.5", (f"{BASE}:HunyuanVideo15",), temporal=4, spatial=16, patch=1, concat_mask=True),
)


def video_families() -> str:
    """The native video families this ComfyUI has, for error messages."""
    return ", ".join(a.name for a in VIDEO_ADAPTERS if any(map(comfy_class, a.classes)))


def video_adapter_for(model) -> VideoAdapter | None:
    """The native-video adapter of a ModelPatcher, or None (an image model: frames in the batch, or an unlisted
    video family)."""
    return next((a for a in VIDEO_ADAPTERS if a.matches(model.model)), None)
