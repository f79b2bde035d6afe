"""Every shipped workflow, converted from the UI format, queued over HTTP, its mp4 read back with PyAV."""
import json
import os

import av
import pytest

from comfy_server import output_files
from comfy_env import ROOT
from e2e.harness import (EMPTY_LATENTS, EMPTY_VIDEO_LATENTS, api_for_tests, dit_families, load_workflow,
                         unavailable, write_training_clips)

WORKFLOWS = sorted(f for f in os.listdir(os.path.join(ROOT, "workflows")) if f.endswith(".json"))


def expected_video(ui):
    """Frames and fps the workflow asks for."""
    by_type = {}
    for n in ui["nodes"]:
        by_type.setdefault(n["type"], []).append(n)
    if "VidLift_MotionLatentWarp" in by_type:
        frames = by_type["VidLift_MotionLatentWarp"][0]["widgets_values"][0]
    elif video_latent(by_type) and "VidLift_ReuseDiffuseExtender" in by_type:   # native video models: 5-D
        node, c = video_latent(by_type)
        length = 1 + (node["widgets_values"][2] - 1) // c        # clip 0: T latent frames
        latent = length
        for ext in by_type["VidLift_ReuseDiffuseExtender"]:      # each extension: T − 1 − M new latent frames
            clips, overlap, keep = extender_settings(ext)
            assert not keep
            latent += clips * (length - 1 - overlap)
        frames = 1 + c * (latent - 1)                            # the causal VAE: 1 pixel frame, then c each
    elif "VidLift_ReuseDiffuseExtender" in by_type:   # a Sampler's clip 0, then every extender's clips, joined
        n = by_type["EmptyLatentImage"][0]["widgets_values"][2]
        frames = n * len(by_type.get("VidLift_ReuseDiffuseSampler", []))
        for ext in by_type["VidLift_ReuseDiffuseExtender"]:
            clips, overlap, keep = extender_settings(ext)
            continued = any(i["name"] == "previous" and i["link"] is not None for i in ext["inputs"])
            frames += clips * n if keep else clips * (n - overlap) + (0 if continued else overlap)
    elif "VidLift_ContextGuidedSampler" in by_type:
        frames = by_type["VidLift_ContextGuidedSampler"][0]["widgets_values"][5]
    elif "VidLift_ContextGuidedInterpolation" in by_type:
        passes = by_type["VidLift_ContextGuidedInterpolation"][0]["widgets_values"][5]
        keys = by_type["EmptyLatentImage"][0]["widgets_values"][2]
        frames = 4 ** passes * (keys - 1) + 1
    else:
        frames = max(n["widgets_values"][2] for kind in EMPTY_LATENTS for n in by_type.get(kind, []))
    return frames, by_type["CreateVideo"][0]["widgets_values"][0]


def extender_settings(ext):
    """clips, overlap, keep_overlap of an Extender's widgets (seed, its control, steps, cfg, clips, overlap, …)."""
    values = ext["widgets_values"]
    return values[4], values[5], values[9]


def video_latent(by_type):
    """The workflow's empty video latent node and its pixel frames per latent frame, or None."""
    return next(((by_type[k][0], c) for k, c in EMPTY_VIDEO_LATENTS.items() if k in by_type), None)


def test_workflows_are_shipped():
    assert {"text2video_zero.json", "text2video_zero_flux.json", "text2video_zero_zimage.json",
            "text2video_zero_qwen.json", "long_video_flux.json", "extend_wan.json", "videoelevator_wan.json",
            "videoelevator_qwen_wan.json", "extend_wan22.json", "extend_ltxv.json", "extend_hunyuan15.json",
            "text2video_zero_krea2.json"} <= set(WORKFLOWS)


def missing_hooks(ui):
    """The families among the workflow's DiTs whose cross-frame attention (every DiT workflow patches it) this
    ComfyUI lacks the hook for."""
    from vidlift.nodes.glue.model_families import ADAPTERS
    adapters = {a.name: a for a in ADAPTERS}
    return [f for f in dit_families(ui) if adapters[f].missing("cross-frame attention")]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_runs_and_writes_a_playable_video(server, object_info, name):
    ui = load_workflow(name)
    if unavailable(ui, object_info):
        pytest.skip(unavailable(ui, object_info))
    prompt = api_for_tests(ui, object_info)
    if any(n["type"] == "VidLift_TrainTemporalShiftLoRA" for n in ui["nodes"]):
        write_training_clips(os.path.join(server.base_dir, "input"))
    for node in prompt.values():  # a prefix of its own, so no cached SaveVideo from another test answers
        if node["class_type"] == "SaveVideo":
            node["inputs"]["filename_prefix"] = "workflow_test/" + name[:-5]
    result = server.run(prompt, {"extra_pnginfo": {"workflow": ui}}, timeout=900)
    unserved = missing_hooks(ui)
    if unserved:    # e.g. Flux on ComfyUI 0.3.75: the patcher names the hook and the ComfyUI it needs
        assert result["status"] == "error" and result["errors"], json.dumps(result, default=str)[:3000]
        message = result["errors"][0]["exception_message"]
        assert result["errors"][0]["node_type"].startswith("VidLift_")
        assert all(f"on {f} needs a ComfyUI with" in message for f in unserved) and "update ComfyUI" in message
        pytest.skip(f"ComfyUI without the hook for {', '.join(unserved)}: clear node error checked ({message})")
    assert result["status"] == "success", json.dumps(result.get("errors") or result, default=str)[:3000]
    videos = [f for f in output_files(result["history"]) if f["filename"].endswith(".mp4")]
    assert len(videos) == 1
    path = os.path.join(server.output_dir, videos[0].get("subfolder", ""), videos[0]["filename"])
    frames, fps = expected_video(ui)
    with av.open(path) as container:
        stream = container.streams.video[0]
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == pytest.approx(fps)
        assert json.loads(container.metadata["workflow"])["nodes"]
    assert len(decoded) == frames >= 8
    assert decoded[0].shape == (64, 64, 3)
