"""Every node on every DiT family over HTTP: each shipped DiT Text2Video-Zero workflow, its loaders
and prompts kept (tiny models through the test loaders), grows one branch per VidLift node — Temporal Shift +
KSampler, LPFF, the Motion-Latent Warp between KSamplerAdvanced phases, Context-Guided Sampler and
Interpolation, Reuse-Diffuse Sampler and Extender, the Alternating KSampler — each decoded to a preview with its
frame count checked. (Train Temporal Shift LoRA on Flux runs in-process: tests/inprocess/test_shift_lora_train.py.)"""
import json

import pytest

from e2e.harness import EMPTY_LATENTS, api_for_tests, dit_families, load_workflow

DIT_WORKFLOWS = ["text2video_zero_flux.json", "text2video_zero_zimage.json", "text2video_zero_qwen.json"]
STEPS = 4    # the branches' own sampling steps: every node runs, not a good video


def missing_hooks(ui):
    """The workflow's DiT families this ComfyUI lacks a patcher hook for (test_workflows checks the clear error)."""
    from vidlift.nodes.glue.model_families import ADAPTERS
    adapters = {a.name: a for a in ADAPTERS}
    return [f for f in dit_families(ui) for mechanism in ("cross-frame attention", "temporal shift")
            if adapters[f].missing(mechanism)]


def defaults(object_info, cls):
    """Every widget input of `cls` at its schema default (first option of a combo)."""
    out = {}
    for section in ("required", "optional"):
        for name, spec in object_info[cls]["input"].get(section, {}).items():
            kind, opts = spec[0], (spec[1] if len(spec) > 1 else {})
            if isinstance(kind, list):
                out[name] = opts.get("default", kind[0])
            elif kind == "COMBO":
                out[name] = opts.get("default", opts["options"][0])
            elif "default" in opts:
                out[name] = opts["default"]
    return out


def grow(prompt, object_info):
    """Adds the branches; returns {preview node id: (node under test, expected frames)}."""
    t2vz = next(n for n in prompt.values() if n["class_type"] == "VidLift_Text2VideoZeroSampler")["inputs"]
    cross_frame = t2vz["model"]
    base = prompt[cross_frame[0]]["inputs"]["model"]
    vae = next(n for n in prompt.values() if n["class_type"] == "VAEDecode")["inputs"]["vae"]
    latent = prompt[t2vz["latent"][0]]
    frames = latent["inputs"]["batch_size"] if "batch_size" in latent["inputs"] else latent["inputs"]["length"]
    conds = {"positive": t2vz["positive"], "negative": t2vz["negative"]}
    n, t0, t1 = t2vz["steps"], t2vz["t0"], t2vz["t1"]
    previews = {}

    def add(name, cls, **inputs):
        prompt[name] = {"class_type": cls, "inputs": {**defaults(object_info, cls), **inputs}}
        return [name, 0]

    def preview(name, samples, expect):
        add(name + "_dec", "VAEDecode", samples=samples, vae=vae)
        add(name + "_img", "PreviewImage", images=[name + "_dec", 0])
        previews[name + "_img"] = (name, expect)

    def empty(name, count):
        prompt[name] = {"class_type": latent["class_type"], "inputs": dict(latent["inputs"])}
        prompt[name]["inputs"]["batch_size" if "batch_size" in latent["inputs"] else "length"] = count
        return [name, 0]

    sampling = dict(cfg=t2vz["cfg"], sampler_name="euler", scheduler="simple")
    shifted = add("shift", "VidLift_TemporalShift", model=base)
    ks = add("ksampler", "KSampler", model=shifted, seed=1, steps=STEPS, latent_image=t2vz["latent"], denoise=1.0,
             **conds, **sampling)
    preview("ksampler", ks, frames)
    preview("lpff", add("lpff", "VidLift_LPFF", samples=ks), frames)

    one = empty("one_frame", 1)
    phase = dict(model=base, noise_seed=42, steps=n, **conds, **sampling)
    at_t = add("to_T", "KSamplerAdvanced", add_noise="enable", latent_image=one, start_at_step=0,
               end_at_step=n - t1 - 1, return_with_leftover_noise="enable", **phase)
    at_t0 = add("to_T0", "KSamplerAdvanced", add_noise="disable", latent_image=at_t, start_at_step=n - t1 - 1,
                end_at_step=n - t0 - 1, return_with_leftover_noise="enable", **phase)
    warped = add("warp", "VidLift_MotionLatentWarp", model=base, first_frame_at_T=at_t, first_frame_at_T0=at_t0,
                 frames=frames, steps=n, t0=t0, t1=t1, seed=42)
    done = add("joint", "KSamplerAdvanced", add_noise="disable", latent_image=warped, start_at_step=n - t1 - 1,
               end_at_step=n, return_with_leftover_noise="disable", **{**phase, "model": cross_frame})
    preview("warp", done, frames)

    long_frames = frames + 4
    guided = dict(model=cross_frame, seed=3, steps=STEPS, cfg=t2vz["cfg"], **conds)
    preview("context", add("context", "VidLift_ContextGuidedSampler", latent=t2vz["latent"], frames=long_frames,
                           **guided), long_frames)
    preview("interp", add("interp", "VidLift_ContextGuidedInterpolation", keyframes=empty("keys", 3), passes=1,
                          **guided), 4 * (3 - 1) + 1)
    first = add("reuse", "VidLift_ReuseDiffuseSampler", latent=t2vz["latent"], **guided)
    preview("reuse", first, frames)
    ext = prompt["extend"] = {"class_type": "VidLift_ReuseDiffuseExtender", "inputs": {
        **defaults(object_info, "VidLift_ReuseDiffuseExtender"), "latent": t2vz["latent"], "previous": ["reuse", 1],
        "clips": 1, **guided}}
    ov = ext["inputs"]["overlap"]
    preview("extend", ["extend", 0], frames if ext["inputs"]["keep_overlap"] else frames - ov)
    preview("elevator", add("elevator", "VidLift_AlternatingKSampler", image_model=base, video_model=shifted,
                            image_positive=conds["positive"], image_negative=conds["negative"],
                            video_positive=conds["positive"], video_negative=conds["negative"],
                            latent=t2vz["latent"], image_cfg=t2vz["cfg"], video_cfg=t2vz["cfg"]), frames)
    return previews


@pytest.mark.parametrize("name", DIT_WORKFLOWS)
def test_every_node_runs_on_the_workflows_dit(server, object_info, name):
    ui = load_workflow(name)
    unserved = missing_hooks(ui)
    if unserved:
        pytest.skip(f"ComfyUI without the patcher hooks for {', '.join(sorted(set(unserved)))}")
    prompt = api_for_tests(ui, object_info)
    assert any(n["class_type"] in EMPTY_LATENTS for n in prompt.values())
    previews = grow(prompt, object_info)
    result = server.run(prompt, timeout=1500)
    assert result["status"] == "success", json.dumps(result.get("errors") or result, default=str)[:3000]
    outputs = result["history"]["outputs"]
    got = {node: len(outputs.get(pid, {}).get("images", [])) for pid, (node, _) in previews.items()}
    assert got == {node: frames for node, frames in previews.values()}
