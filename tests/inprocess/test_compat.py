"""Every function of nodes/glue/compat.py (the pack's accesses to ComfyUI parts that are no public extension point)
checked against the running ComfyUI, one test each: an upgrade that changes a part fails here, by name.
A part this ComfyUI lacks is skipped (the caller's clear error for it is tested where the caller is)."""
from __future__ import annotations

import inspect

import pytest
import torch

import comfy.model_base
import comfy.model_management as mm
import comfy.samplers
from comfy_test_nodes import tiny
from vidlift.nodes.glue import compat
from vidlift.nodes.glue.hook_probes import LUMINA, OVERRIDE, PROBES, WHOLE_MODEL, probe_hook
from vidlift.nodes.glue.model_families import ADAPTERS, has_hook


def test_comfy_class_finds_classes_and_answers_none_for_missing_ones():
    assert compat.comfy_class("comfy.model_base:BaseModel") is comfy.model_base.BaseModel
    assert compat.comfy_class("comfy.model_base:NoSuchModel") is None
    assert compat.comfy_class("comfy.no_such_module:Anything") is None


HOOKS = sorted({(path, attr, word) for a in ADAPTERS for _, path, attr, word in a.hooks}
               | {(f"{LUMINA}:optimized_attention_masked", None, OVERRIDE)}, key=repr)   # ZImageAdapter.missing


def source_names(path, attr, word):
    """The hook's name as a string literal in the source of `path`.`attr`: None when the class or attribute is absent."""
    found = compat.comfy_class(path)
    target = getattr(found, attr, None) if attr is not None else found
    if target is None:
        return None
    text = inspect.getsource(getattr(target, "__code__", target))     # a decorated function: the wrapper's own code
    return f'"{word}"' in text or f"'{word}'" in text


def test_every_adapter_hook_has_a_probe():
    assert {(path, word) for path, _, word in HOOKS} <= set(PROBES)


PROBED = sorted(PROBES)


ATTRS = {(path, word): attr for path, attr, word in HOOKS}


def probed_attr(path, word, found):
    """Where the hook is read: the adapter's entry (a whole model's forward_orig / _forward / …), else a block's
    forward, or None for an attention function itself."""
    return ATTRS.get((path, word), "forward" if isinstance(found, type) else None)


@pytest.fixture(params=PROBED, ids=[f"{p.split(':')[1]}:{w}" for p, w in PROBED])
def probed(request):
    """(path, hook word, this ComfyUI's class or function) of each probe; skipped where this ComfyUI lacks it."""
    path, word = request.param
    cls = compat.comfy_class(path)
    if cls is None:
        pytest.skip(f"this ComfyUI has no {path}")
    return path, word, cls


def test_block_calls_patch_probes_the_real_block(probed):
    """The probe runs on ComfyUI's own class (never None here) and agrees with the block's source."""
    path, word, cls = probed
    found = probe_hook(cls, path, word)
    assert found is not None, f"the probe of {path} could not run on this ComfyUI (the block's arguments changed)"
    assert found == bool(source_names(path, probed_attr(path, word, cls), word))
    assert has_hook(path, probed_attr(path, word, cls), word) == found


def test_block_calls_patch_is_false_for_a_block_that_ignores_patches(probed):
    path, word, cls = probed
    if not isinstance(cls, type):
        def ignores(q, *args, **kwargs):                   # an attention function that never reads the override
            return q
        assert probe_hook(ignores, path, word) is False
        return

    class Ignores(cls):
        def forward(self, *args, transformer_options=None, **kwargs):  # a fork whose block never reads patches
            return args[0] if args else next(iter(kwargs.values()))

    assert probe_hook(Ignores, path, word) is False


@pytest.mark.parametrize("whole", [False, True], ids=["block", "whole model"])
def test_a_probe_that_cannot_run_answers_no_hook_for_a_block_and_leaves_a_whole_model_to_the_guard(whole):
    """A block's unrunnable probe refuses (False); a whole model's answers True, and ShiftCallGuard checks the first
    forward (tests/inprocess/test_dit_adapters.py)."""
    path, word = next(k for k in PROBES if (k in WHOLE_MODEL) == whole)
    if compat.comfy_class(path) is None:
        pytest.skip(f"this ComfyUI has no {path}")
    real = PROBES[(path, word)]
    try:
        PROBES[(path, word)] = (lambda c: (_ for _ in ()).throw(TypeError("other arguments")), real[1])
        compat.block_calls_patch.cache_clear()
        assert has_hook(path, "forward", word) is whole
    finally:
        PROBES[(path, word)] = real
        compat.block_calls_patch.cache_clear()


def test_block_calls_patch_answers_none_when_the_probe_cannot_run():
    def build(cls):
        raise TypeError("other arguments")
    assert compat.block_calls_patch(torch.nn.Linear, build, lambda b, p, w: None, "attn1_patch") is None
    assert compat.block_calls_patch(torch.nn.Identity, lambda c: c(), lambda b, p, w: b(undefined_name), "x") is None  # noqa: F821


def test_reads_denoise_mask_on_the_model_bases():
    assert compat.reads_denoise_mask(comfy.model_base.BaseModel) is False
    found = [c for c in ("WAN22", "LTXV") if hasattr(comfy.model_base, c)]
    if not found:
        pytest.skip("this ComfyUI has neither WAN22 nor LTXV")
    for name in found:
        assert compat.reads_denoise_mask(getattr(comfy.model_base, name)) is True, name


