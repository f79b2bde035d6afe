"""Fine-tuning with the temporal shift on (Latent-Shift, An et al. 2023, arXiv 2304.08477, the training objective).

Objective of the paper: z0 = the frozen VAE's per-frame latents of a clip, t ~ U{0..999}, ε ~ N(0, I),
z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε, loss = ‖ε − ε_θ(z_t, t, c)‖² where ε_θ is the U-Net with the shift in its
ResBlocks and all frames of the clip in one batch. The paper fine-tunes every U-Net weight; here the
U-Net stays frozen and a LoRA on its convolution and linear weights is learned, so the result is a file
the stock LoraLoader applies. v-prediction models regress v instead of ε (their own target).

In ComfyUI's σ-space x = z0 + σ·ε (= z_t/√ᾱ_t) and the model returns x̂0, so
  ‖ε − ε̂‖² = ‖x̂0 − z0‖²/σ²,   ‖v − v̂‖² = ‖x̂0 − z0‖²·(σ² + σ_d²)/(σ²·σ_d²)   (σ_d = 1 for SD).
Flow models (Flux family; rectified flow, x = (1 − σ)·z0 + σ·ε, velocity u = ε − z0, x̂0 = x − σ·û) regress
their velocity: ‖u − û‖² = ‖x̂0 − z0‖²/σ², with σ drawn from the model's own table as t is for SD.

Built on ComfyUI's training pieces (comfy_extras/nodes_train.py, comfy/weight_adapter): the LoRA
modules are `LoRAAdapter.create_train` adapters registered as ModelPatcher weight wrappers, and the loop
is a `comfy.samplers.Sampler` run by a guider, so conds, wrappers and object patches (the shift) work as
in sampling. ComfyUI's own `TrainSampler` is not used: every step it draws a random subset of single
latents, each with its own σ, so a clip's frames would be shuffled apart and noised at different t (the
shift would mix unrelated images), and it regresses x0 without the ε weighting. Here one clip is one
U-Net batch at one t, and the loop can be interrupted between steps.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import torch

import comfy.model_management as mm
import comfy.model_sampling
import comfy.samplers
import comfy.utils
from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock
from comfy.weight_adapter import LoRAAdapter

from . import compat
from .model_patches import CHUNKS, chunks_context

TARGETS = ("all U-Net layers", "ResBlocks only")
DTYPES = ("auto", "fp32", "bf16")


def loss_weight(model_sampling, sigma: torch.Tensor) -> torch.Tensor:
    """Factor that turns ‖x̂0 − z0‖² into the model's own regression loss (ε or v), module docstring."""
    s2 = sigma.float() ** 2
    if isinstance(model_sampling, comfy.model_sampling.V_PREDICTION):
        sd2 = float(model_sampling.sigma_data) ** 2
        return (s2 + sd2) / (s2 * sd2)
    if isinstance(model_sampling, (comfy.model_sampling.EPS, comfy.model_sampling.CONST)):
        return 1.0 / s2
    return torch.ones_like(s2)                  # other parameterisations: plain x0 regression


class FreshCopy:
    """Identity weight wrapper. With a weight function present ComfyUI's cast copies the weight each
    forward; the copy (unlike weights loaded inside ComfyUI's inference mode) can be saved for backward."""

    def __call__(self, w):
        return w

    def move_to(self, device):
        return 0


def add_lora(mp, rank: int, targets: str, seed: int) -> dict:
    """LoRA adapters (ComfyUI's LoRAAdapter.create_train: up Kaiming-uniform, down zero, so the model starts
    unchanged) on every ≥2-D weight of the chosen modules; {module name: (adapter, weight shape)}."""
    named = dict(mp.model.named_modules())
    res_blocks = [n + "." for n, m in named.items() if isinstance(m, ResBlock)]
    adapters = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name, m in named.items():
            if not name.startswith("diffusion_model.") or not hasattr(m, "weight_function"):
                continue
            w = getattr(m, "weight", None)
            chosen = targets == TARGETS[0] or any(name.startswith(p) for p in res_blocks)
            if w is not None and w.ndim >= 2 and chosen:
                adapter = LoRAAdapter.create_train(w, rank=rank, alpha=float(rank))
                mp.add_weight_wrapper(name + ".weight", adapter)
                adapters[name] = (adapter, tuple(w.shape))
            elif w is not None:
                mp.add_weight_wrapper(name + ".weight", FreshCopy())
            if getattr(m, "bias", None) is not None:
                mp.add_weight_wrapper(name + ".bias", FreshCopy())
    return adapters


