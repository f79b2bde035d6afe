"""Bad inputs over HTTP, as a table: every row is answered with a validation error (HTTP 400) or an
`execution_error` that names the node and the parameter and says what would be valid; after every row
the server still serves and the canary prompt gives bit for bit the outputs of a fresh server.
One widget out of its own range (below min, above max, NaN, inf, an unknown combo value) is a generated
row of test_generated_bad_inputs.py; the rows here are what the schema cannot say: rules across inputs
(t0 < t1 ≤ steps−1, overlap < frames, motion × frames), linked values of the wrong kind, missing files.

A row: Row(base prompt, node class, input overrides, "queue" | "run", words). The first word is the
parameter as the message names it; the others say what would be valid. An override value that is a
`Src` adds that node to the prompt and links its output instead (a DiT model, a 16-channel latent, …).
Base prompts: the shipped workflows with the tiny model swapped in (t2vz, chain, decode, extend), the
canary (canary.py), or "stock": a shipped workflow as it ships, whose checkpoint files are missing here.
"""
from __future__ import annotations

import copy
import itertools
import json
from typing import NamedTuple

import pytest

from canary import FRAMES, assert_same_outputs, canary_prompt, fresh_server, run_canary
from e2e.harness import api_for_tests, load_workflow
from workflow_api import ui_to_api

CFA, WARP, T2VZ = "VidLift_CrossFrameAttention", "VidLift_MotionLatentWarp", "VidLift_Text2VideoZeroSampler"
SHIFT, LPFF, VIDRD, DECODE = "VidLift_TemporalShift", "VidLift_LPFF", "VidLift_ReuseDiffuseExtender", "VidLift_TemporalVAEDecode"
VIDRD_CLIP0 = "VidLift_ReuseDiffuseSampler"
ELEVATOR = "VidLift_AlternatingKSampler"


class Src(NamedTuple):
    """A node to add to the prompt; the override links its output `slot`."""
    class_type: str
    inputs: dict
    slot: int = 0


class Row(NamedTuple):
    base: str
    node: str
    inputs: dict
    at: str          # "queue": POST /prompt answers 400; "run": an execution_error of `node`
    words: list


