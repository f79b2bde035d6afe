"""Bad input over HTTP: a clear error naming node and parameter, and the server keeps serving."""
import copy

import pytest

from e2e.harness import api_for_tests, load_workflow

SAMPLER, WARP, DECODE = "VidLift_Text2VideoZeroSampler", "VidLift_MotionLatentWarp", "VidLift_TemporalVAEDecode"
ALTERNATING = "VidLift_AlternatingKSampler"
CONTEXT, INTERPOLATE = "VidLift_ContextGuidedSampler", "VidLift_ContextGuidedInterpolation"


@pytest.fixture(scope="module")
def good(object_info):
    return api_for_tests(load_workflow("text2video_zero.json"), object_info)


@pytest.fixture(scope="module")
def chain(object_info):
    return api_for_tests(load_workflow("text2video_zero_advanced.json"), object_info)


@pytest.fixture(scope="module")
def decoding(object_info):
    return api_for_tests(load_workflow("temporal_vae_decode.json"), object_info)


@pytest.fixture(scope="module")
def elevating(object_info):
    return api_for_tests(load_workflow("videoelevator.json"), object_info)


@pytest.fixture(scope="module")
def long(object_info):
    return api_for_tests(load_workflow("long_video.json"), object_info)


@pytest.fixture(scope="module")
def keyframes(object_info):
    return api_for_tests(load_workflow("keyframe_interpolation.json"), object_info)


def node_of(prompt, class_type):
    return next(n for n in prompt.values() if n["class_type"] == class_type)


def with_inputs(prompt, class_type, **inputs):
    p = copy.deepcopy(prompt)
    node_of(p, class_type)["inputs"].update(inputs)
    return p


def with_16_channel_latent(prompt):
    """Feed the sampler a 16-channel latent (as an SD3/Flux Empty Latent makes)."""
    p = copy.deepcopy(prompt)
    p["900"] = {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 8}}
    node_of(p, SAMPLER)["inputs"]["latent"] = ["900", 0]
    return p


@pytest.mark.parametrize("workflow,node,inputs,words", [
    ("good", SAMPLER, dict(t0=47, t1=47), ["t0", "t1", "t0 < t1"]),
    ("good", SAMPLER, dict(t0=10, t1=60), ["t1", "at most steps−1 = 49"]),
    ("chain", WARP, dict(t0=50, t1=48), ["t0", "t1"]),
    ("decoding", DECODE, dict(window=8, overlap=8), ["overlap", "between 0 and window−1 = 7"]),
    ("elevating", ALTERNATING, dict(preset="custom (refine_steps)", refine_steps="45,60"),
     ["T2V/T2I Alternating KSampler", "'refine_steps'", "outside 1..50"]),
    ("elevating", ALTERNATING, dict(preset="custom (refine_steps)", refine_steps="45,5"),
     ["'refine_steps/video_steps'", "i + K ≤ N"]),
    ("long", CONTEXT, dict(context_frames=16), ["context_frames", "window−1 = 15"]),
    ("long", CONTEXT, dict(context_guidance=0.5), ["context_guidance", "≥ 1"]),
    ("keyframes", INTERPOLATE, dict(window=8), ["window", "4m+1"]),
    # found by trying: inputs named in validate_inputs lose ComfyUI's own min/max check, so ours must cover them
    ("elevating", ALTERNATING, dict(steps=0, preset="custom (refine_steps)", refine_steps=""),
     ["T2V/T2I Alternating KSampler", "'steps'", "between 1 and 500"]),
    ("elevating", ALTERNATING, dict(steps=2000), ["'steps'", "between 1 and 500"]),
    ("long", CONTEXT, dict(context_guidance=float("nan")), ["context_guidance", "between 0 and 20"]),
    ("keyframes", INTERPOLATE, dict(context_guidance=float("inf")), ["context_guidance", "between 0 and 20"]),
])
def test_invalid_widgets_are_rejected_at_queue_time(server, request, workflow, node, inputs, words):
    result = server.run(with_inputs(request.getfixturevalue(workflow), node, **inputs))
    assert result["status"] == "rejected" and result["http_status"] == 400
    assert any(e for e in result["errors"]["node_errors"].values() if e["class_type"] == node)
    text = str(result["errors"])
    assert all(w in text for w in words), text


def with_dit_video_model(prompt):
    """A Flux DiT (16-channel latents) as the T2V of an SD1.5 T2I."""
    p = copy.deepcopy(prompt)
    p["902"] = {"class_type": "VidLiftTest_TinyDiTLoader", "inputs": {}}
    node_of(p, ALTERNATING)["inputs"]["video_model"] = ["902", 0]
    return p