def test_first_stage_decodes_as_vae_decode_for_one_frame():
    vae = tiny.vae_model()
    z = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    ae = compat.first_stage(vae)
    assert isinstance(ae, torch.nn.Module) and hasattr(ae, "decode") and hasattr(ae, "decoder")
    with torch.no_grad():
        direct = vae.process_output(ae.decode(z.to(vae.device, vae.vae_dtype)).float()).movedim(1, -1)
    assert torch.allclose(direct.cpu(), vae.decode(z).cpu().reshape(direct.shape), atol=1e-5)


class Recording(comfy.samplers.Sampler):
    """A custom sampler: records what the guider holds while sampling, returns the noise."""

    def __init__(self, seen, edit=None):
        self.seen, self.edit = seen, edit

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        self.seen["guider"] = model_wrap
        self.seen["positive"] = compat.processed_positive(model_wrap)
        self.seen["model_conds"] = list(compat.processed_model_conds(model_wrap))
        if self.edit:
            self.edit(model_wrap)
        return noise


def guided(unet, sampler, positives=1):
    guider = comfy.samplers.CFGGuider(unet)
    positive = [tiny.conditioning(10 + i)[0] for i in range(positives)]
    guider.set_conds(positive, tiny.conditioning(20))
    guider.set_cfg(2.0)
    noise = torch.zeros(2, 4, 8, 8)
    guider.sample(noise, noise, sampler, torch.tensor([1.0, 0.0]), seed=0, disable_pbar=True)
    return guider


def test_processed_positive_is_the_guiders_list_of_processed_conds(unet):
    seen = {}
    guided(unet, Recording(seen), positives=2)
    entries = seen["positive"]
    assert isinstance(entries, list) and len(entries) == 2
    assert all(isinstance(e, dict) and "model_conds" in e for e in entries)
    assert all("c_crossattn" in mc for mc in seen["model_conds"]) and len(seen["model_conds"]) == 3


def test_set_processed_positive_changes_what_the_guider_samples_with(unet):
    seen, after = {}, {}

    def keep_first(guider):
        compat.set_processed_positive(guider, compat.processed_positive(guider)[:1])
        after["positive"] = guider.conds["positive"]
    guided(unet, Recording(seen, keep_first), positives=2)
    assert len(after["positive"]) == 1 and after["positive"][0] is seen["positive"][0]


def test_guider_of_a_ksampler_model_is_the_guider(unet):
    seen = {}

    def sampler_function(model, x, sigmas, extra_args=None, callback=None, disable=None):
        seen["model"] = model
        return x
    guider = comfy.samplers.CFGGuider(unet)
    guider.set_conds(tiny.conditioning(10), tiny.conditioning(11))
    guider.set_cfg(2.0)
    noise = torch.zeros(2, 4, 8, 8)
    captured = {}
    real_sample = comfy.samplers.KSAMPLER.sample

    def sample(self, model_wrap, *args, **kwargs):
        captured["guider"] = model_wrap
        return real_sample(self, model_wrap, *args, **kwargs)
    sampler = comfy.samplers.KSAMPLER(sampler_function)
    sampler.sample = sample.__get__(sampler)
    guider.sample(noise, noise, sampler, torch.tensor([1.0, 0.0]), seed=0, disable_pbar=True)
    assert type(seen["model"]).__name__ == "KSamplerX0Inpaint"
    assert compat.guider_of(seen["model"]) is captured["guider"] is guider


def test_training_switch_sets_and_restores_in_training():
    if not hasattr(mm, "in_training"):
        pytest.skip("this ComfyUI has no model_management.in_training")
    before = mm.in_training
    with compat.training_switch():
        assert mm.in_training is True
    assert mm.in_training == before
    with pytest.raises(RuntimeError):
        with compat.training_switch():
            assert mm.in_training is True
            raise RuntimeError("a failed step")
    assert mm.in_training == before


def test_training_switch_is_a_no_op_without_the_switch(monkeypatch):
    if hasattr(mm, "in_training"):
        monkeypatch.delattr(mm, "in_training")
    with compat.training_switch():
        assert not hasattr(mm, "in_training")


def test_window_state_on_a_real_index_list_handler(unet):
    import comfy.context_windows as cw
    if "causal_window_fix" not in inspect.signature(cw.IndexListContextHandler.__init__).parameters:
        pytest.skip("this ComfyUI's context windows have no causal_window_fix")
    handler = cw.IndexListContextHandler(cw.get_matching_context_schedule(cw.ContextSchedules.STATIC_STANDARD),
                                         cw.get_matching_fuse_method(cw.ContextFuseMethods.FLAT), context_length=4,
                                         dim=2)
    x = torch.randn(1, 4, 6, 8, 8)
    conds = [[{"model_conds": {}}], [{"model_conds": {}}]]
    state = compat.window_state(handler, x, conds, unet.model)
    assert handler._model is unet.model
    assert state.latents[0] is x or torch.equal(state.latents[0], x)
    assert state.dim == 2 and not state.is_multimodal
    window = cw.IndexListContextWindow([0, 1, 2, 3], dim=2, total_frames=6)
    assert state.prepare_window(window, unet.model) is window