SD3 = Src("VidLiftTest_TinyUnsupportedLoader", {})     # an MMDiT: a family no adapter serves
LATENT_16CH = Src("EmptySD3LatentImage", {"width": 64, "height": 64, "batch_size": 8})     # SD3/Flux latent
LATENT_32PX = Src("EmptyLatentImage", {"width": 32, "height": 32, "batch_size": 1})
LATENT_32PX_8 = Src("EmptyLatentImage", {"width": 32, "height": 32, "batch_size": 8})
LATENT_6_FRAMES = Src("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 6})
LATENT_5D = Src("EmptyHunyuanLatentVideo", {"width": 64, "height": 64, "length": 9, "batch_size": 1})
LATENT_8_FRAMES = Src("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 8})
LATENT_72PX_9 = Src("EmptyLatentImage", {"width": 72, "height": 72, "batch_size": 9})
WAN_VAE = Src("VidLiftTest_TinyVAELoader", {"vae_name": "wan_2.1_vae.safetensors"})
SIGMAS_1_STEP = Src("BasicScheduler", {"model": ["1", 0], "scheduler": "normal", "steps": 1, "denoise": 1.0})
SIGMAS_3_STEPS = Src("BasicScheduler", {"model": ["1", 0], "scheduler": "ddim_uniform", "steps": 3, "denoise": 1.0})
UNSUPPORTED = ["MMDITWrapper is not supported", "supported: U-Net, Flux"]

ROWS = [
    # Cross-Frame Attention Patcher
    Row("t2vz", CFA, dict(model=SD3), "run", ["model", *UNSUPPORTED]),
    # Temporal Shift Patcher
    Row("canary", SHIFT, dict(model=SD3), "run", ["model", *UNSUPPORTED]),
    # Text2Video-Zero Sampler
    Row("t2vz", T2VZ, dict(t0=47, t1=47), "queue", ["t0", "t0 < t1"]),
    Row("t2vz", T2VZ, dict(t0=10, t1=60), "queue", ["t1", "at most steps−1 = 49"]),
    Row("t2vz", T2VZ, dict(motion_x=100.0), "run", ["motion_x/motion_y", "below 512", "|motion| < 73.1"]),
    Row("t2vz", T2VZ, dict(model=SD3), "run", ["model", *UNSUPPORTED]),
    Row("t2vz", T2VZ, dict(latent=LATENT_16CH), "run", ["latent", "16 channels", "4-channel"]),
    Row("t2vz", T2VZ, dict(latent=LATENT_5D), "run", ["latent", "5-D", "[frames, channels, height, width]"]),
    Row("t2vz", T2VZ, dict(sigmas=SIGMAS_1_STEP), "run", ["sigmas", "at least 2 steps"]),
    Row("t2vz", T2VZ, dict(sigmas=SIGMAS_3_STEPS), "run", ["t1", "3-step schedule", "at most steps−1 = 2"]),
    # Motion-Latent Warp (the three-phase chain of stock samplers)
    Row("chain", WARP, dict(t0=50, t1=48), "queue", ["t0", "t0 < t1"]),
    Row("chain", WARP, dict(motion_x=100.0), "run", ["motion_x/motion_y", "below 512"]),
    Row("chain", WARP, dict(model=SD3), "run", ["model", *UNSUPPORTED]),
    Row("chain", WARP, dict(first_frame_at_T0=LATENT_16CH), "run", ["first_frame_at_T0", "16 channels", "4-channel"]),
    Row("chain", WARP, dict(first_frame_at_T=LATENT_5D), "run", ["first_frame_at_T", "5-D"]),
    Row("chain", WARP, dict(first_frame_at_T=LATENT_32PX), "run", ["first_frame_at_T0", "has shape [4, 8, 8]",
                                                                   "first_frame_at_T has [4, 4, 4]"]),
    # LPFF Filter
    Row("canary", LPFF, dict(frames_per_video=3), "run", ["frames_per_video", f"use a divisor of {FRAMES} or 0"]),
    # Reuse-Diffuse Extender
    Row("extend", VIDRD, dict(overlap=8), "run", ["overlap", "smaller than the clip's 8 frames"]),
    Row("extend", VIDRD, dict(model=SD3), "run", ["model", *UNSUPPORTED]),
    Row("extend", VIDRD, dict(latent=LATENT_16CH), "run", ["latent", "16 channels"]),
    Row("extend", VIDRD, dict(latent=LATENT_5D), "run", ["latent", "5-D"]),
    # ... continuing the Reuse-Diffuse Sampler's clip (extend_clip.json's first extender): `previous` must fit
    Row("extend", VIDRD, dict(steps=20), "run", ["previous", "sampled with 50 steps", "set steps to 50"]),
    Row("extend", VIDRD, dict(latent=LATENT_6_FRAMES), "run", ["previous", "clip of 8 frames", "batch size 8"]),
    Row("extend", VIDRD, dict(latent=LATENT_32PX_8), "run", ["previous", "[4, 8, 8]", "has [4, 4, 4]"]),
    # Reuse-Diffuse Sampler
    Row("extend", VIDRD_CLIP0, dict(latent=LATENT_5D), "run", ["latent", "5-D"]),
    # Temporal VAE Decode
    Row("decode", DECODE, dict(window=8, overlap=8), "queue", ["overlap", "between 0 and window−1 = 7"]),
    Row("decode", DECODE, dict(samples=LATENT_16CH), "run", ["samples", "16 channels", "the VAE that belongs"]),
    Row("decode", DECODE, dict(samples=LATENT_5D), "run", ["samples", "5-D"]),
    # T2V/T2I Alternating KSampler with Wan 2.1 as T2V (videoelevator_wan.json), and a same-space pair (None: unlinked)
    Row("wan", ELEVATOR, dict(latent=LATENT_8_FRAMES), "run", ["latent", "8 frames", "4n+1", "use 9 frames"]),
    Row("wan", ELEVATOR, dict(latent=LATENT_72PX_9), "run", ["latent", "72×72", "multiples of 16", "use 80×80"]),
    Row("wan", ELEVATOR, dict(image_vae=None), "run", ["image_vae", "is needed", "Wan 2.1"]),
    Row("wan", ELEVATOR, dict(video_vae=None), "run", ["video_vae", "is needed", "connect the Wan 2.1 VAE"]),
    Row("elevator", ELEVATOR, dict(video_vae=WAN_VAE), "run", ["video_vae", "share one latent space", "disconnect"]),
    # Missing model files (the shipped workflows as they ship: no checkpoints on the test server)
    Row("stock:text2video_zero.json", "CheckpointLoaderSimple", {}, "queue", ["ckpt_name", "not in"]),
    Row("stock:temporal_vae_decode.json", "ImageOnlyCheckpointLoader", {}, "queue", ["ckpt_name", "not in"]),
]
WORKFLOWS = {"t2vz": "text2video_zero.json", "chain": "text2video_zero_advanced.json",
             "decode": "temporal_vae_decode.json", "extend": "extend_clip.json", "wan": "videoelevator_wan.json",
             "elevator": "videoelevator.json"}


def row_id(row: Row) -> str:
    inputs = ",".join(f"{k}={v.class_type if isinstance(v, Src) else 'unlinked' if v is None else v}"
                      for k, v in row.inputs.items())
    return f"{row.base}-{row.node.replace('VidLift_', '')}-{inputs or 'as-shipped'}"


def build(row: Row, object_info: dict) -> dict:
    if row.base == "canary":
        prompt = canary_prompt()
    elif row.base.startswith("stock:"):
        return ui_to_api(load_workflow(row.base[6:]), object_info)
    else:
        prompt = api_for_tests(load_workflow(WORKFLOWS[row.base]), object_info)
    prompt = copy.deepcopy(prompt)
    node = next(n for n in prompt.values() if n["class_type"] == row.node)
    for name, value in row.inputs.items():
        if value is None:
            node["inputs"].pop(name, None)
            continue
        if isinstance(value, Src):
            new_id = str(900 + len(prompt))
            prompt[new_id] = {"class_type": value.class_type, "inputs": dict(value.inputs)}
            value = [new_id, value.slot]
        node["inputs"][name] = value
    return prompt


@pytest.fixture(scope="module")
def fresh_outputs(tmp_path_factory):
    """The canary's outputs on a server that ran nothing else."""
    with fresh_server(tmp_path_factory.mktemp("fresh_base")) as srv:
        return run_canary(srv)


NONCES = itertools.count(100)


def test_the_matrix_is_large_and_covers_every_node():
    assert len(ROWS) >= 25
    assert {CFA, WARP, T2VZ, SHIFT, LPFF, VIDRD, VIDRD_CLIP0, DECODE, ELEVATOR} <= {r.node for r in ROWS}
    assert {"queue", "run"} <= {r.at for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_bad_input_is_explained_and_the_server_recovers(server, object_info, fresh_outputs, row):
    result = server.run(build(row, object_info), timeout=600)
    if "prompt_id" in result:   # the shared server's history must not keep NaN: the frontend's JSON.parse fails on it
        server.post("/history", {"delete": [result["prompt_id"]]})
    param, hints = row.words[0], row.words[1:]
    if row.at == "queue":
        assert result["status"] == "rejected" and result["http_status"] == 400, result.get("errors") or result
        errors = [e for e in result["errors"]["node_errors"].values() if e["class_type"] == row.node]
        assert errors, result["errors"]
        text = json.dumps(errors, ensure_ascii=False)
        assert f'"input_name": "{param}"' in text or f"{param} -" in text or f"{param}:" in text, text
    else:
        assert result["status"] == "error", result["status"]
        assert result["errors"] and result["errors"][0]["node_type"] == row.node, result["errors"]
        text = result["errors"][0]["exception_message"]
        assert text.startswith(object_info[row.node]["display_name"] + ": "), text
        assert f"input '{param}'" in text, text
    assert all(h in text for h in hints), text
    assert_same_outputs(run_canary(server, next(NONCES)), fresh_outputs)   # still serving, nothing leaked