def with_unsupported_model(prompt):
    """Patch an SD3 MMDiT (a family no adapter serves) instead of the SD U-Net."""
    p = copy.deepcopy(prompt)
    p["901"] = {"class_type": "VidLiftTest_TinyUnsupportedLoader", "inputs": {}}
    node_of(p, "VidLift_CrossFrameAttention")["inputs"]["model"] = ["901", 0]
    return p


@pytest.mark.parametrize("change,words", [
    (with_unsupported_model, ["Cross-Frame Attention Patcher", "'model'", "MMDITWrapper is not supported",
                              "supported: U-Net, Flux"]),
    (lambda p: with_inputs(p, SAMPLER, motion_x=100.0), ["Text2Video-Zero Sampler", "motion_x", "below 512"]),
    (with_16_channel_latent, ["Text2Video-Zero Sampler", "'latent'", "16 channels", "4-channel"]),
])
def test_runtime_errors_name_node_and_parameter_and_server_recovers(server, good, change, words):
    result = server.run(change(good))
    assert result["status"] == "error"
    message = result["errors"][0]["exception_message"]
    assert all(w in message for w in words), message
    assert server.run(good)["status"] == "success"  # still serving


def test_models_of_different_latent_spaces_are_refused_and_server_recovers(server, elevating, good):
    result = server.run(with_dit_video_model(elevating))
    assert result["status"] == "error"
    message = result["errors"][0]["exception_message"]
    words = ["T2V/T2I Alternating KSampler", "'video_model'", "Flux latents", "SD15 latents", "one latent space"]
    assert all(w in message for w in words), message
    assert server.run(good)["status"] == "success"


@pytest.mark.parametrize("workflow,node,inputs,words", [
    ("elevating", ALTERNATING, dict(image_cfg=float("nan")), ["'image_cfg'", "between 0 and 100"]),
    ("elevating", ALTERNATING, dict(video_cfg=float("nan")), ["'video_cfg'", "between 0 and 100"]),
    ("long", CONTEXT, dict(cfg=float("nan")), ["Context-Guided Sampler", "'cfg'", "between 0 and 100"]),
    ("keyframes", INTERPOLATE, dict(cfg=float("nan")), ["Context-Guided Interpolation", "'cfg'", "between 0 and 100"]),
])
def test_non_finite_cfg_is_a_runtime_error_naming_node_and_parameter(server, request, good, workflow, node, inputs,
                                                                      words):
    """ComfyUI's own min/max check lets NaN and inf through (found by trying: the cfg of these nodes had none)."""
    result = server.run(with_inputs(request.getfixturevalue(workflow), node, **inputs))
    if "prompt_id" in result:
        server.post("/history", {"delete": [result["prompt_id"]]})
    assert result["status"] == "error" and result["errors"][0]["exception_type"].endswith("NodeInputError")
    message = result["errors"][0]["exception_message"]
    assert all(w in message for w in words), message
    assert server.run(good)["status"] == "success"


def test_one_keyframe_is_a_runtime_error_naming_node_and_parameter(server, keyframes):
    result = server.run(with_inputs(keyframes, "EmptyLatentImage", batch_size=1))   # nothing to interpolate between
    assert result["status"] == "error"
    message = result["errors"][0]["exception_message"]
    assert all(w in message for w in ["Context-Guided Interpolation", "'keyframes'", "at least 2"]), message


def with_schedule(prompt, text, frames=None):
    """The long-video workflow's positive from a Prompt Schedule on the checkpoint's CLIP (and `frames` frames)."""
    p = copy.deepcopy(prompt)
    ckpt = next(k for k, n in p.items() if n["class_type"] == "VidLiftTest_TinyCheckpointLoader")
    p["903"] = {"class_type": "VidLift_PromptSchedule", "inputs": {"clip": [ckpt, 1], "schedule": text}}
    node_of(p, CONTEXT)["inputs"]["positive"] = ["903", 0]
    if frames:
        node_of(p, CONTEXT)["inputs"].update(frames=frames, window=8, steps=2)
    return p


def test_prompt_schedules_run_and_bad_ones_are_named(server, long):
    result = server.run(with_schedule(long, "0: a horse\n8: b horse\n4: c horse"))
    assert result["status"] == "rejected" and "Prompt Schedule: input 'schedule': has frame 4 after frame 8" in \
        str(result["errors"]), result
    result = server.run(with_schedule(long, "0: a horse\n40: a zebra", frames=16))
    assert result["status"] == "error", result
    error = result["errors"][0]
    assert error["node_type"] == CONTEXT and "input 'positive'" in error["exception_message"]
    assert "past the video's last frame 15" in error["exception_message"]
    assert server.run(with_schedule(long, "0: a horse\n8: a zebra", frames=16))["status"] == "success"