def checkpointed(previous, copy_inputs=False):
    """`previous` recomputed in backward. copy_inputs: the layer changes its input tensors in place (Flux blocks add
    their residual with addcmul_), which the recomputation must not see: it gets copies (its output is used)."""
    def run(*args, **kwargs):
        if copy_inputs:
            args = [a.clone() if torch.is_tensor(a) else a for a in args]
            kwargs = {k: v.clone() if torch.is_tensor(v) else v for k, v in kwargs.items()}
        return previous(*args, **kwargs)

    def forward(*args, **kwargs):
        if not torch.is_grad_enabled():
            return previous(*args, **kwargs)
        chunks = CHUNKS.get()     # the recomputation in backward must shift exactly as this forward does
        return torch.utils.checkpoint.checkpoint(
            run, *args, use_reentrant=False,
            context_fn=lambda: (contextlib.nullcontext(), chunks_context(chunks)), **kwargs)
    return forward


DIT_BLOCK_LISTS = ("double_blocks", "single_blocks")    # the Flux family's transformer blocks


def checkpoint_targets(dm) -> list[str]:
    """Every layer of every U-Net block, or every transformer block of a Flux-family DiT."""
    if not hasattr(dm, "input_blocks"):
        return [f"{name}.{i}" for name in DIT_BLOCK_LISTS for i in range(len(getattr(dm, name, ())))]
    blocks = [(f"input_blocks.{i}", b) for i, b in enumerate(dm.input_blocks)] + [("middle_block", dm.middle_block)]
    blocks += [(f"output_blocks.{i}", b) for i, b in enumerate(dm.output_blocks)]
    return [f"{path}.{j}" for path, block in blocks for j in range(len(block))]


def add_gradient_checkpointing(mp) -> None:
    """Recompute every checkpoint target in backward (object patches of `forward`, names kept)."""
    dm = mp.get_model_object("diffusion_model")
    for path in checkpoint_targets(dm):
        target = f"diffusion_model.{path}.forward"
        mp.add_object_patch(target, checkpointed(mp.get_model_object(target), not hasattr(dm, "input_blocks")))


def training_dtype(choice: str, device: torch.device) -> torch.dtype:
    if choice == "bf16":
        return torch.bfloat16
    if choice == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16     # fp16 would need loss scaling; bf16 or fp32 only
    return torch.float32


class ClipTrainer(comfy.samplers.Sampler):
    """The training loop, run by a guider like a sampler: per step `clips_per_step` clips, each a whole
    clip in one U-Net batch at one t, gradients accumulated, one AdamW step."""

    def __init__(self, clips, params, learning_rate, steps, clips_per_step, seed, dtype, on_step=None,
                 cond_sets=None):
        self.clips, self.params, self.steps, self.per_step = [c.detach() for c in clips], params, steps, clips_per_step
        self.dtype, self.on_step, self.cond_sets = dtype, on_step, cond_sets
        self.optimizer = torch.optim.AdamW(params, lr=learning_rate)
        self.generator = torch.Generator("cpu").manual_seed(seed)
        self.order, self.losses, self.start_step, self.adapters = [], [], 0, {}

    def next_clip(self) -> int:
        if not self.order:              # a fresh permutation of the clips per epoch
            self.order = torch.randperm(len(self.clips), generator=self.generator).tolist()
        return self.order.pop()

    def clip_loss(self, model_wrap, extra_args, z0):
        ms = model_wrap.model_patcher.get_model_object("model_sampling")   # model_wrap: the guider running us
        g = self.generator
        t = int(torch.randint(0, len(ms.sigmas), (1,), generator=g))
        eps = torch.randn(z0.shape, generator=g).to(z0)
        sigma = ms.sigmas[t].to(z0).expand(z0.shape[0])
        x = ms.noise_scaling(sigma, eps, z0)
        with torch.autocast(z0.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            x0 = model_wrap(x, sigma, **extra_args)
        return loss_weight(ms, sigma[0]) * torch.mean((x0.float() - z0) ** 2)

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        captions = CaptionSelector(model_wrap, self.cond_sets)
        with torch.enable_grad(), captions:
            for _ in range(self.steps):
                mm.throw_exception_if_processing_interrupted()
                total = 0.0
                for _ in range(self.per_step):
                    index = self.next_clip()
                    captions.select(index)
                    z0 = self.clips[index].to(noise.device, torch.float32)
                    loss = self.clip_loss(model_wrap, extra_args, z0) / self.per_step
                    loss.backward()
                    total += loss.item()
                torch.nn.utils.clip_grad_norm_(self.params, 1.0)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.losses.append(total)
                if self.on_step is not None:
                    self.on_step(self, total)
        return torch.zeros_like(latent_image)


class CaptionSelector:
    """Per-clip captions: the guider processed every caption's conditioning once (`positive` is their list); each clip
    runs with its own entries, as ComfyUI's TrainSampler selects `model_wrap.conds["positive"]` per batch. Restored
    on exit. cond_sets: per clip the indices of its entries, or None when every clip uses the whole list."""

    def __init__(self, guider, cond_sets):
        self.guider, self.cond_sets = guider, cond_sets

    def __enter__(self):
        self.all = compat.processed_positive(self.guider)
        return self

    def select(self, clip_index):
        if self.cond_sets is not None:
            compat.set_processed_positive(self.guider, [self.all[i] for i in self.cond_sets[clip_index]])

    def __exit__(self, *exc):
        compat.set_processed_positive(self.guider, self.all)


def detached_conditioning(conditioning):
    """Normal (not inference-mode) copies of the conditioning tensors, which autograd may save."""
    def copy(v):
        if isinstance(v, torch.Tensor):
            return v.clone()
        if isinstance(v, dict):
            return {k: copy(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(copy(x) for x in v)
        return v
    return [[c[0].clone(), copy(c[1])] for c in conditioning]


def set_requires_grad(params, flag):
    for p in params:
        with torch.inference_mode(p.is_inference()):    # weights loaded inside ComfyUI's inference mode
            p.requires_grad_(flag)


def train(shift_model, positive, clips, steps, clips_per_step, learning_rate, rank, targets, seed, dtype_choice,
          gradient_checkpointing, on_step=None, cond_sets=None, resume=None):
    """Train a LoRA on `shift_model` (already patched with the shift); clips: model-space latents [F, C, h, w];
    positive: conditioning entries, cond_sets: per clip the indices of its entries (None: all, one caption);
    resume(trainer, adapters): loads a saved run into the fresh trainer; on_step(trainer, loss) after every step.
    Returns ({module name: (adapter, weight shape)}, trainer). The input model is left as it was."""
    mp = shift_model.clone()
    if gradient_checkpointing:
        add_gradient_checkpointing(mp)
    adapters = add_lora(mp, rank, targets, seed)
    dtype = training_dtype(dtype_choice, mp.load_device)
    if dtype != torch.float32:
        mp.set_model_compute_dtype(dtype)
    params = [p for a, _ in adapters.values() for p in a.parameters() if p.requires_grad]
    frozen = [p for p in mp.model.parameters() if p.requires_grad]
    trainer = ClipTrainer(clips, params, learning_rate, steps, clips_per_step, seed, dtype, on_step, cond_sets)
    trainer.adapters = adapters
    if resume is not None:
        resume(trainer, adapters)
    try:
        set_requires_grad(frozen, False)        # the base weights get no gradients; flags restored below
        mm.load_models_gpu([mp], memory_required=1e20, force_full_load=True)
        guider = comfy.samplers.CFGGuider(mp)
        guider.inner_set_conds({"positive": detached_conditioning(positive)})
        zeros = torch.zeros(clips[0].shape)
        with compat.training_switch():
            guider.sample(zeros, zeros, trainer, torch.tensor([1.0, 0.0]), seed=seed, disable_pbar=True)
    finally:
        set_requires_grad(frozen, True)
    for a, _ in adapters.values():
        a.requires_grad_(False)
    return adapters, trainer


def lora_key_names(model, module_names) -> dict:
    """Kohya-style names ("lora_unet_down_blocks_0_resnets_0_conv1") from
    ComfyUI's diffusers map, else ComfyUI's own "lora_unet_input_blocks_1_0_in_layers_2"; both are keys of
    comfy.lora.model_lora_keys_unet."""
    try:
        diffusers = comfy.utils.unet_to_diffusers(model.model.model_config.unet_config)
    except Exception:                                                      # noqa: BLE001 (any config it cannot map)
        diffusers = {}
    inverse = {}
    for dk, uk in diffusers.items():
        if dk.endswith(".weight") and uk.endswith(".weight"):
            inverse.setdefault("diffusion_model." + uk[:-7], "lora_unet_" + dk[:-7].replace(".", "_"))
    return {n: inverse.get(n, "lora_unet_" + n[len("diffusion_model."):].replace(".", "_")) for n in module_names}


def lora_state_dict(model, adapters: dict, dtype=torch.float16) -> dict:
    """lora_up / lora_down / alpha per module; conv LoRAs shaped as convolutions (down k×k, up 1×1)."""
    names = lora_key_names(model, adapters)
    sd = {}
    for module, (adapter, shape) in adapters.items():
        up, down = adapter.lora_up.weight.detach().float().cpu(), adapter.lora_down.weight.detach().float().cpu()
        if len(shape) > 2:
            down = down.reshape(down.shape[0], *shape[1:])
            up = up.reshape(*up.shape, *[1] * (len(shape) - 2))
        key = names[module]
        sd[key + ".lora_up.weight"] = up.to(dtype).contiguous()
        sd[key + ".lora_down.weight"] = down.to(dtype).contiguous()
        sd[key + ".alpha"] = torch.tensor(float(adapter.alpha))
    return sd


def save_atomic(sd: dict, path: str, metadata: dict) -> None:
    """Write to a temporary file in the same folder, then os.replace: an interrupted or failed write never
    leaves a partial file under the final name."""
    import safetensors.torch
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(path))
    os.close(fd)
    try:
        safetensors.torch.save_file(sd, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def loss_curve(losses, width: int = 512, height: int = 256):
    """A PIL image of the per-step loss (grey) and its running mean (blue), with min/max labels."""
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    m = 36                                                   # left/bottom margin for labels
    d.line([(m, 4), (m, height - m), (width - 4, height - m)], fill="black")
    if losses:
        k = max(1, len(losses) // 20)
        mean = [sum(losses[max(0, i - k + 1):i + 1]) / len(losses[max(0, i - k + 1):i + 1]) for i in range(len(losses))]
        lo, hi = min(losses), max(losses)
        span = (hi - lo) or 1.0

        def xy(i, v):
            return (m + (width - 4 - m) * (i / max(1, len(losses) - 1)), height - m - (height - m - 8) * (v - lo) / span)
        for series, colour in ((losses, (170, 170, 170)), (mean, (30, 90, 200))):
            pts = [xy(i, v) for i, v in enumerate(series)]
            d.line(pts, fill=colour, width=2) if len(pts) > 1 else d.point(pts, fill=colour)
        d.text((2, 4), f"{hi:.3g}", fill="black")
        d.text((2, height - m - 10), f"{lo:.3g}", fill="black")
        d.text((m + 4, height - m + 6), f"loss, {len(losses)} steps, last mean {mean[-1]:.4g}", fill="black")
    return img


def image_tensor(img) -> torch.Tensor:
    """PIL image → ComfyUI IMAGE [1, H, W, 3] float in [0, 1]."""
    import numpy as np
    return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)[None]

